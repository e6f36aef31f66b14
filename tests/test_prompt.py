"""Prompt templates render the mutation context; runs and problems can override them."""

import pytest

from adrs.mutate import MutationRequest, Parent
from adrs.mutate.base import FailureNote
from adrs.mutate.prompt import KINDS, Prompts

REQUEST = MutationRequest(
    "Balance the experts.",
    Parent(1, "def f():\n    return 1\n", 0.5, {"balancedness": 0.5}),
    (Parent(2, "def f():\n    return 2\n", 0.7), Parent(3, "def f():\n    return 3\n", 0.6)),
    (FailureNote("llm: m (diff)", "crashed", "ZeroDivisionError: division by zero"),),
)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_includes_problem_parent_metrics_inspirations_and_failures(kind):
    other = REQUEST.inspirations[0] if kind == "crossover" else None
    system, user = Prompts().render(kind, REQUEST, other)
    assert "higher scores are better" in system
    assert "Balance the experts." in user
    assert "return 1" in user and "score 0.5000" in user and "- balancedness: 0.5" in user
    assert "return 2" in user and "return 3" in user
    assert "crashed: ZeroDivisionError: division by zero" in user
    assert ("<<<<<<< SEARCH" in user) == (kind == "diff")
    if kind == "crossover":
        assert user.count("return 2") == 1 and "Second parent (score 0.7000)" in user


def test_prompt_size_is_bounded_by_dropping_inspirations_never_the_parent():
    big = "x = 1\n" * 2000
    request = MutationRequest("P", Parent(1, big, 0.1),
                              (Parent(3, "z = 3\n", 0.3), Parent(2, "y = 2\n" * 400, 0.2)),
                              (FailureNote("e", "timeout", "slow"),))
    _, user = Prompts(max_chars=len(big) + 2000).render("rewrite", request)
    assert big.strip() in user and "z = 3" in user and "y = 2" not in user
    _, user = Prompts(max_chars=100).render("rewrite", request)
    assert big.strip() in user and "z = 3" not in user and "slow" not in user


def test_a_problem_or_run_folder_can_override_a_template(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "diff.jinja").write_text("custom {{ request.parent.id }}")
    assert Prompts(tmp_path).render("diff", REQUEST)[1] == "custom 1"
    assert "expert" in Prompts(tmp_path).render("rewrite", REQUEST)[1]
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    (run_dir / "diff.jinja").write_text("run {{ request.parent.score }}")
    assert Prompts(tmp_path, str(run_dir)).render("diff", REQUEST)[1] == "run 0.5"


def test_the_parents_artifacts_are_shown_within_their_bound():
    notes = {"stderr": "warning: slow path taken\n" + "x" * 9000, "profile": "hot: loop"}
    request = MutationRequest("P", Parent(1, "def f():\n    return 1\n", 0.5, {}, notes))
    _, user = Prompts(artifact_chars=500).render("diff", request)
    assert "# Evaluator feedback on the current program" in user
    assert "## profile" in user and "hot: loop" in user
    assert "warning: slow path taken" in user and "(truncated)" in user
    assert "x" * 600 not in user
    _, none = Prompts(artifact_chars=0).render("diff", request)
    assert "Evaluator feedback" not in none and "hot: loop" not in none
    assert "Evaluator feedback" not in Prompts().render("diff", REQUEST)[1]


def test_code_fences_name_the_candidates_language():
    request = MutationRequest("P", Parent(1, "fn f() -> i32 { 1 }\n", 0.5), language="rust")
    _, user = Prompts().render("rewrite", request)
    assert "```rust\nfn f()" in user and "```python" not in user
