"""Population store: SQLAlchemy models, alembic migrations, and the Store API."""

from adrs.store.database import Store, open_store, sqlite_url
from adrs.store.records import CandidateRecord, Scored

__all__ = ["CandidateRecord", "Scored", "Store", "open_store", "sqlite_url"]
