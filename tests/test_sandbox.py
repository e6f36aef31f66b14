"""The sandbox runs ordinary candidates faithfully, and turns every broken one into a
recorded failure with a reason, under every kernel boundary."""

import shutil
import time

import numpy as np
import pytest
from sandbox_support import backends, fresh_layers, run

from adrs.config import resolve
from adrs.errors import UserError
from adrs.sandbox import Limits, confine, encode_cases, run_candidate

CASES = encode_cases([{"x": np.arange(4)}])


@pytest.mark.parametrize("mode", backends())
def test_plain_data_round_trips_including_arrays(mode):
    out = run("import numpy as np\ndef f(x):\n    return x * 2, np.float32(1.5), {'k': [1, 2]}\n",
              mode, cases=CASES)
    assert out.ok, out.error
    arr, scalar, d = out.outputs[0]
    np.testing.assert_array_equal(arr, np.arange(4) * 2)
    assert scalar == 1.5 and d == {"k": [1, 2]}
    assert len(out.seconds) == 1 and out.seconds[0] >= 0


@pytest.mark.parametrize("mode", backends())
def test_infinite_loop_times_out_and_is_killed(mode):
    start = time.monotonic()
    out = run("def f(x):\n    while True:\n        pass\n", mode, wall_seconds=2.0)
    assert (out.ok, out.failure) == (False, "timeout")
    assert time.monotonic() - start < 2.0 + 2


@pytest.mark.parametrize("mode", backends())
def test_cpu_limit_stops_a_busy_candidate_before_the_wall_clock(mode):
    out = run("def f(x):\n    while True:\n        pass\n", mode, wall_seconds=20.0, cpu_seconds=1)
    assert out.failure == "cpu_time" and out.wall_seconds < 10


@pytest.mark.parametrize("mode", backends())
def test_allocating_10_gb_is_a_memory_failure(mode):
    out = run("import numpy as np\ndef f(x):\n    return np.ones(10 * 2**30 // 8).sum()\n", mode)
    assert out.failure == "memory"


@pytest.mark.parametrize("mode", backends())
def test_exceptions_are_reported_in_one_line_with_the_line_number(mode):
    out = run("def f(x):\n    y = 1\n    raise ValueError('bad\\nthing')\n", mode)
    assert out.failure == "exception"
    assert out.error == "ValueError: bad thing (line 3)"


@pytest.mark.parametrize("mode", backends())
def test_syntax_errors_missing_entry_points_and_early_exits_are_failures(mode):
    assert run("def f(x) return 1", mode).failure == "syntax_error"
    assert run("def g(x):\n    return 1\n", mode).failure == "missing_entrypoint"
    assert run("def f(x):\n    return object()\n", mode).failure == "invalid_output"
    out = run("import os, sys\ndef f(x):\n    print('last words', file=sys.stderr)\n"
              "    sys.stderr.flush()\n    os._exit(3)\n", mode)
    assert out.failure == "crashed" and "code 3" in out.error and "last words" in out.error


@pytest.mark.parametrize("mode", backends())
def test_printing_garbage_does_not_corrupt_the_reply(mode):
    out = run("import sys\ndef f(x):\n    print('}{garbage' * 1000)\n"
              "    sys.stdout.write('\\x00\\xff')\n    return 7\n", mode)
    assert out.ok and out.outputs == [7] and "}{garbage" in out.log


@pytest.mark.parametrize("mode", backends())
def test_module_level_dataclasses_and_future_annotations_work(mode):
    src = ("from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
           "@dataclass\nclass P:\n    a: int\n    b: list[int]\n\n"
           "def f(x):\n    return P(2, [3]).a\n")
    assert run(src, mode).outputs == [2]


@pytest.mark.parametrize("mode", backends())
def test_probes_then_the_gate_decides(mode):
    src = "def f(x):\n    return x + 1\n"
    probes = encode_cases([{"x": 1}, {"x": "s"}])
    seen = []
    limits = Limits(mode=mode, wall_seconds=10.0)
    stop = run_candidate(src, "f", encode_cases([{"x": 5}]), limits, probes=probes,
                         gate=lambda outs: seen.append(outs) or False)
    assert stop.stopped and seen == [[2, {"__error__": "TypeError"}]]
    go = run_candidate(src, "f", encode_cases([{"x": 5}]), limits, probes=probes,
                       gate=lambda outs: True)
    assert go.ok and go.outputs == [6] and go.probe_outputs == seen[0]


# --- the real scientific stack, subprocesses and compilers inside the box ------------------

STACK = {
    "scipy": "from scipy.optimize import minimize_scalar\n"
             "def f(x):\n    return round(minimize_scalar(lambda t: (t - 2) ** 2).x, 3)\n",
    "pandas": "import pandas as pd\n"
              "def f(x):\n    return float(pd.DataFrame({'a': [1, 2, 3]})['a'].sum())\n",
    "networkx": "import networkx as nx\n"
                "def f(x):\n    return nx.shortest_path_length(nx.path_graph(5), 0, 4)\n",
    "sympy": "import sympy\ndef f(x):\n    t = sympy.Symbol('t')\n"
             "    return int(sympy.integrate(2 * t, (t, 0, 3)))\n",
    "matplotlib": "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                  "def f(x):\n    plt.plot([1, 2])\n    plt.savefig('/tmp/p.png')\n"
                  "    return len(open('/tmp/p.png', 'rb').read()) > 100\n",
    "subprocess": "import subprocess, sys\ndef f(x):\n    return subprocess.run([sys.executable, "
                  "'-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip()\n",
    "process pool": "from concurrent.futures import ProcessPoolExecutor\n"
                    "def sq(v):\n    return v * v\n"
                    "def f(x):\n    with ProcessPoolExecutor(2) as pool:\n"
                    "        return sum(pool.map(sq, range(4)))\n",
}
LIBRARIES = ("scipy", "pandas", "networkx", "sympy", "matplotlib")
EXPECTED = {"scipy": 2.0, "pandas": 6.0, "networkx": 4, "sympy": 9, "matplotlib": True,
            "subprocess": "42", "process pool": 14}


