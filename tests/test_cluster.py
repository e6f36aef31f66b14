"""A real multi-node Ray cluster on this machine (tests/ray_nodes.py): the head runs
only the controller, two other raylets evaluate, in mount namespaces where the
problem folder does not exist. A node killed with SIGKILL mid-run loses no
iteration and costs no second LLM reply; a node that cannot sandbox is refused."""

import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FIXTURES
from sqlalchemy import create_engine

from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.runs import start_run
from adrs.status import format_status, run_status

ray = pytest.importorskip("ray", reason="pip install 'adrs[ray]'")
sys.path.insert(0, str(Path(__file__).parent))
from ray_nodes import ENV, LocalCluster, waiting_candidates  # noqa: E402
from test_problem_files import edit_once_stored  # noqa: E402

pytestmark = pytest.mark.slow
ROWS = ("select iteration, syntactic_hash, status, score, functional_hash, failure "
        "from candidates order by iteration")


@pytest.fixture(scope="module")
def head_only(tmp_path_factory):
    """A copy of the waiting problem in a folder that only the head has."""
    base = Path(tmp_path_factory.mktemp("head-only"))
    shutil.copytree(FIXTURES / "waiting_number", base / "waiting_number")
    return base


@pytest.fixture(scope="module")
def cluster(head_only, tmp_path_factory):
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    nodes = LocalCluster(tmp_path_factory.mktemp("ray-logs"))
    try:
        for _ in range(2):
            nodes.add_node(cpus=1, hide=(str(head_only),))
        ray.init(address=nodes.address, log_to_driver=False, configure_logging=False)
        nodes.wait_for(ray, cpus=2)
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


def _start(problem, tmp_path, name, executor, **overrides):
    return start_run(str(problem), name=name, db=None, archive=tmp_path, config_file=None,
                     overrides={"executor": executor, **overrides})


def _rows(ctx, sql=ROWS):
    with create_engine(ctx.store.url).connect() as conn:
        return conn.exec_driver_sql(sql).fetchall()


def _node_ids() -> dict[str, bool]:
    """Alive state of each node, by the first 8 hex digits of its id."""
    return {n["NodeID"][:8]: n["Alive"] for n in ray.nodes()}


def test_evaluations_run_on_the_other_nodes_from_a_folder_only_the_head_has(
        cluster, head_only, tmp_path):
    problem = head_only / "waiting_number"
    local = _start(problem, tmp_path, "local", "local", iterations=16)
    Search(local, progress=False).run()
    remote = _start(problem, tmp_path, "remote", "ray", iterations=16)
    Search(remote, progress=False).run()
    assert _rows(remote) == _rows(local)
    assert all(r[2] != "failed" for r in _rows(remote))  # the harness read wait.json
    where = [on for (on,) in _rows(remote, "select evaluated_on from candidates")]
    assert None not in where  # the initial program too: nothing evaluated on the head
    head = next(n["NodeID"][:8] for n in ray.nodes() if not n["Resources"].get("CPU"))
    used = {on.rsplit(":", 1)[1] for on in where}
    assert head not in used and len(used) == 2, used  # both evaluating nodes took work
    shown = format_status(run_status(remote.store, remote.store.get_run("remote")))
    per_node = [line for line in shown.splitlines() if line.startswith("node ")]
    assert len(per_node) == 2 and all(" evaluations (0 failed)" in x for x in per_node)


def test_a_folder_edited_mid_run_on_the_cluster_stops_the_run(cluster, tmp_path):
    problem = tmp_path / "waiting_number"
    shutil.copytree(FIXTURES / "waiting_number", problem)
    ctx = _start(problem, tmp_path, "edited", "ray", iterations=40)

    editor = edit_once_stored(ctx, problem / "wait.json", 3)
    with pytest.raises(UserError, match="changed during the run"):
        Search(ctx, progress=False).run()
    editor.join()


