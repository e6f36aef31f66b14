"""The offline mutator's edits, determinism and crossover."""

import ast

import numpy as np

from adrs import evolve_block
from adrs.mutate import MutationRequest, OfflineMutator, Parent, offline

SRC = """import numpy as np

# EVOLVE-BLOCK-START
def policy(x):
    y = x * 0.5
    z = np.argmin(x)
    if y < 2:
        y = y + 1
    return y + z
# EVOLVE-BLOCK-END

def outside():
    return 1
"""


def _request(src=SRC, others=()):
    return MutationRequest("desc", Parent(1, src, 0.0), tuple(others))


def test_same_seed_gives_the_same_children():
    m = OfflineMutator()
    a = [m.mutate(_request(), np.random.default_rng([7, i])).source for i in range(10)]
    b = [m.mutate(_request(), np.random.default_rng([7, i])).source for i in range(10)]
    assert a == b and len(set(a)) > 3


def test_children_change_only_the_evolvable_region():
    m = OfflineMutator()
    parent = evolve_block.split(SRC)
    for i in range(20):
        child = m.mutate(_request(), np.random.default_rng(i))
        if child.source is None:
            continue
        parts = evolve_block.split(child.source)
        assert (parts.before, parts.after) == (parent.before, parent.after)
        assert parts.region != parent.region
        ast.parse(child.source)


def _apply(edit, seed=0):
    tree = ast.parse(evolve_block.split(SRC).region)
    note = edit(tree, np.random.default_rng(seed))
    return note, ast.unparse(tree)


def test_each_edit_does_what_it_says():
    note, out = _apply(offline._swap_paired_call)
    assert "argmin -> argmax" in note and "np.argmax(x)" in out
    note, out = _apply(offline._swap_compare)
    assert "Lt ->" in note and "y < 2" not in out
    note, out = _apply(offline._perturb_constant)
    assert note.startswith("constant") and out != _apply(lambda t, r: "")[1]
    note, out = _apply(offline._delete_statement)
    assert note.startswith("delete") and out.count("\n") < _apply(lambda t, r: "")[1].count("\n")
    note, out = _apply(offline._duplicate_statement)
    assert out.count("\n") > _apply(lambda t, r: "")[1].count("\n")


def test_crossover_copies_a_statement_from_the_other_parent():
    other = SRC.replace("y = x * 0.5", "y = x * 9.0").replace("np.argmin(x)", "np.max(x)")
    m = OfflineMutator(max_edits=1, crossover=1.0)
    seen = set()
    for i in range(30):
        child = m.mutate(_request(others=[Parent(2, other, 1.0)]), np.random.default_rng(i))
        if child.other_parent_id == 2:
            seen.add(("9.0" in child.source, "np.max(x)" in child.source))
            assert "crossover" in child.description
    assert any(a or b for a, b in seen)


def test_no_edit_possible_is_reported_not_raised():
    src = "# EVOLVE-BLOCK-START\npass\n# EVOLVE-BLOCK-END\n"
    out = OfflineMutator().mutate(_request(src), np.random.default_rng(0))
    assert out.source is None and "no applicable edit" in out.error


def test_edits_that_leave_a_name_undefined_are_not_proposed():
    src = ("import math\n# EVOLVE-BLOCK-START\ndef f(x):\n    y = x * 2.0\n"
           "    z = math.sqrt(y)\n    return y + z\n# EVOLVE-BLOCK-END\n")
    m = OfflineMutator(max_edits=3, crossover=0.0)
    children = [m.mutate(_request(src), np.random.default_rng(i)).source for i in range(60)]
    children = [c for c in children if c]
    assert len(children) > 20
    assert all("y = " in c and "z = " in c for c in children)


def test_a_parent_already_reading_an_unbound_name_is_never_edited_into_a_child():
    # Every edit would leave the name unbound, the ones that move only constants,
    # operators or statements (kept without a check otherwise) included.
    src = ("# EVOLVE-BLOCK-START\ndef f(x):\n    y = x * 2.0 + 1.5\n"
           "    return y < 3.0 and y - x > 0.5 + missing\n# EVOLVE-BLOCK-END\n")
    m = OfflineMutator(max_edits=3, crossover=0.0)
    outs = [m.mutate(_request(src), np.random.default_rng(i)) for i in range(40)]
    assert all(o.source is None and "no applicable edit" in o.error for o in outs)
    fixed = src.replace(" + missing", "")  # the same program without it is edited
    assert any(m.mutate(_request(fixed), np.random.default_rng(i)).source for i in range(5))
