"""Artifacts: an evaluator's text feedback on one candidate (stderr, failure
details, profiling output), kept per candidate and shown to the model in the
prompts that build on it, as OpenEvolve does.

They come from untrusted code (the sandboxed evaluator or the candidate's own
output), so everything is bounded and turned into plain text here: names and
values are strings, NULs are dropped, each value and the whole set are capped.
"""

from __future__ import annotations

import math

MAX_ITEMS = 32
MAX_NAME = 100
MAX_VALUE = 16 * 1024  # characters of one artifact kept in the store
MAX_TOTAL = 64 * 1024  # of all of one candidate's
FAILURE_LOG = 4 * 1024  # of a failed run's stdout+stderr tail kept as "stderr"
TRUNCATED = "\n... (truncated)"


def clean(raw) -> dict[str, str] | None:
    """Bounded plain-text artifacts from an untrusted mapping; None when there are none."""
    if not isinstance(raw, dict):
        return None
    out: dict[str, str] = {}
    room = MAX_TOTAL
    for key, value in list(raw.items())[:MAX_ITEMS]:
        text = _text(value)
        if text is None or room <= 0:
            continue
        text = _cut(text, min(MAX_VALUE, room))
        out[_plain(str(key))[:MAX_NAME]] = text
        room -= len(text)
    return out or None


def split_scored(metrics: dict) -> tuple[dict[str, float], dict[str, str] | None]:
    """A scorer's result as (numeric metrics, artifacts): an `artifacts` mapping and any
    text-valued entry (an evaluator's caught `error`, say) become artifacts."""
    numbers = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
    texts = {k: v for k, v in metrics.items() if isinstance(v, (str, bytes))}
    nested = metrics.get("artifacts")
    return numbers, clean({**texts, **(nested if isinstance(nested, dict) else {})})


def from_failure(log: str) -> dict[str, str] | None:
    """What a failed run printed (its last lines hold the traceback)."""
    log = _plain(log).strip()
    if not log:
        return None
    return {"stderr": log if len(log) <= FAILURE_LOG else "... " + log[-FAILURE_LOG:]}


def for_prompt(artifacts: dict | None, max_chars: int) -> list[tuple[str, str]]:
    """(name, text) pairs for a prompt, all of them within max_chars together."""
    shown, room = [], max_chars
    for name, text in sorted((artifacts or {}).items()):
        if room <= len(name):
            break
        text = _cut(str(text), room - len(name))
        shown.append((name, text))
        room -= len(name) + len(text)
    return shown


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):
        value = repr(value)
    if isinstance(value, (str, int, float, bool)):
        return _plain(str(value))
    return None


def _plain(text: str) -> str:
    return text.replace("\x00", "")


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(TRUNCATED))] + TRUNCATED
