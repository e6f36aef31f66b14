"""The offline mutator's edits of a Python AST, one function per kind.

Each edit changes `tree` in place and returns a note that starts with its kind
(the bandit reads the kind back from a stored child's description), or None
when it finds nothing to change. Every random choice comes from the caller's
generator. Edits that bring in code from elsewhere may read a name the program
does not bind; the mutator checks the names (and, where statements moved,
that the code compiles) and tries again rather than pay for a certain failure.
"""

from __future__ import annotations

import ast
import math
from ast import AST
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from adrs.mutate.ast_walk import walk
from adrs.mutate.donors import Fragments, kind_of

_COMPARE_SWAPS = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt],
                  ast.GtE: [ast.Gt, ast.LtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq]}
_BINOP_SWAPS = {ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
                ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Div],
                ast.Pow: [ast.Mult]}
_PAIRED_NAMES = {"argmin": "argmax", "argmax": "argmin", "min": "max", "max": "min",
                 "minimum": "maximum", "maximum": "minimum", "floor": "ceil", "ceil": "floor",
                 "nanargmin": "nanargmax", "nanargmax": "nanargmin", "sort": "argsort"}


_SKIP_FIELDS = frozenset({"targets", "target", "ctx"})  # assignment targets stay put



@dataclass
class Sites:
    """Where a tree can be edited, found in one walk: every statement block and the
    nodes point edits change; the expressions with the parent fields that hold them
    (what replacing one needs) are found on first use."""

    tree: ast.AST
    blocks: list[list[ast.stmt]] = field(default_factory=list)
    constants: list[ast.Constant] = field(default_factory=list)
    compares: list[ast.Compare] = field(default_factory=list)
    binops: list[ast.AST] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)
    loops: list[ast.For] = field(default_factory=list)
    funcs: list[ast.FunctionDef] = field(default_factory=list)
    _exprs: list | None = None
    _planned: list | None = None  # the expressions of the unedited tree, from a SitePlan

    @classmethod
    def of(cls, tree: ast.AST) -> Sites:
        """Every site of `tree` (one walk: this runs for every child)."""
        s = cls(tree)
        for node in walk(tree):
            kind = type(node)
            if kind is ast.Constant:
                if type(node.value) in (int, float):
                    s.constants.append(node)
            elif kind is ast.Compare:
                s.compares.append(node)
            elif kind is ast.BinOp or kind is ast.AugAssign:
                if type(node.op) in _BINOP_SWAPS:
                    s.binops.append(node)
            elif kind is ast.Call:
                s.calls.append(node)
            elif kind is ast.For:
                s.loops.append(node)
            elif kind is ast.FunctionDef:
                s.funcs.append(node)
            if isinstance(node, (ast.stmt, ast.Module, ast.excepthandler)):
                for name in ("body", "orelse", "finalbody"):
                    block = getattr(node, name, None)
                    if block and isinstance(block, list) and isinstance(block[0], ast.stmt):
                        s.blocks.append(block)
        return s

    def positions(self) -> SitePlan:
        """Where these sites are in the tree's walk order: a plan that finds them again
        in a fresh parse of the same text without classifying every node again."""
        nodes = walk(self.tree)
        at = {id(n): i for i, n in enumerate(nodes)}
        owner = {id(getattr(n, f)): (i, f) for i, n in enumerate(nodes)
                 for f in ("body", "orelse", "finalbody") if isinstance(getattr(n, f, None), list)}
        exprs = tuple((at[id(n)], at[id(p)], name, i) for n, p, name, i in
                      Sites(self.tree).exprs)
        return SitePlan(tuple(owner[id(b)] for b in self.blocks),
                        *(tuple(at[id(n)] for n in getattr(self, k)) for k in _NODE_SITES),
                        exprs)

    def moved(self) -> None:
        """An edit changed the tree's shape: expressions not listed yet are found in the
        tree as it is now when first asked for (as without a plan)."""
        self._planned = None

    @property
    def exprs(self) -> list[tuple[ast.AST, ast.AST, str, int | None]]:
        """(expression, parent, field, index) for every replaceable expression."""
        if self._exprs is None and self._planned is not None:
            self._exprs = self._planned
        if self._exprs is None:
            self._exprs = []
            for parent in walk(self.tree):
                for name in parent._fields:
                    if name in _SKIP_FIELDS:
                        continue
                    value = getattr(parent, name, None)
                    if isinstance(value, list):
                        for i, child in enumerate(value):
                            self._spot(child, parent, name, i)
                    else:
                        self._spot(value, parent, name, None)
        return self._exprs

    def _spot(self, node, parent, name, index) -> None:
        if isinstance(node, ast.expr) and kind_of(node) and not (
                isinstance(parent, ast.Call) and name == "func") \
                and not (isinstance(parent, (ast.Subscript, ast.Attribute)) and name == "value") \
                and type(getattr(node, "ctx", None)) not in (ast.Store, ast.Del) \
                and not isinstance(parent, (ast.JoinedStr, ast.FormattedValue)):
            self._exprs.append((node, parent, name, index))


_NODE_SITES = ("constants", "compares", "binops", "calls", "loops", "funcs")


