"""Constant tuning: a mutation operator that tunes a program's numeric literals with optuna.

It finds the float literals in the evolvable region (integers are left alone:
they are mostly sizes and indexes), searches each over a log range around
its value (a decade either side, sign kept; 0.0 over [-1, 1]) with optuna's
TPE sampler, seeded, scoring every trial with the problem's sandboxed
evaluation, and returns the best program as a new child. The study lives in
the run's own database (optuna's tables beside adrs's), so the tuning history
stays with the run: `optuna.load_study(study_name=..., storage=<run db url>)`.

    adrs tune RUN CANDIDATE --trials N          # one candidate, from the command line
    [mutator] tune_probability = 0.1            # as an operator inside any search
"""

from __future__ import annotations

import ast
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from adrs import evolve_block
from adrs.errors import UserError
from adrs.evaluation import Evaluation, evaluate
from adrs.hashing import syntactic_hash
from adrs.mutate.base import Mutation, Mutator
from adrs.run_context import RunContext
from adrs.store import CandidateRecord

FAILED_VALUE = -1e12  # what a failed trial scores (optuna needs a finite number)


@dataclass(frozen=True)
class Literal:
    """A float literal in the evolvable region: where it is and what it is."""

    line: int  # 1-based, within the region
    start: int  # column offsets (characters) within that line
    end: int
    value: float


def find_literals(source: str) -> list[Literal]:
    """The float literals of the program's evolvable region, in order."""
    region = evolve_block.split(source).region
    try:
        tree = ast.parse(region)
    except SyntaxError as exc:
        raise UserError(f"the program's evolvable region does not parse: {exc.msg}") from None
    found = [Literal(n.lineno, n.col_offset, n.end_col_offset, float(n.value))
             for n in ast.walk(tree)
             if isinstance(n, ast.Constant) and type(n.value) is float
             and n.lineno == n.end_lineno]
    return sorted(found, key=lambda lit: (lit.line, lit.start))


def substitute(source: str, literals: list[Literal], values: list[float]) -> str:
    """The program with each literal replaced by its new value; nothing else changes."""
    parts = evolve_block.split(source)
    lines = parts.region.splitlines(keepends=True)
    for lit, value in sorted(zip(literals, values, strict=True),
                             key=lambda lv: (lv[0].line, lv[0].start), reverse=True):
        line = lines[lit.line - 1]
        text = repr(float(value))
        lines[lit.line - 1] = line[:lit.start] + text + line[lit.end:]
    return parts.join("".join(lines))


def suggest(trial, name: str, value: float) -> float:
    """Optuna's suggestion for a constant: the same sign, within a factor of 10 (log scale)."""
    if value == 0.0:
        return trial.suggest_float(name, -1.0, 1.0)
    magnitude = trial.suggest_float(name, abs(value) / 10, abs(value) * 10, log=True)
    return magnitude if value > 0 else -magnitude


@dataclass(frozen=True)
class TuneResult:
    """A tuning's outcome: the best program, its evaluation and constants, the study."""

    source: str
    evaluation: Evaluation
    values: list[float]
    study_name: str
    trials: int


def storage_of(ctx: RunContext):
    """optuna's storage in the run's database (its tables are created here, once)."""
    import optuna

    return optuna.storages.RDBStorage(ctx.store.secret_url())


