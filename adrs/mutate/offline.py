"""Offline mutator: a genetic-programming search over Python programs, no network.

A child is 1..max_edits edits of the parent's evolvable region, or (with
probability `crossover`, when the request has a second parent) a crossover
with it followed by edits. The edit kinds (adrs.mutate.ast_edits,
adrs.mutate.ast_crossover): point edits of constants, comparisons, operators
and paired calls; inserting, deleting, duplicating, swapping statements;
wrapping one in a condition; replacing a subexpression by another of its kind;
changing a loop's bounds or direction; inlining or extracting a helper;
subtree, statement and function crossover; transplanting a donor's whole
function with what it needs. Fragments come from the program,
its relatives and the problem's baselines (`[mutator] donors`). Which kind is
tried next is learnt (adrs.mutate.edit_bandit) from the children already
revealed. Every child compiles and reads no name the program leaves unbound;
every random choice comes from the caller's seeded generator, so a run is
reproducible. Source in another language gets adrs.mutate.offline_text's edits.
"""

from __future__ import annotations

import ast
import builtins
import functools

import numpy as np

from adrs import evolve_block
from adrs.mutate import ast_crossover as cross
from adrs.mutate import ast_edits as edits
from adrs.mutate import donors, offline_text
from adrs.mutate.ast_walk import walk
from adrs.mutate.base import Mutation, MutationRequest, Mutator
from adrs.mutate.edit_bandit import EditBandit

EDITS = {"constant": edits.constant, "compare": edits.compare, "operator": edits.operator,
         "call": edits.call, "swap": edits.swap, "duplicate": edits.duplicate,
         "delete": edits.delete, "insert": edits.insert, "wrap": edits.wrap,
         "replace": edits.replace, "loop": edits.loop, "inline": cross.inline,
         "extract": cross.extract, "transplant": cross.transplant}
CROSSOVERS = ("crossover_subtree", "crossover_statement", "crossover_function")
KINDS = tuple(EDITS) + CROSSOVERS
# Kinds after which the child is compiled: statements from another place may not fit
_COMPILE_AFTER = frozenset({"crossover_statement", "crossover_function", "transplant"})
# Kinds after which the names are checked: the others bind what they read by
# construction (point edits and moves keep the names; fragments from elsewhere are
# chosen among those whose names are all bound here)
_CHECK_AFTER = frozenset({"delete", "crossover_statement", "crossover_function",
                          "transplant"})
# Kinds that change nodes in place and leave the tree's shape (its expressions) as it was
_POINT_EDITS = frozenset({"constant", "compare", "operator", "call"})
_TRIES = 6  # fresh starts from the parent when a child would not compile or bind names
_BUILTINS = frozenset(dir(builtins))


