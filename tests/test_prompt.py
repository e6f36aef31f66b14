"""Prompt templates render the mutation context; a problem can override any template."""

from adrs.mutate import MutationRequest, Parent
from adrs.mutate.prompt import render

REQUEST = MutationRequest(
    "Balance the experts.",
    Parent(1, "def f():\n    return 1\n", 0.5, {"balancedness": 0.5}),
    (Parent(2, "def f():\n    return 2\n", 0.7),),
)


def test_shared_template_includes_problem_parent_metrics_and_inspirations():
    text = render("mutate.jinja", REQUEST)
    assert "Balance the experts." in text
    assert "return 1" in text and "score 0.5000" in text
    assert "- balancedness: 0.5" in text
    assert "return 2" in text and "score 0.7000" in text


def test_a_problem_folder_can_override_a_template(tmp_path):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "mutate.jinja").write_text("custom {{ request.parent.id }}")
    assert render("mutate.jinja", REQUEST, problem_root=tmp_path) == "custom 1"
    assert "expert" in render("system.jinja", REQUEST, problem_root=tmp_path)
