"""Fragments for the offline mutator's edits: expressions, statements, conditions and
functions, drawn from the program itself, its relatives in the archive (the request's
parent and inspirations) and the problem's baselines.

`[mutator] donors` chooses the outside sources: "both" (default), "baselines",
"archive" or "none" (the program's own fragments only). A fragment is handed out
as a fresh copy, so an edit can place it without sharing nodes between trees.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field

from adrs import evolve_block

DONORS = ("both", "baselines", "archive", "none")

# Expression kinds that can stand in for one another: a value for a value, a test for a
# test. Names, constants and calls are values; comparisons and boolean ops are tests.
VALUE = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.Attribute,
         ast.Subscript, ast.IfExp)
TEST = (ast.Compare, ast.BoolOp)


def kind_of(node: ast.AST) -> str | None:
    """'test', 'value', or None for a node no edit replaces."""
    if isinstance(node, TEST):
        return "test"
    if isinstance(node, VALUE):
        return "value"
    return None


@dataclass
class Fragments:
    """Fragments by kind, each with the names it reads: `value` and `test`
    expressions, `stmt` simple statements, `func` function definitions by name."""

    value: list[tuple[ast.expr, frozenset[str]]] = field(default_factory=list)
    test: list[tuple[ast.expr, frozenset[str]]] = field(default_factory=list)
    stmt: list[tuple[ast.stmt, frozenset[str]]] = field(default_factory=list)
    func: dict[str, list[ast.FunctionDef]] = field(default_factory=dict)

    def add(self, other: Fragments) -> Fragments:
        """These fragments and `other`'s (a new library; neither changes)."""
        funcs = {k: list(v) for k, v in self.func.items()}
        for name, defs in other.func.items():
            funcs.setdefault(name, []).extend(defs)
        return Fragments(self.value + other.value, self.test + other.test,
                         self.stmt + other.stmt, funcs)


_SIMPLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.For, ast.While)


@functools.lru_cache(maxsize=512)
def fragments_of(source: str) -> Fragments:
    """The fragments of a program's evolvable region (empty if it does not parse);
    cached by text, since parents and baselines recur."""
    try:
        tree = ast.parse(evolve_block.split(source).region)
    except (SyntaxError, evolve_block.MarkerError, ValueError):
        return Fragments()
    found = Fragments()
    for node in ast.walk(tree):
        kind = kind_of(node)
        if kind == "value" and not isinstance(node, (ast.Name, ast.Constant)):
            found.value.append((node, free_names(node)))  # names, constants: everywhere
        elif kind == "test":
            found.test.append((node, free_names(node)))
        if isinstance(node, _SIMPLE) and not _leaves_its_block(node):
            found.stmt.append((node, free_names(node)))
        if isinstance(node, ast.FunctionDef):
            found.func.setdefault(node.name, []).append(node)
    return found


def free_names(node: ast.AST) -> frozenset[str]:
    """The names a fragment reads that it does not bind itself."""
    read = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}
    bound = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
             and not isinstance(n.ctx, ast.Load)}
    bound |= {a.arg for n in ast.walk(node) if isinstance(n, ast.arguments)
              for a in n.posonlyargs + n.args + n.kwonlyargs}
    return frozenset(read - bound)


def _leaves_its_block(node: ast.stmt) -> bool:
    """A statement that only makes sense where it was (return, break, continue, yield,
    global/nonlocal): moving it elsewhere may not compile."""
    return any(isinstance(n, (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom,
                              ast.Global, ast.Nonlocal, ast.Await))
               for n in ast.walk(node))


def library(own: str, relatives: tuple[str, ...], baselines: tuple[str, ...],
            donors: str) -> Fragments:
    """The fragments an edit of `own` may draw from, as `donors` says."""
    sources = [own]
    if donors in ("both", "archive"):
        sources += relatives
    if donors in ("both", "baselines"):
        sources += baselines
    return _merged(tuple(sources))


@functools.lru_cache(maxsize=256)
def _merged(sources: tuple[str, ...]) -> Fragments:
    out = Fragments()
    for s in dict.fromkeys(sources):  # each text once
        out = out.add(fragments_of(s))
    return out
