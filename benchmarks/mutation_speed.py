"""How long one offline mutation takes, per bundled problem (median of 500).

Each problem's initial program is the parent, its baselines the second parents
(crossover) and donors, as in a run; every mutation is timed alone on this
process's clock. `--compare DIR` times another checkout's mutator the same way
in a subprocess (e.g. the one before issue 31), in the same run, so the two
columns see the same load.

    python benchmarks/mutation_speed.py --compare /path/to/older/checkout
    # writes benchmarks/results/mutation_speed.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from common import machine, save

HERE = Path(__file__).parent
ROOT = HERE.parent
N = 500


def measure() -> dict[str, float]:
    """Median milliseconds per mutation, by problem, with the importable adrs."""
    import inspect

    import numpy as np

    from adrs.mutate import OfflineMutator
    from adrs.mutate.base import MutationRequest, Parent

    takes_baselines = "baselines" in inspect.signature(OfflineMutator).parameters
    out = {}
    for problem in sorted((ROOT / "problems").iterdir()):
        initial = problem / "initial_program.py"
        if not initial.is_file():
            continue
        bases = tuple(p.read_text() for p in sorted(problem.glob("baselines/*.py")))
        m = OfflineMutator(baselines=bases) if takes_baselines else OfflineMutator()
        req = MutationRequest("", Parent(1, initial.read_text(), 0.5),
                              tuple(Parent(10 + i, b, 0.5) for i, b in enumerate(bases[:2])))
        times = []
        for i in range(N):
            rng = np.random.default_rng([0, i])
            start = time.perf_counter()
            m.mutate(req, rng)
            times.append(time.perf_counter() - start)
        out[problem.name] = float(np.median(times) * 1e3)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--compare", type=Path, help="another checkout's root, timed too")
    p.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=HERE / "results" / "mutation_speed.md")
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure()))
        return
    load = os.getloadavg()[0]
    now = measure()
    before = {}
    if args.compare:
        env = {**os.environ, "PYTHONPATH": str(args.compare.resolve())}
        done = subprocess.run([sys.executable, __file__, "--measure"], env=env, check=True,
                              capture_output=True, text=True, cwd=args.compare)
        before = json.loads(done.stdout.splitlines()[-1])
    lines = [f"# Offline mutation time ({machine()})", "",
             f"Median of {N} mutations per problem, load {load:.2f} at the start "
             f"(end {os.getloadavg()[0]:.2f}).", "",
             "| problem | this checkout (ms) | " + ("compared checkout (ms) | ratio |"
                                                   if before else ""),
             "|---|---|" + ("---|---|" if before else "")]
    for name, ms in now.items():
        extra = f" {before[name]:.2f} | {ms / before[name]:.2f} |" if name in before else ""
        lines.append(f"| {name} | {ms:.2f} |{extra}")
    save(args.out, lines, {"now": now, "compared": before, "load": load})
    print("\n".join(lines))


if __name__ == "__main__":
    main()
