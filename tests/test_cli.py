"""The `adrs` command as a user runs it: real subprocesses, real SQLite archives."""

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import FIXTURES

TARGET = str(FIXTURES / "target_number")
BASELINE = FIXTURES / "target_number" / "baselines" / "exact.py"


def adrs(*args, cwd):
    return subprocess.run([sys.executable, "-m", "adrs", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    out = adrs("run", TARGET, "--iterations", 15, "--name", "demo", "--quiet", cwd=cwd)
    assert out.returncode == 0, out.stderr
    return cwd, out


def test_run_prints_where_the_archive_is_and_best_vs_baselines(finished_run):
    cwd, out = finished_run
    assert (cwd / "archive" / "demo" / "adrs.db").is_file()
    assert "archive/demo" in out.stderr
    assert "baselines  exact 0.0000" in out.stdout
    assert "best       " in out.stdout and "adrs best demo" in out.stdout


def test_status_json_has_the_documented_fields(finished_run):
    cwd, _ = finished_run
    out = adrs("status", "demo", "--json", cwd=cwd)
    st = json.loads(out.stdout)
    assert st["iterations"] == 15 and st["status"] == "finished"
    assert st["best_score"] >= st["initial_score"]
    assert isinstance(st["failures"], dict)
    by_path = json.loads(adrs("status", cwd / "archive" / "demo", "--json", cwd="/").stdout)
    assert by_path["best_score"] == st["best_score"]


def test_best_prints_the_program_and_its_metrics(finished_run):
    cwd, _ = finished_run
    best = json.loads(adrs("best", "demo", "--json", cwd=cwd).stdout)
    assert "def guess" in best["source"] and best["metrics"]["score"] == best["score"]
    text = adrs("best", "demo", cwd=cwd).stdout
    assert text.startswith("# best of run demo") and "def guess" in text


def test_resume_extends_a_finished_run(finished_run, tmp_path):
    cwd, _ = finished_run
    out = adrs("resume", "demo", "--iterations", 20, "--quiet", cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert json.loads(adrs("status", "demo", "--json", cwd=cwd).stdout)["iterations"] == 20


def test_eval_scores_a_program_file(tmp_path):
    out = adrs("eval", TARGET, BASELINE, "--json", cwd=tmp_path)
    assert out.returncode == 0
    assert json.loads(out.stdout)["score"] == 0.0
    bad = tmp_path / "bad.py"
    bad.write_text("def guess(scale):\n    return 'x'\n")
    out = adrs("eval", TARGET, bad, cwd=tmp_path)
    assert out.returncode == 1 and "invalid_output" in out.stdout


def test_problems_lists_the_bundled_problem(tmp_path):
    out = adrs("problems", cwd=tmp_path)
    assert "moe_expert_placement" in out.stdout and "bundled" in out.stdout


def test_problems_says_in_a_line_what_each_problem_is(tmp_path):
    lines = adrs("problems", cwd=tmp_path).stdout.splitlines()
    after = {lines[i].split()[0]: lines[i + 1].strip() for i in range(0, len(lines) - 1, 2)}
    # from the manifest's description, first sentence
    assert after["moe_expert_placement"] == ("Place the experts of a Mixture-of-Experts model "
                                             "on GPUs (as DeepSeek's EPLB does)")
    # an OpenEvolve folder has no manifest: its README's first paragraph
    assert after["function_minimization"].startswith("Find the global minimum")
    assert all(after.values())


def _error(out):
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adrs: error: "), out.stderr
    return lines[0]


@pytest.mark.parametrize("args, expected", [
    (["run", "no_such_problem"], "unknown problem 'no_such_problem'"),
    (["run", TARGET, "--config", "missing.toml"], "missing.toml does not exist"),
    (["run", TARGET, "--config", "broken.toml"], "broken.toml: not valid TOML"),
    (["run", TARGET, "--config", "unknown.toml"], "unknown key 'search.bogus'"),
    (["run", TARGET, "--config", "wrongtype.toml"], "'iterations' must be int"),
    (["run", TARGET, "--archive", "afile/sub"], "cannot create the archive folder"),
    (["run", TARGET, "--db", "sqlite:////no/such/dir/adrs.db"], "the folder /no/such/dir does not"),
    (["run", TARGET, "--db", "mysql+nosuchdriver://x/y"], "database"),
    (["resume", "ghost"], "no archive at archive/ghost/adrs.db"),
    (["status", "ghost"], "no archive at"),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, expected):
    (tmp_path / "broken.toml").write_text("iterations = [")
    (tmp_path / "unknown.toml").write_text("[search]\nbogus = 1\n")
    (tmp_path / "wrongtype.toml").write_text("iterations = 'many'\n")
    (tmp_path / "afile").write_text("")
    assert expected in _error(adrs(*args, cwd=tmp_path))


def test_an_existing_run_name_is_refused_and_left_untouched(finished_run):
    cwd, _ = finished_run
    db = cwd / "archive" / "demo" / "adrs.db"
    before = _count(db)
    assert "adrs resume demo" in _error(adrs("run", TARGET, "--name", "demo", cwd=cwd))
    url = f"sqlite:///{db}"
    assert "adrs resume demo" in _error(adrs("run", TARGET, "--name", "demo", "--db", url,
                                             cwd=cwd))
    assert _count(db) == before


def _count(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("select count(*) from candidates").fetchone()[0]


def _wait_for(db, n: int, poll: float = 0.1, timeout: float = 60) -> None:
    """Until a run being written to `db` has at least n candidates (or the timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(poll)
        try:
            if db.exists() and _count(db) >= n:
                return
        except sqlite3.OperationalError:  # tables not created yet
            pass


def test_ctrl_c_stops_cleanly_and_resume_gives_the_uninterrupted_archive(tmp_path):
    straight = adrs("run", TARGET, "--iterations", 60, "--name", "straight", "--quiet",
                    cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "run", TARGET, "--iterations", "60",
                             "--name", "cut", "--quiet"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = tmp_path / "archive" / "cut" / "adrs.db"
    _wait_for(db, 5, timeout=30)  # interrupt once the search is under way
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted" in out and "adrs resume cut" in out
    st = json.loads(adrs("status", "cut", "--json", cwd=tmp_path).stdout)
    assert st["status"] == "interrupted" and 0 < st["iterations"] < 60
    assert adrs("resume", "cut", "--quiet", cwd=tmp_path).returncode == 0
    assert _lineage(tmp_path / "archive" / "cut" / "adrs.db") == _lineage(
        tmp_path / "archive" / "straight" / "adrs.db")


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["sigint-started-ignored", "sigterm"])
def test_a_background_run_stops_cleanly_on_sigint_and_sigterm(tmp_path, sig, code):
    # a non-interactive shell starts `adrs run ... &` with SIGINT ignored
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "run", TARGET, "--iterations", "400",
                             "--name", "bg", "--quiet"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    _wait_for(tmp_path / "archive" / "bg" / "adrs.db", 5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    st = json.loads(adrs("status", "bg", "--json", cwd=tmp_path).stdout)
    assert st["status"] == "interrupted" and st["iterations"] < 400


def _lineage(db):
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "select c.iteration, c.syntactic_hash, c.status, c.score, p.iteration "
            "from candidates c left join candidates p on p.id = c.parent_id "
            "order by c.iteration").fetchall()


def test_a_user_runs_against_adrs_fake_llm_and_replays_the_run(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "adrs", "fake-llm", "--port", str(port),
                               "--latency", "0.05"], stdout=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}/v1" in server.stdout.readline()
        (tmp_path / "llm.toml").write_text(
            f'[mutator]\nkind = "llm"\nmodel = "fake"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
            'prices = {fake = [1.0, 2.0]}\n')
        run = adrs("run", TARGET, "--config", "llm.toml", "--iterations", 10, "--name", "llm",
                   "--quiet", cwd=tmp_path)
    finally:
        server.terminate()
        server.wait()
    assert run.returncode == 0, run.stderr
    status = adrs("status", "llm", cwd=tmp_path).stdout
    assert "model      fake: 10 calls (0 failed)" in status and "llm cost   $0.00" in status
    replay = adrs("replay", "llm", "--into", "again", "--quiet", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "replay: 11/11 candidates identical to run llm" in replay.stdout
    assert "prompts differed" not in replay.stdout
    with sqlite3.connect(tmp_path / "archive" / "llm" / "adrs.db") as db:  # as if a template
        db.execute("update llm_calls set prompt = 'edited' where iteration in (3, 7)")  # changed
    diverged = adrs("replay", "llm", "--into", "edited", "--quiet", cwd=tmp_path)
    assert "replay: 2 prompts differed from the recording (iterations 3, 7)" in diverged.stdout


def test_fake_llm_refuses_an_unknown_fault_mode(tmp_path):
    assert "choose from rate_limit" in _error(adrs("fake-llm", "--fault", "gremlins",
                                                   cwd=tmp_path))


def test_kill_9_then_resume_loses_nothing_and_matches_a_straight_run(tmp_path):
    straight = adrs("run", TARGET, "--iterations", 60, "--name", "straight", "--quiet",
                    cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr
    proc = subprocess.Popen([sys.executable, "-m", "adrs", "run", TARGET, "--iterations", "60",
                             "--name", "killed", "--quiet"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "archive" / "killed" / "adrs.db"
    _wait_for(db, 15, poll=0.05)
    proc.kill()  # SIGKILL: no cleanup of any kind
    proc.wait()
    with sqlite3.connect(db) as conn:
        before = conn.execute("select id, iteration, syntactic_hash, score from candidates "
                              "order by id").fetchall()
    assert 15 <= len(before) < 61
    resumed = adrs("resume", "killed", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(db) as conn:
        after = conn.execute("select id, iteration, syntactic_hash, score from candidates "
                             "order by id").fetchall()
        status = conn.execute("select status from runs").fetchone()[0]
    assert after[:len(before)] == before  # nothing completed was lost or rewritten
    assert sorted(r[1] for r in after) == list(range(61)) and status == "finished"
    rows = "select iteration, syntactic_hash, status, score from candidates order by iteration"
    with sqlite3.connect(tmp_path / "archive" / "straight" / "adrs.db") as a, \
            sqlite3.connect(db) as b:
        assert a.execute(rows).fetchall() == b.execute(rows).fetchall()


def _hold(db, controller, seconds_ago):
    """Make the run look driven by `controller`, last heard from `seconds_ago`."""
    with sqlite3.connect(db) as conn:
        conn.execute("update runs set controller = ?, heartbeat_at = "
                     "datetime('now', ?)", (controller, f"-{seconds_ago} seconds"))


def test_a_second_controller_on_a_live_run_is_refused(tmp_path):
    assert adrs("run", TARGET, "--iterations", 5, "--name", "r", "--quiet",
                cwd=tmp_path).returncode == 0
    db = tmp_path / "archive" / "r" / "adrs.db"
    before = _count(db)
    alive = subprocess.Popen(["sleep", "60"])  # a live controller on this machine
    try:
        _hold(db, f"{socket.gethostname()}:{alive.pid}", 1)
        line = _error(adrs("resume", "r", "--iterations", 8, cwd=tmp_path))
        assert f"is being run by the controller {socket.gethostname()}:{alive.pid}" in line
        _hold(db, "another-host:4242", 2)  # alive elsewhere, as far as we can tell
        assert "another-host:4242" in _error(adrs("resume", "r", "--iterations", 8,
                                                  cwd=tmp_path))
        assert "another-host:4242" in _error(adrs("tune", "r", 1, "--trials", 1,
                                                  cwd=tmp_path))
        assert _count(db) == before
    finally:
        alive.kill()
        alive.wait()
    _hold(db, "another-host:4242", 120)  # silent past the lease: taken over
    assert adrs("resume", "r", "--iterations", 8, "--quiet", cwd=tmp_path).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("select controller from runs").fetchone()[0] is None  # released
    assert _count(db) == before + 3


def test_adrs_sandbox_self_tests_every_layer(tmp_path):
    out = adrs("sandbox", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "9 of 9 layers hold" in out.stdout and "FAIL" not in out.stdout
    assert "warm templates: on" in out.stdout
    unsafe = adrs("sandbox", "--sandbox", "none", cwd=tmp_path)
    assert unsafe.returncode == 1 and "FAIL" in unsafe.stdout and "unsafe" in unsafe.stdout
    assert "warm templates: off (mode none)" in unsafe.stdout


def test_no_boundary_is_one_line_and_none_runs_unconfined_recorded(tmp_path):
    import os

    env = {**os.environ, "PATH": str(tmp_path)}  # no bubblewrap on PATH
    refused = subprocess.run([sys.executable, "-m", "adrs", "eval", TARGET, BASELINE,
                              "--sandbox", "bwrap"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300, env=env)
    assert "bubblewrap is not installed" in _error(refused)
    assert not (tmp_path / "archive").exists()
    out = adrs("run", TARGET, "--iterations", 3, "--name", "unsafe", "--sandbox", "none",
               "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "NO namespaces" in out.stderr
    with sqlite3.connect(tmp_path / "archive" / "unsafe" / "adrs.db") as db:
        config = json.loads(db.execute("select config from runs").fetchone()[0])
    assert config["sandbox"]["mode"] == "none"


def test_a_run_whose_initial_program_fails_resumes_once_it_is_fixed(tmp_path):
    import shutil

    problem = tmp_path / "prob"
    shutil.copytree(FIXTURES / "target_number", problem)
    initial = problem / "initial_program.py"
    good = initial.read_text()
    initial.write_text(good.replace("def guess(scale):", "def guess(scale)"))
    out = adrs("run", problem, "--iterations", 5, "--name", "r", "--quiet", cwd=tmp_path)
    line = out.stderr.strip().splitlines()[-1]  # after the run's start-up lines
    assert out.returncode == 2 and line.startswith("adrs: error: ")
    assert "syntax_error" in line and "then `adrs resume r`" in line
    initial.write_text(good)
    out = adrs("resume", "r", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    st = json.loads(adrs("status", "r", "--json", cwd=tmp_path).stdout)
    assert st["status"] == "finished" and st["initial_score"] is not None


def test_resume_of_a_finished_run_says_how_to_extend_it(finished_run):
    cwd, _ = finished_run
    line = _error(adrs("resume", "demo", cwd=cwd))
    assert "is finished" in line and "--iterations N" in line


def test_status_shows_every_island_even_one_without_a_success(tmp_path):
    out = adrs("run", TARGET, "--iterations", 3, "--name", "few", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    st = json.loads(adrs("status", "few", "--json", cwd=tmp_path).stdout)
    assert sorted(st["structures"]["island_best"]) == ["0", "1", "2", "3"]
    assert "4 islands" in adrs("status", "few", cwd=tmp_path).stdout


def test_a_start_sweeps_what_killed_runs_left_behind(tmp_path):
    import os
    import tempfile

    from adrs.sandbox import cgroups

    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid is free now: a controller that was killed
    found = cgroups.hierarchies()
    groups = [getattr(found, c) / f"adrs-{dead.pid}-0" for c in found.names()]
    for group in groups:
        group.mkdir(exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=f"adrs-sandbox-{dead.pid}-")
    os.makedirs(os.path.join(scratch, "left"))
    out = adrs("run", TARGET, "--iterations", 2, "--name", "swept", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not any(g.exists() for g in groups) and not os.path.exists(scratch)
