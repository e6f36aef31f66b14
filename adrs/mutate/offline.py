"""Offline mutator: AST-level edits of the evolvable region, no network.

Edits: perturb a numeric constant (occasionally flipping its sign), swap a
comparison or arithmetic operator, swap a paired function (argmin/argmax,
min/max, ...), swap/duplicate/delete a statement, and crossover, which copies
one statement from a second parent into the same position of the first.
Every choice comes from the caller's seeded generator, so a run is
reproducible. Source in another language gets adrs.mutate.offline_text's edits.
"""

from __future__ import annotations

import ast
import builtins
import functools
import math

import numpy as np

from adrs import evolve_block
from adrs.mutate import offline_text
from adrs.mutate.base import Mutation, MutationRequest, Mutator

_COMPARE_SWAPS = {ast.Lt: [ast.LtE, ast.Gt], ast.LtE: [ast.Lt, ast.GtE], ast.Gt: [ast.GtE, ast.Lt],
                  ast.GtE: [ast.Gt, ast.LtE], ast.Eq: [ast.NotEq], ast.NotEq: [ast.Eq]}
_BINOP_SWAPS = {ast.Add: [ast.Sub, ast.Mult], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
                ast.Div: [ast.Mult, ast.FloorDiv], ast.FloorDiv: [ast.Div],
                ast.Pow: [ast.Mult]}
_PAIRED_NAMES = {"argmin": "argmax", "argmax": "argmin", "min": "max", "max": "min",
                 "minimum": "maximum", "maximum": "minimum", "floor": "ceil", "ceil": "floor",
                 "nanargmin": "nanargmax", "nanargmax": "nanargmin"}
_TRIES = 8


class OfflineMutator(Mutator):
    """Children made with no model: AST edits of the evolvable region and crossover."""

    waits_on_io = False  # pure CPU: made inline, in the loop's thread

    def __init__(self, max_edits: int = 3, crossover: float = 0.15):
        self.max_edits = max(1, max_edits)
        self.crossover = crossover
        self._edits = (_perturb_constant, _swap_compare, _swap_binop, _swap_paired_call,
                       _swap_statements, _duplicate_statement, _delete_statement)

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
        """As Mutator.mutate: 1..max_edits edits (or a crossover) of the parent's region."""
        parts = evolve_block.split(request.parent.source)
        if request.language != "python":
            return _text_mutation(parts, rng, self.max_edits)
        try:
            tree = ast.parse(parts.region)
        except SyntaxError as exc:
            return Mutation(None, "offline", error=f"parent region does not parse: {exc.msg}",
                            reason="parse_error")
        before = _canonical_text(parts.region)
        done, other_id = [], None
        if request.inspirations and rng.random() < self.crossover:
            other = request.inspirations[int(rng.integers(len(request.inspirations)))]
            if note := _crossover(tree, other.source, rng):
                done.append(note)
                other_id = other.id
        wanted = len(done) + min(int(rng.geometric(0.5)), self.max_edits)
        outside = _outside_names(parts.before + parts.after)
        # a tree that already reads an unbound name keeps every edit from being kept
        blocked = outside is not None and (bool(_undefined_names(tree, outside)) if done
                                           else _reads_unbound(parts.region, outside))
        for _ in range(_TRIES * wanted):
            if len(done) >= wanted:
                break
            edit = self._edits[int(rng.integers(len(self._edits)))]
            checked = outside is not None and (blocked or edit not in _KEEPS_NAMES)
            backup = _clone(tree) if checked else None
            if note := edit(tree, rng):
                if checked and _undefined_names(tree, outside):
                    # a certain NameError: not worth an evaluation
                    tree = backup
                    continue
                done.append(note)
                blocked = False
        after = ast.unparse(tree)
        if not done or after == before:
            return Mutation(None, "offline", error="no applicable edit changed the program")
        return Mutation(parts.join(after), "offline: " + "; ".join(done), other_id)


@functools.lru_cache(maxsize=256)
def _canonical_text(region: str) -> str:
    """The region as ast.unparse writes it (parents recur: cached by their text)."""
    return ast.unparse(ast.parse(region))


@functools.lru_cache(maxsize=256)
def _reads_unbound(region: str, outside: frozenset[str]) -> bool:
    """Whether the parent region itself reads a name nothing binds (cached by its text)."""
    return bool(_undefined_names(ast.parse(region), outside))


@functools.lru_cache(maxsize=256)
def _outside_names(code: str) -> frozenset[str] | None:
    """Names bound outside the evolvable region, or None if that code does not parse
    alone (a region nested in a block: the name check is skipped)."""
    try:
        return frozenset(_defined_names(ast.parse(code)))
    except SyntaxError:
        return None


def _clone(node):
    """A deep copy of an AST, the same as copy.deepcopy's but several times faster (a
    copy is taken for every tried edit): nodes and lists are copied, the rest (names,
    constants, positions) are immutable and shared."""
    if isinstance(node, ast.AST):
        new = node.__class__.__new__(node.__class__)
        new.__dict__.update({k: _clone(v) for k, v in node.__dict__.items()})
        return new
    if isinstance(node, list):
        return [_clone(v) for v in node]
    return node


def _text_mutation(parts: evolve_block.Split, rng, max_edits: int) -> Mutation:
    region, done = offline_text.edit(parts.region, rng, max_edits)
    if not done or region == parts.region:
        return Mutation(None, "offline", error="no number or comparison to change")
    return Mutation(parts.join(region), "offline: " + "; ".join(done))


