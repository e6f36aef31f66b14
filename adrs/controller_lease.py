"""One controller per run: a lease in the runs table, renewed by a heartbeat thread.

A second `adrs run`/`adrs resume` of a run whose controller is alive (here or on
another machine) is refused instead of racing it for the same iterations. A
controller that died releases nothing: its lease lapses after LEASE seconds, or
at once when it ran on this machine and its process is gone (kill -9, then resume).
"""

from __future__ import annotations

import os
import socket
import threading

from adrs.errors import UserError
from adrs.store.models import utcnow
from adrs.store.plain import RunRow

LEASE = 30.0  # seconds without a heartbeat before another controller may take over
BEAT = 5.0


def this_process() -> str:
    """host:pid, the name controllers (and, by default, workers) go by."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _gone(controller: str) -> bool:
    """True only when the controller ran on this machine and its process is dead."""
    host, _, pid = controller.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        pass
    return False


class ControllerLease:
    """Context manager: hold the run's lease (refused if a live controller has it),
    heartbeat it from a thread, release it on exit."""

    def __init__(self, store, run: RunRow):
        self.store, self.run, self.me = store, run, this_process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="adrs-lease")

    def __enter__(self) -> ControllerLease:
        self._acquire()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.store.renew_lease(self.run.id, self.me, release=True)

    def _acquire(self) -> None:
        holder = check_free(self.store, self.run)
        # compare-and-swap: only if nobody took it since we looked
        if not self.store.take_lease(self.run.id, holder, self.me):
            _refuse(self.run, "another process", 0.0)

    def _beat(self) -> None:
        while not self._stop.wait(BEAT):
            self.store.renew_lease(self.run.id, self.me)


def check_free(store, run: RunRow) -> str | None:
    """Refuse (UserError) if a live controller other than this process holds the run;
    otherwise return the lapsed or absent holder."""
    holder, beat = store.lease_holder(run.id)
    if holder and holder != this_process() and not _gone(holder) and beat is not None:
        age = (utcnow() - beat).total_seconds()
        if age < LEASE:
            _refuse(run, holder, age)
    return holder


def _refuse(run: RunRow, holder: str, age: float) -> None:
    raise UserError(f"run {run.name} is being run by the controller {holder} "
                    f"(heard from {max(age, 0):.0f} s ago): stop it first, or if it died on "
                    f"another machine, resume after {LEASE:.0f} s")
