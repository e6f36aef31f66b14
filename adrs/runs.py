"""Creating, resuming and opening runs: where the archive lives and which config applies."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from adrs import config as configuration
from adrs import judging, openevolve, sandbox
from adrs.controller_lease import check_free
from adrs.errors import UserError
from adrs.problem import MANIFEST, Problem, find_problem, load_problem, openevolve_problem
from adrs.problem_files import problem_files
from adrs.run_context import RunContext
from adrs.store import Store, open_store, sqlite_url
from adrs.store.plain import RunRow
from adrs.store.records import RunStatus

DB_FILE = "adrs.db"


def start_run(problem_arg: str, *, name: str | None, db: str | None, archive: Path,
              config_file: Path | None, overrides: dict) -> RunContext:
    """A new run of a problem: its config resolved, its archive and database made."""
    problem = find_problem(problem_arg)
    cfg = _config(problem, config_file, overrides)
    return _start(problem, cfg, name=name, db=db, archive=archive)


def start_openevolve_run(files, *, name: str | None, db: str | None, archive: Path,
                         config_file: Path | None, overrides: dict) -> RunContext:
    """`adrs run INITIAL EVALUATOR [--config CONFIG.yaml]`, as openevolve-run takes them."""
    problem = openevolve_problem(files)
    cfg = _config(problem, config_file, overrides)
    return _start(problem, cfg, name=name, db=db, archive=archive)


def _start(problem: Problem, cfg, *, name: str | None, db: str | None,
           archive: Path) -> RunContext:
    sandbox.layers(cfg.sandbox.mode)  # no boundary here: one line, before anything is stored
    sandbox.sweep()
    if cfg.executor == "ray":  # before anything is stored: a wrong address costs nothing
        from adrs.executors.ray import connect

        connect(cfg.ray_address)
    name = name or f"{problem.name}-{datetime.now():%Y%m%d-%H%M%S}"
    run_dir = archive / name
    store = _store(db, run_dir, create=True)
    seed = judging.private_seed(cfg.seed) if problem.judges_privately else None
    run = store.create_run(name, problem.name, problem.spec or str(problem.root),
                           cfg.to_dict(), cfg.seed, cfg.iterations, seed,
                           _files(problem, run_dir).digest)
    return RunContext(store, run, problem.judged_on(seed), cfg, run_dir)


def resume_run(name: str, *, db: str | None, archive: Path, iterations: int | None = None,
               budgets: dict | None = None, flags: dict | None = None) -> RunContext:
    """A stopped (or finished, to extend) run, ready to search again: its stored config,
    then this process's environment and `flags` (e.g. --sandbox), then `budgets`."""
    store, run, run_dir = open_run(name, db=db, archive=archive)
    check_free(store, run)  # before anything is changed; Search takes the lease
    if run.status == "finished" and (iterations is None or iterations <= run.iterations) \
            and _complete(store, run):
        raise UserError(f"run {run.name} is finished ({run.iterations} iterations); extend it "
                        f"with `adrs resume {run.name} --iterations N` (N > {run.iterations})")
    problem = _problem_of(run)
    _same_files(run, problem, run_dir)
    store.forget_failed_initial(run.id)  # it was fixed, perhaps: evaluate it again
    cfg = configuration.resolve(run.config, flags={**(flags or {}), **(budgets or {})},
                                where=f"stored config of run {run.name}")
    sandbox.layers(cfg.sandbox.mode)
    sandbox.sweep()  # what this run's killed controller left, if it was killed
    if budgets:
        store.update_run(run.id, config=cfg.to_dict())
    if iterations is not None and iterations < run.iterations:
        raise UserError(f"run {run.name} already targets {run.iterations} iterations; "
                        "--iterations can only extend it")
    store.update_run(run.id, status=RunStatus.RUNNING,
                     iterations=run.iterations if iterations is None else iterations)
    run = store.get_run(run.name)
    return RunContext(store, run, problem, cfg, run_dir)


def _files(problem: Problem, run_dir: Path):
    """The problem folder's fingerprint as the run's evaluations check it (its archive
    hidden, as from the sandbox: adrs/stages/pipeline.py)."""
    return problem_files(problem, (str(run_dir.resolve()),))


def _same_files(run: RunRow, problem: Problem, run_dir: Path) -> None:
    """A run resumes only on the files it began with (looked at afresh: this process
    may have fingerprinted them before they were edited)."""
    now = problem_files(problem, (str(run_dir.resolve()),), fresh=True).digest
    if run.problem_digest and now != run.problem_digest:
        raise UserError(f"the problem folder {problem.root} changed since run {run.name} "
                        f"began (files {run.problem_digest[:12]} then, {now[:12]} now); "
                        "put it back as it was to resume, or start a new run with adrs run")


