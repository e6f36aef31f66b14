"""`adrs check PROBLEM`: validate a problem plugin before a long run.

Each check prints one line: `ok` with what was measured, or `FAIL` naming the
file and the fix. Checks: the manifest and evaluator load; the evolve-block
markers are well formed; the initial program runs in the sandbox and returns
valid metrics; the score is the same on a second evaluation (or the evaluator
declares `noisy = True`) and with the sandbox slowed to a quarter of a CPU (as on
a busy machine); a run judges on
private data (a warning when the judged data is public or private(seed) changes
nothing); probes are cheap next to a full evaluation; every baseline runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from adrs import evolve_block
from adrs.config import resolve
from adrs.errors import UserError
from adrs.evaluation import Evaluation, evaluate
from adrs.problem import MANIFEST, Problem, find_problem
from adrs.sandbox import layers, run_candidate

SLOW_SHARE = 0.25  # of a CPU, for the load check: wall time stretches 4x, CPU time does not
PROBE_SHARE = 0.25  # probes costing more than this share of an evaluation defeat their purpose


@dataclass(frozen=True)
class Finding:
    """One line of `adrs check`: a check passed (perhaps with a warning) or failed."""

    ok: bool
    check: str
    detail: str
    warn: bool = False  # passes, but a search on it could be gamed or misled

    def __str__(self) -> str:
        label = "FAIL" if not self.ok else "warn" if self.warn else "ok  "
        return f"{label}  {self.check:18} {self.detail}"


def check(name_or_path: str, flags: dict | None = None) -> list[Finding]:
    """Every check of a problem, in order; `flags` are command-line settings (--sandbox)."""
    try:
        problem = find_problem(name_or_path)
    except UserError as exc:
        return [Finding(False, "manifest", str(exc))]
    found = [Finding(True, "manifest", f"{problem.name} ({problem.origin}) in {problem.root}")]
    return found + list(_checks(problem, flags))


def _checks(problem: Problem, flags: dict | None) -> Iterator[Finding]:
    initial = problem.initial_path
    yield _markers(problem, initial)
    try:
        limits = resolve(problem.defaults, flags=flags,
                         where=f"the defaults of {problem.name}").sandbox
    except UserError as exc:
        yield Finding(False, "defaults", str(exc))
        return
    first = evaluate(problem, problem.initial_source, limits)
    if first.status != "ok":
        yield Finding(False, "initial program", f"{initial}: {first.failure}: {first.error}; "
                      "fix the program or the evaluator's score() (try `adrs eval`)")
        return
    yield Finding(True, "initial program", f"score {first.score:.6g} in {first.seconds:.2f} s, "
                  f"metrics: {', '.join(sorted(first.metrics))}")
    yield _determinism(problem, first, evaluate(problem, problem.initial_source, limits))
    yield _under_load(problem, first, limits)
    yield _judging_data(problem, limits)
    yield _probes(problem, first, limits)
    for name, path in sorted(problem.baselines.items()):
        ev = evaluate(problem, path.read_text(), limits)
        yield Finding(ev.status == "ok", f"baseline {name}",
                      f"score {ev.score:.6g}" if ev.status == "ok" else
                      f"{path}: {ev.failure}: {ev.error}; fix the baseline or remove it from "
                      f"[baselines] in {MANIFEST}")


def _markers(problem: Problem, path) -> Finding:
    source = problem.initial_source
    try:
        parts = evolve_block.split(source)
    except evolve_block.MarkerError as exc:  # problem.toml folders are refused earlier
        return Finding(False, "evolve block", f"{path}: {exc}")
    if not parts.before and not parts.after:
        return Finding(True, "evolve block", f"{path}: no markers, the whole program evolves "
                       f"(add # {evolve_block.START} / # {evolve_block.END} to fix its edges)")
    if not parts.region.strip():
        return Finding(False, "evolve block", f"{path}: the region between the markers is "
                       "empty; put the code to evolve between them")
    return Finding(True, "evolve block", f"{len(parts.region.splitlines())} lines evolve")


def _determinism(problem: Problem, a: Evaluation, b: Evaluation) -> Finding:
    if problem.noisy:
        return Finding(True, "determinism", "the evaluator declares noisy = True: scores are "
                       "averaged over re-evaluations")
    if b.status == "ok" and b.score == a.score:
        return Finding(True, "determinism", "the same program scored the same twice")
    return Finding(False, "determinism", f"the initial program scored {a.score!r} then "
                   f"{b.score!r}; seed the evaluator's randomness, or set noisy = True on the "
                   "Evaluator class if scores really vary")


def _under_load(problem: Problem, quiet: Evaluation, limits) -> Finding:
    """Re-evaluate with the box slowed to SLOW_SHARE of a CPU, as on a busy machine: a
    score that moves depends on the wall clock (or on time the candidate measured)."""
    if problem.noisy:
        return Finding(True, "load", "skipped: the evaluator declares noisy = True")
    if layers(limits.mode).cgroups.throttle is None:
        return Finding(True, "load", "skipped: no cgroup CPU controller here to slow the "
                       "sandbox with")
    slow = replace(limits, cpu_share=SLOW_SHARE, wall_seconds=limits.wall_seconds / SLOW_SHARE)
    loaded = evaluate(problem, problem.initial_source, slow)
    if loaded.status == "ok" and loaded.score == quiet.score:
        return Finding(True, "load", f"the same score with the sandbox slowed to "
                       f"{SLOW_SHARE:.0%} of a CPU")
    got = f"{loaded.score!r}" if loaded.status == "ok" else f"{loaded.failure}"
    return Finding(True, "load", f"load-sensitive: {quiet.score!r} at full speed, {got} with "
                   f"the sandbox slowed to {SLOW_SHARE:.0%} of a CPU; time with the `seconds` "
                   "score() is given (CPU time, measured by adrs) and count it only beyond a "
                   "budget", warn=True)


def _judging_data(problem: Problem, limits) -> Finding:
    """Whether a run judges on data the candidate cannot know (docs/tutorial.md)."""
    if not problem.judges_privately:
        return Finding(True, "judging data", "public: a candidate can regenerate what it is "
                       "judged on from the source; draw it from a seed in the evaluator's "
                       "private(seed), and keep it out of cases()", warn=True)
    one, two = problem.judged_on(1), problem.judged_on(2)
    scores = [evaluate(p, problem.initial_source, limits, probe=False).score for p in (one, two)]
    if one.cases_json == two.cases_json and scores[0] == scores[1]:
        return Finding(True, "judging data", "private(seed) changes neither the cases nor the "
                       "score; draw the judged data from the seed it is given", warn=True)
    return Finding(True, "judging data", "private per run (the initial program scores "
                   f"{scores[0]:.6g} and {scores[1]:.6g} on two judging seeds)")


def _probes(problem: Problem, ev: Evaluation, limits) -> Finding:
    if problem.probes_json is None:
        return Finding(True, "probes", "none declared: functional hashing is off (add probes() "
                       "to the Evaluator to skip re-evaluating equivalent programs)")
    # as cases, so an exception on a probe shows (in a search it is hashed as behaviour)
    out = run_candidate(problem.initial_source, problem.evaluator.entrypoint,
                        problem.probes_json, limits, harness=problem.harness,
                        preload=problem.preload, share=problem.share)
    if not out.ok:
        return Finding(False, "probes", f"the initial program fails on the probe inputs "
                       f"({out.failure}: {out.error}); probes() must return valid inputs "
                       "for the entry point")
    share = ev.probe_seconds / ev.seconds if ev.seconds else 0.0
    if share > PROBE_SHARE:
        return Finding(False, "probes", f"probes take {share:.0%} of an evaluation "
                       f"({ev.probe_seconds:.3f} s); make them smaller (a few tiny inputs)")
    return Finding(True, "probes", f"{ev.probe_seconds * 1000:.1f} ms, {share:.1%} of an "
                   "evaluation")
