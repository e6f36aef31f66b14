"""`adrs report`, `adrs status`, `adrs best`: read-only views of one run."""

from __future__ import annotations

import json
from pathlib import Path

from adrs.cli.common import store_args
from adrs.errors import UserError


def register(sub) -> None:
    """Add report, status and best to the parser."""
    report = sub.add_parser("report", help="write a self-contained HTML report of a run")
    report.add_argument("run", help="run name or archive folder")
    report.add_argument("--out", type=Path, help="folder for index.html "
                        "(default: the run's archive folder / report)")
    store_args(report)
    report.set_defaults(func=cmd_report)
    _reader(sub, "status", "progress, scores and failures of a run", cmd_status)
    _reader(sub, "best", "print the best program of a run and its metrics", cmd_best)


def _reader(sub, name: str, help: str, func) -> None:
    """A read-only command on one run: RUN, where to find it, and --json."""
    p = sub.add_parser(name, help=help)
    p.add_argument("run", help="run name or archive folder")
    store_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=func)


def cmd_report(args) -> int:
    """`adrs report`: one HTML page with the run's figures embedded."""
    from adrs import archive
    from adrs.report import write_report
    from adrs.runs import open_run

    store, run, run_dir = open_run(args.run, db=args.db, archive=args.archive)
    store.close()
    view = archive.open(args.db or run_dir, run=run.name)
    path = write_report(view, args.out or run_dir / "report")
    print(f"wrote {path}")
    return 0


def cmd_status(args) -> int:
    """`adrs status`: iterations, scores, baselines, failures, time."""
    from adrs.runs import open_run
    from adrs.status import format_status, run_status

    store, run, _ = open_run(args.run, db=args.db, archive=args.archive)
    st = run_status(store, run)
    print(json.dumps(st, indent=2) if args.json else format_status(st))
    return 0


def cmd_best(args) -> int:
    """`adrs best`: the best program of a run, with its metrics as comments."""
    from adrs.runs import open_run

    store, run, _ = open_run(args.run, db=args.db, archive=args.archive)
    best = store.best(run.id, 1)
    if not best:
        raise UserError(f"run {run.name} has no successful candidate yet")
    c = best[0]
    if args.json:
        print(json.dumps({"id": c.id, "iteration": c.iteration, "score": c.score,
                          "metrics": c.metrics, "artifacts": c.artifacts or {},
                          "source": c.source}, indent=2))
        return 0
    print(f"# best of run {run.name}: candidate {c.id}, iteration {c.iteration}, "
          f"score {c.score:.6f}")
    for k, v in sorted((c.metrics or {}).items()):
        print(f"#   {k} = {v:.6g}")
    for name in sorted(c.artifacts or {}):
        print(f"#   artifact {name} ({len(c.artifacts[name])} chars; see `adrs status`, "
              "the report or the archive API)")
    print(c.source)
    return 0
