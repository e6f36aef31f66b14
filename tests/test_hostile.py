"""A hostile corpus, one or more cases per threat class, run under every kernel boundary
(bubblewrap, and adrs's own jail for machines without it). Each attack must be
contained (it runs, and achieves nothing outside the box) or refused (a recorded
failure), the controller must survive it, and nothing may be left behind."""

import os
import socket
import tempfile
import time
from pathlib import Path

import pytest
import sandbox_support
from sandbox_support import (
    BAD_BINARY,
    BAD_BINARY_NAMES,
    NOBODY,
    backends,
    binary_frame,
    encode_cases,
    leftover_groups,
    run,
    sandbox_processes,
)

from adrs.sandbox import close_templates

pytestmark = pytest.mark.parametrize("mode", backends())

SECRET = "sk-hostile-secret-7f3a"


@pytest.fixture(autouse=True, params=["warm", "cold"])
def nothing_left_behind(request, monkeypatch):
    """Every attack on a candidate forked from a warm template and on a cold start
    (the fallback); afterwards nothing may be left of it."""
    monkeypatch.setitem(sandbox_support.WARM, "warm", request.param == "warm")
    yield
    close_templates()  # idle templates keep a spare candidate process each, by design
    deadline = time.monotonic() + 3
    while (sandbox_processes() or leftover_groups()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sandbox_processes() == [] and leftover_groups() == []


@pytest.fixture
def host_secret():
    """A secret file outside every folder the sandbox binds (and outside /tmp)."""
    with tempfile.NamedTemporaryFile("w", dir="/var/tmp", prefix="adrs-secret-") as fh:
        fh.write(SECRET)
        fh.flush()
        yield fh.name


# --- escape: the kernel-administration calls a way out needs are refused ---------------

ESCAPES = {
    "unshare a user namespace": "libc.unshare(0x10000000)",
    "mount a tmpfs": "libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)",
    "chroot": "libc.chroot(b'/tmp')",
    "setns into init's mount namespace": "libc.setns(os.open('/proc/1/ns/mnt', os.O_RDONLY), 0)",
    "ptrace attach to PID 1": "libc.ptrace(16, 1, None, None)",
    "load a kernel module": "libc.syscall(313, 0, b'', 0)",
    "keyctl": "libc.syscall(250, 0, 0, 0, 0)",
    "bpf": "libc.syscall(321, 0, 0, 0)",
}


@pytest.mark.parametrize("call", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_calls_are_refused(mode, call):
    src = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\ndef f(x):\n"
           f"    try:\n        rc = {call}\n    except OSError:\n        return 'refused'\n"
           "    return 'refused' if rc != 0 else 'DONE'\n")
    out = run(src, mode)
    assert out.ok and out.outputs == ["refused"], out


def test_no_capabilities_and_not_root_outside(mode):
    src = ("def f(x):\n    s = dict(l.split(':', 1) for l in open('/proc/self/status') "
           "if ':' in l)\n    return [int(s[k].strip(), 16) for k in ('CapEff', 'CapPrm', "
           "'CapBnd')] + [int(s['NoNewPrivs']), int(s['Seccomp'])]\n")
    out = run(src, mode)
    assert out.ok and out.outputs[0] == [0, 0, 0, 1, 2], out


def test_the_host_root_is_not_reachable_through_proc(mode, host_secret):
    src = (f"def f(x):\n    try:\n        return open('/proc/1/root{host_secret}').read()\n"
           "    except OSError:\n        return 'hidden'\n")
    assert run(src, mode).outputs == ["hidden"]


# --- secrets ----------------------------------------------------------------------------

def test_controller_environment_and_host_processes_are_invisible(mode, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    src = ("import glob, os\ndef f(x):\n    seen = str(dict(os.environ))\n"
           "    for p in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
           "        try:\n            seen += open(p, 'rb').read().decode('latin-1')\n"
           "        except OSError:\n            pass\n"
           "    return [seen.count('sk-hostile'), len(glob.glob('/proc/[0-9]*'))]\n")
    out = run(src, mode)
    assert out.ok and out.outputs[0][0] == 0 and out.outputs[0][1] <= 4, out


def test_host_files_outside_the_view_are_invisible(mode, host_secret):
    src = ("import os\ndef f(x):\n    found = []\n"
           f"    for path in ({host_secret!r}, '/etc/shadow', '/root/.bash_history', '/home'):\n"
           "        found.append(os.path.exists(path))\n    return found\n")
    out = run(src, mode)
    assert out.ok and out.outputs[0] == [False] * 4, out


def test_archive_and_credentials_inside_a_shared_folder_are_hidden(mode, tmp_path, monkeypatch):
    shared = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="adrs-problem-"))
    try:
        (shared / "archive").mkdir()
        (shared / "archive" / "adrs.db").write_text(SECRET)
        (shared / ".netrc").write_text(SECRET)
        (shared / "data.txt").write_text("public")
        monkeypatch.setenv("HOME", str(shared))
        src = ("def f(x):\n    out = []\n    for name in ('archive/adrs.db', '.netrc', "
               "'data.txt'):\n        try:\n"
               f"            out.append(open({str(shared)!r} + '/' + name).read())\n"
               "        except OSError:\n            out.append('')\n    return out\n")
        out = run(src, mode, deny=(str(shared / "archive"),), share=(str(shared),))
        assert out.ok and out.outputs[0] == ["", "", "public"], out
    finally:
        import shutil

        shutil.rmtree(shared)


