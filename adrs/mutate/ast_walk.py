"""A walk over a Python AST for the offline mutator's hot path."""

from __future__ import annotations

import ast


def walk(tree: ast.AST):
    """Every node of `tree` in ast.walk's order (breadth first, fields in order), without
    its generator per node: this runs for every child, and it was most of a mutation."""
    todo, at, AST = [tree], 0, ast.AST
    while at < len(todo):
        node = todo[at]
        at += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, AST):
                todo.append(value)
            elif isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, AST))
    return todo
