"""The sandbox turns every hostile or broken candidate into a recorded failure."""

import os
import time

import numpy as np
import pytest

from adrs.sandbox import Limits, encode_cases, run_candidate

CASES = encode_cases([{"x": np.arange(4)}])
FAST = Limits(wall_seconds=3.0, cpu_seconds=10, memory_mb=1024)


def run(src, limits=FAST, deny_read=()):
    return run_candidate(src, "f", CASES, limits, deny_read)


def test_plain_data_round_trips_including_arrays():
    out = run("import numpy as np\ndef f(x):\n    return x * 2, np.float32(1.5), {'k': [1, 2]}\n")
    assert out.ok, out.error
    arr, scalar, d = out.outputs[0]
    np.testing.assert_array_equal(arr, np.arange(4) * 2)
    assert scalar == 1.5 and d == {"k": [1, 2]}
    assert len(out.seconds) == 1 and out.seconds[0] >= 0


def test_infinite_loop_times_out_and_is_killed():
    start = time.monotonic()
    out = run("def f(x):\n    while True:\n        pass\n")
    assert (out.ok, out.failure) == (False, "timeout")
    assert time.monotonic() - start < FAST.wall_seconds + 2


def test_cpu_limit_stops_a_busy_candidate_before_the_wall_clock():
    out = run("def f(x):\n    while True:\n        pass\n",
              Limits(wall_seconds=20.0, cpu_seconds=1, memory_mb=1024))
    assert out.failure == "cpu_time"
    assert out.wall_seconds < 10


def test_allocating_10_gb_is_a_memory_failure():
    out = run("import numpy as np\ndef f(x):\n    return np.ones(10 * 2**30 // 8).sum()\n")
    assert out.failure == "memory"


def test_forking_repeatedly_is_refused():
    out = run("import os\ndef f(x):\n    while True:\n        os.fork()\n")
    assert out.failure == "forbidden"
    assert "os.fork" in out.error


@pytest.mark.parametrize("src", [
    "import subprocess\ndef f(x):\n    return subprocess.run(['true']).returncode\n",
    "import os\ndef f(x):\n    return os.system('true')\n",
    "import socket\ndef f(x):\n    return 1\n",
    "import ctypes\ndef f(x):\n    return 1\n",
])
def test_process_creation_sockets_and_native_calls_are_refused(src):
    assert run(src).failure == "forbidden"


def test_api_keys_in_the_controller_environment_do_not_reach_the_candidate(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    out = run("import os\ndef f(x):\n    return sorted(os.environ)\n")
    assert out.ok
    assert "OPENAI_API_KEY" not in out.outputs[0]
    leak = run("import os\ndef f(x):\n"
               "    return open(f'/proc/{os.getppid()}/environ').read()\n")
    assert leak.failure == "forbidden"


def test_writes_outside_scratch_and_reads_of_denied_paths_are_refused(tmp_path):
    target = tmp_path / "pwned"
    out = run(f"def f(x):\n    open({str(target)!r}, 'w').write('x')\n")
    assert out.failure == "forbidden" and not target.exists()
    secret = tmp_path / "archive" / "adrs.db"
    secret.parent.mkdir()
    secret.write_text("data")
    out = run(f"def f(x):\n    return open({str(secret)!r}).read()\n",
              deny_read=(str(secret.parent),))
    assert out.failure == "forbidden"
    ok = run("def f(x):\n    open('scratch.txt', 'w').write('fine')\n    return 1\n")
    assert ok.ok, ok.error


def test_exceptions_are_reported_in_one_line_with_the_line_number():
    out = run("def f(x):\n    y = 1\n    raise ValueError('bad\\nthing')\n")
    assert out.failure == "exception"
    assert out.error == "ValueError: bad thing (line 3)"


def test_syntax_errors_and_missing_entry_points_are_failures():
    assert run("def f(x) return 1").failure == "syntax_error"
    assert run("def g(x):\n    return 1\n").failure == "missing_entrypoint"


def test_unsupported_return_values_and_early_exit_are_failures():
    assert run("def f(x):\n    return object()\n").failure == "invalid_output"
    out = run("import os\ndef f(x):\n    os._exit(3)\n")
    assert out.failure == "crashed" and "code 3" in out.error


def test_printing_garbage_does_not_corrupt_the_reply():
    out = run("import sys\ndef f(x):\n    print('}{garbage' * 1000)\n"
              "    sys.stdout.write('\\x00\\xff')\n    return 7\n")
    assert out.ok and out.outputs == [7]


def test_oversized_reply_is_rejected():
    out = run("import numpy as np\ndef f(x):\n    return np.zeros(2**20)\n",
              Limits(wall_seconds=5.0, cpu_seconds=5, memory_mb=1024, reply_mb=1))
    assert out.failure == "output_limit"


def test_no_sandbox_process_is_left_behind():
    mine = os.getpid()
    run("import time\ndef f(x):\n    time.sleep(100)\n", Limits(wall_seconds=1.0, cpu_seconds=2))
    children = [p for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == mine]
    assert children == []


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