@pytest.mark.parametrize("mode", backends())
@pytest.mark.parametrize("name", STACK)
def test_the_scientific_stack_works_inside(mode, name):
    if name in LIBRARIES:
        pytest.importorskip(name)
    out = run(STACK[name], mode, wall_seconds=60.0, memory_mb=2048)
    assert out.ok and out.outputs == [EXPECTED[name]], out


@pytest.mark.parametrize("mode", backends())
def test_a_c_program_can_be_compiled_and_run(mode):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    src = ("import subprocess\ndef f(x):\n"
           "    open('/tmp/a.c', 'w').write('#include <stdio.h>\\n'\n"
           "                                'int main(){printf(\"%d\", 6*7);}')\n"
           "    subprocess.run(['cc', '/tmp/a.c', '-o', '/tmp/a'], check=True)\n"
           "    return subprocess.run(['/tmp/a'], capture_output=True, text=True).stdout\n")
    out = run(src, mode, wall_seconds=60.0)
    assert out.ok and out.outputs == ["42"], out


@pytest.mark.parametrize("lib", ["torch", "jax"])
@pytest.mark.parametrize("mode", backends())
def test_torch_and_jax_compute_inside_when_installed(mode, lib):
    pytest.importorskip(lib)
    src = {"torch": "import torch\ndef f(x):\n    return float(torch.arange(4.0).sum())\n",
           "jax": "import jax.numpy as jnp\ndef f(x):\n    return float(jnp.arange(4.0).sum())\n"}
    out = run(src[lib], mode, wall_seconds=120.0, memory_mb=4096, max_processes=128)
    assert out.ok and out.outputs == [6.0], out


# --- which boundary, and refusing when there is none ----------------------------------------

def test_without_bubblewrap_on_path_auto_uses_adrs_own_namespaces(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no bwrap
    fresh_layers()
    try:
        assert confine.layers("auto").mode == "jail"
        out = run("import os\ndef f(x):\n    return os.getuid()\n", "auto")
        assert out.ok and out.outputs[0] != 0
    finally:
        fresh_layers()


def test_no_boundary_refuses_unless_none_is_asked_for(monkeypatch):
    monkeypatch.setattr(confine, "_working_bwrap", lambda: None)
    monkeypatch.setattr(confine, "_jail_works", lambda: False)
    fresh_layers()
    try:
        with pytest.raises(confine.SandboxUnavailable, match="--sandbox none"):
            run("def f(x):\n    return 1\n", "auto")
        out = run("def f(x):\n    return 1\n", "none")
        assert out.ok and out.outputs == [1]
    finally:
        fresh_layers()


def test_an_unknown_mode_names_the_choices(monkeypatch):
    with pytest.raises(confine.UserError, match="auto, bwrap, jail, none"):
        confine.layers("basic")
    monkeypatch.setenv("ADRS_SANDBOX", "basic")
    with pytest.raises(UserError, match=r"ADRS_SANDBOX.*'sandbox.mode' must be one of auto, "
                       "bwrap, jail, none"):
        resolve()


def test_the_environment_is_a_layer_of_the_configuration(monkeypatch):
    """ADRS_SANDBOX and ADRS_WARM sit above a config file and below flags; nothing but
    the configuration reads them, so a call given Limits is never overridden."""
    monkeypatch.setenv("ADRS_SANDBOX", "jail")
    monkeypatch.setenv("ADRS_WARM", "0")
    cfg = resolve({"sandbox": {"mode": "bwrap", "warm": True, "memory_mb": 99}})
    assert (cfg.sandbox.mode, cfg.sandbox.warm, cfg.sandbox.memory_mb) == ("jail", False, 99)
    assert resolve(flags={"sandbox": {"mode": "none"}}).sandbox.mode == "none"
    monkeypatch.setenv("ADRS_WARM", "maybe")
    with pytest.raises(UserError, match="ADRS_WARM must be 0 or 1"):
        resolve()
    monkeypatch.setenv("ADRS_WARM", "1")
    monkeypatch.setenv("ADRS_SANDBOX", "none")  # would be unsafe, if anything read it here
    out = run("import os\ndef f(x):\n    return [p for p in os.listdir('/proc') if "
              "p.isdigit()]\n", "jail")
    assert out.ok and len(out.outputs[0]) <= 4  # a PID namespace: the jail its Limits said


def test_a_sandbox_that_cannot_start_is_a_failure_not_a_crash(monkeypatch):
    import subprocess

    from sandbox_support import leftover_groups

    def no_fork(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    confine.layers("jail")  # probed before fork starts failing
    monkeypatch.setattr(subprocess, "Popen", no_fork)
    out = run("def f(x):\n    return 1\n", "jail")
    assert (out.ok, out.failure) == (False, "sandbox_error") and "temporarily" in out.error
    assert leftover_groups() == []
