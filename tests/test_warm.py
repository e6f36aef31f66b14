"""The warm sandbox: candidates forked from a template, never seeing each other.

Each test runs candidates one after another on the same template (one evaluation
slot), so the second is a fork of the template the first one's fork came from.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox_support import backends, encode_cases, run

from adrs.config import resolve
from adrs.loop import Search
from adrs.runs import start_run
from adrs.sandbox import Limits, run_candidate, warm

pytestmark = pytest.mark.parametrize("mode", backends())
ROOT = Path(__file__).resolve().parent.parent

# Leaves every kind of state behind it can: a file in its scratch, a changed module
# global, a thread and a child process still running, a shared memory segment, and
# a descriptor table it has filled.
LITTERER = '''
import os, subprocess, threading, time, sys
import numpy

def f(x):
    with open("/tmp/left-behind", "w") as fh:
        fh.write("mine")
    with open("/dev/shm/left-behind", "w") as fh:
        fh.write("mine")
    numpy.adrs_left_behind = True
    sys.modules["json"].adrs_left_behind = True
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    subprocess.Popen(["sleep", "60"], start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        time.sleep(60)
        os._exit(0)
    held = []
    try:
        while True:
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    return len(held)
'''

# Reports what it can find of anything earlier.
LOOKER = '''
import os, threading, sys
import numpy

def f(x):
    processes = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    fd = os.open("/dev/null", os.O_RDONLY)
    os.close(fd)
    return {"tmp": sorted(os.listdir("/tmp")), "shm": sorted(os.listdir("/dev/shm")),
            "numpy_global": hasattr(numpy, "adrs_left_behind"),
            "json_global": hasattr(sys.modules.get("json"), "adrs_left_behind"),
            "threads": threading.active_count(), "processes": processes,
            "me": os.getpid(), "first_free_fd": fd, "random": float(numpy.random.random())}
'''


def test_nothing_one_candidate_leaves_is_seen_by_the_next(mode):
    before = run(LOOKER, mode)  # what a candidate sees with nobody before it
    litter = run(LITTERER, mode)
    assert litter.ok and litter.warm and litter.outputs[0] > 100, litter
    first, second = run(LOOKER, mode), run(LOOKER, mode)
    assert before.warm and first.warm and second.warm
    fresh, seen = before.outputs[0], first.outputs[0]
    # /tmp holds only the mount points of bound folders that lie under /tmp (a venv or
    # a checkout there), as for every candidate; nothing the litterer wrote
    assert "left-behind" not in seen["tmp"] and seen["shm"] == []
    assert seen["tmp"] == fresh["tmp"]
    assert not seen["numpy_global"] and not seen["json_global"]
    assert seen["threads"] == 1
    assert seen["processes"] == [1, seen["me"]]  # its reaper and itself, nobody else
    assert seen["first_free_fd"] == fresh["first_free_fd"]
    # numpy's global generator is seeded afresh per candidate, as in a new interpreter
    assert second.outputs[0]["random"] != seen["random"]


def test_the_same_template_serves_one_candidate_after_another(mode):
    outs = [run("def f(x):\n    return x + 1\n", mode) for _ in range(4)]
    assert all(o.ok and o.warm and o.outputs == [2.0] for o in outs)
    assert warm.POOL.count() == 1  # one slot, one template


def test_a_candidate_that_kills_what_it_can_harms_no_later_one(mode):
    killer = ("import os, signal\n\ndef f(x):\n"
              "    for pid in range(1, 400):\n"
              "        try:\n            os.kill(pid, signal.SIGKILL)\n"
              "        except OSError:\n            pass\n    return 1\n")
    assert run(killer, mode).failure in ("crashed", None)
    after = run("def f(x):\n    return x * 3\n", mode)
    assert after.ok and after.warm and after.outputs == [3.0] and not after.retried


def _templates() -> list[int]:
    """Every process of a warm template (the template and its forks share its command)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if b'{"template"' in fh.read():
                    found.append(int(entry))
        except (OSError, ValueError):
            pass
    return found


def test_a_template_killed_mid_run_loses_no_candidate(mode):
    assert run("def f(x):\n    return 0\n", mode).warm  # a template is there
    slow = "import time\n\ndef f(x):\n    time.sleep(1.0)\n    return x + 1\n"

    def kill_templates():
        time.sleep(0.4)
        for pid in _templates():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    killer = threading.Thread(target=kill_templates)
    killer.start()
    out = run(slow, mode)
    killer.join()
    assert out.ok and out.outputs == [2.0] and out.retried, out