class OfflineMutator(Mutator):
    """Children made with no model: AST edits and crossover, learnt edit choice."""

    waits_on_io = False  # pure CPU: made inline, in the loop's thread
    repeat_retries = 4  # a repeated source costs an iteration; another child, a millisecond

    def __init__(self, max_edits: int = 3, crossover: float = 0.15, donors: str = "both",
                 baselines: tuple[str, ...] = ()):
        self.max_edits = max(1, max_edits)
        self.crossover = crossover
        self.donors, self.baselines = donors, tuple(baselines)
        self.bandit = EditBandit(KINDS)

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
        """As Mutator.mutate: a crossover and/or 1..max_edits edits of the parent's region."""
        parts = evolve_block.split(request.parent.source)
        if request.language != "python":
            return _text_mutation(parts, rng, self.max_edits)
        try:
            before = _canonical_text(parts.region)
        except SyntaxError as exc:
            return Mutation(None, "offline", error=f"parent region does not parse: {exc.msg}",
                            reason="parse_error")
        outside = _outside_names(parts.before + parts.after)
        relatives = tuple(p.source for p in request.inspirations)
        lib = donors.library(request.parent.source, relatives, self.baselines, self.donors)
        available = _bound(parts.region) | (outside or frozenset()) | _BUILTINS
        ctx = edits.Context(rng, lib, available)
        for _ in range(_TRIES):
            child = self._attempt(parts, request, ctx, outside, before)
            if child is not None:
                return child
        return Mutation(None, "offline", error="no applicable edit changed the program")

    def _attempt(self, parts, request, ctx: edits.Context, outside, before) -> Mutation | None:
        """One try from a fresh parse of the parent: the child, or None to try again."""
        rng, tree = ctx.rng, ast.parse(parts.region)
        sites = _plan(parts.region).on(tree)  # kept through the edits: a stale site changes nothing
        notes, kinds, other_id = [], [], None
        if request.inspirations and rng.random() < self.crossover:
            other = request.inspirations[int(rng.integers(len(request.inspirations)))]
            kind = self.bandit.choose(rng, CROSSOVERS)
            if note := _crossover(kind, tree, sites, other.source, ctx):
                sites.moved()
                notes.append(note)
                kinds.append(kind)
                other_id = other.id
        wanted = len(notes) + min(int(rng.geometric(0.5)), self.max_edits)
        for _ in range(3 * wanted):
            if len(notes) >= wanted:
                break
            kind = self.bandit.choose(rng, tuple(EDITS))
            if note := EDITS[kind](tree, sites, ctx):
                if kind not in _POINT_EDITS:
                    sites.moved()
                notes.append(note)
                kinds.append(kind)
        if not notes:
            return None
        checked = outside is not None and not _CHECK_AFTER.isdisjoint(kinds)
        if checked and _undefined_names(tree, outside):
            return None  # a certain NameError: not worth an evaluation
        after = ast.unparse(tree)
        if after == before or (_COMPILE_AFTER & set(kinds) and not _compiles(after)):
            return None
        return Mutation(parts.join(after), "offline: " + "; ".join(notes), other_id)

    def credit(self, description: str | None, gain: float, status: str) -> None:
        """A revealed child: the kinds of edit that made it learn what it did."""
        kinds = edit_kinds(description)
        if kinds:
            self.bandit.credit(kinds, gain, status == "ok", status == "duplicate")


def edit_kinds(description: str | None) -> list[str]:
    """The edit kinds an offline child's stored description names, in order."""
    if not description or not description.startswith("offline: "):
        return []
    notes = description[len("offline: "):].split("; ")
    return [n.split(" ", 1)[0] for n in notes if n.split(" ", 1)[0] in KINDS]


def _crossover(kind: str, tree: ast.Module, sites: edits.Sites, other_source: str,
               ctx) -> str | None:
    try:
        other_region = evolve_block.split(other_source).region
        other_tree = ast.parse(other_region)
    except (SyntaxError, evolve_block.MarkerError, ValueError):
        return None
    if kind == "crossover_statement":
        return cross.statement(tree, sites, ctx, other_tree)
    fragments = donors.fragments_of(other_source)
    if kind == "crossover_function":
        return cross.function(tree, sites, ctx, fragments)
    return cross.subtree(tree, sites, ctx, fragments)


def _compiles(text: str) -> bool:
    try:
        compile(text, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _text_mutation(parts: evolve_block.Split, rng, max_edits: int) -> Mutation:
    region, done = offline_text.edit(parts.region, rng, max_edits)
    if not done or region == parts.region:
        return Mutation(None, "offline", error="no number or comparison to change")
    return Mutation(parts.join(region), "offline: " + "; ".join(done))


@functools.lru_cache(maxsize=64)
def _plan(region: str) -> edits.SitePlan:
    """Where the parent region's sites are (parents recur: cached by their text)."""
    return edits.Sites.of(ast.parse(region)).positions()


@functools.lru_cache(maxsize=256)
def _canonical_text(region: str) -> str:
    """The region as ast.unparse writes it (parents recur: cached by their text)."""
    return ast.unparse(ast.parse(region))


@functools.lru_cache(maxsize=256)
def _bound(region: str) -> frozenset[str]:
    """Names the region binds (cached by its text)."""
    return frozenset(_names(ast.parse(region))[0])


@functools.lru_cache(maxsize=256)
def _outside_names(code: str) -> frozenset[str] | None:
    """Names bound outside the evolvable region, or None if that code does not parse
    alone (a region nested in a block: the name check is skipped)."""
    try:
        return frozenset(_names(ast.parse(code))[0])
    except SyntaxError:
        return None


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """The names the tree binds and those it reads, in one walk."""
    bound, read = set(), set()
    for n in walk(tree):
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


def _undefined_names(region: ast.AST, outside: frozenset[str]) -> set[str]:
    """Names the region reads that nothing in the program binds and are not builtins."""
    bound, read = _names(region)
    return read - bound - outside - _BUILTINS
