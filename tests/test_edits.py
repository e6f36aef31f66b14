"""Applying model replies: SEARCH/REPLACE diffs and rewrites, confined to the region."""

import pytest

from adrs.mutate.edits import EditError, apply_diff, child_from_reply, render_diff

PROGRAM = """import numpy as np

def helper(x):
    return x + 1

# EVOLVE-BLOCK-START
def policy(loads):
    order = np.argsort(loads)
    if loads.sum() > 0:
        scale = 2.0
    return order
# EVOLVE-BLOCK-END
"""


def diff(search, replace):
    return f"<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_an_exact_diff_applies_inside_the_region():
    child = apply_diff(PROGRAM, [("        scale = 2.0\n", "        scale = 3.0\n")])
    assert child == PROGRAM.replace("scale = 2.0", "scale = 3.0")


def test_indentation_and_trailing_space_drift_is_tolerated_and_reindented():
    reply = "Here:\n" + diff("if loads.sum() > 0:   \n    scale = 2.0\n",
                             "if loads.sum() >= 0:\n    scale = 2.5\n    order = order[::-1]\n")
    child = child_from_reply(reply, PROGRAM, want_diff=True)
    assert "    if loads.sum() >= 0:\n        scale = 2.5\n        order = order[::-1]\n" in child
    assert child.startswith(PROGRAM.split("# EVOLVE-BLOCK-START")[0])
    compile(child, "child", "exec")


def test_several_blocks_apply_in_order():
    reply = diff("    order = np.argsort(loads)\n", "    order = np.argsort(-loads)\n") + \
        diff("        scale = 2.0\n", "        scale = 1.0\n")
    child = child_from_reply(reply, PROGRAM, want_diff=True)
    assert "argsort(-loads)" in child and "scale = 1.0" in child


@pytest.mark.parametrize("reply, reason", [
    ("I would rather not.", "no_code"),
    (diff("    return x + 1\n", "    return x + 2\n"), "outside_region"),
    (diff("import numpy as np\n", "import os\n"), "outside_region"),
    (diff("    order = sorted(loads)\n", "    order = loads\n"), "diff_failed"),
    (diff("\n", "x = 1\n"), "diff_failed"),
    ("```python\nimport os\n# EVOLVE-BLOCK-START\ndef policy(loads):\n    return loads\n"
     "# EVOLVE-BLOCK-END\n```", "outside_region"),
    ("```python\n# EVOLVE-BLOCK-END\ndef policy(loads):\n    return loads\n```",
     "outside_region"),
])
def test_replies_that_yield_no_child_say_why(reply, reason):
    with pytest.raises(EditError) as err:
        child_from_reply(reply, PROGRAM, want_diff=True)
    assert err.value.reason == reason


def test_a_rewrite_replaces_only_the_region():
    whole = PROGRAM.replace("scale = 2.0", "scale = 9.0")
    assert child_from_reply(f"```python\n{whole}```", PROGRAM, want_diff=False) == whole
    region_only = "```python\ndef policy(loads):\n    return np.argsort(loads)\n```"
    child = child_from_reply(region_only, PROGRAM, want_diff=False)
    assert child.endswith("# EVOLVE-BLOCK-START\ndef policy(loads):\n"
                          "    return np.argsort(loads)\n# EVOLVE-BLOCK-END\n")
    assert "def helper" in child


def test_a_diff_request_answered_with_a_code_block_is_a_rewrite():
    whole = PROGRAM.replace("scale = 2.0", "scale = 4.0")
    assert child_from_reply(f"```python\n{whole}```", PROGRAM, want_diff=True) == whole


def test_render_diff_round_trips_and_keeps_search_text_unique():
    region = "a = 1\nb = 2\na = 1\nc = 3\n"
    new = "a = 1\nb = 2\na = 5\nc = 3\n"
    block = render_diff(region, new)
    assert block.count("SEARCH") == 1
    assert child_from_reply(block, region, want_diff=True) == new
