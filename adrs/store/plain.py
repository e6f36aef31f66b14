"""Plain, frozen copies of stored rows: what the store hands out instead of ORM objects.

Each has exactly its table's columns as attributes (so `run.name`, `c.score` read
as before), but nothing outside the store can change a row by assigning to it or
trigger a lazy load: a change goes through a Store method. Change a copy with
dataclasses.replace.
"""

from __future__ import annotations

from dataclasses import make_dataclass
from typing import Any

from sqlalchemy import inspect

from adrs.store.models import (
    Candidate,
    EvalJob,
    InsightNote,
    LLMCall,
    PromptVariant,
    Run,
    SearchEvent,
)


def _row_type(model, doc: str):
    names = [a.key for a in inspect(model).column_attrs]
    cls = make_dataclass(f"{model.__name__}Row", [(n, Any) for n in names], frozen=True,
                         namespace={"__doc__": doc})
    cls.__module__ = __name__
    return cls


RunRow = _row_type(Run, "A run: its name, problem, config, seed, target, status, lease.")
CandidateRow = _row_type(Candidate, "A stored candidate program with its outcome.")
LLMCallRow = _row_type(LLMCall, "One LLM request: prompt, reply, tokens, cost, latency.")
SearchEventRow = _row_type(SearchEvent, "A migration, reset or MAP-Elites cell change.")
EvalJobRow = _row_type(EvalJob, "An evaluation job queued for `adrs worker`s.")
PromptVariantRow = _row_type(PromptVariant, "A prompt variant: its text, lineage, author.")
InsightNoteRow = _row_type(InsightNote, "A model-written note shown in later prompts.")
_TYPES = {Run: RunRow, Candidate: CandidateRow, LLMCall: LLMCallRow,
          SearchEvent: SearchEventRow, EvalJob: EvalJobRow, PromptVariant: PromptVariantRow,
          InsightNote: InsightNoteRow}


def plain(obj):
    """The frozen copy of an ORM object (None stays None)."""
    if obj is None:
        return None
    cls = _TYPES[type(obj)]
    return cls(**{f: getattr(obj, f) for f in cls.__dataclass_fields__})