# --- writes outside the scratch -----------------------------------------------------------

def test_the_project_venv_and_system_are_read_only(mode):
    import sys

    import adrs

    targets = [os.path.join(os.path.dirname(adrs.__file__), "pwned.py"),
               os.path.join(sys.prefix, "pwned"), "/usr/pwned", "/pwned", "/etc/pwned"]
    src = (f"def f(x):\n    out = []\n    for p in {targets!r}:\n        try:\n"
           "            open(p, 'w').write('x'); out.append('WROTE')\n"
           "        except OSError as e:\n            out.append(e.errno)\n"
           "    return out\n")
    out = run(src, mode)
    assert out.ok and "WROTE" not in out.outputs[0], out
    assert not any(os.path.exists(t) for t in targets)


def test_scratch_does_not_persist_between_evaluations(mode):
    write = "def f(x):\n    open('/tmp/left', 'w').write('x')\n    return 1\n"
    read = "import os\ndef f(x):\n    return os.path.exists('/tmp/left')\n"
    assert run(write, mode).ok
    assert run(read, mode).outputs == [False]


# --- processes ------------------------------------------------------------------------

def test_a_fork_bomb_is_capped_and_cleaned_up(mode):
    out = run("import os\ndef f(x):\n    while True:\n        os.fork()\n", mode,
              wall_seconds=5.0, max_processes=16)
    assert not out.ok


def test_a_thread_bomb_is_capped(mode):
    src = ("import threading, time\ndef f(x):\n    n = 0\n    try:\n        while True:\n"
           "            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
           "            n += 1\n    except RuntimeError:\n        return n\n")
    out = run(src, mode, max_processes=16, wall_seconds=5.0)
    assert out.ok and out.outputs[0] < 16 + 8, out  # + the sandbox's own few


def test_detached_grandchildren_die_with_the_sandbox(mode):
    src = ("import os, time\ndef f(x):\n    if os.fork() == 0:\n        os.setsid()\n"
           "        if os.fork() == 0:\n            time.sleep(120)\n        os._exit(0)\n"
           "    return 1.0\n")
    assert run(src, mode).ok  # the autouse fixture checks nothing outlives it


def test_signals_cannot_reach_processes_outside(mode):
    import subprocess

    # a victim with the sandbox's own uid (as root), the easiest one to signal
    user = NOBODY if os.getuid() == 0 else None
    victim = subprocess.Popen(["sleep", "60"], user=user)
    try:
        src = (f"import os, signal\ndef f(x):\n    for pid in ({victim.pid}, os.getppid(), 1):\n"
               "        try:\n            os.kill(pid, signal.SIGKILL)\n"
               "        except OSError:\n            pass\n"
               "    os.kill(-1, signal.SIGKILL)\n    return 1\n")
        run(src, mode)
        time.sleep(0.2)
        assert victim.poll() is None and os.getpid() > 0
    finally:
        victim.kill()
        victim.wait()


# --- memory, shared memory and disk -------------------------------------------------------

@pytest.mark.parametrize("how", [
    "bytearray(1 << 30)",
    "__import__('numpy').ones(1 << 27)",
    "open('/dev/shm/fill', 'wb').write(bytes(900 << 20))",
    "os.write(os.memfd_create('x'), bytes(900 << 20))",
], ids=["heap", "numpy", "shm", "memfd"])
def test_memory_of_every_kind_is_capped(mode, how):
    out = run(f"import os\ndef f(x):\n    {how}\n    return 'ALLOCATED'\n", mode,
              memory_mb=256, disk_mb=2048, file_mb=2048)
    assert not out.ok and out.failure in ("memory", "exception"), out


