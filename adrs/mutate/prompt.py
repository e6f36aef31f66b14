"""Prompt rendering with jinja2 templates from `prompts/`, overridable per problem.

A problem folder may hold a `prompts/` directory; a template there replaces the
shared one of the same name.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from adrs.mutate.base import MutationRequest


def _shared_dir() -> Path:
    """`prompts/` sits beside the adrs package (found by location, like bundled problems)."""
    return Path(__file__).resolve().parents[2] / "prompts"


def environment(problem_root: Path | None = None) -> jinja2.Environment:
    dirs = [problem_root / "prompts"] if problem_root else []
    loader = jinja2.FileSystemLoader([str(d) for d in dirs + [_shared_dir()]])
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render(template: str, request: MutationRequest, problem_root: Path | None = None) -> str:
    return environment(problem_root).get_template(template).render(request=request)
