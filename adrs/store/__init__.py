"""Population store: SQLAlchemy models, alembic migrations, and the Store API.

The plain records load without the database layer, so code that only reads
them (adrs.search: selection, islands, MAP-Elites) imports without SQLAlchemy;
the Store itself loads on first use.
"""

from adrs.store.records import (
    CandidateRecord,
    DuplicateKind,
    HistoryRow,
    JobStatus,
    RunStatus,
    Sample,
    Scored,
    Status,
)

__all__ = ["CandidateRecord", "DuplicateKind", "HistoryRow", "JobStatus", "RunStatus", "Sample",
           "Scored", "Status", "Store", "open_store", "sqlite_url"]
_DATABASE = {"Store", "open_store", "sqlite_url"}


def __getattr__(name: str):
    if name in _DATABASE:
        from adrs.store import database

        return getattr(database, name)
    raise AttributeError(f"module 'adrs.store' has no attribute {name!r}")
