"""The store on a real PostgreSQL server: same schema, same run as on SQLite, resume,
the read-only archive API, and optuna's tuning studies in the same database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import FIXTURES
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from adrs import archive
from adrs.loop import Search
from adrs.runs import existing_run, resume_run, start_run
from adrs.store import open_store
from adrs.store.models import Base
from adrs.tuning import tune_candidate

TARGET = str(FIXTURES / "target_number")
ROWS = "select c.iteration, c.syntactic_hash, c.status, c.score from candidates c join runs r " \
       "on r.id = c.run_id where r.name = '{}' order by c.iteration"


def _run(name, db, tmp_path, iterations):
    ctx = start_run(TARGET, name=name, db=db, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations})
    Search(ctx, progress=False).run()
    return ctx


def _rows(url, name):
    with create_engine(url).connect() as conn:
        return conn.exec_driver_sql(ROWS.format(name)).fetchall()


def test_the_migrations_build_the_models_schema(postgres_url):
    store = open_store(postgres_url)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "adrs_version"})
        assert compare_metadata(context, Base.metadata) == []


def test_a_run_on_postgres_equals_the_same_run_on_sqlite_and_resumes(postgres_url, tmp_path):
    _run("lite", None, tmp_path, 30)
    sqlite_url = f"sqlite:///{tmp_path / 'lite' / 'adrs.db'}"
    _run("pg-part", postgres_url, tmp_path, 12)
    resumed = resume_run("pg-part", db=postgres_url, archive=tmp_path, iterations=30)
    Search(resumed, progress=False).run()
    assert _rows(postgres_url, "pg-part") == _rows(sqlite_url, "lite")
    assert len(_rows(postgres_url, "pg-part")) == 31


def test_the_archive_api_reads_postgres_read_only(postgres_url, tmp_path):
    _run("pg-read", postgres_url, tmp_path, 10)
    view = archive.open(postgres_url, run="pg-read")
    assert len(view.records()) == 11 and view.chain_to_best()[-1] == view.best(1)[0]["id"]
    with pytest.raises(DBAPIError), view.store.engine.begin() as conn:
        conn.exec_driver_sql("delete from candidates")


def test_tuning_studies_live_in_the_postgres_database(postgres_url, tmp_path):
    import optuna

    _run("pg-tune", postgres_url, tmp_path, 0)
    ctx = existing_run("pg-tune", db=postgres_url, archive=tmp_path)
    cid, result = tune_candidate(ctx, ctx.store.initial(ctx.run.id).id, 6)
    study = optuna.load_study(study_name=result.study_name, storage=postgres_url)
    assert len(study.trials) == 6 and ctx.store.get_candidate(cid).parent_id is not None


def _restart_when_stored(postgres, url, name, count, down_seconds):
    """Stop the server once the run has `count` candidates, start it again after
    `down_seconds` (None: leave it stopped)."""
    import threading
    import time

    def watch():
        engine = create_engine(url)
        while True:
            try:
                with engine.connect() as conn:
                    n = conn.exec_driver_sql(
                        "select count(*) from candidates c join runs r on r.id = c.run_id "
                        f"where r.name = '{name}'").scalar()
            except DBAPIError:  # the run has not made its tables yet
                n = 0
            if n >= count:
                break
            time.sleep(0.02)
        engine.dispose()
        postgres.stop()
        if down_seconds is not None:
            time.sleep(down_seconds)
            postgres.start()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_run_rides_out_a_postgres_restart_and_equals_an_undisturbed_run(
        postgres, tmp_path, capfd):
    _run("lite-restart", None, tmp_path, 80)
    sqlite_url = f"sqlite:///{tmp_path / 'lite-restart' / 'adrs.db'}"
    watcher = _restart_when_stored(postgres, postgres.url, "pg-restart", 20, 3.0)
    _run("pg-restart", postgres.url, tmp_path, 80)
    watcher.join(timeout=60)
    assert not watcher.is_alive()
    err = capfd.readouterr().err
    assert "lost the database" in err and "reconnected" in err  # it did go away mid-run
    assert _rows(postgres.url, "pg-restart") == _rows(sqlite_url, "lite-restart")


def test_a_server_that_stays_away_stops_the_run_clearly_and_resume_finishes_it(
        postgres, tmp_path, monkeypatch):
    import time

    from adrs.errors import UserError

    _run("lite-away", None, tmp_path, 60)
    monkeypatch.setenv("ADRS_DB_WAIT", "2")
    watcher = _restart_when_stored(postgres, postgres.url, "pg-away", 15, None)
    started = time.monotonic()
    try:
        with pytest.raises(UserError, match="lost the database .* for over 2 s.*adrs resume"):
            _run("pg-away", postgres.url, tmp_path, 60)
        assert time.monotonic() - started < 40  # bounded: not a hang
    finally:
        watcher.join(timeout=60)
        postgres.start()
    resumed = resume_run("pg-away", db=postgres.url, archive=tmp_path, iterations=60)
    Search(resumed, progress=False).run()
    assert _rows(postgres.url, "pg-away") == _rows(
        f"sqlite:///{tmp_path / 'lite-away' / 'adrs.db'}", "lite-away")
