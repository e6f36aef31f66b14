"""Riding out a database server that goes away (a PostgreSQL restart, a failover).

Every public Store method is one transaction (or a read), so a method that failed
because the connection was lost rolled back and can be called again. `reconnecting`
wraps them: on a lost connection it waits and retries, for at most
`Store.reconnect_seconds` ($ADRS_DB_WAIT, default 60), then raises a UserError
saying what happened and how to go on. SQLite is a local file: nothing to wait for.
"""

from __future__ import annotations

import functools
import sys
import time

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from adrs.errors import UserError


def lost_connection(exc: BaseException) -> bool:
    """A server-side database whose connection failed or dropped (not a bad query)."""
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)


def reconnecting(method):
    """`method` (a Store's), retried while the server is away, for a bounded time."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self.engine.dialect.name == "sqlite":
            return method(self, *args, **kwargs)
        deadline = None
        while True:
            try:
                result = method(self, *args, **kwargs)
            except DBAPIError as exc:
                if not lost_connection(exc):
                    raise
                deadline = deadline or time.monotonic() + self.reconnect_seconds
                _wait_or_give_up(self, exc, deadline)
                continue
            if self.waiting:
                self.waiting = False
                print(f"adrs: reconnected to the database {self.url}", file=sys.stderr,
                      flush=True)
            return result

    return call


def _wait_or_give_up(store, exc: DBAPIError, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise UserError(
            f"lost the database {store.url} for over {store.reconnect_seconds:g} s "
            f"({_first_line(exc)}); stopped. Nothing stored is lost: once the server is "
            "back, `adrs resume` continues ($ADRS_DB_WAIT sets how long to wait)") from None
    if not store.waiting:
        store.waiting = True
        print(f"adrs: lost the database {store.url} ({_first_line(exc)}); reconnecting "
              f"for up to {store.reconnect_seconds:g} s", file=sys.stderr, flush=True)
    store.engine.dispose()  # the pool's connections are dead: start afresh
    time.sleep(min(1.0, left))


def _first_line(exc: DBAPIError) -> str:
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0][:200]


def wrap_public_methods(cls) -> None:
    """Make every public method of `cls` (and its bases) ride out lost connections."""
    for name in dir(cls):
        attr = getattr(cls, name)
        if name.startswith("_") or not callable(attr) or isinstance(attr, type):
            continue
        if name in ("session", "close", "copy_to") or getattr(attr, "__wrapped__", None):
            continue
        setattr(cls, name, reconnecting(attr))
