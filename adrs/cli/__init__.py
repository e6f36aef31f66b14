"""The `adrs` command line. Errors a user can fix are one line and exit code 2.

One module per command group, each adding its subcommands to the parser:

    searching.py  run, resume, replay: a search, and what it prints
    serving.py    worker, tune, fake-llm: work for (or beside) a run
    reading.py    report, status, best: read-only views of a run
    watching.py   dashboard: runs watched live in a browser
    problems.py   new, check, problems, hash, eval, sandbox: problems and the sandbox
    common.py     the arguments several commands share, and the flags they make
"""

from __future__ import annotations

import argparse
import os
import sys

from adrs.cli import problems, reading, searching, serving, watching
from adrs.cli.common import interrupted_code, stop_on_signals
from adrs.errors import UserError

GROUPS = (searching, serving, reading, watching, problems)  # in the order `adrs --help` lists them


def main(argv: list[str] | None = None) -> int:
    """Run one `adrs` command; returns its exit code."""
    args = parser().parse_args(argv)
    stop_on_signals()
    try:
        return args.func(args) or 0
    except UserError as exc:
        print(f"adrs: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adrs: interrupted", file=sys.stderr)
        return interrupted_code()
    except BrokenPipeError:  # e.g. `adrs best RUN | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def parser() -> argparse.ArgumentParser:
    """The whole command line, built from the command groups."""
    p = argparse.ArgumentParser(prog="adrs", description="LLM-driven evolutionary algorithm "
                                "discovery. Run `adrs run moe_expert_placement` to start.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


if __name__ == "__main__":
    sys.exit(main())