def test_the_scratch_disk_is_capped(mode):
    src = ("def f(x):\n    with open('/tmp/fill', 'wb') as fh:\n"
           "        for _ in range(200):\n            fh.write(bytes(1 << 20))\n    return 1\n")
    out = run(src, mode, disk_mb=32, memory_mb=512)
    assert not out.ok and "No space left" in out.error, out


# --- sockets ------------------------------------------------------------------------------

def test_loopback_of_the_host_is_unreachable(mode):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        out = run(f"import socket\ndef f(x):\n    socket.create_connection(('127.0.0.1', {port}),"
                  " timeout=2)\n    return 'CONNECTED'\n", mode)
    assert not out.ok, out


def test_unix_sockets_of_the_host_are_unreachable(mode):
    folder = tempfile.mkdtemp(dir="/var/tmp", prefix="adrs-sock-")
    path = os.path.join(folder, "s")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX) as abstract:
        server.bind(path)
        server.listen()
        abstract.bind("\0adrs-hostile-test")
        abstract.listen()
        src = ("import socket\ndef f(x):\n    out = []\n"
               f"    for addr in ({path!r}, '\\0adrs-hostile-test'):\n"
               "        s = socket.socket(socket.AF_UNIX)\n        try:\n"
               "            s.connect(addr); out.append('CONNECTED')\n"
               "        except OSError:\n            out.append('no')\n    return out\n")
        out = run(src, mode)
    os.unlink(path)
    os.rmdir(folder)
    assert out.ok and out.outputs[0] == ["no", "no"], out


def test_vsock_and_packet_sockets_are_refused(mode):
    src = ("import socket\ndef f(x):\n    out = []\n    for fam in (40, 17):\n"
           "        try:\n            socket.socket(fam, socket.SOCK_STREAM if fam == 40 else "
           "socket.SOCK_RAW)\n            out.append('OPEN')\n"
           "        except OSError:\n            out.append('refused')\n    return out\n")
    assert run(src, mode).outputs == [["refused", "refused"]]


# --- trusted measurement --------------------------------------------------------------------

def test_a_forged_runtime_is_ignored(mode):
    # 0.3 s of its own CPU time (on a loaded machine, more wall time), clocks patched
    src = ("import time\n_cpu = time.process_time\ntime.perf_counter = lambda: 0.0\n"
           "time.monotonic = lambda: 0.0\ndef f(x):\n    t = _cpu()\n"
           "    while _cpu() - t < 0.3:\n        pass\n    return 1\n")
    out = run(src, mode)
    assert out.ok and out.seconds[0] >= 0.3, out
    assert out.cpu_seconds is None or out.cpu_seconds[0] >= 0.25


def test_a_case_is_timed_from_before_it_is_written(mode, monkeypatch):
    """On a loaded machine the controller's thread may wait for a CPU right after it
    writes a case while the candidate already runs it: that time is the candidate's."""
    from adrs.sandbox.channel import Channel

    written = Channel.send

    def send_then_wait(self, data):
        written(self, data)
        if b'"case"' in data:
            time.sleep(0.3)  # the controller's thread, off a CPU

    monkeypatch.setattr(Channel, "send", send_then_wait)
    src = ("import time\ndef f(x):\n    t = time.process_time()\n"
           "    while time.process_time() - t < 0.3:\n        pass\n    return 1\n")
    out = run(src, mode)
    assert out.ok and out.seconds[0] >= 0.3, out

def test_a_reply_written_to_the_pipe_by_hand_is_not_believed(mode):
    # the candidate writes its own frame claiming a result, then returns another one
    src = ("import os, json, struct\ndef f(x):\n"
           "    for fd in map(int, os.listdir('/proc/self/fd')):\n        try:\n"
           "            body = json.dumps({'out': 99}).encode()\n"
           "            os.write(fd, struct.pack('>I', len(body)) + body)\n"
           "        except OSError:\n            pass\n    return 1\n")
    out = run(src, mode, cases=encode_cases([{"x": 1.0}, {"x": 2.0}]))
    assert not out.ok and out.failure == "invalid_output", out


