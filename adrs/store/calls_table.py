"""LLM calls: one row per request, with its tokens, cost, latency and reply."""

from __future__ import annotations

from sqlalchemy import case, func, select

from adrs.store.models import Candidate, LLMCall
from adrs.store.plain import LLMCallRow, plain
from adrs.store.records import Status


class CallRows:
    """Store methods on the llm_calls table."""

    def add_llm_call(self, run_id: int, **fields) -> int:
        """Store one LLM call (adrs.mutate.llm.LLMCall's fields); its id."""
        return self._insert(LLMCall, run_id=run_id, **fields)

    def recorded_calls(self, run_id: int) -> dict[int, LLMCallRow]:
        """The LLM call behind each iteration of a run (for replay)."""
        with self.session() as s:
            q = (select(Candidate.iteration, LLMCall)
                 .join(LLMCall, LLMCall.id == Candidate.llm_call_id)
                 .where(Candidate.run_id == run_id))
            return {i: plain(call) for i, call in s.execute(q)}

    def llm_call(self, call_id: int) -> LLMCallRow | None:
        """One stored call (its prompt and reply, as redacted when stored)."""
        with self.session() as s:
            return plain(s.get(LLMCall, call_id))

    def meta_calls(self, run_id: int) -> dict[int, LLMCallRow]:
        """The run's meta calls (evolving prompts) by the iteration they came before:
        replayed, and reused on resume instead of asking again."""
        with self.session() as s:
            q = (select(LLMCall).where(LLMCall.run_id == run_id, LLMCall.purpose == "meta")
                 .order_by(LLMCall.id))
            return {c.iteration: plain(c) for c in s.scalars(q)}

    def unclaimed_replies(self, run_id: int) -> dict[int, LLMCallRow]:
        """Successful LLM replies stored for iterations that have no candidate yet (the
        controller died between the reply and the child's record): paid for, so a resume
        uses them instead of asking again."""
        claimed = select(Candidate.iteration).where(Candidate.run_id == run_id)
        with self.session() as s:
            q = (select(LLMCall).where(LLMCall.run_id == run_id, LLMCall.iteration.is_not(None),
                                       LLMCall.error.is_(None), LLMCall.response.is_not(None),
                                       LLMCall.purpose == "mutation",
                                       LLMCall.iteration.not_in(claimed))
                 .order_by(LLMCall.id))
            return {c.iteration: plain(c) for c in s.scalars(q)}

    def model_usage(self, run_id: int) -> dict[str, dict]:
        """Per model: calls, failed calls, tokens, cost, mean latency, children that scored."""
        with self.session() as s:
            calls = s.execute(
                select(LLMCall.model, func.count(), func.count(LLMCall.error),
                       func.sum(LLMCall.tokens_in), func.sum(LLMCall.tokens_out),
                       func.sum(LLMCall.cost), func.avg(LLMCall.latency_seconds),
                       func.count(case((LLMCall.usage_estimated, 1))))
                .where(LLMCall.run_id == run_id).group_by(LLMCall.model)).all()
            ok = dict(s.execute(
                select(LLMCall.model, func.count())
                .join(Candidate, Candidate.llm_call_id == LLMCall.id)
                .where(LLMCall.run_id == run_id, Candidate.status == Status.OK)
                .group_by(LLMCall.model)).all())
        return {m: {"calls": n, "failed_calls": err, "tokens_in": int(tin or 0),
                    "tokens_out": int(tout or 0), "cost": float(cost or 0.0),
                    "mean_latency_seconds": float(lat or 0.0), "ok_children": ok.get(m, 0),
                    "estimated_calls": est}
                for m, n, err, tin, tout, cost, lat, est in calls}
