import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from adrs.config import build
from adrs.loop import RunContext
from adrs.problem import find_problem
from adrs.store import open_store, sqlite_url

FIXTURES = Path(__file__).parent / "fixtures"


def _fixed_judging_key() -> None:
    """Runs are judged on private data drawn under the account's judging key
    (adrs/judging.py), made at random on a machine's first run, so a search's figures
    differ from machine to machine. The suite uses one fixed key, in a data folder of
    its own that subprocesses inherit, so its figures are the same everywhere (and
    the account's own key is never touched)."""
    home = tempfile.mkdtemp(prefix="adrs-test-data-")
    atexit.register(shutil.rmtree, home, True)
    key = Path(home) / "adrs" / "judging.key"
    key.parent.mkdir()
    key.write_text("01" * 32 + "\n")
    key.chmod(0o600)
    os.environ["XDG_DATA_HOME"] = home
    os.environ.pop("ADRS_JUDGING_KEY", None)


_fixed_judging_key()


@pytest.fixture(autouse=True)
def no_templates_carried_over():
    """Each test starts its own warm sandbox templates (adrs/sandbox/warm.py), so no test's
    limits, mode or leftovers reach another."""
    yield
    from adrs.sandbox import close_templates

    close_templates()


def network_off(monkeypatch) -> None:
    """From here on, this process can open no connection (a replay must need none)."""
    import socket

    def refused(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refused)
    monkeypatch.setattr(socket, "create_connection", refused)


@pytest.fixture
def target_problem():
    return find_problem(str(FIXTURES / "target_number"))


@pytest.fixture
def moe_problem():
    return find_problem("moe_expert_placement")


@pytest.fixture
def make_ctx(tmp_path):
    """Build a RunContext on a fresh SQLite archive under tmp_path."""

    def make(problem, name="run", **config):
        store = open_store(sqlite_url(tmp_path / f"{name}.db"))
        cfg = build(problem.defaults, config)
        run = store.create_run(name, problem.name, str(problem.root), cfg.to_dict(), cfg.seed,
                               cfg.iterations)
        return RunContext(store, run, problem, cfg, tmp_path / name)

    return make


def _pg_bin(name: str) -> str | None:
    import glob
    import shutil

    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for this test session, on loopback; skipped (with the
    reason) only when no server binary is installed (.ci/run installs one). Its `url`,
    and `stop()` / `start()` for the tests of a server going away under a run."""
    import os
    import socket
    import subprocess
    import types

    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl); apt install postgresql")
    pytest.importorskip("psycopg", reason="pip install 'adrs[postgres]'")
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="adrs-pg-"))  # pytest's tmp dirs are root-only
    data = root / "data"
    as_user = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *args: subprocess.run([*as_user, *args], check=True,  # noqa: E731
                                       capture_output=True, timeout=120)
    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    server = types.SimpleNamespace(
        url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/adrs",
        start=lambda: run(pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "start",
                          "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
                          "-c fsync=off"),
        stop=lambda: run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"))
    server.start()
    try:
        run(_pg_bin("createdb") or "createdb", "-h", "127.0.0.1", "-p", str(port),
            "-U", "postgres", "adrs")
        yield server
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=120)  # a test may have stopped it
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres):
    """The session's PostgreSQL server's URL (running: a test that stops it restarts it)."""
    return postgres.url


@pytest.fixture
def fresh_postgres_url(postgres, request):
    """A new, empty database on the session's server, for a test that reads whole tables."""
    import re

    from sqlalchemy import create_engine

    name = "t_" + re.sub(r"\W", "_", request.node.name.lower())[:50]
    admin = create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'drop database if exists "{name}"')
        conn.exec_driver_sql(f'create database "{name}"')
    admin.dispose()
    return postgres.url.rsplit("/", 1)[0] + "/" + name