@dataclass(frozen=True)
class SitePlan:
    """Sites by position in walk order (Sites.positions), for a tree parsed afresh."""

    blocks: tuple[tuple[int, str], ...]
    constants: tuple[int, ...]
    compares: tuple[int, ...]
    binops: tuple[int, ...]
    calls: tuple[int, ...]
    loops: tuple[int, ...]
    funcs: tuple[int, ...]
    exprs: tuple[tuple[int, int, str, int | None], ...]

    def on(self, tree: ast.AST) -> Sites:
        """The sites in `tree`, a fresh parse of the text the plan was made from."""
        nodes = walk(tree)
        return Sites(tree, [getattr(nodes[i], f) for i, f in self.blocks],
                     *([nodes[i] for i in getattr(self, k)] for k in _NODE_SITES),
                     _planned=[(nodes[n], nodes[p], name, i) for n, p, name, i in self.exprs])


@dataclass(frozen=True)
class Context:
    """What an edit may use besides the tree: the generator, the donors' fragments,
    and the names bound in or around the program (a donor fragment must read only
    those, or the child would fail on a NameError)."""

    rng: np.random.Generator
    donors: Fragments
    available: frozenset[str] = frozenset()

    def fitting(self, pool: list[tuple[ast.AST, frozenset[str]]]) -> ast.AST | None:
        """A fragment of `pool` whose names are all bound here, or None."""
        fits = [node for node, reads in pool if reads <= self.available]
        return pick(fits, self.rng)


Edit = Callable[[ast.Module, Sites, Context], str | None]


def pick(items: list, rng: np.random.Generator):
    """One item, uniformly (None from an empty list)."""
    return items[int(rng.integers(len(items)))] if items else None


def copy(node):
    """A fresh copy of an AST: nodes and lists copied, immutable leaves shared."""
    if isinstance(node, list):
        return [copy(v) if isinstance(v, AST) else v for v in node]
    if not isinstance(node, AST):
        return node
    new = node.__class__.__new__(node.__class__)
    fields = new.__dict__
    for k, v in node.__dict__.items():  # leaves (ints, strings) are shared, not called
        fields[k] = copy(v) if isinstance(v, (AST, list)) else v
    return new


def line(node: ast.AST) -> int | str:
    """A node's line in the parent, for notes ('?' for a node an edit made)."""
    return getattr(node, "lineno", "?")


def put(parent: ast.AST, name: str, index: int | None, new: ast.AST) -> None:
    """Set `parent`'s field `name` (item `index` of it, for a list field) to `new`."""
    if index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new


# --- point edits: constants, operators, comparisons, calls ---------------------------