def test_a_node_killed_mid_run_loses_nothing_and_pays_no_llm_reply_twice(
        cluster, head_only, tmp_path, capfd):
    problem, iterations = head_only / "waiting_number", 24
    llm = {"kind": "llm", "model": "fake", "max_retries": 0}
    with FakeOpenAIServer() as server:
        calm = _start(problem, tmp_path, "calm", "local", iterations=iterations,
                      mutator={**llm, "base_url": server.url})
        Search(calm, progress=False).run()
    before = set(_node_ids())
    doomed = cluster.add_node(cpus=1, hide=(str(head_only),))
    cluster.wait_for(ray, cpus=3)
    (doomed_id,) = set(_node_ids()) - before
    with FakeOpenAIServer() as server:
        ctx = _start(problem, tmp_path, "stormy", "ray", iterations=iterations,
                     mutator={**llm, "base_url": server.url})
        run = threading.Thread(target=Search(ctx, progress=False).run)
        run.start()
        tree = _kill_while_it_evaluates(cluster, doomed)
        run.join(240)
        assert not run.is_alive()
        requests = len(server.requests)
    err = capfd.readouterr().err
    assert "an evaluation was lost with its node" in err, err[-3000:]  # and re-run
    assert ctx.store.get_run("stormy").status == "finished", err[-3000:]
    stormy, undisturbed = _rows(ctx), _rows(calm)
    differ = [(a, b) for a, b in zip(stormy, undisturbed, strict=False) if a != b]
    assert stormy == undisturbed, (len(stormy), len(undisturbed), differ[:5])
    assert requests == iterations  # one reply per iteration: none paid twice
    calls = _rows(ctx, "select count(*) from llm_calls")[0][0]
    assert calls == iterations
    time.sleep(1.0)  # every process of the killed node died with it, sandboxes included
    assert not [p for p in tree if os.path.exists(f"/proc/{p}")]


def _kill_while_it_evaluates(cluster, node, timeout=120.0) -> list[int]:
    """SIGKILL `node` while a candidate's evaluation runs on it (its sandbox asleep in
    the problem's 0.3 s wait); the pids killed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if waiting_candidates(node.pid):
            return cluster.kill(node)
        time.sleep(0.01)
    raise AssertionError("no evaluation ever ran on the new node")


def test_a_node_that_cannot_sandbox_is_refused_with_its_name(tmp_path):
    """A cluster of its own: one node whose PATH has no bubblewrap, and a run that asks
    for bubblewrap: the run stops, naming the node and the fix."""
    if shutil.which("bwrap") is None:
        pytest.skip("needs bubblewrap on the controller (apt install bubblewrap)")
    ray.shutdown()  # the module's cluster: reconnected by nothing after this test
    saved = os.environ.get("PATH", "")
    lone = LocalCluster(tmp_path / "logs")
    try:
        os.environ["PATH"] = os.path.dirname(sys.executable)  # the node's: no bwrap
        lone.env = {**lone.env, "PATH": os.environ["PATH"]}
        lone.add_node(cpus=1)
        os.environ["PATH"] = saved
        ray.init(address=lone.address, log_to_driver=False, configure_logging=False)
        lone.wait_for(ray, cpus=1)
        ctx = _start(FIXTURES / "target_number", tmp_path, "refused", "ray", iterations=4,
                     sandbox={"mode": "bwrap"})
        with pytest.raises(UserError, match=r"node \S+:[0-9a-f]{8} cannot sandbox candidates"
                                            r": .*bubblewrap.*apt install bubblewrap"):
            Search(ctx, progress=False).run()
    finally:
        os.environ["PATH"] = saved
        ray.shutdown()
        lone.shutdown()


def test_a_node_without_cgroups_is_refused_with_its_name(tmp_path):
    """A node whose /sys/fs/cgroup is empty (covered in its mount namespace), under a
    controller that has cgroups: its limits and CPU times would differ, so it refuses."""
    from adrs.sandbox import layers

    if not layers("auto").cgroups.names():
        pytest.skip("the controller itself has no cgroup controllers here")
    ray.shutdown()
    lone = LocalCluster(tmp_path / "logs")
    try:
        lone.add_node(cpus=1, hide=("/sys/fs/cgroup",))
        ray.init(address=lone.address, log_to_driver=False, configure_logging=False)
        lone.wait_for(ray, cpus=1)
        ctx = _start(FIXTURES / "target_number", tmp_path, "no-cgroups", "ray", iterations=4)
        with pytest.raises(UserError, match=r"node \S+:[0-9a-f]{8} has no cgroup controller "
                                            r"for .*memory.*docs/cluster.md"):
            Search(ctx, progress=False).run()
    finally:
        ray.shutdown()
        lone.shutdown()
