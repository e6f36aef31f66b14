"""adrs vs OpenEvolve: iterations/s on the same trivial problem and machine.

Both controllers get an instant mutator (OpenEvolve: an LLM client object that
answers at once with a new full rewrite, in its worker processes) and the
trivial problem (return a number; the score is the number), with the store
pre-filled with N programs. What is timed is the controller itself, from the
first program added to the last. OpenEvolve is installed from PyPI into its
own virtual environment on first use and never imports adrs.

    python benchmarks/vs_openevolve.py      # writes benchmarks/results/vs_openevolve.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import venv
from pathlib import Path

from common import machine, save
from throughput import measure

HERE = Path(__file__).parent
OPENEVOLVE = "0.4.0"


def openevolve_python(env_dir: Path) -> Path:
    """A Python with openevolve==OPENEVOLVE installed, made on first use."""
    py = env_dir / "bin" / "python"
    if not py.exists():
        print(f"creating {env_dir} for openevolve {OPENEVOLVE} ...", flush=True)
        venv.create(env_dir, with_pip=True)
    probe = [str(py), "-c", "import importlib.metadata as m; print(m.version('openevolve'))"]
    found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
    if found != OPENEVOLVE:
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"openevolve=={OPENEVOLVE}"],
                       check=True)
    return py


def openevolve_rate(py: Path, stored: int, iterations: int, workers: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "result.json")
        subprocess.run([str(py), str(HERE / "openevolve_side.py"), "--stored", str(stored),
                        "--iterations", str(iterations), "--workers", str(workers),
                        "--out", str(out)], check=True, env=env, cwd=tmp,
                       stdout=subprocess.DEVNULL)
        return json.loads(out.read_text())


def median_of(runs: list[dict]) -> dict:
    rates = [r["it_per_s"] for r in runs]
    return {**runs[0], "it_per_s": statistics.median(rates), "min": min(rates),
            "max": max(rates), "repeats": len(runs), "ms_per_it": 1000 / statistics.median(rates)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--adrs-iterations", type=int, default=2000)
    ap.add_argument("--openevolve-iterations", type=int, default=200)
    ap.add_argument("--sandbox-iterations", type=int, default=200)
    ap.add_argument("--venv", type=Path, default=HERE / ".openevolve-venv")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "vs_openevolve.md")
    args = ap.parse_args()
    py = openevolve_python(args.venv)
    workers = os.cpu_count() or 1
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        adrs = median_of([{**measure(n, args.adrs_iterations, False, workers), "framework": "adrs"}
                          for _ in range(args.repeats)])
        oe = median_of([openevolve_rate(py, n, args.openevolve_iterations, workers)
                        for _ in range(args.repeats)])
        sandboxed = {**measure(n, args.sandbox_iterations, True, workers), "framework": "adrs"}
        rows.append({"stored": n, "adrs": adrs, "openevolve": oe, "adrs_sandboxed": sandboxed})
        print(f"{n:>6} stored: adrs {adrs['it_per_s']:.0f} it/s, openevolve "
              f"{oe['it_per_s']:.1f} it/s ({adrs['it_per_s'] / oe['it_per_s']:.0f}x), "
              f"adrs sandboxed {sandboxed['it_per_s']:.1f} it/s", flush=True)
    write(rows, workers, args)
    print(args.out.read_text())


def write(rows: list[dict], workers: int, args) -> None:
    lines = [
        "# adrs vs OpenEvolve: iterations/s as the stored population grows",
        "",
        f"Machine: {machine()}; {workers} workers for both; openevolve {OPENEVOLVE} from PyPI "
        "in its own venv. Command: `python benchmarks/vs_openevolve.py`. Median of "
        f"{args.repeats} runs (min-max in brackets); adrs times {args.adrs_iterations:,} "
        f"iterations, OpenEvolve {args.openevolve_iterations:,}.",
        "",
        "| stored programs | adrs it/s | OpenEvolve it/s | adrs / OpenEvolve | adrs ms/it | "
        "OpenEvolve ms/it | adrs, real sandbox it/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        a, o, s = r["adrs"], r["openevolve"], r["adrs_sandboxed"]
        lines.append(
            f"| {r['stored']:,} | {a['it_per_s']:.0f} ({a['min']:.0f}-{a['max']:.0f}) "
            f"| {o['it_per_s']:.1f} ({o['min']:.1f}-{o['max']:.1f}) "
            f"| {a['it_per_s'] / o['it_per_s']:.0f}x | {a['ms_per_it']:.2f} "
            f"| {o['ms_per_it']:.1f} | {s['it_per_s']:.1f} |")
    save(args.out, lines, rows)


if __name__ == "__main__":
    main()
