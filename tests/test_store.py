"""Store round trip, migrations, and SQLite settings."""

import sqlite3

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from adrs.errors import UserError
from adrs.store import CandidateRecord, open_store, sqlite_url
from adrs.store.database import MIGRATIONS
from adrs.store.models import Base


@pytest.fixture
def store(tmp_path):
    return open_store(sqlite_url(tmp_path / "adrs.db"))


def test_candidate_round_trip(store):
    run = store.create_run("r", "p", "/p", {"seed": 1}, 1, 10)
    rec = CandidateRecord(iteration=3, source="def f(): pass", syntactic_hash="h" * 64,
                          status="ok", score=0.5, metrics={"score": 0.5, "x": 2.0},
                          generation=2, mutation="offline: x", eval_seconds=0.1)
    cid = store.add_candidate(run.id, rec)
    row = store.get_candidate(cid)
    for field, value in rec.__dict__.items():
        assert getattr(row, field) == value, field
    assert store.best(run.id)[0].id == cid
    assert store.get_run("r").config == {"seed": 1}


def test_migrations_build_exactly_the_models_schema(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "adrs_version"})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    tables = set(inspect(store.engine).get_table_names())
    assert {"runs", "candidates", "llm_calls", "search_events", "adrs_version"} <= tables


def test_reopening_keeps_data_and_schema_version(tmp_path):
    url = sqlite_url(tmp_path / "adrs.db")
    s = open_store(url)
    s.create_run("r", "p", "/p", {}, 0, 1)
    s.close()
    again = open_store(url)
    assert again.get_run("r") is not None
    with sqlite3.connect(tmp_path / "adrs.db") as conn:
        assert conn.execute("select version_num from adrs_version").fetchone() == (_head(),)


def _head():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_an_archive_from_the_first_schema_upgrades_with_its_data(tmp_path):
    engine = create_engine(sqlite_url(tmp_path / "adrs.db"))
    with engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "insert into runs values (1, 'old', 'p', '/p', '{}', 0, 5, '{}', 'finished', 1.0, "
            "'2026-01-01', '2026-01-01')")
        conn.exec_driver_sql(
            "insert into candidates (id, run_id, iteration, generation, island, source, "
            "syntactic_hash, status, score, created_at) values "
            "(1, 1, 0, 0, 0, 'src', 'h', 'ok', 0.5, '2026-01-01')")
        # archives of that time kept the revision in alembic's default table
        conn.exec_driver_sql("alter table adrs_version rename to alembic_version")
    engine.dispose()
    store = open_store(sqlite_url(tmp_path / "adrs.db"))
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("select version_num from adrs_version").scalar() == _head()
        assert "alembic_version" not in inspect(conn).get_table_names()  # free for optuna
    row = store.get_candidate(1)
    assert (row.source, row.score, row.duplicate_kind, row.probe_seconds) == ("src", 0.5, None,
                                                                              None)
    assert store.get_run("old").status == "finished"


def test_sqlite_runs_in_wal_mode(tmp_path):
    open_store(sqlite_url(tmp_path / "adrs.db")).create_run("r", "p", "/p", {}, 0, 1)
    with sqlite3.connect(tmp_path / "adrs.db") as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)


def test_the_loops_lookups_use_indexes(store):
    """Per-iteration queries must not scan the candidates table."""
    run = store.create_run("r", "p", "/p", {}, 0, 1)
    plans = []
    with store.engine.connect() as conn:
        for sql in ("select * from candidates where run_id=1 and status='ok' "
                    "order by score desc limit 1",
                    "select * from candidates where id=5",
                    "select * from candidates where run_id=1 and iteration=0"):
            plans += [r[-1] for r in conn.exec_driver_sql("explain query plan " + sql)]
    assert run.id == 1
    assert all("SCAN candidates" not in p for p in plans), plans


def test_duplicate_run_names_are_refused(store):
    store.create_run("r", "p", "/p", {}, 0, 1)
    with pytest.raises(UserError, match="adrs resume r"):
        store.create_run("r", "p", "/p", {}, 0, 1)


def test_unreachable_and_malformed_urls_give_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="cannot open database"):
        open_store(f"sqlite:///{tmp_path}/missing/dir/adrs.db")
    with pytest.raises(UserError, match="not a database URL"):
        open_store("not a url")
    with pytest.raises(UserError, match="unknown database type"):
        open_store("nosuchdb://x/y")


def test_summary_counts_duplicates_by_kind_and_the_time_they_saved(store):
    run = store.create_run("r", "p", "/p", {}, 0, 3)
    first = store.add_candidate(run.id, CandidateRecord(0, "a", "ha", "ok", score=1.0,
                                                        eval_seconds=2.0))
    for i, kind, spent in ((1, "functional", 0.5), (2, "syntactic", 0.0)):
        store.add_candidate(run.id, CandidateRecord(
            i, f"b{i}", f"h{i}", "duplicate", score=1.0, duplicate_of=first,
            duplicate_kind=kind, eval_seconds=spent, probe_seconds=spent / 10))
    s = store.summary(run.id)
    assert s["duplicates"] == {"functional": 1, "syntactic": 1}
    assert s["eval_seconds_saved"] == pytest.approx(1.5 + 2.0)
    assert s["probe_seconds"] == pytest.approx(0.05)
