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