def _defined_names(tree: ast.AST) -> set[str]:
    """Every name bound anywhere in the tree: assignments, arguments, imports, defs."""
    return _names(tree)[0]


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names the tree binds and those it reads, in one walk (this runs for every
    tried edit)."""
    bound, read = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            (read if isinstance(n.ctx, ast.Load) else bound).add(n.id)
        elif isinstance(n, ast.arguments):
            bound |= {a.arg for a in n.posonlyargs + n.args + n.kwonlyargs + [n.vararg, n.kwarg]
                      if a}
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in n.names}
    return bound, read


_BUILTINS = frozenset(dir(builtins))


def _undefined_names(region: ast.AST, outside: set[str]) -> set[str]:
    """Names the region reads that nothing in the program binds and are not builtins."""
    bound, read = _names(region)
    return read - bound - outside - _BUILTINS


# --- edits: each changes `tree` in place and returns a note, or None if it cannot apply ---


def _pick(nodes: list, rng: np.random.Generator):
    return nodes[int(rng.integers(len(nodes)))] if nodes else None


def _perturb_constant(tree: ast.AST, rng) -> str | None:
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
             and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)]
    floats = [n for n in nodes if isinstance(n.value, float)]
    node = _pick(floats if floats and rng.random() < 0.8 else nodes, rng)
    if node is None:
        return None
    old = node.value
    if isinstance(old, float):
        new = old * math.exp(rng.normal(0.0, 0.5)) if old else float(rng.normal(0.0, 1.0))
        if rng.random() < 0.15:
            new = -new
        new = float(f"{new:.4g}")
    else:
        new = old + int(rng.choice([-2, -1, 1, 2])) * max(1, abs(old) // 4)
    if new == old:
        return None
    node.value = new
    return f"constant {old!r} -> {new!r} (line {node.lineno})"


def _swap_compare(tree: ast.AST, rng) -> str | None:
    sites = [(n, i) for n in ast.walk(tree) if isinstance(n, ast.Compare)
             for i, op in enumerate(n.ops) if type(op) in _COMPARE_SWAPS]
    site = _pick(sites, rng)
    if site is None:
        return None
    node, i = site
    new = _pick(_COMPARE_SWAPS[type(node.ops[i])], rng)
    old, node.ops[i] = type(node.ops[i]).__name__, new()
    return f"compare {old} -> {new.__name__} (line {node.lineno})"


def _swap_binop(tree: ast.AST, rng) -> str | None:
    nodes = [n for n in ast.walk(tree) if isinstance(n, (ast.BinOp, ast.AugAssign))
             and type(n.op) in _BINOP_SWAPS]
    node = _pick(nodes, rng)
    if node is None:
        return None
    new = _pick(_BINOP_SWAPS[type(node.op)], rng)
    old, node.op = type(node.op).__name__, new()
    return f"operator {old} -> {new.__name__} (line {node.lineno})"


def _swap_paired_call(tree: ast.AST, rng) -> str | None:
    def name_of(func):
        return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)

    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and name_of(n.func) in _PAIRED_NAMES]
    node = _pick(nodes, rng)
    if node is None:
        return None
    old = name_of(node.func)
    setattr(node.func, "attr" if isinstance(node.func, ast.Attribute) else "id",
            _PAIRED_NAMES[old])
    return f"call {old} -> {_PAIRED_NAMES[old]} (line {node.lineno})"


def _blocks(tree: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list in the tree, function bodies and loop bodies included."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module):
            continue
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                out.append(block)
    return out


def _swap_statements(tree: ast.AST, rng) -> str | None:
    block = _pick([b for b in _blocks(tree) if len(b) >= 2], rng)
    if block is None:
        return None
    i = int(rng.integers(len(block) - 1))
    block[i], block[i + 1] = block[i + 1], block[i]
    return f"swap statements at lines {block[i + 1].lineno} and {block[i].lineno}"


def _statement_sites(tree: ast.AST, min_len: int) -> list[tuple[list, int]]:
    """(block, index) of every statement that may be copied or removed."""
    return [(b, i) for b in _blocks(tree) if len(b) >= min_len for i, st in enumerate(b)
            if not isinstance(st, (ast.Return, ast.FunctionDef))]


def _duplicate_statement(tree: ast.AST, rng) -> str | None:
    site = _pick(_statement_sites(tree, 1), rng)
    if site is None:
        return None
    block, i = site
    block.insert(i, _clone(block[i]))
    return f"duplicate statement at line {block[i].lineno}"


def _delete_statement(tree: ast.AST, rng) -> str | None:
    site = _pick(_statement_sites(tree, 2), rng)
    if site is None:
        return None
    block, i = site
    return f"delete statement at line {block.pop(i).lineno}"


# Edits that leave the sets of names a tree binds and reads as they were (they change
# constants or operators, or move or copy statements already there): they cannot add
# an undefined name, so they need no backup and no check.
_KEEPS_NAMES = frozenset({_perturb_constant, _swap_compare, _swap_binop, _swap_statements,
                          _duplicate_statement})


def _crossover(tree: ast.AST, other_source: str, rng) -> str | None:
    """Copy one statement of the other program into the same position of this one."""
    try:
        other = ast.parse(evolve_block.split(other_source).region)
    except (SyntaxError, evolve_block.MarkerError):
        return None
    ours, theirs = _blocks(tree), _blocks(other)
    pairs = [(a, b) for a, b in zip(ours, theirs, strict=False)]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    i = int(rng.integers(min(len(a), len(b))))
    if ast.dump(a[i]) == ast.dump(b[i]):
        return None
    a[i] = _clone(b[i])
    return f"crossover statement at line {a[i].lineno}"
