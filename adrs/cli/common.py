"""What several commands share: their common arguments, the configuration flags those
arguments make, how a stop by signal is told apart, and the sandbox line they print."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

ARCHIVE = Path("archive")
_SIGNALLED: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop cleanly, as Ctrl-C does, and exit 143."""


def _on_sigterm(signum, frame) -> None:
    _SIGNALLED.append(signum)
    raise Terminated()


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM stop a run cleanly, also when a shell started it in the
    background with SIGINT ignored (`adrs run ... &`)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _on_sigterm)


def interrupted_code() -> int:
    """The exit code of a command stopped by Ctrl-C (130) or SIGTERM (143)."""
    return 143 if signal.SIGTERM in _SIGNALLED else 130


def sandbox_arg(p: argparse.ArgumentParser) -> None:
    """--sandbox MODE: a flag layer of the configuration (see sandbox_flags)."""
    p.add_argument("--sandbox", choices=["auto", "bwrap", "jail", "none"],
                   help="how candidates are confined: auto (default: bubblewrap, else adrs's "
                   "own namespaces, else refuse), bwrap, jail, or none (UNSAFE: no boundary; "
                   "recorded in the run)")


def sandbox_flags(args) -> dict:
    """The configuration layer --sandbox makes: above the environment, recorded in a run."""
    return {"sandbox": {"mode": args.sandbox}} if getattr(args, "sandbox", None) else {}


def budget_args(p: argparse.ArgumentParser) -> None:
    """--max-cost and --max-tokens."""
    p.add_argument("--max-cost", type=float, help="stop cleanly after this many USD of LLM calls")
    p.add_argument("--max-tokens", type=int, help="stop cleanly after this many LLM tokens")


def budgets(args) -> dict:
    """The budget flags given, as configuration keys."""
    return {k: v for k, v in (("max_cost", args.max_cost), ("max_tokens", args.max_tokens))
            if v is not None}


def store_args(p: argparse.ArgumentParser) -> None:
    """--db URL and --archive DIR: where a run is found."""
    p.add_argument("--db", help="SQLAlchemy database URL (default: ARCHIVE/RUN/adrs.db)")
    p.add_argument("--archive", type=Path, default=ARCHIVE,
                   help="folder holding run archives (default: ./archive)")


def say_sandbox(mode: str) -> None:
    """One line on stderr: the layers candidates run under here."""
    from adrs.sandbox import layers

    print(f"adrs: sandbox: {layers(mode).describe()}", file=sys.stderr)
