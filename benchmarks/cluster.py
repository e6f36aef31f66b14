"""Throughput with Ray nodes, and a node killed mid-run.

A real cluster on this machine (tests/ray_nodes.py): a head that runs only the
controller, and N nodes of W CPUs each, every node its own `ray start` raylet.
Every iteration is a new program (no duplicates), evaluated in the real sandbox.

- sleep-bound: each evaluation waits 1 s (tests/fixtures/waiting_number), so this
  machine's cores are not the limit; ideal = N x W evaluations per second;
- CPU-bound: each burns ~0.5 s of CPU (benchmarks/cpu_problem): on one machine the
  rate stops at its cores, whatever N is (the honest ceiling, shown beside it);
- node loss: 3 nodes of 1 CPU, a run whose evaluations wait 0.3 s; one node is
  killed (SIGKILL to its whole process tree) while an evaluation runs on it. Its
  archive is compared with the same seed's undisturbed run on the same cluster.

    python benchmarks/cluster.py            # writes benchmarks/results/cluster.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import machine, save
from scaling import BusyMutator
from throughput import InstantMutator

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "tests"))
from ray_nodes import ENV, LocalCluster, waiting_candidates  # noqa: E402

os.environ.update(ENV)  # before ray is imported: a loopback cluster without tokens
import ray  # noqa: E402

from adrs.loop import Search  # noqa: E402
from adrs.runs import start_run  # noqa: E402

WAITING = HERE.parent / "tests" / "fixtures" / "waiting_number"
ROWS = "select iteration, syntactic_hash, status, score from candidates order by iteration"


def waiting_program(value: float) -> str:
    return ("# EVOLVE-BLOCK-START\ndef guess(scale):\n"
            f"    return {value!r} + 0.0 * scale\n# EVOLVE-BLOCK-END\n")


class WaitingMutator(InstantMutator):
    template = staticmethod(waiting_program)


def problem_copy(tmp: Path, wait: float) -> Path:
    folder = tmp / "waiting_number"
    shutil.copytree(WAITING, folder)
    (folder / "wait.json").write_text(f'{{"seconds": {wait}}}\n')
    return folder


def cluster(tmp: Path, nodes: int, cpus: int) -> LocalCluster:
    c = LocalCluster(tmp / f"logs-{nodes}x{cpus}-{time.monotonic_ns()}")
    for _ in range(nodes):
        c.add_node(cpus=cpus)
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    c.wait_for(ray, cpus=nodes * cpus)
    return c


def rate(problem: Path, tmp: Path, name: str, mutator, in_flight: int, iterations: int,
         skip: int) -> float:
    """Children recorded per second in the steady state: after the first `skip` (the
    sandboxes' start), as (children recorded between the first timed one and the
    `skip`-th from the end) / (the time between them): with `skip` slots, results come
    in waves, and counting from a wave's first to a wave's first does not flatter."""
    ctx = start_run(str(problem), name=name, db=None, archive=tmp, config_file=None,
                    overrides={"iterations": iterations, "executor": "ray",
                               "search": {"in_flight": in_flight}})
    stamps, add = [], ctx.store.add_candidate
    ctx.store.add_candidate = lambda *a: (stamps.append(time.perf_counter()), add(*a))[1]
    Search(ctx, mutator=mutator, progress=False).run()
    timed = stamps[1 + skip:]  # iteration 0 is the initial program
    return (len(timed) - skip) / (timed[-skip] - timed[0])


def throughput(tmp: Path, counts: list[int], cpus: int, per_slot: int,
               repeats: int) -> list[dict]:
    sleepy, busy = problem_copy(tmp, 1.0), HERE / "cpu_problem"
    out = []
    for n in counts:
        c = cluster(tmp, n, cpus)
        slots = n * cpus
        try:
            for kind, problem, mutator, seconds in (("sleep 1 s", sleepy, WaitingMutator(), 1.0),
                                                    ("CPU 0.5 s", busy, BusyMutator(), 0.5)):
                load = os.getloadavg()[0]
                rates = sorted(rate(problem, tmp, f"{kind[:3]}-{n}-{k}", mutator, 2 * slots,
                                    per_slot * slots + slots, skip=slots)
                               for k in range(repeats))
                r = rates[len(rates) // 2]
                out.append({"workload": kind, "nodes": n, "cpus_per_node": cpus,
                            "it_per_s": r, "runs": rates, "ideal": slots / seconds,
                            "machine_ceiling": (os.cpu_count() or 1) / seconds
                            if kind.startswith("CPU") else None, "load": load})
                print(f"{kind} {n} nodes: {r:.2f} it/s (ideal {slots / seconds:.1f})",
                      flush=True)
        finally:
            ray.shutdown()
            c.shutdown()
    return out


def node_loss(tmp: Path, iterations: int) -> dict:
    (tmp / "loss").mkdir()
    problem = problem_copy(tmp / "loss", 0.3)
    c = cluster(tmp, 2, 1)
    try:
        calm = start_run(str(problem), name="calm", db=None, archive=tmp, config_file=None,
                         overrides={"iterations": iterations, "executor": "ray"})
        Search(calm, progress=False).run()
        before = {n["NodeID"][:8] for n in ray.nodes()}
        doomed = c.add_node(cpus=1)
        c.wait_for(ray, cpus=3)
        (doomed_id,) = {n["NodeID"][:8] for n in ray.nodes()} - before
        ctx = start_run(str(problem), name="stormy", db=None, archive=tmp, config_file=None,
                        overrides={"iterations": iterations, "executor": "ray"})
        run = threading.Thread(target=Search(ctx, progress=False).run)
        started = time.perf_counter()
        run.start()
        killed_after = None
        while run.is_alive() and killed_after is None:
            if waiting_candidates(doomed.pid):  # an evaluation is under way on it
                c.kill(doomed)
                killed_after = _rows(ctx, "select count(*) from candidates "
                                          "where evaluated_on is not null")[0][0]
            time.sleep(0.01)
        run.join()
        seconds = time.perf_counter() - started
        return {"iterations": iterations, "killed_after_evaluations": killed_after,
                "identical": _rows(ctx, ROWS) == _rows(calm, ROWS),
                "status": ctx.store.get_run("stormy").status, "seconds": seconds,
                "on_killed_node": sum(on.endswith(doomed_id) for (on,) in _rows(
                    ctx, "select evaluated_on from candidates where evaluated_on is not null"))}
    finally:
        ray.shutdown()
        c.shutdown()


def _rows(ctx, sql):
    with ctx.store.engine.connect() as conn:
        return conn.exec_driver_sql(sql).fetchall()


def write(results: list[dict], loss: dict, out: Path, cpus: int) -> None:
    one = {r["workload"]: r["it_per_s"] for r in results if r["nodes"] == 1}
    lines = [
        "# Throughput with Ray nodes, and a node lost mid-run",
        "",
        f"Machine: {machine()}; every node is a raylet of its own on this machine "
        f"(`ray start --address`, {cpus} CPUs each) and the head runs only the controller. "
        "Command: `python benchmarks/cluster.py`. Every iteration is a new program, "
        "evaluated in the real sandbox; the first wave (sandboxes starting) is not timed. "
        "Load is the 1-minute load average when each row began. Iterations/s is the "
        f"median of {len(results[0]['runs'])} runs (their range beside it).",
        "",
        "| workload | nodes | iterations/s | range | ideal | of ideal | vs 1 node | "
        "this machine's ceiling | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ceiling = f"{r['machine_ceiling']:.1f}" if r["machine_ceiling"] else "-"
        spread = f"{min(r['runs']):.2f}-{max(r['runs']):.2f}"
        lines.append(f"| {r['workload']} | {r['nodes']} | {r['it_per_s']:.2f} | {spread} | "
                     f"{r['ideal']:.1f} | {r['it_per_s'] / r['ideal']:.0%} | "
                     f"{r['it_per_s'] / one[r['workload']]:.2f}x | {ceiling} | "
                     f"{r['load']:.2f} |")
    lines += [
        "",
        "## A node killed mid-run",
        "",
        f"3 nodes of 1 CPU, {loss['iterations']} iterations whose evaluations wait 0.3 s; "
        f"one node was killed (SIGKILL, its whole process tree) while it evaluated, after "
        f"{loss['killed_after_evaluations']} recorded evaluations, "
        f"{loss['on_killed_node']} of them on that node. The run {loss['status']} in "
        f"{loss['seconds']:.1f} s; its archive (iteration, source hash, status, score of "
        "every candidate) is "
        + ("**identical**" if loss["identical"] else "**NOT identical**")
        + " to the same seed's undisturbed run on the same cluster.",
    ]
    save(out, lines, {"throughput": results, "node_loss": loss})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="1,2,4")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs (worker slots) per node")
    ap.add_argument("--per-slot", type=int, default=8, help="iterations timed per slot")
    ap.add_argument("--loss-iterations", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3, help="runs per row (median shown)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cluster.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = throughput(Path(tmp), [int(n) for n in args.nodes.split(",")], args.cpus,
                             args.per_slot, args.repeats)
        loss = node_loss(Path(tmp), args.loss_iterations)
    write(results, loss, args.out, args.cpus)
    print(args.out.read_text())


if __name__ == "__main__":
    main()
