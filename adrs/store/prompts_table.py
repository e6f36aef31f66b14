"""Prompt variants and insight notes (evolving prompts): written once, then only
marked retired or dropped, so a run's whole prompt lineage stays readable."""

from __future__ import annotations

from sqlalchemy import func, select, update

from adrs.store.models import Candidate, InsightNote, PromptVariant
from adrs.store.plain import InsightNoteRow, PromptVariantRow, plain
from adrs.store.records import Status


class PromptRows:
    """Store methods on the prompt_variants and insight_notes tables."""

    def add_prompt_variant(self, run_id: int, **fields) -> int:
        """Store a variant (island, parent_id, system, instruction, author, iteration,
        llm_call_id); its id."""
        return self._insert(PromptVariant, run_id=run_id, **fields)

    def prompt_variants(self, run_id: int) -> list[PromptVariantRow]:
        """The run's variants, in the order they were written."""
        with self.session() as s:
            q = select(PromptVariant).where(PromptVariant.run_id == run_id)
            return [plain(v) for v in s.scalars(q.order_by(PromptVariant.id))]

    def retire_prompt_variant(self, variant_id: int, iteration: int) -> None:
        """Mark a variant retired before `iteration` (it is kept, not deleted)."""
        with self.engine.begin() as conn:
            conn.execute(update(PromptVariant).where(PromptVariant.id == variant_id,
                                                     PromptVariant.retired_at.is_(None))
                         .values(retired_at=iteration))

    def add_insight_note(self, run_id: int, **fields) -> int:
        """Store a note (island, text, iteration, llm_call_id); its id."""
        return self._insert(InsightNote, run_id=run_id, **fields)

    def insight_notes(self, run_id: int) -> list[InsightNoteRow]:
        """The run's notes, dropped ones included, in the order they were written."""
        with self.session() as s:
            q = select(InsightNote).where(InsightNote.run_id == run_id)
            return [plain(n) for n in s.scalars(q.order_by(InsightNote.id))]

    def drop_insight_note(self, note_id: int, iteration: int) -> None:
        """Mark a note dropped before `iteration`."""
        with self.engine.begin() as conn:
            conn.execute(update(InsightNote).where(InsightNote.id == note_id,
                                                   InsightNote.dropped_at.is_(None))
                         .values(dropped_at=iteration))

    def variant_children(self, run_id: int) -> dict[int, dict]:
        """Per variant: its children, how many scored, their best score."""
        with self.session() as s:
            rows = s.execute(
                select(Candidate.prompt_variant_id, func.count(),
                       func.count(Candidate.score).filter(Candidate.status == Status.OK),
                       func.max(Candidate.score).filter(Candidate.status == Status.OK))
                .where(Candidate.run_id == run_id, Candidate.prompt_variant_id.is_not(None))
                .group_by(Candidate.prompt_variant_id)).all()
        return {v: {"children": n, "ok": ok, "best": best} for v, n, ok, best in rows}
