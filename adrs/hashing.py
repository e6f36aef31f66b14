"""Syntactic hashing: programs that differ only in comments, docstrings or layout
hash equal, so the same program is never evaluated twice.

Functional hashing (equal behaviour on probe inputs) builds on this later.
"""

from __future__ import annotations

import ast
import hashlib


def normalise(source: str) -> str:
    """Canonical text of a program: parsed, docstrings dropped, unparsed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "\n".join(line.rstrip() for line in source.strip().splitlines())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def syntactic_hash(source: str) -> str:
    return hashlib.sha256(normalise(source).encode()).hexdigest()
