"""A corpus of hostile candidates, each run with both sandbox layers and with the outer
layer alone (namespaces and a pids cgroup, the audit hook off): every one ends as a
recorded failure or a harmless result, and no process is left behind."""

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from adrs.sandbox import Limits, confinement, encode_cases, run_candidate

CASES = encode_cases([{"x": 1.0}])
OUTER = confinement()
LAYERS = [pytest.param(True, id="both-layers"),
          pytest.param(False, id="outer-layer-only", marks=pytest.mark.skipif(
              not (OUTER.bwrap and OUTER.pids_root),
              reason="needs bubblewrap and a writable pids cgroup (Linux)"))]


def run(src, audit, deny=(), wall=5.0):
    limits = Limits(wall_seconds=wall, cpu_seconds=5, memory_mb=1024, max_processes=16,
                    audit_hook=audit)
    return run_candidate(src, "f", CASES, limits, deny)


def processes_using(marker: str) -> list[int]:
    """Live processes whose environment mentions `marker` (their scratch directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    if marker.encode() in fh.read():
                        found.append(int(entry))
            except OSError:
                pass
    return found


@pytest.fixture(autouse=True)
def no_strays(tmp_path, monkeypatch):
    """This test's sandboxes get scratch dirs under tmp_path (their HOME): none may live on."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    time.sleep(0.2)
    assert processes_using(str(scratch)) == []


@pytest.mark.parametrize("audit", LAYERS)
def test_a_fork_bomb_is_capped(audit):
    out = run("import os\ndef f(x):\n    while True:\n        os.fork()\n", audit)
    # without the audit hook the capped copies each report their error: a garbled reply
    assert not out.ok and out.failure in ("forbidden", "exception", "invalid_output")


@pytest.mark.parametrize("audit", LAYERS)
def test_a_child_that_leaves_the_session_dies_with_the_sandbox(audit):
    src = ("import os, time\ndef f(x):\n    if os.fork() == 0:\n        os.setsid()\n"
           "        time.sleep(60)\n    return 1.0\n")
    out = run(src, audit)
    assert out.ok or out.failure == "forbidden"


@pytest.mark.parametrize("audit", LAYERS)
def test_writes_outside_scratch_fail(audit, tmp_path):
    target = os.path.abspath("hostile-was-here.txt")  # the project folder
    out = run(f"def f(x):\n    open({target!r}, 'w').write('x')\n    return 1.0\n", audit)
    assert not out.ok and not os.path.exists(target)
    assert "Read-only file system" in out.error or "not allowed" in out.error


@pytest.mark.parametrize("audit", LAYERS)
def test_secrets_in_other_processes_are_out_of_reach(audit, monkeypatch):
    monkeypatch.setenv("ADRS_TEST_SECRET", "sk-hostile-test")
    src = ("import glob, os\ndef f(x):\n    found = 0.0\n"
           "    for path in glob.glob('/proc/*/environ'):\n        try:\n"
           "            found += b'sk-hostile-test' in open(path, 'rb').read()\n"
           "        except OSError:\n            pass\n"
           "    return found + ('ADRS_TEST_SECRET' in os.environ)\n")
    out = run(src, audit)
    assert (out.ok and out.outputs == [0.0]) or out.failure == "forbidden"


@pytest.mark.parametrize("audit", LAYERS)
def test_the_archive_cannot_be_read(audit, tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "adrs.db").write_text("secret rows")
    out = run(f"def f(x):\n    return len(open({str(archive / 'adrs.db')!r}).read())\n",
              audit, deny=(str(archive),))
    assert not out.ok and out.failure in ("exception", "forbidden")


@pytest.mark.parametrize("audit", LAYERS)
def test_a_denied_path_that_does_not_exist_is_harmless(audit):
    # a run stored in PostgreSQL has no archive folder to hide; outside /tmp, because the
    # sandbox's own /tmp is writable and would hide a wrong mount point
    missing = f"/var/tmp/adrs-no-archive-{os.getpid()}/run"
    out = run("def f(x):\n    return 2.0\n", audit, deny=(missing,))
    assert out.ok and out.outputs == [2.0], out


@pytest.fixture
def home(monkeypatch):
    """A HOME with credential files, outside /tmp (the sandbox's /tmp is private)."""
    home = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="adrs-home-"))
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text("ray-cluster-token")
    (home / ".netrc").write_text("machine x password hunter2")
    monkeypatch.setenv("HOME", str(home))
    yield home
    shutil.rmtree(home)


@pytest.mark.parametrize("audit", LAYERS)
def test_credential_stores_in_home_are_hidden(audit, home):
    for path in (home / ".ray" / "auth_token", home / ".netrc"):
        src = (f"def f(x):\n    try:\n        return len(open({str(path)!r}).read())\n"
               "    except FileNotFoundError:\n        return 0.0\n")
        out = run(src, audit)
        # refused by the audit hook, or an empty file behind the namespace
        assert out.failure in ("exception", "forbidden") or out.outputs == [0], out


@pytest.mark.parametrize("audit", LAYERS)
def test_no_network(audit):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    src = (f"import socket\ndef f(x):\n    socket.create_connection(('127.0.0.1', {port}), "
           "timeout=2)\n    return 1.0\n")
    try:
        out = run(src, audit)
    finally:
        server.close()
    assert not out.ok and out.failure in ("exception", "forbidden")


@pytest.mark.parametrize("audit", LAYERS)
def test_closing_the_reply_pipe_or_exiting_early_is_a_crash(audit):
    closer = "import os\ndef f(x):\n    os.closerange(3, 256)\n    return 1.0\n"
    assert run(closer, audit).failure == "crashed"
    quitter = "import os\ndef f(x):\n    os._exit(0)\n"
    out = run(quitter, audit)
    assert out.failure == "crashed" and "code 0" in out.error


@pytest.mark.parametrize("audit", LAYERS)
def test_huge_and_non_finite_returns_are_rejected_or_passed_on_as_data(audit):
    huge = "import numpy as np\ndef f(x):\n    return np.zeros(20 * 2**20)\n"
    assert run(huge, audit).failure == "output_limit"  # 160 MB > reply_mb
    nan = "def f(x):\n    return float('nan')\n"
    out = run(nan, audit)
    assert out.ok and out.outputs[0] != out.outputs[0]  # the scorer decides what NaN earns
