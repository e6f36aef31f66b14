"""Mutation -> hash -> evaluation -> record, each iteration in its turn.

Mutations finish in any order (slow LLM calls overlap); they are handed on in
iteration order, so evaluations are submitted in that order too, and every
record is made here. A child whose source or behaviour repeats an earlier one is
recorded as that one's duplicate, without (another) full evaluation.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, replace

from adrs.executors import Executor
from adrs.hash_gate import Gate, evaluate_child
from adrs.hashing import syntactic_hash
from adrs.mutate import Mutation
from adrs.run_context import RunContext
from adrs.search.equivalence import EquivalenceRegistry
from adrs.stages.bundle import Stages
from adrs.stages.duplicates import Again, Child
from adrs.store.records import CandidateRecord, DuplicateKind, HistoryRow, Scored, Status


@dataclass(frozen=True)
class Restored:
    """What a run's store held for the pipeline when its controller started."""

    done: frozenset[int]  # iterations already recorded
    equivalence: EquivalenceRegistry | None  # functional hash -> iterations; None: off


class Pipeline:
    """Each iteration's mutation, hashed, evaluated (unless a duplicate) and recorded,
    handed on in iteration order whatever order the work finishes in."""

    def __init__(self, ctx: RunContext, executor: Executor, stages: Stages):
        self.ctx, self.executor = ctx, executor
        self.dups, self.calls, self.outage = stages.dups, stages.calls, stages.outage
        self.schedule, self.progress = stages.schedule, stages.progress
        self.equivalence: EquivalenceRegistry | None = None  # None: no functional hashing
        self.done: set[int] = set()  # iterations recorded (or lost, to be redone)
        self._mutating: deque[tuple[int, Scored, Future, Again | None]] = deque()
        self._in_flight: dict[int, Child] = {}  # iteration -> child being evaluated
        # hidden from every sandbox; resolved once (per call it cost the loop a syscall
        # per path component, each a chance to lose the GIL to an evaluation thread)
        self._deny = (str(ctx.archive_dir.resolve()),)

    def resume(self, restored: Restored) -> None:
        """Go on from what the store held: those iterations are done, and functional
        hashes are answered by the registry rebuilt from them."""
        self.done.update(restored.done)
        self.equivalence = restored.equivalence

    def push(self, i: int, parent: Scored, future: Future, again: Again | None = None) -> None:
        """Iteration i's mutation is under way (`again` remakes it if it repeats a source)."""
        self._mutating.append((i, parent, future, again))
        self._advance(block_until=-1)

    def submit(self, source: str, gate: Gate | None = None, probe: bool = True) -> Future:
        """An evaluation, in the executor: (Evaluation, equivalent iteration or None)."""
        return self.executor.submit(evaluate_child, self.ctx.problem, source,
                                    self.ctx.config.sandbox, self._deny, gate, probe)

    def drain(self, until: int) -> None:
        """Record finished work until none of iteration <= until is outstanding."""
        self._advance(block_until=until)
        while any(i <= until for i in self._in_flight):
            done, _ = wait([c.future for c in self._in_flight.values()],
                           return_when=FIRST_COMPLETED)
            for i in sorted(i for i, c in self._in_flight.items() if c.future in done):
                self._complete(self._in_flight.pop(i))

    def _advance(self, block_until: int) -> None:
        """Hand finished mutations on in iteration order; wait for those <= block_until."""
        while self._mutating:
            i, parent, future, again = self._mutating[0]
            if i > block_until and not future.done():
                return
            self._mutating.popleft()
            self._mutated(i, parent, future.result(), again)

    def _mutated(self, i: int, parent: Scored, mutation: Mutation,
                 again: Again | None = None) -> None:
        """Record a failed mutation or a known source; submit a new one for evaluation."""
        mutation, source_hash = self.dups.fresh(mutation, again)
        if self.outage.lost_to_it(mutation):
            self.done.add(i)
            return
        base = CandidateRecord(iteration=i, source="", syntactic_hash="", status=Status.FAILED,
                               parent_id=parent.id, other_parent_id=mutation.other_parent_id,
                               generation=parent.generation + 1, mutation=mutation.description,
                               llm_call_id=self.calls.taken(i, mutation),
                               island=self.schedule.state.island_for(i),
                               prompt_variant_id=mutation.prompt_variant_id)
        if mutation.source is None:
            self.record(replace(base, failure=f"mutation:{mutation.reason}",
                                error=mutation.error))
            return
        record = replace(base, source=mutation.source,
                         syntactic_hash=source_hash or syntactic_hash(mutation.source))
        known = self.dups.place(record)
        if isinstance(known, int):
            self.record(self.dups.copy(self.dups.syntactic_copy(record), known))
        elif known is None:
            child = Child(record, self.submit(mutation.source, self._gate(i),
                                              probe=self.equivalence is not None))
            self._in_flight[i] = child
            self.dups.evaluating(child)

    def _gate(self, i: int) -> Gate | None:
        registry, problem = self.equivalence, self.ctx.problem
        if registry is None:
            return None
        if problem.probes_json is not None:
            registry.expect(i)
        every = self.ctx.config.hashing.reevaluate_every if problem.noisy else 0
        return Gate(registry, i, every)

    def _complete(self, child: Child) -> None:
        ev, same_as = child.future.result()
        rec = replace(child.record, status=ev.status, score=ev.score, metrics=ev.metrics,
                      failure=ev.failure, error=ev.error, eval_seconds=ev.seconds,
                      artifacts=ev.artifacts, evaluated_on=ev.node or None,
                      functional_hash=ev.functional_hash, probe_seconds=ev.probe_seconds)
        if same_as is None:
            self._settle(child, self.record(rec))
            return
        rec = replace(rec, duplicate_kind=DuplicateKind.FUNCTIONAL)  # reuse its result
        if same_as in self.dups.ids:
            self._settle(child, self.record(self.dups.copy(rec, self.dups.ids[same_as])))
        else:
            self._in_flight[same_as].duplicates.append(rec)
            self._in_flight[same_as].followers.append(child)

    def _settle(self, child: Child, cid: int) -> None:
        """The child is recorded as `cid`: record what waited on its source or result."""
        self.dups.settled(child, cid)
        for dup in child.duplicates:
            dup_id = self.record(self.dups.copy(dup, cid))
            for follower in child.followers:
                if follower.record.iteration == dup.iteration:
                    self._settle(follower, dup_id)

    def record(self, rec: CandidateRecord) -> int:
        """Store one candidate and tell the stages that follow it; returns its id."""
        cid = self.ctx.store.add_candidate(self.ctx.run.id, rec)
        self.dups.remember(rec.iteration, cid, rec.score, rec.metrics, rec.failure)
        model, cost = self.calls.model_and_cost(rec.iteration)
        self.schedule.add(HistoryRow(
            rec.iteration, cid, rec.status, rec.score, rec.generation, rec.parent_id,
            rec.syntactic_hash, rec.functional_hash, rec.failure, rec.error, rec.mutation,
            model, cost, rec.island, rec.metrics, len(rec.source), rec.duplicate_of,
            rec.score_sample, rec.prompt_variant_id))
        self.done.add(rec.iteration)
        self.progress.note(rec)
        return cid

    def stop(self) -> None:
        """Cancel queued work, record whatever finished; the rest is redone on resume."""
        self._mutating.clear()  # proposed but never evaluated: redone on resume
        for i, child in self._in_flight.items():
            if child.future.cancel() and self.equivalence:  # release those waiting on it
                self.equivalence.abandon(i)
        self.executor.shutdown(cancel=True)
        for i in sorted(self._in_flight):
            future = self._in_flight[i].future
            if future.done() and not future.cancelled() and future.exception() is None:
                self._complete(self._in_flight[i])  # (a cancelled remote job: an exception)
        self._in_flight.clear()