def tune(ctx: RunContext, source: str, trials: int, study_name: str, seed: int = 0,
         storage=None) -> TuneResult:
    """Tune the literals of `source`; the best trial's program and its evaluation."""
    import optuna

    literals = find_literals(source)
    if not literals:
        raise UserError("the program has no float literals in its evolvable region to tune")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    deny = (str(ctx.archive_dir.resolve()),)
    results: dict[int, tuple[str, Evaluation, list[float]]] = {}

    def objective(trial) -> float:
        values = [suggest(trial, f"c{k}_line{lit.line}", lit.value)
                  for k, lit in enumerate(literals)]
        program = substitute(source, literals, values)
        ev = evaluate(ctx.problem, program, ctx.config.sandbox, deny, probe=False)
        results[trial.number] = (program, ev, values)
        return ev.score if ev.status == "ok" else FAILED_VALUE

    storage = storage or storage_of(ctx)
    try:  # a study left by an iteration that was lost (crash, Ctrl-C) starts afresh
        optuna.delete_study(study_name=study_name, storage=storage)
    except KeyError:
        pass
    study = optuna.create_study(study_name=study_name, storage=storage,
                                direction="maximize", load_if_exists=False,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial({f"c{k}_line{lit.line}": abs(lit.value) if lit.value else 0.0
                         for k, lit in enumerate(literals)})  # the program as it is
    study.optimize(objective, n_trials=trials)
    program, ev, values = results[study.best_trial.number]
    return TuneResult(program, ev, values, study_name, trials)


def tune_candidate(ctx: RunContext, candidate_id: int, trials: int) -> tuple[int, TuneResult]:
    """Tune a stored candidate and record the best program as its child."""
    parent = ctx.store.get_candidate(candidate_id)
    if parent is None or parent.run_id != ctx.run.id:
        raise UserError(f"run {ctx.run.name} has no candidate {candidate_id}; "
                        f"see `adrs best {ctx.run.name}` for ids")
    iteration = max(r.iteration for r in ctx.store.history(ctx.run.id)) + 1
    name = f"{ctx.run.name}/tune/candidate-{candidate_id}/iteration-{iteration}"
    result = tune(ctx, parent.source, trials, name, seed=ctx.config.seed)
    ev = result.evaluation
    record = CandidateRecord(
        iteration=iteration, source=result.source, syntactic_hash=syntactic_hash(result.source),
        status=ev.status, parent_id=parent.id, generation=parent.generation + 1,
        island=parent.island, score=ev.score, metrics=ev.metrics, failure=ev.failure,
        error=ev.error, eval_seconds=ev.seconds, evaluated_on=ev.node or None,
        artifacts=ev.artifacts,
        mutation=f"tuned constants ({trials} trials, optuna study {name})")
    cid = ctx.store.add_candidate(ctx.run.id, record)
    # the run now covers the new iteration, so resume does not generate it again
    ctx.store.update_run(ctx.run.id, iterations=max(ctx.run.iterations, iteration))
    return cid, result


class TuningMutator(Mutator):
    """Wraps the run's mutator: with probability `mutator.tune_probability` an
    iteration tunes its parent's constants (`mutator.tune_trials` evaluations)
    instead of editing the code. Tuning runs in its own thread; the choice and
    the optuna seed come from the iteration's generator, so runs stay
    reproducible."""

    def __init__(self, inner, ctx: RunContext):
        self.inner, self.ctx = inner, ctx
        self.cfg = ctx.config.mutator
        self.storage = storage_of(ctx)  # shared: concurrent studies must not race to create it
        self._pool = ThreadPoolExecutor(max(1, ctx.config.worker_count),
                                        thread_name_prefix="adrs-tune")

    def mutate(self, request, rng) -> Mutation:
        """As Mutator.mutate."""
        return self.submit(request, rng).result()

    def submit(self, request, rng) -> Future:
        """A tuning of the parent's constants (with tune_probability), else the inner mutator's."""
        if rng.random() < self.cfg.tune_probability and find_literals_safe(request.parent.source):
            seed = int(rng.integers(1 << 31))
            return self._pool.submit(self._tune, request, seed)
        return self.inner.submit(request, rng)

    def _tune(self, request, seed: int) -> Mutation:
        name = f"{self.ctx.run.name}/tune/iteration-{request.iteration}"
        try:
            result = tune(self.ctx, request.parent.source, self.cfg.tune_trials, name, seed,
                          self.storage)
        except Exception as exc:  # noqa: BLE001 - a database error must not stop the run
            return Mutation(None, "tuned constants", error=str(exc)[:300], reason="tuning")
        return Mutation(result.source, f"tuned constants ({self.cfg.tune_trials} trials, "
                                       f"optuna study {name})")

    def observe(self, model: str, gain: float, cost: float) -> None:
        """Passed on to the inner mutator."""
        self.inner.observe(model, gain, cost)

    def credit(self, description: str | None, gain: float, status: str) -> None:
        """Passed on to the inner mutator."""
        self.inner.credit(description, gain, status)

    def reuse(self, replies: dict) -> None:
        """Passed on to the inner mutator."""
        self.inner.reuse(replies)

    def diverged(self) -> list[int]:
        """The inner mutator's."""
        return self.inner.diverged()

    def close(self, cancel: bool = False) -> None:
        """Stop tuning, then close the inner mutator."""
        self._pool.shutdown(cancel_futures=True)
        self.inner.close(cancel)


def find_literals_safe(source: str) -> bool:
    """The program has float constants to tune (False if its region does not parse)."""
    try:
        return bool(find_literals(source))
    except UserError:
        return False
