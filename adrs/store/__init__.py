"""Population store: SQLAlchemy models, alembic migrations, and the Store API."""

from adrs.store.database import Store, open_store, sqlite_url
from adrs.store.records import CandidateRecord, HistoryRow, Scored

__all__ = ["CandidateRecord", "HistoryRow", "Scored", "Store", "open_store", "sqlite_url"]
