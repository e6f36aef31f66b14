"""The offline mutator: every edit kind gives compilable, name-bound code on real
programs, crossover mixes both parents, donors reach the child, the edit bandit
learns from credit, and the same seed gives the same children."""

import ast
import math
from pathlib import Path

import numpy as np
import pytest

from adrs import evolve_block
from adrs.mutate import MutationRequest, OfflineMutator, Parent, donors
from adrs.mutate import ast_crossover as cross
from adrs.mutate import ast_edits as edits
from adrs.mutate.edit_bandit import EditBandit
from adrs.mutate.offline import EDITS, KINDS, _outside_names, _undefined_names, edit_kinds

ROOT = Path(__file__).resolve().parents[1]
SRC = """import numpy as np

# EVOLVE-BLOCK-START
def helper(a, b):
    return a * 2 + b


def policy(x):
    y = x * 0.5
    z = np.argmin(x)
    for i in range(3):
        y = y + helper(i, 1)
    if y < 2:
        y = y + 1
    return y + z
# EVOLVE-BLOCK-END

def outside():
    return 1
"""


def _corpus() -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, program, its problem's baselines) for every bundled Python program and
    baseline: what the edits must handle."""
    found = []
    for problem in sorted((ROOT / "problems").iterdir()):
        baselines = tuple(p.read_text() for p in sorted(problem.glob("baselines/*.py")))
        for path in [*problem.glob("initial_program.py"), *problem.glob("baselines/*.py")]:
            found.append((f"{problem.name}/{path.name}", path.read_text(), baselines))
    return found


CORPUS = _corpus()


def _request(src=SRC, others=()):
    return MutationRequest("desc", Parent(1, src, 0.0), tuple(others))


def _sound(source: str) -> bool:
    """It compiles, and reads no name that nothing in the program binds."""
    compile(source, "<child>", "exec", dont_inherit=True)
    parts = evolve_block.split(source)
    outside = _outside_names(parts.before + parts.after) or frozenset()
    return not _undefined_names(ast.parse(parts.region), outside)


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_every_edit_kind_gives_compilable_name_bound_code_on_real_programs(kind):
    changed = 0  # the bundled programs, and SRC (it has a helper to inline)
    for name, program, baselines in [*CORPUS, ("SRC", SRC, ())]:
        parts = evolve_block.split(program)
        outside = _outside_names(parts.before + parts.after) or frozenset()
        lib = donors.library(program, (), baselines, "both")
        for seed in range(12):
            tree = ast.parse(parts.region)
            ctx = edits.Context(np.random.default_rng([seed]), lib, _names_here(tree, outside))
            note = EDITS[kind](tree, edits.Sites.of(tree), ctx)
            if note is None:
                continue
            assert note.split(" ", 1)[0] == kind, note
            child = parts.join(ast.unparse(tree))
            if kind == "delete" and _undefined_names(tree, outside):
                continue  # the mutator checks deletions and tries again
            assert _sound(child), (name, note)
            changed += child != program
    assert changed > 0, f"{kind} never applied to any bundled program"


def _names_here(tree, outside):
    import builtins

    from adrs.mutate.offline import _names

    return frozenset(_names(tree)[0]) | outside | frozenset(dir(builtins))


@pytest.mark.parametrize("name,program,baselines", CORPUS, ids=[c[0] for c in CORPUS])
def test_children_of_real_programs_are_sound_and_change_only_the_region(name, program,
                                                                       baselines):
    m = OfflineMutator(baselines=baselines)
    others = tuple(Parent(10 + i, b, 0.5) for i, b in enumerate(baselines[:2]))
    parent = evolve_block.split(program)
    made = 0
    for i in range(40):
        child = m.mutate(_request(program, others), np.random.default_rng([3, i]))
        if child.source is None:
            continue
        made += 1
        parts = evolve_block.split(child.source)
        assert (parts.before, parts.after) == (parent.before, parent.after)
        assert _sound(child.source), child.description
        assert edit_kinds(child.description), child.description
    assert made >= 35


def test_same_seed_gives_the_same_children():
    a = [OfflineMutator().mutate(_request(), np.random.default_rng([7, i])).source
         for i in range(20)]
    b = [OfflineMutator().mutate(_request(), np.random.default_rng([7, i])).source
         for i in range(20)]
    assert a == b and len(set(a)) > 10


def _apply(edit, seed=0, src=SRC, lib=None):
    tree = ast.parse(evolve_block.split(src).region)
    ctx = edits.Context(np.random.default_rng(seed), lib or donors.fragments_of(src),
                        _names_here(tree, frozenset({"np"})))
    return edit(tree, edits.Sites.of(tree), ctx), ast.unparse(tree)


def _first(edit, want, src=SRC, lib=None):
    """The first seed's (note, program) for which `want(program)` holds."""
    for seed in range(50):
        note, out = _apply(edit, seed, src, lib)
        if note and want(out):
            return note, out
    raise AssertionError(f"{edit.__name__} never did it")


def test_each_edit_does_what_it_says():
    plain = ast.unparse(ast.parse(evolve_block.split(SRC).region))
    assert "np.argmax(x)" in _first(edits.call, lambda o: "argmax" in o)[1]
    assert "y < 2" not in _first(edits.compare, lambda o: "y < 2" not in o)[1]
    assert _first(edits.delete, lambda o: o.count("\n") < plain.count("\n"))
    assert _first(edits.duplicate, lambda o: o.count("\n") > plain.count("\n"))
    assert _first(edits.loop, lambda o: "range(3 + 1)" in o or "range(3 - 1)" in o)
    assert _first(edits.loop, lambda o: "reversed(list(range(3)))" in o)
    note, out = _first(edits.wrap, lambda o: o.count("if ") == 2)
    assert note.startswith("wrap") and compile(out, "c", "exec")
    assert _first(cross.inline, lambda o: "helper(i, 1)" not in o and "i * 2 + 1" in o)
    note, out = _first(cross.extract, lambda o: "_policy_part1" in o)
    assert "def _policy_part1(" in out and compile(out, "c", "exec")


