"""The controller: one iteration, top to bottom, one module per step.

    select parent (search) -> mutate (mutate) -> hash (hashing)
      -> evaluate in the sandbox (executors, evaluation) -> record (store)

Reproducibility: iteration i draws from its own generator seeded with
(seed, i) and sees only results of iterations <= i - in_flight. Which results
are visible therefore never depends on timing or worker count, so the same
seed and config give the same candidates, and a resumed run continues the
same sequence.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

import numpy as np
from tqdm import tqdm

from adrs.controller_lease import ControllerLease
from adrs.errors import UserError
from adrs.evaluation import evaluate
from adrs.executors import Executor, LocalExecutor
from adrs.hashing import syntactic_hash
from adrs.mutate import Mutation, MutationRequest, Mutator, Parent, make_mutator
from adrs.mutate.base import FailureNote
from adrs.problem import Problem
from adrs.run_context import RunContext
from adrs.search.equivalence import EquivalenceRegistry
from adrs.search.state import Event, SearchState
from adrs.store import CandidateRecord, HistoryRow, Scored


@dataclass
class _Child:
    """A child waiting for its evaluation (or for the original it duplicates)."""

    record: CandidateRecord
    future: Future | None = None
    duplicates: list[CandidateRecord] = field(default_factory=list)
    followers: list[_Child] = field(default_factory=list)  # functional duplicates of this one


class Search:
    def __init__(self, ctx: RunContext, mutator: Mutator | None = None, executor=None,
                 progress: bool = True):
        self.ctx = ctx
        self.cfg = ctx.config
        self.mutator = mutator or make_mutator(self.cfg.mutator, ctx.problem.root, ctx.store)
        if not isinstance(self.mutator, Mutator):
            raise TypeError(f"{type(self.mutator).__name__} is not a mutator: subclass "
                            "adrs.mutate.Mutator (it needs only mutate())")
        self.mutator.threads = max(1, self.cfg.mutator.concurrency)
        if self.cfg.mutator.tune_probability > 0:
            from adrs.tuning import TuningMutator

            self.mutator = TuningMutator(self.mutator, ctx)
        self.executor = executor or _executor(ctx)
        if not isinstance(self.executor, Executor):
            raise TypeError(f"{type(self.executor).__name__} is not an executor: subclass "
                            "adrs.executors.Executor")
        self.progress = progress
        self.state = SearchState(self.cfg.search)
        self._stored_events: set[tuple] = set()  # keys of search events already in the store
        self._unrevealed: list[tuple[int, HistoryRow]] = []  # heap by iteration
        self._seen: dict[str, int | str] = {}  # syntactic hash -> candidate id, or "pending"
        self._ids: dict[int, int] = {}  # iteration -> candidate id, once recorded
        # candidate id -> (score, metrics, failure) as stored: what a duplicate copies
        self._outcomes: dict[int, tuple[float | None, dict | None, str | None]] = {}
        self._equivalence = EquivalenceRegistry()
        # hidden from every sandbox; resolved once (per call it cost the loop a syscall
        # per path component, each a chance to lose the GIL to an evaluation thread)
        self._deny = (str(ctx.archive_dir.resolve()),)
        self._in_flight: dict[int, _Child] = {}  # iteration -> child
        self._by_hash: dict[str, _Child] = {}  # pending hash -> child being evaluated
        self._parents: OrderedDict[int, Parent] = OrderedDict()
        self._failures: deque[FailureNote] = deque(maxlen=self.cfg.mutator.recent_failures)
        self._calls: dict[int, tuple[str, float]] = {}  # iteration -> (model, cost)
        self._call_ids: dict[int, int] = {}  # iteration -> stored llm_calls id
        self._prebilled: set[int] = set()  # iterations whose stored reply is reused
        self._call_lock = threading.Lock()
        # Mutations started, in iteration order (slow LLM calls overlap; the mutator
        # decides how). Evaluations run in the executor.
        self._mutating: deque[tuple[int, Scored, Future]] = deque()
        # LLM spending of iterations <= i - in_flight (known at step i whatever the
        # timing); later calls wait in _unbilled.
        self._spent_cost, self._spent_tokens = 0.0, 0
        self._unbilled: list[tuple[int, float, int]] = []  # heap of (iteration, cost, tokens)
        self._recent_bills: deque[tuple[float, int]] = deque(
            maxlen=max(8, self.cfg.search.in_flight))
        self.stop_reason: str | None = None
        self.resume_hint = (f"raise it and continue with: adrs resume {ctx.run.name} "
                            "--max-cost/--max-tokens ...")
        self._down_since: float | None = None  # the endpoint unreachable, no success since
        self._lost = 0  # iterations lost to an unreachable endpoint (redone on resume)
        self._bar = None
        self._best, self._failed = float("-inf"), 0  # for the progress line

    # --- the run ---

    def run(self) -> None:
        """The search, as this run's only controller (a live one elsewhere is refused)."""
        with ControllerLease(self.ctx.store, self.ctx.run):
            self._run()

    def _run(self) -> None:
        started = time.monotonic()
        run = self.ctx.run
        try:
            self._restore()
            self._ensure_initial()
            self._ensure_baselines()
            todo = [i for i in range(1, run.iterations + 1) if i not in self._done]
            with self._progress_bar(run.iterations - len(todo)) as self._bar:
                for i in todo:
                    if self._budget_spent(i):
                        break
                    self._step(i)
                self._drain(until=run.iterations)
            if self._lost and not self.stop_reason:
                self._unreachable_stop()
            status = "stopped" if self.stop_reason else "finished"
        except KeyboardInterrupt:
            self._stop_cleanly()
            status = "interrupted"
        except BaseException:
            self._stop_cleanly()
            self._finish("interrupted", started)
            raise
        self._finish(status, started)

    def _step(self, i: int) -> None:
        """Generate child i once every result it may see has been recorded."""
        lag = i - self.cfg.search.in_flight
        self._drain(until=lag)
        self._reveal(upto=max(lag, 0))
        rng = np.random.default_rng([self.cfg.seed, i])
        parent, others = self.state.select(i, rng)
        request = MutationRequest(self.ctx.problem.description, self._parent(parent),
                                  tuple(self._parent(o) for o in others),
                                  tuple(self._failures), i, self.ctx.problem.language)
        future = self.mutator.submit(request, rng)  # choices now, in order; the wait its own
        # record the call the moment its reply arrives, not when its turn comes: a crash
        # in between must not lose a call that was paid for
        future.add_done_callback(lambda f, i=i: f.exception() or self._call_id(i, f.result()))
        self._mutating.append((i, parent, future))
        self._advance(block_until=-1)

    def _advance(self, block_until: int) -> None:
        """Hand finished mutations on, in iteration order, so evaluations are submitted
        in that order too; wait for those of iterations <= block_until."""
        while self._mutating:
            i, parent, future = self._mutating[0]
            if i > block_until and not future.done():
                return
            self._mutating.popleft()
            self._after_mutation(i, parent, future.result())

    def _after_mutation(self, i: int, parent: Scored, mutation: Mutation) -> None:
        """Record the LLM call, skip known sources, and submit the child for evaluation."""
        if self._endpoint_down(i, mutation):
            return
        call_id = None
        if mutation.call is not None:
            call_id = self._call_id(i, mutation)
            if i not in self._prebilled:  # a reused reply is billed already (in _restore)
                heapq.heappush(self._unbilled, (i, mutation.call.cost,
                                                mutation.call.tokens_in + mutation.call.tokens_out))
            self._calls[i] = (mutation.call.model, mutation.call.cost)
        base = CandidateRecord(iteration=i, source="", syntactic_hash="", status="failed",
                               parent_id=parent.id, other_parent_id=mutation.other_parent_id,
                               generation=parent.generation + 1, mutation=mutation.description,
                               llm_call_id=call_id, island=self.state.island_for(i))
        if mutation.source is None:
            self._record(replace(base, failure=f"mutation:{mutation.reason}",
                                 error=mutation.error))
            return
        h = syntactic_hash(mutation.source)
        record = replace(base, source=mutation.source, syntactic_hash=h)
        known = self._seen.get(h) if self.cfg.hashing.syntactic else None
        record_dup = replace(record, duplicate_kind="syntactic")
        if isinstance(known, int):
            self._record(self._duplicate(record_dup, known))
        elif known == "pending":
            self._by_hash[h].duplicates.append(record_dup)
        else:
            self._seen[h] = "pending"
            child = _Child(record, self._submit_child(i, mutation.source))
            self._in_flight[i] = self._by_hash[h] = child

    def _call_id(self, i: int, mutation: Mutation) -> int | None:
        """Store iteration i's LLM call once, from whichever thread gets there first."""
        if mutation.call is None:
            return None
        with self._call_lock:
            if i not in self._call_ids:
                self._call_ids[i] = self.ctx.store.add_llm_call(self.ctx.run.id,
                                                                **mutation.call.__dict__)
            return self._call_ids[i]

    # --- state ---

    def _endpoint_down(self, i: int, mutation: Mutation) -> bool:
        """An iteration lost to an unreachable endpoint is not stored (resume redoes it);
        unreachable for give_up_seconds with no success since: stop the run."""
        if mutation.call is not None and mutation.call.error is None:
            self._down_since = None
        if mutation.reason != "llm_unreachable":  # no connection could be made at all
            return False
        self._lost += 1
        self._done.add(i)
        now = time.monotonic()
        self._down_since = self._down_since or now
        limit = self.cfg.mutator.give_up_seconds
        if limit and now - self._down_since >= limit and not self.stop_reason:
            self._unreachable_stop()
        return True

    def _unreachable_stop(self) -> None:
        url = self.cfg.mutator.base_url or "the OpenAI API"
        self.stop_reason = (f"the model endpoint {url} was unreachable ({self._lost} "
                            "iterations lost, to be redone)")
        self.resume_hint = f"when it answers again, continue with: adrs resume {self.ctx.run.name}"

    def _budget_spent(self, i: int) -> bool:
        """True (with a reason) if starting iteration i would overrun a budget, or the run
        was stopped for another reason (an unreachable endpoint).

        The calls still in flight, and child i's own, are counted at the price of
        the dearest recent call (prompts grow with the population), so the run stops
        within about one call's price of the budget rather than `in_flight` calls
        past it. Only iterations <= i - in_flight are billed here,
        which keeps the stopping point independent of timing (replays stop alike).
        """
        cfg, lag = self.cfg, i - self.cfg.search.in_flight
        if self.stop_reason or not (cfg.max_cost or cfg.max_tokens):
            return self.stop_reason is not None
        self._drain(until=lag)
        while self._unbilled and self._unbilled[0][0] <= lag:
            _, cost, tokens = heapq.heappop(self._unbilled)
            self._spent_cost += cost
            self._spent_tokens += tokens
            self._recent_bills.append((cost, tokens))
        pending = i - 1 - max(lag, 0)
        # prompts grow with the population: the dearest recent call is the estimate
        recent = self._recent_bills or [(0.0, 0)]
        cost = self._spent_cost + (pending + 1) * max(c for c, _ in recent)  # +1: child i
        tokens = self._spent_tokens + (pending + 1) * max(t for _, t in recent)
        if cfg.max_cost and cost >= cfg.max_cost:
            self.stop_reason = (f"the cost budget (--max-cost {cfg.max_cost:g} USD) ran out: "
                                f"{self._spent_cost:.4f} USD billed, {pending} calls finishing")
        elif cfg.max_tokens and tokens >= cfg.max_tokens:
            self.stop_reason = (f"the token budget (--max-tokens {cfg.max_tokens}) ran out: "
                                f"{self._spent_tokens} tokens billed, {pending} calls finishing")
        return self.stop_reason is not None

    def _restore(self) -> None:
        """Rebuild selection state from the store (a fresh run has no rows yet)."""
        usage = self.ctx.store.model_usage(self.ctx.run.id).values()
        self._spent_cost = sum(u["cost"] for u in usage)
        self._spent_tokens = sum(u["tokens_in"] + u["tokens_out"] for u in usage)
        rows = self.ctx.store.history(self.ctx.run.id)
        self._done = {r.iteration for r in rows}
        self._reuse_replies()
        known: dict[str, list[int]] = {}
        for r in rows:
            heapq.heappush(self._unrevealed, (r.iteration, r))
            self._note_progress(r)
            self._ids[r.iteration] = r.id
            self._outcomes[r.id] = (r.score, r.metrics, r.failure)
            if r.status != "duplicate" and r.syntactic_hash:
                self._seen.setdefault(r.syntactic_hash, r.id)
            if r.functional_hash:
                known.setdefault(r.functional_hash, []).append(r.iteration)
        self._equivalence = EquivalenceRegistry(known)
        self._stored_events = {Event(e.kind, e.iteration, e.island, (), e.cell).key
                               for e in self.ctx.store.search_events(self.ctx.run.id)}

    def _reuse_replies(self) -> None:
        """Replies a killed controller received but never turned into candidates are
        served again from the store, not requested (and billed) a second time."""
        replies = self.ctx.store.unclaimed_replies(self.ctx.run.id)
        if not replies:
            return
        self.mutator.reuse(replies)
        for i, row in replies.items():
            self._call_ids[i] = row.id
            self._prebilled.add(i)

    def _reveal(self, upto: int) -> None:
        while self._unrevealed and self._unrevealed[0][0] <= upto:
            _, r = heapq.heappop(self._unrevealed)
            if r.status == "failed":
                self._failures.append(FailureNote(r.mutation, r.failure or "", r.error))
            events = [e for e in self.state.reveal(r) if e.key not in self._stored_events]
            self.ctx.store.add_search_events(self.ctx.run.id, events)  # none again on resume
            if r.model:
                parent = self.state.archive.score_of(r.parent_id)  # every visible success
                gain = r.score - parent if r.status == "ok" and parent is not None else 0.0
                self.mutator.observe(r.model, gain, r.cost)

    def _parent(self, s: Scored) -> Parent:
        if s.id not in self._parents:
            source, score, metrics, notes = self.ctx.store.parent_fields(s.id)
            # measured times differ run to run: shown, they would make prompts unrepeatable
            shown = {k: v for k, v in (metrics or {}).items()
                     if k not in self.ctx.problem.volatile_metrics}
            self._parents[s.id] = Parent(s.id, source, score, shown, notes or {})
            if len(self._parents) > 4 * self.cfg.search.elite_pool:
                self._parents.popitem(last=False)
        return self._parents[s.id]

    # --- evaluation and recording ---

    def _submit(self, source: str) -> Future:
        return self.executor.submit(evaluate, self.ctx.problem, source, self.cfg.sandbox,
                                    self._deny)

    def _submit_child(self, i: int, source: str) -> Future:
        registry = self._equivalence if self.cfg.hashing.functional else None
        if registry and self.ctx.problem.probes_json is not None:
            registry.expect(i)
        every = self.cfg.hashing.reevaluate_every if self.ctx.problem.noisy else 0
        return self.executor.submit(_evaluate_child, self.ctx.problem, source, self.cfg.sandbox,
                                    self._deny, registry, i, every)

    def _drain(self, until: int) -> None:
        """Record finished work until none of iteration <= until is outstanding."""
        self._advance(block_until=until)
        while any(i <= until for i in self._in_flight):
            done, _ = wait([c.future for c in self._in_flight.values()],
                           return_when=FIRST_COMPLETED)
            for i in sorted(i for i, c in self._in_flight.items() if c.future in done):
                self._complete(self._in_flight.pop(i))

    def _complete(self, child: _Child) -> None:
        ev, same_as = child.future.result()
        rec = replace(child.record, status=ev.status, score=ev.score, metrics=ev.metrics,
                      failure=ev.failure, error=ev.error, eval_seconds=ev.seconds,
                      artifacts=ev.artifacts,
                      functional_hash=ev.functional_hash, probe_seconds=ev.probe_seconds)
        if same_as is not None:  # behaves like an earlier candidate: reuse its result
            rec = replace(rec, duplicate_kind="functional")
            if same_as in self._ids:
                self._finish_child(child, self._record(self._duplicate(rec, self._ids[same_as])))
            else:
                self._in_flight[same_as].duplicates.append(rec)
                self._in_flight[same_as].followers.append(child)
            return
        self._finish_child(child, self._record(rec))

    def _finish_child(self, child: _Child, cid: int) -> None:
        """The child is recorded as `cid`: settle what waited on its source or its result."""
        self._seen[child.record.syntactic_hash] = cid
        self._by_hash.pop(child.record.syntactic_hash, None)
        for dup in child.duplicates:
            dup_id = self._record(self._duplicate(dup, cid))
            for follower in child.followers:
                if follower.record.iteration == dup.iteration:
                    self._finish_child(follower, dup_id)

    def _duplicate(self, record: CandidateRecord, original_id: int) -> CandidateRecord:
        if record.duplicate_kind == "functional" and record.status == "ok":
            # a noisy problem's periodic re-evaluation: fold the fresh sample into the
            # original's running mean, and keep the sample's own metrics here
            mean = self.ctx.store.add_score_sample(original_id, record.score)
            self.state.rescore(original_id, mean)
            _, metrics, failure = self._outcomes[original_id]
            self._outcomes[original_id] = (mean, metrics, failure)
            return replace(record, status="duplicate", duplicate_of=original_id, score=mean)
        score, metrics, failure = self._outcomes[original_id]
        return replace(record, status="duplicate", duplicate_of=original_id, score=score,
                       metrics=metrics or {}, failure=failure,
                       eval_seconds=record.eval_seconds or 0.0)

    def _record(self, rec: CandidateRecord) -> int:
        cid = self.ctx.store.add_candidate(self.ctx.run.id, rec)
        self._ids[rec.iteration] = cid
        self._outcomes[cid] = (rec.score, rec.metrics, rec.failure)
        model, cost = self._calls.pop(rec.iteration, (None, 0.0))
        heapq.heappush(self._unrevealed, (rec.iteration, HistoryRow(
            rec.iteration, cid, rec.status, rec.score, rec.generation, rec.parent_id,
            rec.syntactic_hash, rec.functional_hash, rec.failure, rec.error, rec.mutation,
            model, cost, rec.island, rec.metrics, len(rec.source))))
        self._done.add(rec.iteration)
        self._note_progress(rec)
        return cid

    # --- start and stop ---

    def _ensure_initial(self) -> None:
        initial = self.ctx.store.initial(self.ctx.run.id)
        if initial is None:
            source = self.ctx.problem.initial_source
            ev = self._submit(source).result()
            initial = CandidateRecord(
                iteration=0, source=source, syntactic_hash=syntactic_hash(source),
                status=ev.status, score=ev.score, metrics=ev.metrics, failure=ev.failure,
                error=ev.error, eval_seconds=ev.seconds, mutation="initial program",
                artifacts=ev.artifacts,
                functional_hash=ev.functional_hash, probe_seconds=ev.probe_seconds)
            self._seen[initial.syntactic_hash] = self._record(initial)
            if initial.functional_hash:
                self._equivalence.resolve(0, initial.functional_hash)
        if initial.status != "ok":
            problem = self.ctx.problem
            where = problem.initial_path or "the initial program"
            named = problem.name if problem.origin == "bundled" else problem.root
            raise UserError(f"the initial program of {problem.name} fails ({initial.failure}: "
                            f"{initial.error}); fix {where} (check it with `adrs eval {named} "
                            f"{where}`), then `adrs resume {self.ctx.run.name}` evaluates it again")

    def _ensure_baselines(self) -> None:
        if self.ctx.run.baselines or not self.ctx.problem.baselines:
            return
        futures = {n: self._submit(p.read_text()) for n, p in self.ctx.problem.baselines.items()}
        scores = {n: f.result().score for n, f in futures.items()}
        self.ctx.store.update_run(self.ctx.run.id, baselines=scores)
        self.ctx.run.baselines = scores

    def _stop_cleanly(self) -> None:
        """Cancel queued work, record whatever finished; the rest is redone on resume."""
        self.mutator.close(cancel=True)
        self._mutating.clear()  # proposed but never evaluated: redone on resume
        for i, child in self._in_flight.items():
            if child.future.cancel():  # never started: release anyone waiting on its hash
                self._equivalence.abandon(i)
        self.executor.shutdown(cancel=True)
        for i in sorted(self._in_flight):
            child = self._in_flight[i]
            future = child.future
            if future.done() and not future.cancelled() and future.exception() is None:
                self._complete(child)  # (a cancelled remote job ends in an exception)
        self._in_flight.clear()

    def _finish(self, status: str, started: float) -> None:
        self.mutator.close()
        self.executor.shutdown()
        elapsed = self.ctx.run.elapsed_seconds + time.monotonic() - started
        self.ctx.store.update_run(self.ctx.run.id, status=status, elapsed_seconds=elapsed)
        self.ctx.run.status, self.ctx.run.elapsed_seconds = status, elapsed

    # --- progress ---

    def _progress_bar(self, done: int):
        return tqdm(total=self.ctx.run.iterations, initial=done, disable=not self.progress,
                    unit="it", desc=self.ctx.run.name, dynamic_ncols=True, mininterval=0.5)

    def _note_progress(self, rec: CandidateRecord | HistoryRow) -> None:
        if rec.status == "ok" and rec.score > self._best:
            self._best = rec.score
        self._failed += rec.status == "failed"
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(best=f"{self._best:.4f}", failed=self._failed, refresh=False)


