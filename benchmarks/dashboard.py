"""The dashboard on a large run, and what it costs a running search.

1. Size: a run with N stored candidates (100,000 by default: a long chain of
   improvements among many children, as a search makes) is written once; then the
   dashboard's endpoints are timed through its real HTTP server: the runs page, the
   run page (progress, outcomes, lineage of the best), and a candidate. Targets:
   first page under 1 s, lineage of the best under 0.5 s.
2. Interference: one seeded offline run with the dashboard closed and one of the
   same length with a client polling the run page every 2 s, as the page does; the
   two rates side by side (the same machine, one after the other).

    python benchmarks/dashboard.py            # writes benchmarks/results/dashboard.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import machine, save

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))
TARGET = str(HERE.parent / "tests" / "fixtures" / "target_number")


def build(archive: Path, n: int) -> str:
    """A run with n candidates: every 50th improves on the best so far (the chain)."""
    from adrs.runs import start_run
    from adrs.store.records import CandidateRecord, Status

    ctx = start_run(TARGET, name="big", db=None, archive=archive, config_file=None,
                    overrides={"iterations": n})
    store, run = ctx.store, ctx.run
    source = "def guess(scale):\n    return 1.0\n"
    best_id, best, ids = None, -10.0, []
    recs = []
    for i in range(n):
        parent = best_id if i % 50 == 0 or not ids else ids[(i * 7919) % len(ids)]
        improved = i % 50 == 0
        score = best + 0.001 if improved else best - 1.0 - (i % 13) * 0.01
        recs.append((i, parent, score, improved))
        cid = store.add_candidate(run.id, CandidateRecord(
            iteration=i, source=source + f"# {i}\n", syntactic_hash=f"{i:064x}",
            status=Status.OK if i % 3 else Status.DUPLICATE, parent_id=parent,
            score=score, island=i % 4, metrics={"score": score},
            mutation=f"offline: constant {i}"))
        ids.append(cid)
        if improved:
            best_id, best = cid, score
    ctx.update_run(status="finished")
    return "big"


def timed(url: str, repeats: int = 3) -> tuple[float, float]:
    """Median and max seconds of GET url."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as r:
            r.read()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def search_rate(archive: Path, name: str, iterations: int, poll: str | None) -> float:
    """Iterations/s of a seeded offline run, with a client polling `poll` every 2 s."""
    from adrs.loop import Search
    from adrs.runs import start_run

    ctx = start_run(TARGET, name=name, db=None, archive=archive, config_file=None,
                    overrides={"iterations": iterations, "workers": 1})
    stop = threading.Event()

    def poller():
        while not stop.wait(2.0):
            try:
                urllib.request.urlopen(poll.format(name=name), timeout=30).read()
            except OSError:
                pass

    t = threading.Thread(target=poller, daemon=True)
    if poll:
        t.start()
    t0 = time.perf_counter()
    Search(ctx, progress=False).run()
    elapsed = time.perf_counter() - t0
    stop.set()
    return iterations / elapsed


def main() -> None:
    from test_dashboard import Served

    from adrs.dashboard.catalog import Catalog

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=100_000)
    p.add_argument("--iterations", type=int, default=600)
    p.add_argument("--out", type=Path, default=HERE / "results" / "dashboard.md")
    args = p.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "archive"
        archive.mkdir()
        t0 = time.perf_counter()
        name = build(archive, args.candidates)
        built = time.perf_counter() - t0
        served = Served(Catalog(archive))
        try:
            u = served.url
            rows = {"runs page (/api/runs)": timed(f"{u}/api/runs"),
                    "run page, first request (/api/runs/big: every chart computed)":
                        timed(f"{u}/api/runs/{name}", repeats=1),
                    "run page again, no new candidates (its charts kept)":
                        timed(f"{u}/api/runs/{name}"),
                    "a candidate (/api/runs/big/candidates/1000)":
                        timed(f"{u}/api/runs/{name}/candidates/1000"),
                    "static page (/)": timed(f"{u}/")}
            from adrs import archive as arc

            view = arc.open(archive / name)
            t0 = time.perf_counter()
            chain = view.chain_to_best()
            lineage = time.perf_counter() - t0
            closed = search_rate(archive, "closed", args.iterations, None)
            opened = search_rate(archive, "open", args.iterations,
                                 u + "/api/runs/{name}")
        finally:
            served.close()
    lines = [f"# The dashboard on a large run ({machine()})", "",
             f"{args.candidates:,} stored candidates (written in {built:.0f} s), SQLite, "
             f"load {load:.2f} at the start. `python benchmarks/dashboard.py`.", "",
             "| request | median s | max s (3 tries; 1 for a first request) |", "|---|---|---|",
             *[f"| {k} | {m:.3f} | {x:.3f} |" for k, (m, x) in rows.items()], "",
             f"Lineage of the best ({len(chain)} generations, RunView.chain_to_best): "
             f"{lineage:.3f} s.", "",
             f"A seeded offline run of {args.iterations} iterations, one worker: "
             f"{closed:.1f} it/s with the dashboard closed, {opened:.1f} it/s with a client "
             f"reading its run page every 2 s ({opened / closed:.2f}x)."]
    save(args.out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
