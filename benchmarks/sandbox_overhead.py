"""Per-evaluation overhead of the sandbox, every layer on, against the floors.

One run, interleaved round by round so machine load falls on every variant alike:
- fork floor: fork a warm Python (numpy loaded) and reap it, in this process;
- cold start: `python -I -c "import numpy"`, the interpreter alone;
- adrs now, per boundary: a near-free candidate (`return x`, one case) through
  `run_candidate` with bubblewrap, with adrs's own jail, and with `none`;
- adrs v1: the same candidate through the sandbox before the kernel boundary
  (commit V1: bubblewrap, pids cgroup and audit hooks), from a git worktree;
- a real evaluation, moe_expert_placement's initial program (9 cases), now and
  in v1. The "x v1" column compares each row with its v1 counterpart.

    python benchmarks/sandbox_overhead.py [ROUNDS]   # writes results/sandbox_overhead.md
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, save

from adrs import confine
from adrs.config import build
from adrs.evaluation import evaluate
from adrs.problem import find_problem
from adrs.sandbox import Limits, encode_cases, run_candidate

HERE = Path(__file__).parent
V1 = "d83d44a"  # the last commit with the audit-hook sandbox
V1_ROW = "adrs v1 (bubblewrap, pids cgroup, audit hooks)"
SOURCE = "def f(x):\n    return x\n"
CASES = encode_cases([{"x": 1.0}])
# Serves one timed run per input line: "trivial" (the near-free candidate) or "moe".
SERVER = (
    "import sys, time\nfrom adrs.config import build\nfrom adrs.evaluation import evaluate\n"
    "from adrs.problem import find_problem\nfrom adrs.sandbox import Limits, encode_cases, "
    "run_candidate\ncases = encode_cases([{'x': 1.0}])\n"
    "moe = find_problem('moe_expert_placement')\nlimits = build(moe.defaults).sandbox\n"
    "for line in sys.stdin:\n    t = time.perf_counter()\n    if line.strip() == 'moe':\n"
    "        ok = evaluate(moe, moe.initial_source, limits).status == 'ok'\n    else:\n"
    "        ok = run_candidate('def f(x):\\n    return x\\n', 'f', cases, Limits()).ok\n"
    "    print(time.perf_counter() - t if ok else -1.0, flush=True)\n")


def fork_floor() -> float:
    import numpy  # noqa: F401  (a warm Python: numpy already loaded)

    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


def cold_start() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
    return time.perf_counter() - start


def adrs_now(mode: str):
    def once() -> float:
        out = run_candidate(SOURCE, "f", CASES, Limits(mode=mode))
        assert out.ok, out.error
        return out.wall_seconds
    return once


def moe_now():
    moe = find_problem("moe_expert_placement")
    limits = build(moe.defaults).sandbox

    def once() -> float:
        start = time.perf_counter()
        assert evaluate(moe, moe.initial_source, limits).status == "ok"
        return time.perf_counter() - start
    return once


class AdrsV1:
    """The old sandbox, from a worktree, served by a subprocess one run per line."""

    def __init__(self):
        self.tree = tempfile.mkdtemp(prefix="adrs-v1-")
        subprocess.run(["git", "worktree", "add", "--detach", self.tree, V1], cwd=HERE.parent,
                       check=True, capture_output=True)
        env = {**os.environ, "PYTHONPATH": self.tree}
        env.pop("ADRS_SANDBOX", None)
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER], cwd=self.tree, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def timed(self, kind: str):
        def once() -> float:
            self.proc.stdin.write(kind + "\n")
            self.proc.stdin.flush()
            seconds = float(self.proc.stdout.readline())
            assert seconds >= 0, f"the v1 sandbox failed its {kind} evaluation"
            return seconds
        return once

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()
        subprocess.run(["git", "worktree", "remove", "--force", self.tree], cwd=HERE.parent,
                       capture_output=True)
        shutil.rmtree(self.tree, ignore_errors=True)


def main(rounds: int) -> None:
    variants = {"fork floor (warm Python)": fork_floor, "cold start (python + numpy)": cold_start}
    modes = ["bwrap"] if shutil.which("bwrap") else []
    for mode in [*modes, "jail", "none"]:
        variants[f"adrs, {confine.layers(mode).describe()}"] = adrs_now(mode)
    old = AdrsV1() if modes else None
    if old:
        variants[V1_ROW] = old.timed("trivial")
    variants[f"moe_expert_placement initial (9 cases), adrs, {confine.layers().mode}"] = \
        moe_now()
    if old:
        variants["moe_expert_placement initial (9 cases), adrs v1"] = old.timed("moe")
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for fn in variants.values():  # warm-up, not recorded
            fn()
        for _ in range(rounds):
            for name, fn in variants.items():
                times[name].append(fn())
    finally:
        if old:
            old.close()
    report(times, rounds, load_before, os.getloadavg())


def report(times: dict, rounds: int, before, after) -> None:
    floor = statistics.median(times["fork floor (warm Python)"])
    v1 = times.get(V1_ROW)
    lines = ["# Sandbox overhead per evaluation", "",
             f"Machine: {machine()}; load average {before[0]:.2f} before, {after[0]:.2f} "
             f"after. Command: `python benchmarks/sandbox_overhead.py {rounds}` ({rounds} "
             "rounds, variants interleaved). A near-free candidate, one case.", "",
             "| variant | median ms | p10-p90 ms | x fork floor |" + (" x v1 |" if v1 else ""),
             "|---|---:|---:|---:|" + ("---:|" if v1 else "")]
    results = {}
    for name, values in times.items():
        med = statistics.median(values)
        deciles = statistics.quantiles(values, n=10)
        row = (f"| {name} | {med * 1000:.1f} | {deciles[0] * 1000:.1f}-{deciles[-1] * 1000:.1f} "
               f"| {med / floor:.0f} |")
        if v1:
            versus = times["moe_expert_placement initial (9 cases), adrs v1"] \
                if name.startswith("moe") else v1
            row += f" {med / statistics.median(versus):.2f} |"
        lines.append(row)
        results[name] = {"median_s": med, "p10_s": deciles[0], "p90_s": deciles[-1]}
    save(HERE / "results" / "sandbox_overhead.md", lines, results)
    print("\n".join(lines))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