def test_a_template_that_cannot_be_made_falls_back_to_a_cold_start_once(mode, capfd):
    limits = Limits(mode=mode, wall_seconds=10.0)
    src = "def f(x):\n    return 1\n"
    cases = encode_cases([{"x": 1}])
    outs = [run_candidate(src, "f", cases, limits, preload=("no_such_module_here",))
            for _ in range(2)]
    # the cold child fails as it always did: the missing module is the candidate's
    # failure, with its name; the template's failure was said once
    assert all(not o.ok and not o.warm and "no_such_module_here" in o.error for o in outs)
    said = capfd.readouterr().err
    assert said.count("no warm sandbox") == 1 and "no_such_module_here" in said


def test_cold_when_asked(mode, monkeypatch):
    assert not run("def f(x):\n    return 1\n", mode, warm=False).warm
    monkeypatch.setenv("ADRS_WARM", "0")  # an input to the configuration, read there
    assert resolve().sandbox.warm is False
    assert not run("def f(x):\n    return 1\n", mode, warm=resolve().sandbox.warm).warm


def test_a_preloaded_module_is_already_there_when_the_candidate_starts(mode):
    pytest.importorskip("scipy")
    src = ("import sys\n\ndef f(x):\n    return 'scipy.optimize' in sys.modules\n")
    cases = encode_cases([{"x": 1}])
    limits = Limits(mode=mode, wall_seconds=30.0)
    outs = [run_candidate(src, "f", cases, limits, preload=("scipy.optimize",))
            for _ in range(2)]
    assert [o.outputs for o in outs] == [[True], [True]] and all(o.warm for o in outs)


def _archive(tmp_path, name, problem, iterations, warm_on):
    ctx = start_run(str(problem), name=name, db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": iterations, "workers": 2,
                               "sandbox": {"warm": warm_on}})
    Search(ctx, progress=False).run()
    return [(r.iteration, r.syntactic_hash, r.status, r.score, r.functional_hash)
            for r in ctx.store.history(ctx.run.id)]


@pytest.mark.parametrize("name", ["moe_expert_placement", "online_bin_packing"])
def test_a_seeded_run_is_the_same_warm_or_cold(tmp_path, monkeypatch, mode, name):
    monkeypatch.setenv("ADRS_SANDBOX", mode)
    problem = ROOT / "problems" / name
    assert _archive(tmp_path, "warm", problem, 12, True) == \
        _archive(tmp_path, "cold", problem, 12, False)


def test_the_template_is_gone_with_its_process(mode, tmp_path):
    """A controller killed -9 leaves no template running (they die with it)."""
    script = tmp_path / "controller.py"
    script.write_text(
        "import sys, time\nfrom adrs.sandbox import Limits, encode_cases, run_candidate\n"
        f"out = run_candidate('def f(x):\\n    return 1\\n', 'f', encode_cases([{{'x': 1}}]),"
        f" Limits(mode={mode!r}))\nprint(out.warm, flush=True)\ntime.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "True"
    mine = [p for p in _templates() if _ancestor(p, proc.pid)]
    assert mine
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{p}") for p in mine) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in mine if os.path.exists(f"/proc/{p}")]


def _ancestor(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def test_a_job_whose_groups_could_not_be_sent_ahead_brings_them_itself(mode, monkeypatch):
    assert run("def f(x):\n    return 0\n", mode).warm
    template = next(t for idle in warm.POOL.idle.values() for t in idle)

    def fails(make):
        raise OSError("injected: the groups could not be sent")

    monkeypatch.setattr(template, "_send_group", fails)
    outs = [run("def f(x):\n    return x + 1\n", mode) for _ in range(3)]
    assert all(o.ok and o.warm and o.outputs == [2.0] for o in outs), outs


def test_the_next_candidate_joins_its_cgroups_while_the_one_before_runs(mode):
    """Joining cgroups is slow in cgroup v1: the spare that will run the next job joins
    them while the current job runs, not after it, so no candidate waits for it."""
    assert run("def f(x):\n    return 0\n", mode).warm
    template = next(t for kind, idle in warm.POOL.idle.items() if kind[0] == mode
                    for t in idle)
    if not template.groups:
        pytest.skip("no cgroups on this machine")
    seen = []
    slow = threading.Thread(target=run, args=("import time\ndef f(x):\n"
                                              "    time.sleep(1.5)\n    return x\n", mode))
    slow.start()
    while slow.is_alive():
        seen.append([_members(g) for g in template.groups])
        time.sleep(0.05)
    slow.join()
    assert any(len(groups) == 2 and all(groups) for groups in seen), seen


def _members(group) -> bool:
    return any(Path(f).read_text().split() for f in group.procs_files())