def _complete(store: Store, run: RunRow) -> bool:
    """Every iteration of the run is stored (none lost to a crash)."""
    done = {r.iteration for r in store.history(run.id)}
    return all(i in done for i in range(1, run.iterations + 1))


def existing_run(name: str, *, db: str | None, archive: Path,
                 flags: dict | None = None) -> RunContext:
    """A stored run with its problem and config, for commands that add to it (tune)."""
    store, run, run_dir = open_run(name, db=db, archive=archive)
    cfg = configuration.resolve(run.config, flags=flags,
                                where=f"stored config of run {run.name}")
    return RunContext(store, run, _problem_of(run), cfg, run_dir)


def replay_run(source: str, into: str, *, db: str | None, archive: Path) -> RunContext:
    """A new run that repeats `source` with its recorded LLM replies and no network.

    With the default archive layout the source's database is copied to
    ARCHIVE/INTO first, so the replay sits beside the recording it reads and the
    original archive is left untouched; with --db both runs share that database.
    """
    from adrs.mutate.replay import recorded_calls

    store, src, _ = open_run(source, db=db, archive=archive)
    recorded_calls(store, src)  # before anything is written
    run_dir = archive / into
    if db is None:
        target = _store(None, run_dir, create=True)
        store.copy_to(target)
        store.close()
        store = target
    cfg = configuration.resolve(src.config,
                                flags={"mutator": {"kind": "replay", "replay_run": src.name}},
                                where=f"stored config of run {src.name}")
    last = max((r.iteration for r in store.history(src.id)), default=0)
    run = store.create_run(into, src.problem, src.problem_path, cfg.to_dict(), cfg.seed, last,
                           src.judging_seed)
    return RunContext(store, run, _problem_of(src), cfg, run_dir)


def open_run(name: str, *, db: str | None, archive: Path) -> tuple[Store, RunRow, Path]:
    """Find an existing run by name (or archive folder path) for reading or resuming."""
    as_path = Path(name)
    if (as_path / DB_FILE).is_file():
        archive, name = as_path.parent, as_path.name
    run_dir = archive / name
    store = _store(db, run_dir, create=False)
    run = store.get_run(name)
    if run is None:
        known = ", ".join(r.name for r in store.runs()) or "none"
        raise UserError(f"no run named '{name}' in {store.url}; runs there: {known}")
    return store, run, run_dir


def _config(problem: Problem, config_file: Path | None, overrides: dict):
    layers = [(problem.defaults, f"{problem.root / MANIFEST} [defaults]")]
    if config_file is not None:
        layers.append((configuration.read_toml(config_file), str(config_file)))
    layers.append((configuration.environment_layer(), configuration.ENVIRONMENT))
    layers.append((overrides, "command-line flags"))
    for data, where in layers:  # validate each layer alone so errors name their source
        configuration.build(data, where=where)
    return configuration.build(*(data for data, _ in layers))


def _store(db: str | None, run_dir: Path, create: bool) -> Store:
    if db:
        return open_store(db)
    path = run_dir / DB_FILE
    if not create:
        if not path.is_file():
            raise UserError(f"no archive at {path}; pass the run's name as printed by "
                            "`adrs run`, its archive folder, or --db URL")
        return open_store(sqlite_url(path))
    if path.exists():
        raise UserError(f"run '{run_dir.name}' already exists at {run_dir}; continue it with "
                        f"`adrs resume {run_dir.name}` or choose another --name")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the archive folder {run_dir}: {exc.strerror}; "
                        "choose a writable --archive") from None
    if not os.access(run_dir, os.W_OK):
        raise UserError(f"the archive folder {run_dir} is not writable; "
                        "choose a writable --archive")
    return open_store(sqlite_url(path))


def _problem_of(run: RunRow) -> Problem:
    """The run's problem, judged on the run's private data."""
    return _stored_problem(run).judged_on(run.judging_seed)


def _stored_problem(run: RunRow) -> Problem:
    if run.problem_path.startswith("["):  # the three files of an OpenEvolve problem
        return openevolve_problem(openevolve.Files.from_spec(run.problem_path))
    root = Path(run.problem_path)
    if (root / MANIFEST).is_file() or openevolve.is_openevolve_folder(root):
        return load_problem(root, "stored path")
    return find_problem(run.problem)