def _executor(ctx: RunContext):
    if ctx.config.executor == "ray":
        from adrs.executors.ray import RayExecutor

        return RayExecutor(ctx.config.ray_address, max(8, 2 * ctx.config.search.in_flight))
    if ctx.config.executor == "workers":
        from adrs.executors.workers import WorkersExecutor

        return WorkersExecutor(ctx.store, ctx.run.id, max(8, 2 * ctx.config.search.in_flight))
    return LocalExecutor(ctx.config.worker_count)


def _evaluate_child(problem: Problem, source: str, limits, deny: tuple[str, ...],
                    registry: EquivalenceRegistry | None, iteration: int, reevaluate_every: int):
    """Worker side: evaluate, stopping after the probes if an earlier candidate matches.

    Returns (Evaluation, iteration of the equivalent earlier candidate or None).
    Without a registry (functional hashing off) the probes are skipped. With
    `reevaluate_every` K > 0 (noisy problems), every K-th equivalent is still
    evaluated in full, as a fresh sample of the shared behaviour's score.
    """
    if registry is None:
        return evaluate(problem, source, limits, deny, probe=False), None
    same_as: list[int | None] = []

    def gate(fhash: str) -> bool:
        first, earlier = registry.resolve(iteration, fhash)
        same_as.append(first)
        return first is None or (reevaluate_every > 0 and earlier % reevaluate_every == 0)

    try:
        ev = evaluate(problem, source, limits, deny, gate)
    finally:
        if not same_as:
            registry.abandon(iteration)
    return ev, (same_as[0] if same_as else None)
