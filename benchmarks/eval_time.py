"""Wall time of one full evaluation, per bundled problem and program.

Each program (the initial one and every baseline) is evaluated REPEATS times
through the real sandbox, one at a time; the median and max are recorded. The
trivial problem shows the fixed cost of the sandbox itself (process start,
numpy import, confinement).

    python benchmarks/eval_time.py     # writes benchmarks/results/eval_time.md
"""

from __future__ import annotations

import statistics
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


def main() -> None:
    rows = []
    problems = [find_problem(p.name) for p in list_problems()]
    problems.append(find_problem(str(HERE / "trivial_problem")))
    for problem in problems:
        limits = build(problem.defaults).sandbox
        for name, source in programs(problem):
            times = []
            for _ in range(REPEATS):
                ev = evaluate(problem, source, limits)
                assert ev.status == "ok", (problem.name, name, ev.error)
                times.append(ev.seconds)
            rows.append((problem.name, name, statistics.median(times), max(times)))
    lines = ["# Evaluation time", "",
             f"Machine: {machine()}. Command: `python benchmarks/eval_time.py` "
             f"({REPEATS} sequential sandboxed evaluations per program).", "",
             "| problem | program | median s | max s |", "|---|---|---:|---:|"]
    lines += [f"| {p} | {n} | {med:.3f} | {mx:.3f} |" for p, n, med, mx in rows]
    out = HERE / "results" / "eval_time.md"
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())


if __name__ == "__main__":
    main()
