"""The `adrs` command line. Errors a user can fix are one line and exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path

from adrs.errors import UserError

ARCHIVE = Path("archive")


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop cleanly, as Ctrl-C does, and exit 143."""


def _on_sigterm(signum, frame) -> None:
    _SIGNALLED.append(signum)
    raise Terminated()


_SIGNALLED: list[int] = []


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop a run cleanly, also when a shell started it in the
    background with SIGINT ignored (`adrs run ... &`)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _on_sigterm)


def _interrupted_code() -> int:
    return 143 if signal.SIGTERM in _SIGNALLED else 130


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "sandbox", None):  # wins over config, here and in what this starts
        os.environ["ADRS_SANDBOX"] = args.sandbox
    _stop_on_signals()
    try:
        return args.func(args) or 0
    except UserError as exc:
        print(f"adrs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adrs: interrupted", file=sys.stderr)
        return _interrupted_code()
    except BrokenPipeError:  # e.g. `adrs best RUN | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adrs", description="LLM-driven evolutionary algorithm "
                                "discovery. Run `adrs run moe_expert_placement` to start.")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start a new search")
    run.add_argument("problem", help="problem name (see `adrs problems`) or folder path; "
                     "or, with EVALUATOR, an OpenEvolve initial program")
    run.add_argument("evaluator", nargs="?", type=Path,
                     help="OpenEvolve's form, `adrs run INITIAL EVALUATOR [--config "
                     "CONFIG.yaml]`: the evaluator.py to score INITIAL's descendants")
    run.add_argument("--iterations", type=int, help="children to generate (default 200)")
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--workers", type=int, help="concurrent evaluations (default: CPU cores)")
    run.add_argument("--config", type=Path, help="TOML config file (see docs/configuration.md);"
                     " a .yaml one is an OpenEvolve config.yaml for the problem")
    run.add_argument("--executor", choices=["local", "workers", "ray"],
                     help="local: sandboxes here (default); workers: `adrs worker` processes "
                     "evaluate through the --db database; ray: Ray tasks")
    run.add_argument("--ray-address", help="a Ray cluster's address (default: a local Ray)")
    run.add_argument("--name", help="run name (default: PROBLEM-DATE-TIME)")
    _sandbox_arg(run)
    _budget_args(run)
    _store_args(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    resume = sub.add_parser("resume", help="continue a stopped run")
    resume.add_argument("run", help="run name or archive folder")
    resume.add_argument("--iterations", type=int, help="extend the run to this many")
    _sandbox_arg(resume)
    _budget_args(resume)
    _store_args(resume)
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    resume.set_defaults(func=_cmd_resume)

    replay = sub.add_parser("replay", help="re-run a recorded LLM search offline, "
                            "serving its recorded replies")
    replay.add_argument("run", help="the recorded run (name or archive folder)")
    replay.add_argument("--into", required=True, help="name of the new run")
    _store_args(replay)
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(func=_cmd_replay)

    worker = sub.add_parser("worker", help="evaluate a run's candidates for its controller "
                            "(`adrs run --executor workers`), here or on another machine")
    worker.add_argument("run", help="run name")
    worker.add_argument("--name", help="this worker's name (default: host:pid)")
    _sandbox_arg(worker)
    worker.add_argument("--idle-exit", type=float, default=600.0,
                        help="stop after this many seconds without work (default 600)")
    worker.add_argument("--lease", type=float, default=60.0,
                        help="seconds without a heartbeat before another worker's job is "
                        "taken over (default 60)")
    _store_args(worker)
    worker.set_defaults(func=_cmd_worker)

    tune = sub.add_parser("tune", help="tune a candidate's numeric constants with optuna "
                          "and record the best program as its child")
    tune.add_argument("run", help="run name or archive folder")
    tune.add_argument("candidate", type=int, help="candidate id (see `adrs best RUN`)")
    tune.add_argument("--trials", type=int, default=30, help="evaluations to spend (default 30)")
    _store_args(tune)
    tune.set_defaults(func=_cmd_tune)

    fake = sub.add_parser("fake-llm", help="serve a fake OpenAI-compatible model for tests "
                          "and demos (offline edits as diffs or rewrites)")
    fake.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    fake.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    fake.add_argument("--fault", help="inject a fault: rate_limit, server_error, hang, "
                      "truncated, malformed, no_code, bad_diff")
    fake.add_argument("--fault-every", type=int, default=3, help="every N-th request faults")
    fake.set_defaults(func=_cmd_fake_llm)

    report = sub.add_parser("report", help="write a self-contained HTML report of a run")
    report.add_argument("run", help="run name or archive folder")
    report.add_argument("--out", type=Path, help="folder for index.html "
                        "(default: the run's archive folder / report)")
    _store_args(report)
    report.set_defaults(func=_cmd_report)

    _reader(sub, "status", "progress, scores and failures of a run", _cmd_status)
    _reader(sub, "best", "print the best program of a run and its metrics", _cmd_best)

    new = sub.add_parser("new", help="write a new problem folder to edit into yours")
    new.add_argument("kind", choices=["problem"])
    new.add_argument("name", help="problem name: lowercase letters, digits, underscores")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to write it (default .)")
    new.add_argument("--package", action="store_true",
                     help="a pip-installable plugin with an adrs.problems entry point")
    new.set_defaults(func=_cmd_new)

    chk = sub.add_parser("check", help="validate a problem before a long run")
    chk.add_argument("problem", help="problem name or folder path")
    _sandbox_arg(chk)
    chk.set_defaults(func=_cmd_check)

    problems = sub.add_parser("problems", help="list the problems adrs can find")
    problems.set_defaults(func=_cmd_problems)

    h = sub.add_parser("hash", help="a program's syntactic and functional hashes")
    h.add_argument("problem", help="problem name or folder path")
    h.add_argument("program", type=Path, help="Python file defining the entry point")
    h.add_argument("--json", action="store_true", help="machine-readable output")
    _sandbox_arg(h)
    h.set_defaults(func=_cmd_hash)

    ev = sub.add_parser("eval", help="evaluate one program file in the sandbox")
    ev.add_argument("problem", help="problem name or folder path")
    ev.add_argument("program", type=Path, help="Python file defining the entry point")
    ev.add_argument("--json", action="store_true", help="machine-readable output")
    ev.add_argument("--judging-seed", type=int, help="judge on the private data drawn from "
                    "this seed, as a run does (default: the problem's public data)")
    _sandbox_arg(ev)
    ev.set_defaults(func=_cmd_eval)

    box = sub.add_parser("sandbox", help="show which sandbox layers work on this machine and "
                         "self-test each one")
    _sandbox_arg(box)
    box.set_defaults(func=_cmd_sandbox)
    return p


def _sandbox_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", choices=["auto", "bwrap", "jail", "none"],
                   help="how candidates are confined: auto (default: bubblewrap, else adrs's "
                   "own namespaces, else refuse), bwrap, jail, or none (UNSAFE: no boundary; "
                   "recorded in the run)")


