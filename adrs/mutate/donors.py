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
from adrs.mutate.ast_walk import walk

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
    expressions, `stmt` simple statements, `func` function definitions by name, and
    `whole`: the top-level functions of each source, each with what it leans on."""

    value: list[tuple[ast.expr, frozenset[str]]] = field(default_factory=list)
    test: list[tuple[ast.expr, frozenset[str]]] = field(default_factory=list)
    stmt: list[tuple[ast.stmt, frozenset[str]]] = field(default_factory=list)
    func: dict[str, list[ast.FunctionDef]] = field(default_factory=dict)
    whole: dict[str, list[Whole]] = field(default_factory=dict)

    def add(self, other: Fragments) -> Fragments:
        """These fragments and `other`'s (a new library; neither changes)."""
        return Fragments(self.value + other.value, self.test + other.test,
                         self.stmt + other.stmt, _joined(self.func, other.func),
                         _joined(self.whole, other.whole))


@dataclass(frozen=True)
class Whole:
    """A top-level function of a donor with the module-level statements of that donor
    (imports, constants, helpers) that bind each name, so that it can move whole."""

    func: ast.FunctionDef
    support: tuple[tuple[str, int, ast.stmt], ...]  # (name bound, position, statement)

    @functools.cached_property
    def dump(self) -> str:
        """The function's ast.dump (to tell it from ours; donors recur: computed once)."""
        return ast.dump(self.func)

    @functools.cached_property
    def reads(self) -> frozenset[str]:
        """The names the function reads and does not bind."""
        return free_names(self.func)

    @functools.cached_property
    def _by_name(self) -> dict[str, tuple[int, ast.stmt, frozenset[str]]]:
        return {name: (at, st, free_names(st)) for name, at, st in self.support}

    def companions(self, names: set[str]) -> dict[str, ast.FunctionDef]:
        """The donor's other top-level functions among `names` (they move together:
        an optimizer's init and update agree on the state)."""
        return {name: st for name, _, st in self.support if isinstance(st, ast.FunctionDef)
                and name in names and name != self.func.name}

    def needs(self, available: frozenset[str], moved=()) -> list[ast.stmt] | None:
        """The supporting statements, in the donor's order, that bind what the function
        (and the `moved` companions) read beyond `available`; None if a name read is
        bound nowhere."""
        moved = tuple(moved)
        wanted, taken = {}, {self.func.name, *(f.name for f in moved)}
        todo = set(self.reads).union(*(self._by_name[f.name][2] for f in moved)) - available
        while todo:
            name = todo.pop()
            if name in taken:
                continue
            if name not in self._by_name:
                return None
            taken.add(name)
            at, st, reads = self._by_name[name]
            wanted[at] = st
            todo |= reads - available - taken
        return [wanted[at] for at in sorted(wanted)]


def _joined(a: dict[str, list], b: dict[str, list]) -> dict[str, list]:
    out = {k: list(v) for k, v in a.items()}
    for name, items in b.items():
        out.setdefault(name, []).extend(items)
    return out


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
    for node in walk(tree):
        kind = kind_of(node)
        if kind == "value" and not isinstance(node, (ast.Name, ast.Constant)):
            found.value.append((node, free_names(node)))  # names, constants: everywhere
        elif kind == "test":
            found.test.append((node, free_names(node)))
        if isinstance(node, _SIMPLE) and not _leaves_its_block(node):
            found.stmt.append((node, free_names(node)))
        if isinstance(node, ast.FunctionDef):
            found.func.setdefault(node.name, []).append(node)
    support = tuple((name, at, st) for at, st in enumerate(tree.body)
                    for name in _binds(st))
    for st in tree.body:
        if isinstance(st, ast.FunctionDef):
            found.whole.setdefault(st.name, []).append(Whole(st, support))
    return found


def _binds(st: ast.stmt) -> list[str]:
    """The names a module-level statement binds (imports, definitions, assignments)."""
    if isinstance(st, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in st.names if a.name != "*"]
    if isinstance(st, (ast.FunctionDef, ast.ClassDef)):
        return [st.name]
    if isinstance(st, (ast.Assign, ast.AnnAssign)):
        targets = st.targets if isinstance(st, ast.Assign) else [st.target]
        return [n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)]
    return []


def free_names(node: ast.AST) -> frozenset[str]:
    """The names a fragment reads that it does not bind itself."""
    read, bound = set(), set()
    for n in walk(node):
        if isinstance(n, ast.Name):
            (read if isinstance(n.ctx, ast.Load) else bound).add(n.id)
        elif isinstance(n, ast.arguments):
            bound |= {a.arg for a in n.posonlyargs + n.args + n.kwonlyargs
                      + [n.vararg, n.kwarg] if a}
        elif isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)) \
                and n is not node:  # nested definitions and imports bind their names
            bound |= set(_binds(n))
    return frozenset(read - bound)


def _leaves_its_block(node: ast.stmt) -> bool:
    """A statement that only makes sense where it was (return, break, continue, yield,
    global/nonlocal): moving it elsewhere may not compile."""
    return any(isinstance(n, (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom,
                              ast.Global, ast.Nonlocal, ast.Await))
               for n in walk(node))


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
