"""The population store: any SQLAlchemy URL, SQLite in WAL mode by default.

Every SQL statement of adrs is in this package. The Store's methods are grouped
by table, one module each (runs_table, candidates_table, calls_table,
events_table, job_queue, archive_reads); they take and return plain data
(records.py, plain.py), never ORM objects.

Every query the search loop makes per iteration is an indexed lookup or a
single-row insert, so its cost does not grow with the number of candidates.
Whole-run scans (`history`, `summary`) are for start-up, resume and reports.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, insert, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from adrs.config import db_wait_seconds
from adrs.errors import UserError
from adrs.store.archive_reads import ArchiveReads
from adrs.store.calls_table import CallRows
from adrs.store.candidates_table import CandidateRows
from adrs.store.events_table import EventRows
from adrs.store.job_queue import JobRows
from adrs.store.models import VERSION_TABLE
from adrs.store.prompts_table import PromptRows
from adrs.store.reconnect import wrap_public_methods
from adrs.store.runs_table import RunRows

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlite_url(path: Path) -> str:
    """The URL of an SQLite database file."""
    return f"sqlite:///{path.resolve()}"


def open_store(url: str) -> Store:
    """Connect, bring the schema to the newest migration, and return a Store."""
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            _adopt_legacy_version_table(conn)
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise UserError(f"cannot open database {_shown(url)}: {exc.orig}; check the --db URL "
                        "and that the server is running and reachable") from None
    return Store(engine)


def _adopt_legacy_version_table(conn) -> None:
    """Archives made before adrs_version kept adrs's revision in alembic_version:
    move it, so optuna can have that table."""
    tables = set(inspect(conn).get_table_names())
    if VERSION_TABLE in tables or "alembic_version" not in tables or "runs" not in tables:
        return
    revision = conn.exec_driver_sql("select version_num from alembic_version").scalar()
    conn.exec_driver_sql(f"create table {VERSION_TABLE} (version_num varchar(32) not null "
                         f"primary key)")
    conn.exec_driver_sql(f"insert into {VERSION_TABLE} values ('{revision}')")
    conn.exec_driver_sql("drop table alembic_version")


def _engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
        lite = parsed.get_backend_name() == "sqlite"
        # a server's pooled connections may have died (a restart): test each on checkout
        engine = create_engine(url, connect_args={"timeout": 30} if lite else {},
                               pool_pre_ping=not lite)
    except NoSuchModuleError:  # a subclass of ArgumentError, so it comes first
        raise UserError(f"unknown database type in {_shown(url)}; "
                        "use sqlite:// or postgresql://") from None
    except ArgumentError:
        raise UserError(f"'{url}' is not a database URL; use e.g. sqlite:///path/adrs.db "
                        "or postgresql://user@host/db") from None
    except ModuleNotFoundError as exc:
        raise UserError(f"the driver for {_shown(url)} is not installed ({exc.name}); "
                        "run: pip install 'adrs[postgres]'") from None
    if engine.dialect.name == "sqlite":
        folder = os.path.dirname(parsed.database or "")
        if folder and not os.path.isdir(folder):
            raise UserError(f"cannot open database {_shown(url)}: the folder {folder} does not "
                            "exist; create it or fix the --db URL")
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_read_only(where: str | Path, db_file: str):
    """(a Store that cannot write, its runs) for a run folder, a .db file or a URL."""
    store = Store(read_only_engine(where, db_file))
    try:
        return store, store.runs()
    except OperationalError as exc:  # no tables: not an archive, or one being created
        raise UserError(f"{where} holds no adrs archive yet ({exc.orig}); pass a run "
                        "folder, an adrs.db file or a database URL") from None


def read_only_engine(where: str | Path, db_file: str):
    """An engine that cannot write: SQLite opened mode=ro (WAL lets it read while a
    search writes), PostgreSQL with read-only transactions."""
    path = Path(where)
    if path.is_dir():
        path = path / db_file
    if path.is_file():
        engine = create_engine(f"sqlite:///file:{path.resolve()}?mode=ro&uri=true")
        event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA query_only=ON"))
        return engine
    if "://" not in str(where):
        raise UserError(f"no archive at {where}; pass a run folder, an adrs.db file or a "
                        "database URL")
    url = make_url(str(where))
    if url.get_backend_name() == "postgresql":  # every transaction read-only, server-side
        return create_engine(url, pool_pre_ping=True,
                             connect_args={"options": "-c default_transaction_read_only=on"})
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (notebooks) never block the writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


class Store(RunRows, CandidateRows, CallRows, EventRows, JobRows, PromptRows, ArchiveReads):
    """Runs, candidates, LLM calls, search events, worker jobs and prompt variants of one
    database."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.reconnect_seconds, self.waiting = db_wait_seconds(), False  # see reconnect.py
        self._session = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def secret_url(self) -> str:
        """The URL with its password, for optuna's storage only: never print it."""
        return self.engine.url.render_as_string(hide_password=False)

    def session(self) -> Session:
        """An ORM session (for this package's table modules)."""
        return self._session()

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    # Inserts use SQLAlchemy Core: the ORM's unit of work costs more than the insert
    # itself, and the loop makes them once per iteration on the controller's thread.
    def _insert(self, table, **values) -> int:
        # values as parameters, not .values(): the compiled statement is then cached
        with self.engine.begin() as conn:
            return conn.execute(insert(table), values).inserted_primary_key[0]

    def copy_to(self, target: Store) -> None:
        """Copy this SQLite database, whole and consistent, over `target`'s (replay)."""
        with self.engine.connect() as a, target.engine.connect() as b:
            a.connection.dbapi_connection.backup(b.connection.dbapi_connection)


wrap_public_methods(Store)