def _reader(sub, name: str, help: str, func) -> None:
    """A read-only command on one run: RUN, where to find it, and --json."""
    p = sub.add_parser(name, help=help)
    p.add_argument("run", help="run name or archive folder")
    _store_args(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=func)


def _budget_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-cost", type=float, help="stop cleanly after this many USD of LLM calls")
    p.add_argument("--max-tokens", type=int, help="stop cleanly after this many LLM tokens")


def _budgets(args) -> dict:
    return {k: v for k, v in (("max_cost", args.max_cost), ("max_tokens", args.max_tokens))
            if v is not None}


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="SQLAlchemy database URL (default: ARCHIVE/RUN/adrs.db)")
    p.add_argument("--archive", type=Path, default=ARCHIVE,
                   help="folder holding run archives (default: ./archive)")


def _cmd_run(args) -> int:
    from adrs.runs import start_run

    overrides = {k: v for k, v in (("iterations", args.iterations), ("seed", args.seed),
                                   ("workers", args.workers), ("executor", args.executor),
                                   ("ray_address", args.ray_address))
                 if v is not None}
    if args.sandbox:
        overrides["sandbox"] = {"mode": args.sandbox}  # recorded in the run's config
    overrides.update(_budgets(args))
    where = {"name": args.name, "db": args.db, "archive": args.archive, "overrides": overrides}
    files = _openevolve_files(args)
    if files is not None:
        from adrs.runs import start_openevolve_run

        toml = None if _yaml(args.config) else args.config
        ctx = start_openevolve_run(files, config_file=toml, **where)
    else:
        ctx = start_run(args.problem, config_file=args.config, **where)
    return _search(ctx, args.quiet)


def _openevolve_files(args):
    """The OpenEvolve files `adrs run` was given (INITIAL EVALUATOR, or a folder with a
    .yaml --config), or None for an adrs problem."""
    from adrs import openevolve

    yaml = args.config if _yaml(args.config) else None
    if args.evaluator is not None:
        return openevolve.Files(Path(args.problem).resolve(), args.evaluator.resolve(),
                                yaml.resolve() if yaml else None)
    if yaml is None:
        return None
    folder = Path(args.problem)
    if not openevolve.is_openevolve_folder(folder):
        raise UserError(f"--config {args.config} is an OpenEvolve config.yaml, but "
                        f"{args.problem} is not an OpenEvolve folder; pass a TOML adrs config")
    return replace(openevolve.folder_files(folder.resolve()), config=yaml.resolve())