def constant(tree, sites: Sites, ctx: Context) -> str | None:
    """Move a number: floats by a log-normal factor (sometimes flipping sign), ints by
    a step proportional to their size."""
    floats = [n for n in sites.constants if isinstance(n.value, float)]
    node = pick(floats if floats and ctx.rng.random() < 0.8 else sites.constants, ctx.rng)
    if node is None:
        return None
    old = node.value
    if isinstance(old, float):
        new = old * math.exp(ctx.rng.normal(0.0, 0.5)) if old else float(ctx.rng.normal(0.0, 1.0))
        new = float(f"{-new if ctx.rng.random() < 0.15 else new:.4g}")
    else:
        new = old + int(ctx.rng.choice([-2, -1, 1, 2])) * max(1, abs(old) // 4)
    if new == old:
        return None
    node.value = new
    return f"constant {old!r} -> {new!r} (line {line(node)})"


def compare(tree, sites: Sites, ctx: Context) -> str | None:
    """Swap a comparison operator for a neighbouring one (< for <=, ...)."""
    spots = [(n, i) for n in sites.compares for i, op in enumerate(n.ops)
             if type(op) in _COMPARE_SWAPS]
    spot = pick(spots, ctx.rng)
    if spot is None:
        return None
    node, i = spot
    new = pick(_COMPARE_SWAPS[type(node.ops[i])], ctx.rng)
    old, node.ops[i] = type(node.ops[i]).__name__, new()
    return f"compare {old} -> {new.__name__} (line {line(node)})"


def operator(tree, sites: Sites, ctx: Context) -> str | None:
    """Swap an arithmetic operator (+ for -, * for /, ...)."""
    node = pick(sites.binops, ctx.rng)
    if node is None:
        return None
    new = pick(_BINOP_SWAPS[type(node.op)], ctx.rng)
    old, node.op = type(node.op).__name__, new()
    return f"operator {old} -> {new.__name__} (line {line(node)})"


def _call_name(func: ast.AST) -> str | None:
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else None


def call(tree, sites: Sites, ctx: Context) -> str | None:
    """Swap a call for its pair (argmin for argmax, min for max, ...)."""
    node = pick([n for n in sites.calls if _call_name(n.func) in _PAIRED_NAMES], ctx.rng)
    if node is None:
        return None
    old = _call_name(node.func)
    setattr(node.func, "attr" if isinstance(node.func, ast.Attribute) else "id",
            _PAIRED_NAMES[old])
    return f"call {old} -> {_PAIRED_NAMES[old]} (line {line(node)})"


# --- statements -------------------------------------------------------------------


_FIXED = (ast.Return, ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)


def _movable(block: list[ast.stmt], i: int) -> bool:
    return not isinstance(block[i], _FIXED)


def swap(tree, sites: Sites, ctx: Context) -> str | None:
    """Swap two neighbouring statements."""
    spot = pick([(b, i) for b in sites.blocks for i in range(len(b) - 1)
                 if not isinstance(b[i], (ast.Global, ast.Nonlocal))
                 and not isinstance(b[i + 1], (ast.Global, ast.Nonlocal))], ctx.rng)
    if spot is None:
        return None
    block, i = spot
    block[i], block[i + 1] = block[i + 1], block[i]
    return f"swap statements at lines {line(block[i + 1])} and {line(block[i])}"


def duplicate(tree, sites: Sites, ctx: Context) -> str | None:
    """Repeat a statement right after itself."""
    spot = pick([(b, i) for b in sites.blocks for i in range(len(b)) if _movable(b, i)],
                ctx.rng)
    if spot is None:
        return None
    block, i = spot
    block.insert(i, copy(block[i]))
    return f"duplicate statement at line {line(block[i])}"


def delete(tree, sites: Sites, ctx: Context) -> str | None:
    """Remove a statement (never a block's only one)."""
    spot = pick([(b, i) for b in sites.blocks if len(b) >= 2 for i in range(len(b))
                 if _movable(b, i)], ctx.rng)
    if spot is None:
        return None
    block, i = spot
    return f"delete statement at line {line(block.pop(i))}"


def insert(tree, sites: Sites, ctx: Context) -> str | None:
    """Insert a statement taken from the program, a relative or a baseline."""
    donor = ctx.fitting(ctx.donors.stmt)
    block = pick([b for b in sites.blocks if b is not tree.body or len(sites.funcs) == 0],
                 ctx.rng)
    if donor is None or block is None:
        return None
    at = int(ctx.rng.integers(len(block) + 1))
    while at > 0 and isinstance(block[at - 1], ast.Return):
        at -= 1  # never after a return: it would be dead code
    block.insert(at, copy(donor))
    return f"insert statement at line {line(block[min(at, len(block) - 1)])}"


def wrap(tree, sites: Sites, ctx: Context) -> str | None:
    """Put a statement under a condition drawn from the program or its donors."""
    test = ctx.fitting(ctx.donors.test)
    spot = pick([(b, i) for b in sites.blocks for i in range(len(b)) if _movable(b, i)
                 and not isinstance(b[i], ast.If)], ctx.rng)
    if test is None or spot is None:
        return None
    block, i = spot
    where = line(block[i])
    block[i] = ast.copy_location(ast.If(test=copy(test), body=[block[i]], orelse=[]),
                                 block[i])
    return f"wrap statement at line {where} in a condition"


# --- expressions and loops ----------------------------------------------------------


def replace(tree, sites: Sites, ctx: Context) -> str | None:
    """Replace a subexpression by another of its kind (a value by a value, a test by a
    test) from the program itself, a relative or a baseline."""
    spot = pick(sites.exprs, ctx.rng)
    if spot is None:
        return None
    node, parent, name, index = spot
    kind = kind_of(node)
    own = [e for e, *_ in sites.exprs if kind_of(e) == kind and e is not node]
    pool = ctx.donors.test if kind == "test" else ctx.donors.value
    donor = ctx.fitting(pool) if pool and (not own or ctx.rng.random() < 0.5) else \
        pick(own, ctx.rng)
    if donor is None or ast.dump(donor) == ast.dump(node):
        return None
    put(parent, name, index, copy(donor))
    return f"replace {kind} at line {line(node)}"


def loop(tree, sites: Sites, ctx: Context) -> str | None:
    """Change a loop's bounds: a range's start or stop by one, or the order it walks."""
    node = pick(sites.loops, ctx.rng)
    if node is None:
        return None
    it = node.iter
    is_range = isinstance(it, ast.Call) and _call_name(it.func) == "range" and it.args
    if is_range and ctx.rng.random() < 0.7:
        i = int(ctx.rng.integers(min(len(it.args), 2)))
        step = int(ctx.rng.choice([-1, 1]))
        it.args[i] = ast.BinOp(it.args[i], ast.Add() if step > 0 else ast.Sub(),
                               ast.Constant(1))
        return f"loop {'start' if i == 0 and len(it.args) > 1 else 'stop'} {step:+d} " \
               f"(line {line(node)})"
    inner = it.args[0] if isinstance(it, ast.Call) and _call_name(it.func) == "reversed" \
        and len(it.args) == 1 else None
    if inner is not None:  # reversed(list(x)) -> x
        node.iter = inner.args[0] if isinstance(inner, ast.Call) and \
            _call_name(inner.func) == "list" and len(inner.args) == 1 else inner
        return f"loop forwards (line {line(node)})"
    listed = ast.Call(ast.Name("list", ast.Load()), [it], [])  # any iterable reverses
    node.iter = ast.Call(ast.Name("reversed", ast.Load()), [listed], [])
    return f"loop reversed (line {line(node)})"
