"""`adrs run`, `adrs resume`, `adrs replay`: a search, its progress, and its summary."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from adrs.cli.common import (
    budget_args,
    budgets,
    interrupted_code,
    sandbox_arg,
    sandbox_flags,
    say_sandbox,
    store_args,
)
from adrs.errors import UserError


def register(sub) -> None:
    """Add run, resume and replay to the parser."""
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
    run.add_argument("--start-from", choices=["initial", "baselines"],
                     help="generation 0: the initial program (default), or the problem's "
                     "baselines beside it")
    _search_args(run)
    run.set_defaults(func=cmd_run)

    resume = sub.add_parser("resume", help="continue a stopped run")
    resume.add_argument("run", help="run name or archive folder")
    resume.add_argument("--iterations", type=int, help="extend the run to this many")
    _search_args(resume)
    resume.set_defaults(func=cmd_resume)

    replay = sub.add_parser("replay", help="re-run a recorded LLM search offline, "
                            "serving its recorded replies")
    replay.add_argument("run", help="the recorded run (name or archive folder)")
    replay.add_argument("--into", required=True, help="name of the new run")
    store_args(replay)
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    replay.set_defaults(func=cmd_replay)


def _search_args(p) -> None:
    sandbox_arg(p)
    budget_args(p)
    store_args(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_run(args) -> int:
    """`adrs run`: a new search, of an adrs problem or an OpenEvolve one."""
    from adrs.runs import start_run

    overrides = {k: v for k, v in (("iterations", args.iterations), ("seed", args.seed),
                                   ("workers", args.workers), ("executor", args.executor),
                                   ("ray_address", args.ray_address),
                                   ("start_from", args.start_from))
                 if v is not None}
    overrides.update(sandbox_flags(args))  # recorded in the run's config
    overrides.update(budgets(args))
    where = {"name": args.name, "db": args.db, "archive": args.archive, "overrides": overrides}
    files = _openevolve_files(args)
    if files is not None:
        from adrs.runs import start_openevolve_run

        toml = None if _yaml(args.config) else args.config
        ctx = start_openevolve_run(files, config_file=toml, **where)
    else:
        ctx = start_run(args.problem, config_file=args.config, **where)
    return search(ctx, args.quiet)


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


def cmd_resume(args) -> int:
    """`adrs resume`: continue a stopped run, or extend a finished one."""
    from adrs.runs import resume_run

    ctx = resume_run(args.run, db=args.db, archive=args.archive, iterations=args.iterations,
                     budgets=budgets(args), flags=sandbox_flags(args))
    return search(ctx, args.quiet)


def cmd_replay(args) -> int:
    """`adrs replay`: a recorded LLM run again, from its recorded replies."""
    from adrs.runs import replay_run

    ctx = replay_run(args.run, args.into, db=args.db, archive=args.archive)
    code = search(ctx, args.quiet)
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


def search(ctx, quiet: bool) -> int:
    """Run the search of `ctx`, print its summary; the exit code says how it ended."""
    from adrs.loop import Search
    from adrs.status import format_status, run_status

    where = {"workers": f"evaluations by `adrs worker {ctx.run.name} --db {ctx.store.url}`",
             "ray": f"evaluations on Ray at {ctx.config.ray_address or 'this machine'}"
             }.get(ctx.config.executor, f"{ctx.config.worker_count} workers")
    print(f"adrs: run {ctx.run.name}: {ctx.problem.name}, {ctx.run.iterations} iterations, "
          f"{where}, archive {ctx.archive_dir}", file=sys.stderr)
    say_sandbox(ctx.config.sandbox.mode)
    search = Search(ctx, progress=not quiet)
    search.run()
    print(format_status(run_status(ctx.store, ctx.run)))
    _say_divergence(search)
    if search.stop_reason:
        print(f"stopped: {search.stop_reason}; {search.resume_hint}")
        return 3
    if ctx.run.status == "interrupted":
        print(f"stopped early; continue with: adrs resume {ctx.run.name}")
        return interrupted_code()
    print(f"best program: adrs best {ctx.run.name}")
    return 0


def _say_divergence(search) -> None:
    """A replay whose prompts differ from the recording has diverged: say where."""
    diverged = search.mutator.diverged()
    if diverged:
        shown = ", ".join(map(str, sorted(diverged)[:10])) + (" ..." if len(diverged) > 10 else "")
        print(f"replay: {len(diverged)} prompts differed from the recording (iterations "
              f"{shown}): templates, the problem or adrs changed since it was recorded")