def _yaml(path: Path | None) -> bool:
    return path is not None and path.suffix in (".yaml", ".yml")


def _cmd_resume(args) -> int:
    from adrs.runs import resume_run

    ctx = resume_run(args.run, db=args.db, archive=args.archive, iterations=args.iterations,
                     budgets=_budgets(args))
    return _search(ctx, args.quiet)


def _cmd_replay(args) -> int:
    from adrs.runs import replay_run

    ctx = replay_run(args.run, args.into, db=args.db, archive=args.archive)
    code = _search(ctx, args.quiet)
    _compare_replay(ctx, args.run)
    return code


def _compare_replay(ctx, source: str) -> None:
    """Say whether the replay arrived where the recording did."""
    store = ctx.store
    src = store.get_run(source) or store.get_run(ctx.config.mutator.replay_run)
    hashes = [{r.iteration: r.syntactic_hash for r in store.history(run.id)}
              for run in (src, ctx.run)]
    best = [b[0].score if (b := store.best(run.id, 1)) else None for run in (src, ctx.run)]
    same = sum(hashes[0].get(i) == h for i, h in hashes[1].items())
    print(f"replay: {same}/{len(hashes[1])} candidates identical to run {src.name}; best "
          f"{best[1]} vs recorded {best[0]}")


def _cmd_worker(args) -> int:
    from adrs.controller_lease import this_process
    from adrs.executors.workers import worker_loop
    from adrs.runs import existing_run

    ctx = existing_run(args.run, db=args.db, archive=args.archive)
    name = args.name or this_process()
    print(f"worker {name}: serving run {ctx.run.name} from {ctx.store.url}", flush=True)
    worker_loop(ctx.store, ctx.run, ctx.problem, name, args.idle_exit,
                lambda msg: print(msg, flush=True), args.lease)
    return 0


def _cmd_tune(args) -> int:
    from adrs.controller_lease import ControllerLease
    from adrs.runs import existing_run
    from adrs.tuning import tune_candidate

    if args.trials < 1:
        raise UserError("--trials must be at least 1")
    ctx = existing_run(args.run, db=args.db, archive=args.archive)
    with ControllerLease(ctx.store, ctx.run):  # it adds candidates: not beside a search
        cid, result = tune_candidate(ctx, args.candidate, args.trials)
    parent = ctx.store.get_candidate(args.candidate)
    ev = result.evaluation
    before = "n/a" if parent.score is None else f"{parent.score:.6f}"
    after = "failed" if ev.score is None else f"{ev.score:.6f}"
    print(f"tuned candidate {args.candidate} ({before}) in {args.trials} trials: candidate "
          f"{cid} scores {after}; constants {', '.join(f'{v:.6g}' for v in result.values)}")
    print(f"optuna study '{result.study_name}' is stored in {ctx.store.url}")
    return 0 if ev.status == "ok" else 1


