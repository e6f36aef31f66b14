"""Prompt rendering with jinja2 templates, overridable per run and per problem.

Templates are looked up in order: the run's `mutator.templates` folder, the
problem folder's `prompts/`, then the shared `prompts/` beside the package.
A template found earlier replaces the shared one of the same name. The shared
set: system.jinja (system message), diff.jinja (SEARCH/REPLACE request),
rewrite.jinja (full rewrite), crossover.jinja (two parents), and the
_context.jinja they include (problem, parent and metrics, the evaluator's
feedback on the parent (its artifacts, bounded by `artifact_chars`),
inspirations, recent failures).

Prompt size is bounded: inspirations are dropped, last first, then the
recent failures, until the user prompt fits; the parent is never cut.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from adrs.artifacts import for_prompt
from adrs.mutate.base import MutationRequest, Parent

KINDS = ("diff", "rewrite", "crossover")


def _shared_dir() -> Path:
    """`prompts/` sits beside the adrs package (found by location, like bundled problems)."""
    return Path(__file__).resolve().parents[2] / "prompts"


@lru_cache(maxsize=16)
def _environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(list(dirs)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              autoescape=False)


def environment(problem_root: Path | None = None, run_dir: str = "") -> jinja2.Environment:
    """The jinja2 environment for a run: its templates override the problem's, which
    override the shared ones."""
    dirs = [Path(run_dir)] if run_dir else []
    dirs += [problem_root / "prompts"] if problem_root else []
    return _environment(tuple(str(d) for d in dirs + [_shared_dir()]))


class Prompts:
    """Renders the system and user prompts of each mutation kind, within a size bound."""

    def __init__(self, problem_root: Path | None = None, run_dir: str = "",
                 max_chars: int = 24000, artifact_chars: int = 4000):
        self.env = environment(problem_root, run_dir)
        self.max_chars = max_chars
        self.artifact_chars = artifact_chars

    def render(self, kind: str, request: MutationRequest,
               other: Parent | None = None) -> tuple[str, str]:
        """(system, user) messages for a request of this kind."""
        guidance = request.guidance
        system = guidance.system if guidance and guidance.system else \
            self.env.get_template("system.jinja").render(request=request)
        template = self.env.get_template(f"{kind}.jinja")
        inspirations = [p for p in request.inspirations if other is None or p.id != other.id]
        failures = list(request.failures)
        feedback = for_prompt(request.parent.artifacts, self.artifact_chars)
        while True:
            user = template.render(request=request, other=other, inspirations=inspirations,
                                   failures=failures, feedback=feedback)
            if len(user) <= self.max_chars or not (inspirations or failures):
                return system, user
            if inspirations:
                inspirations.pop()
            else:
                failures.pop()