@pytest.mark.parametrize("body", [
    b"\xff\xfe not json",
    b"[" * 100000,
    b'{"out": NaN}',
    b'{"out": 1e999}',
    b'{"out": {"__ndarray__": "<f8", "shape": [1099511627775, 0], "data": ""}}',
    b'{"out": {"__ndarray__": "|O", "shape": [1], "data": "AAAAAAAAAAA="}}',
    b'{"out": {"__ndarray__": "<f8", "shape": [2], "data": "AAAA"}}',
    b'{"out": ' + b"9" * 50000 + b"}",
    b'"just a string"',
    # binary frames (box/codec.py): the JSON text's length, the text, raw array bytes
    b"\x00\x00\x00",
    b"\x00\x00\x00\x00\xff{}",
    *[binary_frame(text, tail) for text, tail in BAD_BINARY],
], ids=["bytes", "deep", "nan", "overflow", "shape", "object-dtype", "short-data",
        "huge-int", "not-an-object", "binary-short-header", "binary-short-text",
        *[f"binary-{name}" for name in BAD_BINARY_NAMES]])
def test_every_malformed_reply_is_invalid_output(mode, body):
    src = (f"import os, struct\ndef f(x):\n    body = {body!r}\n"
           "    for fd in map(int, os.listdir('/proc/self/fd')):\n        try:\n"
           "            os.write(fd, struct.pack('>I', len(body)) + body)\n"
           "        except OSError:\n            pass\n    os._exit(0)\n")
    out = run(src, mode)
    assert not out.ok and out.failure in ("invalid_output", "crashed"), out


def test_non_finite_and_oversized_returns(mode):
    assert run("def f(x):\n    return float('inf')\n", mode).failure == "invalid_output"
    assert run("import numpy as np\ndef f(x):\n    return np.array([1.0, np.nan])\n",
               mode).failure == "invalid_output"
    assert run("def f(x):\n    v = []\n    for _ in range(100000):\n        v = [v]\n"
               "    return v\n", mode).failure == "invalid_output"
    big = run("import numpy as np\ndef f(x):\n    return np.zeros(20 * 2**20)\n", mode,
              memory_mb=1024, reply_mb=16)
    assert big.failure == "output_limit"
    huge_header = ("import os, struct\ndef f(x):\n"
                   "    for fd in map(int, os.listdir('/proc/self/fd')):\n        try:\n"
                   "            os.write(fd, struct.pack('>I', 2**32 - 1))\n"
                   "        except OSError:\n            pass\n    os._exit(0)\n")
    assert run(huge_header, mode).failure in ("output_limit", "crashed")


# --- the parent never reads what the candidate leaves -----------------------------------

def test_links_the_candidate_leaves_are_never_followed(mode, host_secret):
    src = ("import os\ndef f(x):\n    for name in ('stderr.txt', 'stdout.txt', 'reply.json'):\n"
           f"        os.symlink({host_secret!r}, name)\n"
           f"        os.symlink({host_secret!r}, '/tmp/' + name + '.2')\n"
           "    raise SystemExit(1)\n")
    out = run(src, mode)
    assert not out.ok and SECRET not in f"{out.error}{out.log}", out


def test_a_flood_of_output_neither_blocks_nor_bloats(mode):
    src = ("import sys\ndef f(x):\n    for _ in range(2000):\n"
           "        sys.stdout.write('x' * 10000 + '\\n')\n    sys.stdout.flush()\n    return 5\n")
    out = run(src, mode)
    assert out.ok and out.outputs == [5] and len(out.log) <= 16 << 10, out


def test_a_candidate_that_hangs_or_reads_stdin_meets_the_deadline(mode):
    start = time.monotonic()
    out = run("import sys\ndef f(x):\n    sys.stdin.read()\n    while True:\n        pass\n",
              mode, wall_seconds=2.0)
    assert out.failure == "timeout" and time.monotonic() - start < 6


# --- judging data: a candidate only ever holds the case it is answering --------------------

def test_later_cases_are_not_inside_the_box(mode):
    cases = encode_cases([{"x": "first"}, {"x": "judged-on-this-later"}])
    src = ("import gc\ndef f(x):\n    if x != 'first':\n        return [0, 0]\n"
           "    seen = [repr(o)[:10000] for o in gc.get_objects() if isinstance(o, dict)]\n"
           "    marker = 'judged' + '-on-this'  # not spelled out: the source is in memory\n"
           "    return [sum(marker in s for s in seen),\n"
           "            sum(\"'first'\" in s for s in seen)]\n")
    out = run(src, mode, cases=cases)
    later, current = out.outputs[0]
    assert out.ok and later == 0 and current > 0, out  # it can see its own case, only
