"""The meta step's prompt and the parsing of its reply.

The prompt is the shared `meta.jinja` template (overridable like the others). The
current instruction, the notes, the children's code, metrics and the evaluator's
feedback are passed to it as values, never as template text: jinja2 prints a value
as it is, so a variant or note holding `{{ ... }}` or `{% ... %}` is inert.

The reply must hold an `INSTRUCTION:` section (the rewritten guidance) and may hold
a `NOTE:` section (one insight). Both are cut to a bound and cleared of control
characters (an ANSI escape in a reply is text, not a command to a terminal).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

INSTRUCTION_CHARS = 2000
NOTE_CHARS = 400
_SECTION = re.compile(r"^\s*(INSTRUCTION|NOTE)\s*:\s*", re.IGNORECASE | re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n


@dataclass(frozen=True)
class MetaReply:
    """What a meta reply said: the new instruction and a note (either may be empty)."""

    instruction: str
    note: str


def parse_meta_reply(text: str) -> MetaReply:
    """The reply's sections; a reply with neither gives an empty MetaReply."""
    found: dict[str, str] = {}
    marks = list(_SECTION.finditer(text or ""))
    for k, m in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        found.setdefault(m.group(1).upper(), text[m.end():end])
    return MetaReply(_clean(found.get("INSTRUCTION", ""), INSTRUCTION_CHARS),
                     _clean(found.get("NOTE", ""), NOTE_CHARS))


def _clean(text: str, limit: int) -> str:
    text = _CONTROL.sub("", text.replace("\x1b", "")).strip()
    return text[:limit].rstrip()


@dataclass(frozen=True)
class Example:
    """A recent child shown to the meta model."""

    iteration: int
    status: str
    score: float | None
    gain: float
    mutation: str
    diff: str  # against its parent, unified
    metrics: dict
    feedback: list[tuple[str, str]]  # its evaluator's artifacts, bounded
    failure: str = ""


def diff_of(parent: str, child: str, limit: int) -> str:
    """The child's unified diff against its parent, cut to `limit` characters."""
    lines = difflib.unified_diff(parent.splitlines(), child.splitlines(), "parent", "child",
                                 lineterm="", n=2)
    text = "\n".join(lines)
    return text if len(text) <= limit else text[:limit] + "\n... (cut)"