def test_donor_fragments_reach_the_child_only_with_their_names_bound():
    baseline = SRC.replace("y = x * 0.5", "y = np.sqrt(x) * 0.25 + np.median(x)")
    lib = donors.library(SRC, (), (baseline,), "both")
    _, out = _first(edits.replace, lambda o: "np.median(x)" in o, lib=lib)
    assert _sound(evolve_block.split(SRC).join(out))
    foreign = SRC.replace("y = x * 0.5", "y = unknown_table[x] * 0.5")
    lib = donors.library(SRC, (), (foreign,), "both")
    for seed in range(50):
        _, out = _apply(edits.replace, seed, lib=lib)
        assert "unknown_table" not in out  # a fragment reading an unbound name is skipped
    assert donors.library(SRC, (foreign,), (baseline,), "none").value == \
        donors.fragments_of(SRC).value


def test_crossover_mixes_both_parents_at_subtree_statement_and_function_level():
    other = SRC.replace("y = x * 0.5", "y = x * 9.0").replace(
        "return a * 2 + b", "return a - b * 7")
    m = OfflineMutator(max_edits=1, crossover=1.0)
    kinds = {}
    for i in range(200):
        child = m.mutate(_request(others=[Parent(2, other, 1.0)]), np.random.default_rng(i))
        if child.other_parent_id == 2:
            kind = edit_kinds(child.description)[0]
            mixed = "9.0" in child.source or "b * 7" in child.source
            kinds[kind] = kinds.get(kind, False) or mixed
    assert kinds == {"crossover_subtree": True, "crossover_statement": True,
                     "crossover_function": True}


def test_the_bandit_learns_which_edit_pays_and_reads_kinds_back_from_descriptions():
    assert edit_kinds("offline: constant 1 -> 2 (line 3); insert statement at line 4") == \
        ["constant", "insert"]
    assert edit_kinds("llm diff") == [] and edit_kinds(None) == []
    bandit = EditBandit(KINDS)
    for _ in range(60):
        bandit.credit(["insert"], gain=0.1, valid=True, duplicate=False)
        for kind in KINDS:
            if kind != "insert":  # every other kind fails, or repeats its parent
                bandit.credit([kind], gain=0.0, valid=False, duplicate=kind == "swap")
    rng = np.random.default_rng(0)
    picks = [bandit.choose(rng) for _ in range(400)]
    assert picks.count("insert") > 0.5 * len(picks)
    assert picks.count("constant") < picks.count("insert") / 5
    table = {r["edit"]: r for r in bandit.table()}
    assert table["insert"]["improved"] == 60 and table["constant"]["mean_reward"] == 0.0


def test_the_mutator_credits_its_bandit_from_revealed_children():
    m = OfflineMutator()
    for _ in range(30):
        m.credit("offline: wrap statement at line 3 in a condition", 0.2, "ok")
        m.credit("offline: swap statements at lines 1 and 2", 0.0, "duplicate")
    table = {r["edit"]: r for r in m.bandit.table()}
    assert table["wrap"]["improved"] == 30 and table["swap"]["improved"] == 0
    assert table["wrap"]["mean_reward"] > table["swap"]["mean_reward"]


DONOR = '''import heapq
import math as m

SCALE, UNUSED = 3.0, 1


def _norm(v):
    return v / SCALE


def helper(a, b):
    return a + b


def policy(x):
    def inner(k):
        return heapq.nsmallest(1, [k, m.pi])[0]
    return _norm(inner(float(x[0])))
'''


def test_transplant_brings_the_donors_function_with_what_it_needs():
    lib = donors.library(SRC, (), (DONOR,), "both")
    note, out = _first(cross.transplant, lambda o: "heapq" in o, lib=lib)
    assert note.startswith("transplant policy and helper, with 4 supporting"), note
    assert "UNUSED" in out and "SCALE" in out  # the whole assignment moves
    assert out.index("import heapq") < out.index("def policy")
    assert "return a + b" in out  # companion: the donor's helper replaced ours
    child = evolve_block.split(SRC).join(out)
    assert _sound(child)
    namespace = {}
    exec(compile(child, "<child>", "exec"), namespace)  # test data, not a candidate
    assert namespace["policy"](np.array([5.0])) == pytest.approx(math.pi / 3.0)
    # a donor whose function reads a name bound nowhere is never transplanted
    broken = DONOR.replace("_norm(inner", "_missing(inner")
    lib = donors.library(SRC, (), (broken,), "both")
    for seed in range(30):
        note, out = _apply(cross.transplant, seed, lib=lib)
        assert "_missing" not in out


def test_a_child_that_repeats_a_known_source_is_made_again(tmp_path, monkeypatch):
    from adrs.loop import Search
    from adrs.runs import start_run

    def duplicates(retries):
        monkeypatch.setattr(OfflineMutator, "repeat_retries", retries)
        ctx = start_run("txn_scheduling", name=f"r{retries}", db=None,
                        archive=tmp_path / f"a{retries}", config_file=None,
                        overrides={"iterations": 60, "seed": 1, "workers": 1})
        Search(ctx, progress=False).run()
        rows = [r for r in ctx.store.history(ctx.run.id) if r.iteration > 0]
        return ctx.store.summary(ctx.run.id)["duplicates"].get("syntactic", 0), len(rows)

    without, n = duplicates(0)
    with_retries, m_ = duplicates(4)
    assert n == m_ == 60
    assert without >= 5 and with_retries <= without // 2, (without, with_retries)
