"""Wall time of one full evaluation, per bundled problem and program.

Each program (the initial one and every baseline) is evaluated REPEATS times
through the real sandbox, one at a time, warm (forked from a template) and cold
(a fresh sandbox each time); the median and max of the whole evaluate() call
(probes, run, scoring) are recorded. The trivial problem shows the fixed cost
of the sandbox itself.

    python benchmarks/eval_time.py     # writes benchmarks/results/eval_time.md
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from pathlib import Path

from common import machine

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.problem import find_problem, list_problems

HERE = Path(__file__).parent
REPEATS = 5


def programs(problem):
    yield "initial", problem.initial_source
    for name, path in sorted(problem.baselines.items()):
        yield name, path.read_text()


def timed(problem, source: str, limits) -> tuple[float, float]:
    """Median and max wall time of whole evaluations (after one untimed warm-up)."""
    evaluate(problem, source, limits)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        ev = evaluate(problem, source, limits)
        times.append(time.perf_counter() - start)
        assert ev.status == "ok", (problem.name, ev.error)
    return statistics.median(times), max(times)


def main() -> None:
    rows = []
    problems = [find_problem(p.name) for p in list_problems()]
    problems.append(find_problem(str(HERE / "trivial_problem")))
    for problem in problems:
        warm = build(problem.defaults).sandbox
        cold = replace(warm, warm=False)
        for name, source in programs(problem):
            rows.append((problem.name, name, *timed(problem, source, warm),
                         *timed(problem, source, cold)))
    lines = ["# Evaluation time", "",
             f"Machine: {machine()}. Command: `python benchmarks/eval_time.py` "
             f"({REPEATS} sequential evaluations per program and sandbox mode: probes, the "
             "sandboxed run and the scoring, as a run pays them; warm = forked from a warm "
             "template, cold = a fresh sandbox per evaluation).", "",
             "| problem | program | warm median s | warm max s | cold median s | cold max s |",
             "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {p} | {n} | {wm:.3f} | {wx:.3f} | {cm:.3f} | {cx:.3f} |"
              for p, n, wm, wx, cm, cx in rows]
    out = HERE / "results" / "eval_time.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
