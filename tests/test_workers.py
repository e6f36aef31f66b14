"""`adrs worker` processes evaluating for a controller through the run's database:
the same archive as a local run, every job done once, a killed worker's job taken over."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import FIXTURES
from sqlalchemy import create_engine

from adrs.loop import Search
from adrs.runs import start_run

TARGET = str(FIXTURES / "target_number")
ROWS = ("select c.iteration, c.syntactic_hash, c.status, c.score from candidates c "
        "join runs r on r.id = c.run_id where r.name = '{}' order by c.iteration")


def _rows(url, name, sql=ROWS):
    with create_engine(url).connect() as conn:
        return conn.exec_driver_sql(sql.format(name)).fetchall()


def _worker(name, db, tmp_path, lease=60.0):
    return subprocess.Popen([sys.executable, "-m", "adrs", "worker", "shared", "--db", db,
                             "--name", name, "--idle-exit", "60", "--lease", str(lease)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _controller(db, tmp_path, iterations):
    ctx = start_run(TARGET, name="shared", db=db, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations, "executor": "workers"})
    thread = threading.Thread(target=Search(ctx, progress=False).run)
    thread.start()
    return ctx, thread


def _local(tmp_path, iterations):
    ctx = start_run(TARGET, name="local", db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations})
    Search(ctx, progress=False).run()
    return f"sqlite:///{tmp_path / 'local' / 'adrs.db'}"


def _two_workers_share_a_run(db, tmp_path):
    local = _local(tmp_path, 30)
    ctx, controller = _controller(db, tmp_path, 30)
    workers = [_worker(n, db, tmp_path) for n in ("w1", "w2")]
    controller.join(120)
    outs = [w.communicate(timeout=60)[0] for w in workers]
    assert not controller.is_alive() and ctx.run.status == "finished"
    assert _rows(db, "shared") == _rows(local, "local")  # the same archive as a local run
    jobs = _rows(db, "", "select worker, status, attempts from eval_jobs")
    assert all(status == "done" and attempts == 1 for _, status, attempts in jobs)
    served = {w for w, _, _ in jobs}
    assert served == {"w1", "w2"}, outs  # both took work
    return jobs


def test_two_workers_on_sqlite_share_a_run(tmp_path):
    _two_workers_share_a_run(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)


def test_two_workers_on_postgres_share_a_run(postgres_url, tmp_path):
    _two_workers_share_a_run(postgres_url, tmp_path)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_workers_job_is_taken_over(backend, tmp_path, request):
    db = (f"sqlite:///{tmp_path / 'shared.db'}" if backend == "sqlite"
          else request.getfixturevalue("fresh_postgres_url"))
    local = _local(tmp_path, 20)
    ctx, controller = _controller(db, tmp_path, 20)
    doomed = _worker("doomed", db, tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill it while it holds a job
        held = _rows(db, "", "select count(*) from eval_jobs where worker = 'doomed' "
                             "and status in ('claimed', 'probed')")[0][0]
        if held:
            break
        time.sleep(0.01)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    survivor = _worker("survivor", db, tmp_path, lease=2.0)
    controller.join(120)
    survivor.communicate(timeout=60)
    assert not controller.is_alive() and ctx.run.status == "finished"
    assert _rows(db, "shared") == _rows(local, "local")
    retried = _rows(db, "", "select attempts from eval_jobs where attempts > 1")
    assert retried and all(a == 2 for (a,) in retried)


def test_a_worker_with_other_problem_files_gives_the_job_back_and_stops(tmp_path):
    """The worker sees an edited copy at the problem's path (a mount namespace of its
    own): it refuses, naming the fix; a worker with the same files finishes the run."""
    import shutil

    problem = tmp_path / "problem"
    shutil.copytree(TARGET, problem)
    edited = tmp_path / "edited"
    shutil.copytree(problem, edited)
    (edited / "evaluate.py").write_text((edited / "evaluate.py").read_text().replace(
        "TARGET = 3.7", "TARGET = 1.0"))
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare(1) as root to show the worker another folder")
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    ctx = start_run(str(problem), name="shared", db=db, archive=tmp_path, config_file=None,
                    overrides={"iterations": 6, "executor": "workers"})
    controller = threading.Thread(target=Search(ctx, progress=False).run)
    controller.start()
    other = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         f"mount --bind '{edited}' '{problem}' && exec \"$0\" \"$@\"", sys.executable,
         "-m", "adrs", "worker", "shared", "--db", db, "--name", "other", "--idle-exit", "30"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert other.returncode != 0
    assert "worker other: its problem folder" in other.stderr
    assert "differs from the controller's" in other.stderr and "same files" in other.stderr
    same = _worker("same", db, tmp_path)
    controller.join(120)
    same.communicate(timeout=60)
    assert not controller.is_alive() and ctx.run.status == "finished"
    served = {w for (w,) in _rows(db, "", "select distinct evaluated_on from candidates "
                                          "where evaluated_on is not null")}
    assert served == {"same"}


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    from adrs import jobs

    monkeypatch.setattr(jobs, "POLL", 0.01)


def test_ctrl_c_with_no_worker_stops_at_once_and_resume_finishes(tmp_path):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "run", TARGET, "--iterations", "10",
                             "--name", "shared", "--db", db, "--executor", "workers",
                             "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # waiting for a worker that never comes (the initial program is queued)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 130
    worker = _worker("late", db, tmp_path)
    resumed = subprocess.run([sys.executable, "-m", "adrs", "resume", "shared", "--db", db,
                              "--quiet"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120)
    worker.communicate(timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert len(_rows(db, "shared")) == 11


def test_a_worker_evaluates_in_warm_templates_of_its_own(tmp_path):
    from test_warm import _ancestor, _templates

    db = f"sqlite:///{tmp_path / 'shared.db'}"
    ctx, controller = _controller(db, tmp_path, 20)
    worker = _worker("w1", db, tmp_path)
    seen = []
    deadline = time.monotonic() + 120
    while controller.is_alive() and time.monotonic() < deadline:
        seen += [p for p in _templates() if _ancestor(p, worker.pid)]
        time.sleep(0.05)
    controller.join(60)
    worker.communicate(timeout=60)
    assert ctx.run.status == "finished" and seen  # its candidates were forks of its templates
