"""`adrs worker`, `adrs tune`, `adrs fake-llm`: work done for a run, or beside one."""

from __future__ import annotations

from adrs.cli.common import sandbox_arg, sandbox_flags, store_args
from adrs.errors import UserError


def register(sub) -> None:
    """Add worker, tune and fake-llm to the parser."""
    worker = sub.add_parser("worker", help="evaluate a run's candidates for its controller "
                            "(`adrs run --executor workers`), here or on another machine")
    worker.add_argument("run", help="run name")
    worker.add_argument("--name", help="this worker's name (default: host:pid)")
    sandbox_arg(worker)
    worker.add_argument("--idle-exit", type=float, default=600.0,
                        help="stop after this many seconds without work (default 600)")
    worker.add_argument("--lease", type=float, default=60.0,
                        help="seconds without a heartbeat before another worker's job is "
                        "taken over (default 60)")
    store_args(worker)
    worker.set_defaults(func=cmd_worker)

    tune = sub.add_parser("tune", help="tune a candidate's numeric constants with optuna "
                          "and record the best program as its child")
    tune.add_argument("run", help="run name or archive folder")
    tune.add_argument("candidate", type=int, help="candidate id (see `adrs best RUN`)")
    tune.add_argument("--trials", type=int, default=30, help="evaluations to spend (default 30)")
    store_args(tune)
    tune.set_defaults(func=cmd_tune)

    fake = sub.add_parser("fake-llm", help="serve a fake OpenAI-compatible model for tests "
                          "and demos (offline edits as diffs or rewrites)")
    fake.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    fake.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    fake.add_argument("--fault", help="inject a fault: rate_limit, server_error, hang, "
                      "truncated, malformed, no_code, bad_diff")
    fake.add_argument("--fault-every", type=int, default=3, help="every N-th request faults")
    fake.add_argument("--advice", action="store_true",
                      help="advice-sensitive: hidden phrases in a prompt make its edits better "
                           "(for trying evolving prompts, [prompts] evolve = true)")
    fake.set_defaults(func=cmd_fake_llm)


def cmd_worker(args) -> int:
    """`adrs worker`: serve a run's evaluation jobs until it is over."""
    from adrs.config import sandbox_settings_here
    from adrs.controller_lease import this_process
    from adrs.executors.workers import worker_loop
    from adrs.runs import existing_run

    here = sandbox_settings_here(sandbox_flags(args))  # this machine's own confinement
    ctx = existing_run(args.run, db=args.db, archive=args.archive)
    name = args.name or this_process()
    print(f"worker {name}: serving run {ctx.run.name} from {ctx.store.url}", flush=True)
    worker_loop(ctx.store, ctx.run, ctx.problem, name, args.idle_exit,
                lambda msg: print(msg, flush=True), args.lease, sandbox=here)
    return 0


def cmd_tune(args) -> int:
    """`adrs tune`: a candidate's float constants tuned with optuna, the best as its child."""
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


def cmd_fake_llm(args) -> int:
    """`adrs fake-llm`: a model server speaking the OpenAI protocol, for tests and demos."""
    from adrs.mutate.fake_advice import advice_responder
    from adrs.mutate.fake_server import FAULTS, FakeOpenAIServer, offline_responder

    if args.fault and args.fault not in FAULTS:
        raise UserError(f"unknown --fault {args.fault!r}; choose from {', '.join(FAULTS)}")
    try:
        server = FakeOpenAIServer(advice_responder if args.advice else offline_responder,
                                  latency=args.latency, fault=args.fault,
                                  fault_every=args.fault_every, port=args.port)
    except OSError as exc:
        raise UserError(f"cannot listen on port {args.port}: {exc.strerror}; "
                        "choose another --port") from None
    print(f"fake OpenAI-compatible server at {server.url} (Ctrl-C to stop); point adrs at "
          f"it with [mutator] kind = \"llm\", model = \"fake\", base_url = \"{server.url}\"",
          flush=True)
    server.serve_forever()
    return 0
