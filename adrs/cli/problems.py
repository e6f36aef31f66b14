"""`adrs new`, `check`, `problems`, `hash`, `eval`, `sandbox`: problems, and the sandbox
they are judged in, without a run."""

from __future__ import annotations

import json
from pathlib import Path

from adrs.cli.common import sandbox_arg, sandbox_flags, say_sandbox
from adrs.errors import UserError


def register(sub) -> None:
    """Add new, check, problems, hash, eval and sandbox to the parser."""
    new = sub.add_parser("new", help="write a new problem folder to edit into yours")
    new.add_argument("kind", choices=["problem"])
    new.add_argument("name", help="problem name: lowercase letters, digits, underscores")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to write it (default .)")
    new.add_argument("--package", action="store_true",
                     help="a pip-installable plugin with an adrs.problems entry point")
    new.set_defaults(func=cmd_new)

    chk = sub.add_parser("check", help="validate a problem before a long run")
    chk.add_argument("problem", help="problem name or folder path")
    sandbox_arg(chk)
    chk.set_defaults(func=cmd_check)

    problems = sub.add_parser("problems", help="list the problems adrs can find")
    problems.set_defaults(func=cmd_problems)

    h = _program_command(sub, "hash", "a program's syntactic and functional hashes")
    h.set_defaults(func=cmd_hash)
    ev = _program_command(sub, "eval", "evaluate one program file in the sandbox")
    ev.add_argument("--judging-seed", type=int, help="judge on the private data drawn from "
                    "this seed, as a run does (default: the problem's public data)")
    ev.set_defaults(func=cmd_eval)

    box = sub.add_parser("sandbox", help="show which sandbox layers work on this machine and "
                         "self-test each one")
    sandbox_arg(box)
    box.set_defaults(func=cmd_sandbox)


def _program_command(sub, name: str, help: str):
    """A command on one program file of a problem: PROBLEM PROGRAM.py [--json]."""
    p = sub.add_parser(name, help=help)
    p.add_argument("problem", help="problem name or folder path")
    p.add_argument("program", type=Path, help="Python file defining the entry point")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    sandbox_arg(p)
    return p


def cmd_new(args) -> int:
    """`adrs new problem`: a working problem folder (or plugin package) to edit."""
    from adrs.scaffold import new_problem

    root = new_problem(args.name, args.dir, args.package)
    top = root.parent if args.package else root
    print(f"wrote {top}")
    if args.package:
        print(f"next: pip install -e {top} && adrs check {args.name} && adrs run {args.name}")
    else:
        print(f"next: adrs check {root} && adrs run {root}")
    return 0


def cmd_check(args) -> int:
    """`adrs check`: one line per check of a problem; 1 if any failed."""
    from adrs.check import check

    findings = check(args.problem, sandbox_flags(args))
    for f in findings:
        print(f)
    failed = sum(not f.ok for f in findings)
    warned = sum(f.ok and f.warn for f in findings)
    print(f"{len(findings) - failed} passed" + (f" ({warned} with a warning)" if warned else "")
          + f", {failed} failed")
    return 1 if failed else 0


def cmd_problems(args) -> int:
    """`adrs problems`: every problem adrs can find, where from, and what it is."""
    from adrs.problem import list_problems

    found = list_problems()
    width = max(len(p.origin) for p in found)
    for p in found:
        print(f"{p.name:28} {p.origin:{width}}  {p.root}\n{'':28} {p.summary()}")
    return 0


def _problem_and_program(args):
    from adrs.config import resolve
    from adrs.problem import find_problem

    problem = find_problem(args.problem)
    try:
        source = args.program.read_text()
    except OSError as exc:
        raise UserError(f"cannot read {args.program}: {exc.strerror}") from None
    return problem, source, resolve(problem.defaults, flags=sandbox_flags(args)).sandbox


def cmd_hash(args) -> int:
    """`adrs hash`: a program's syntactic and functional hashes."""
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


def cmd_eval(args) -> int:
    """`adrs eval`: score one program file in the sandbox, on public or private data."""
    from adrs.evaluation import evaluate

    problem, source, limits = _problem_and_program(args)
    say_sandbox(limits.mode)
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


def cmd_sandbox(args) -> int:
    """`adrs sandbox`: the layers that work here, each proven by an attack on it."""
    from adrs.config import resolve
    from adrs.sandbox import self_test

    return self_test(print, resolve(flags=sandbox_flags(args)).sandbox)