def _cmd_fake_llm(args) -> int:
    from adrs.mutate.fake_server import FAULTS, FakeOpenAIServer

    if args.fault and args.fault not in FAULTS:
        raise UserError(f"unknown --fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    try:
        server = FakeOpenAIServer(latency=args.latency, fault=args.fault,
                                  fault_every=args.fault_every, port=args.port)
    except OSError as exc:
        raise UserError(f"cannot listen on port {args.port}: {exc.strerror}; "
                        "choose another --port") from None
    print(f"fake OpenAI-compatible server at {server.url} (Ctrl-C to stop); point adrs at "
          f"it with [mutator] kind = \"llm\", model = \"fake\", base_url = \"{server.url}\"",
          flush=True)
    server.serve_forever()
    return 0


def _search(ctx, quiet: bool) -> int:
    from adrs.loop import Search
    from adrs.status import format_status, run_status

    where = {"workers": f"evaluations by `adrs worker {ctx.run.name} --db {ctx.store.url}`",
             "ray": f"evaluations on Ray at {ctx.config.ray_address or 'this machine'}"
             }.get(ctx.config.executor, f"{ctx.config.worker_count} workers")
    print(f"adrs: run {ctx.run.name}: {ctx.problem.name}, {ctx.run.iterations} iterations, "
          f"{where}, archive {ctx.archive_dir}", file=sys.stderr)
    _say_sandbox(ctx.config.sandbox.mode)
    search = Search(ctx, progress=not quiet)
    search.run()
    print(format_status(run_status(ctx.store, ctx.run)))
    _say_divergence(search)
    if search.stop_reason:
        print(f"stopped: {search.stop_reason}; {search.resume_hint}")
        return 3
    if ctx.run.status == "interrupted":
        print(f"stopped early; continue with: adrs resume {ctx.run.name}")
        return _interrupted_code()
    print(f"best program: adrs best {ctx.run.name}")
    return 0


def _say_divergence(search) -> None:
    """A replay whose prompts differ from the recording has diverged: say where."""
    diverged = search.mutator.diverged()
    if diverged:
        shown = ", ".join(map(str, sorted(diverged)[:10])) + (" ..." if len(diverged) > 10 else "")
        print(f"replay: {len(diverged)} prompts differed from the recording (iterations "
              f"{shown}): templates, the problem or adrs changed since it was recorded")


def _say_sandbox(mode: str) -> None:
    from adrs import confine

    print(f"adrs: sandbox: {confine.layers(mode).describe()}", file=sys.stderr)


def _cmd_sandbox(args) -> int:
    from adrs.sandbox_selftest import self_test

    return self_test(print)


def _cmd_report(args) -> int:
    from adrs import archive
    from adrs.report import write_report
    from adrs.runs import open_run

    store, run, run_dir = open_run(args.run, db=args.db, archive=args.archive)
    store.close()
    view = archive.open(args.db or run_dir, run=run.name)
    path = write_report(view, args.out or run_dir / "report")
    print(f"wrote {path}")
    return 0


def _cmd_status(args) -> int:
    from adrs.runs import open_run
    from adrs.status import format_status, run_status

    store, run, _ = open_run(args.run, db=args.db, archive=args.archive)
    st = run_status(store, run)
    print(json.dumps(st, indent=2) if args.json else format_status(st))
    return 0


def _cmd_best(args) -> int:
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


def _cmd_new(args) -> int:
    from adrs.scaffold import new_problem

    root = new_problem(args.name, args.dir, args.package)
    top = root.parent if args.package else root
    print(f"wrote {top}")
    if args.package:
        print(f"next: pip install -e {top} && adrs check {args.name} && adrs run {args.name}")
    else:
        print(f"next: adrs check {root} && adrs run {root}")
    return 0


def _cmd_check(args) -> int:
    from adrs.check import check

    findings = check(args.problem)
    for f in findings:
        print(f)
    failed = sum(not f.ok for f in findings)
    warned = sum(f.ok and f.warn for f in findings)
    print(f"{len(findings) - failed} passed" + (f" ({warned} with a warning)" if warned else "")
          + f", {failed} failed")
    return 1 if failed else 0


def _cmd_problems(args) -> int:
    from adrs.problem import list_problems

    found = list_problems()
    width = max(len(p.origin) for p in found)
    for p in found:
        print(f"{p.name:28} {p.origin:{width}}  {p.root}\n{'':28} {p.summary()}")
    return 0


def _problem_and_program(args):
    from adrs.config import build
    from adrs.problem import find_problem

    problem = find_problem(args.problem)
    try:
        source = args.program.read_text()
    except OSError as exc:
        raise UserError(f"cannot read {args.program}: {exc.strerror}") from None
    return problem, source, build(problem.defaults).sandbox


def _cmd_hash(args) -> int:
    from adrs.evaluation import evaluate
    from adrs.hashing import syntactic_hash

    problem, source, limits = _problem_and_program(args)
    ev = evaluate(problem, source, limits, gate=lambda h: False)
    out = {"syntactic_hash": syntactic_hash(source), "functional_hash": ev.functional_hash,
           "probe_seconds": ev.probe_seconds,
           "note": None if ev.functional_hash else
           ("the problem declares no probes" if problem.probes_json is None
            else f"the program failed before its probes ({ev.failure}: {ev.error})")}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            if v is not None:
                print(f"{k:16} {v}")
    return 0 if ev.functional_hash or problem.probes_json is None else 1


def _cmd_eval(args) -> int:
    from adrs.evaluation import evaluate

    problem, source, limits = _problem_and_program(args)
    _say_sandbox(limits.mode)
    if args.judging_seed is not None:
        if not problem.judges_privately:
            raise UserError(f"{problem.name} has only public judging data (its evaluator "
                            "has no private(seed)); drop --judging-seed")
        problem = problem.judged_on(args.judging_seed)
    ev = evaluate(problem, source, limits)
    if args.json:
        print(json.dumps(ev.__dict__, indent=2))
    else:
        print(f"status   {ev.status}" + (f" ({ev.failure}: {ev.error})" if ev.failure else ""))
        if ev.score is not None:
            print(f"score    {ev.score:.6f}")
        for k, v in sorted(ev.metrics.items()):
            print(f"  {k} = {v:.6g}")
        for name, text in sorted((ev.artifacts or {}).items()):
            print(f"artifact {name}:\n  " + "\n  ".join(text.rstrip().splitlines()[-20:]))
        print(f"time     {ev.seconds:.2f} s")
    return 0 if ev.status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
