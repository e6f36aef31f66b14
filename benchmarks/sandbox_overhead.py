"""Per-evaluation overhead of the sandbox, every layer on, against the floors.

One run, interleaved round by round so machine load falls on every variant alike:
- fork floor: fork a warm Python (numpy loaded, nothing else) and reap it;
- cold start: `python -I -c "import numpy"`, the interpreter alone;
- adrs, warm (a candidate forked from a template, adrs/sandbox/warm.py) and cold (a fresh
  interpreter per candidate), per boundary: a near-free candidate (`return x`, one
  case) through `run_candidate`;
- a real evaluation, moe_expert_placement's initial program (its probes and
  functional hash, its cases, its scorer): the same calls made unsandboxed in
  this process, then warm and cold;
- a torch candidate (a 64x64 matmul chain) of a problem that preloads torch:
  unsandboxed in this process, then warm (torch imported once, in the template).

Each variant runs once per round, so a warm template has the other variants' time
to make its next spare, as it has a search's scoring and bookkeeping in a run.

    python benchmarks/sandbox_overhead.py [ROUNDS]   # writes results/sandbox_overhead.md
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import machine, save, score_in_process

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.hashing import functional_hash
from adrs.problem import find_problem
from adrs.sandbox import Limits, confine, encode_cases, run_candidate

HERE = Path(__file__).parent
SOURCE = "def f(x):\n    return x\n"
CASES = encode_cases([{"x": 1.0}])
TORCH = ("import torch\n\ndef f(n):\n    torch.manual_seed(0)\n    a = torch.rand(64, 64)\n"
         "    for _ in range(n):\n        a = torch.tanh(a @ a)\n    return float(a.sum())\n")
TORCH_CASES = [{"n": 20}]
FLOOR = "fork floor (warm Python)"


# Forks on each input line and prints how long fork, exit and reap took: a warm
# Python with numpy loaded and nothing else (this process has torch loaded).
FORKER = ("import os, sys, time\nimport numpy\nfor line in sys.stdin:\n"
          "    t = time.perf_counter()\n    pid = os.fork()\n    if pid == 0:\n"
          "        os._exit(0)\n    os.waitpid(pid, 0)\n"
          "    print(time.perf_counter() - t, flush=True)\n")


def fork_floor():
    proc = subprocess.Popen([sys.executable, "-c", FORKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def once() -> float:
        proc.stdin.write("\n")
        proc.stdin.flush()
        return float(proc.stdout.readline())
    return once


def cold_start() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", "import numpy"], check=True)
    return time.perf_counter() - start


def adrs_now(mode: str, warm: bool):
    def once() -> float:
        out = run_candidate(SOURCE, "f", CASES, Limits(mode=mode, warm=warm))
        assert out.ok and out.warm == warm, out.error
        return out.wall_seconds
    return once


def _in_process(source: str, entrypoint: str):
    namespace: dict = {}
    exec(compile(source, "<benchmark>", "exec"), namespace)  # noqa: S102 - our own programs
    return namespace[entrypoint]


def moe_unsandboxed():
    """The same calls and scoring as an evaluation, in this process, no sandbox."""
    moe = find_problem("moe_expert_placement")
    fn = _in_process(moe.initial_source, moe.evaluator.entrypoint)
    cases, probes = moe.evaluator.cases(), moe.evaluator.probes()

    def once() -> float:
        start = time.perf_counter()
        functional_hash([fn(**probe) for probe in probes], moe.probe_rtol)
        score_in_process(moe, fn, cases)
        return time.perf_counter() - start
    return once


def moe_now(warm: bool):
    moe = find_problem("moe_expert_placement")
    limits = Limits(**{**build(moe.defaults).sandbox.__dict__, "warm": warm})

    def once() -> float:
        start = time.perf_counter()
        assert evaluate(moe, moe.initial_source, limits).status == "ok"
        return time.perf_counter() - start
    return once


def torch_unsandboxed():
    fn = _in_process(TORCH, "f")

    def once() -> float:
        start = time.perf_counter()
        fn(**TORCH_CASES[0])
        return time.perf_counter() - start
    return once


def torch_warm():
    cases = encode_cases(TORCH_CASES)

    def once() -> float:
        out = run_candidate(TORCH, "f", cases, Limits(), preload=("torch",))
        assert out.ok and out.warm, out.error
        return out.wall_seconds
    return once


def main(rounds: int) -> None:
    variants = {FLOOR: fork_floor(), "cold start (python + numpy)": cold_start}
    modes = ["bwrap"] if shutil.which("bwrap") else []
    for mode in [*modes, "jail"]:
        for warm in (True, False):
            variants[f"adrs {'warm' if warm else 'cold'}, {confine.layers(mode).describe()}"] = \
                adrs_now(mode, warm)
    variants["adrs cold, " + confine.layers("none").describe()] = adrs_now("none", False)
    moe = f"moe_expert_placement initial (9 cases, scored), {confine.layers().mode}"
    variants["moe_expert_placement initial (9 cases, scored), unsandboxed, in process"] = \
        moe_unsandboxed()
    variants[moe + ", warm"] = moe_now(True)
    variants[moe + ", cold"] = moe_now(False)
    if importlib.util.find_spec("torch"):
        variants["torch candidate (20 64x64 matmuls), unsandboxed, in process"] = \
            torch_unsandboxed()
        variants["torch candidate, preload torch, warm"] = torch_warm()
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm-up (templates start here), not recorded
        fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            times[name].append(fn())
    report(times, rounds, load_before, os.getloadavg())


def report(times: dict, rounds: int, before, after) -> None:
    floor = statistics.median(times[FLOOR])
    lines = ["# Sandbox overhead per evaluation", "",
             f"Machine: {machine()}; load average {before[0]:.2f} before, {after[0]:.2f} "
             f"after. Command: `python benchmarks/sandbox_overhead.py {rounds}` ({rounds} "
             "rounds, variants interleaved). A near-free candidate, one case, unless named.",
             "", "| variant | median ms | p10-p90 ms | x fork floor |", "|---|---:|---:|---:|"]
    results = {}
    for name, values in times.items():
        med = statistics.median(values)
        deciles = statistics.quantiles(values, n=10)
        lines.append(f"| {name} | {med * 1000:.1f} | {deciles[0] * 1000:.1f}-"
                     f"{deciles[-1] * 1000:.1f} | {med / floor:.1f} |")
        results[name] = {"median_s": med, "p10_s": deciles[0], "p90_s": deciles[-1]}
    lines += ["", "Differences of medians, measured in this run:"]
    for unsandboxed, sandboxed in _pairs(times):
        gap = statistics.median(times[sandboxed]) - statistics.median(times[unsandboxed])
        lines.append(f"- {sandboxed} - unsandboxed: {gap * 1000:+.1f} ms")
    save(HERE / "results" / "sandbox_overhead.md", lines, results)
    print("\n".join(lines))


def _pairs(times: dict):
    base = {name.split(",")[0]: name for name in times if "unsandboxed" in name}
    for name in times:
        head = name.split(",")[0]
        if "unsandboxed" not in name and (head in base or name.startswith("torch candidate")):
            yield base.get(head) or base["torch candidate (20 64x64 matmuls)"], name

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
