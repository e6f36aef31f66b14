"""Functional hashing: equivalent programs share a hash, slightly different ones never do.

The corpus per shipped problem pairs a program with rewrites that keep its
behaviour (renames, reordering, x*2 for x+x, dead code, a constant that cannot
matter) and with rewrites that change it only slightly (one branch, one
boundary, one constant that matters).
"""

import numpy as np
import pytest

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.hashing import functional_hash


def edit(src, *pairs):
    for old, new in pairs:
        assert old in src, old
        src = src.replace(old, new)
    return src


def fhash(problem, src):
    ev = evaluate(problem, src, build(problem.defaults).sandbox, gate=lambda h: False)
    assert ev.status == "equivalent" and ev.functional_hash, (ev.failure, ev.error)
    return ev.functional_hash


LOAD = "        gpu_load = np.zeros(num_gpus)\n"
FREE = "        gpu_free = np.full(num_gpus, slots_per_gpu)\n"
END = "    return phy2log\n# EVOLVE"
DEAD = "    unused = np.zeros(3)\n    if unused.sum() > 1:\n        return None\n"
MOE_SAME = [
    ("renamed variables", [("gpu_load", "load_per_gpu"), ("counts", "n_replicas")]),
    ("independent statements reordered", [(LOAD + FREE, FREE + LOAD)]),
    ("x * 1.0 for x + 0.0", [("replica_load * 1.0", "replica_load + 0.0")]),
    ("dead code", [(END, DEAD + END)]),
    ("a constant that cannot matter", [("open_gpus] * 0.5", "open_gpus] * 0.7")]),
]
MOE_DIFFERENT = [
    ("one branch", [("open_gpus[np.argmax(", "open_gpus[np.argmin(")]),
    ("one boundary: unstable sort on ties", [('kind="stable"', 'kind="quicksort"')]),
    ("a constant that matters", [("replica_load * 1.0", "replica_load * -1.0")]),
    ("spare slots to the hottest", [("counts[np.argmin(load / counts)]",
                                     "counts[np.argmax(load / counts)]")]),
]


def test_moe_equivalent_rewrites_share_the_functional_hash(moe_problem):
    base = moe_problem.initial_source
    h = fhash(moe_problem, base)
    for name, pairs in MOE_SAME:
        assert fhash(moe_problem, edit(base, *pairs)) == h, name


def test_moe_slightly_different_programs_never_share_it(moe_problem):
    base = moe_problem.initial_source
    hashes = {"base": fhash(moe_problem, base)}
    for name, pairs in MOE_DIFFERENT:
        hashes[name] = fhash(moe_problem, edit(base, *pairs))
    greedy = moe_problem.baselines["eplb_greedy"].read_text()
    hashes["greedy"] = fhash(moe_problem, greedy)
    damped = ("weight / logcnt, axis=1", "weight / (logcnt + 0.5), axis=1")
    hashes["greedy, damped replica weight"] = fhash(moe_problem, edit(greedy, damped))
    assert len(set(hashes.values())) == len(hashes), hashes


def test_target_number_corpus(target_problem):
    base = "def guess(scale):\n    return 0.5 * scale + 1.0\n"
    same = ["def guess(scale):\n    return 1.0 + scale * 0.5\n",
            "def guess(scale):\n    half = scale / 2\n    return half + 1.0\n",
            "def guess(scale):\n    return (scale + scale) * 0.25 + 1.0\n"]
    different = ["def guess(scale):\n    return 0.5 * scale + 1.001\n",
                 "def guess(scale):\n    return 0.5 * abs(scale) + 1.0\n",
                 "def guess(scale):\n    return 0.5 * scale + 1.0 if scale > -2 else 0.0\n"]
    h = fhash(target_problem, base)
    assert all(fhash(target_problem, s) == h for s in same)
    assert len({fhash(target_problem, d) for d in different} | {h}) == len(different) + 1


def test_canonical_form_rounds_floats_and_keeps_kind_shape_and_order():
    a = np.array([1.0, 2.0])
    assert functional_hash([a + 1e-12]) == functional_hash([a])
    assert functional_hash([a + 1e-3]) != functional_hash([a])
    assert functional_hash([a[::-1]]) != functional_hash([a])
    assert functional_hash([a.reshape(2, 1)]) != functional_hash([a])
    assert functional_hash([np.array([1, 2])]) != functional_hash([a])
    assert functional_hash([-0.0]) == functional_hash([0.0])
    assert functional_hash([float("nan")]) == functional_hash([float("nan")])


@pytest.mark.parametrize("cmd_json", [True, False])
def test_hash_command_prints_both_hashes(tmp_path, cmd_json):
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "adrs", "hash", "moe_expert_placement",
                          "problems/moe_expert_placement/initial_program.py"]
                         + (["--json"] if cmd_json else []),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    if cmd_json:
        data = json.loads(out.stdout)
        assert len(data["syntactic_hash"]) == 64 and len(data["functional_hash"]) == 64
    else:
        assert "functional_hash" in out.stdout
