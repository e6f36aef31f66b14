"""The Ray executor: a seeded run gives the same archive as the local pool."""

import pytest
from conftest import FIXTURES

from adrs.loop import Search
from adrs.runs import start_run

ray = pytest.importorskip("ray", reason="pip install 'adrs[ray]'")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def _archive(tmp_path, name, executor, problem):
    ctx = start_run(problem, name=name, db=None, archive=tmp_path, config_file=None,
                    overrides={"iterations": 30, "executor": executor})
    Search(ctx, progress=False).run()
    return [(r.iteration, r.syntactic_hash, r.status, r.score, r.functional_hash, r.failure)
            for r in ctx.store.history(ctx.run.id)]


@pytest.mark.parametrize("problem", [str(FIXTURES / "target_number"), "moe_expert_placement"])
def test_ray_and_the_local_pool_build_the_same_archive(tmp_path, problem):
    local = _archive(tmp_path, "local", "local", problem)
    remote = _archive(tmp_path, "ray", "ray", problem)
    assert remote == local
    assert any(r[4] for r in local)  # functional hashes went through the gate


def test_a_replayed_llm_run_is_the_same_on_ray_and_the_local_pool(tmp_path):
    from dataclasses import replace

    from adrs.mutate.fake_server import FakeOpenAIServer
    from adrs.runs import replay_run

    with FakeOpenAIServer() as server:
        ctx = start_run(str(FIXTURES / "target_number"), name="recorded", db=None,
                        archive=tmp_path, config_file=None, overrides={
                            "iterations": 16, "mutator": {"kind": "llm", "model": "fake",
                                                          "base_url": server.url}})
        Search(ctx, progress=False).run()
    archives = []
    for name, executor in (("pool", "local"), ("on-ray", "ray")):
        again = replay_run("recorded", name, db=None, archive=tmp_path)
        again.config = replace(again.config, executor=executor)
        Search(again, progress=False).run()
        archives.append([(r.iteration, r.syntactic_hash, r.status, r.score)
                         for r in again.store.history(again.run.id)])
    assert archives[0] == archives[1] and len(archives[0]) == 17


def test_ray_tasks_evaluate_in_warm_templates():
    from adrs import __version__
    from adrs.executors.ray import RayExecutor
    from adrs.problem import load_problem
    from adrs.sandbox import Limits, encode_cases

    executor = RayExecutor()
    try:
        folder = executor._folder(load_problem(FIXTURES / "target_number", "test"), ())
        task = executor._task.remote("def f(x):\n    return x + 1\n", "f",
                                     encode_cases([{"x": 1.0}]), Limits(), (), None, (),
                                     folder, (__version__, ()))
        out = ray.get(task)
    finally:
        executor.shutdown()
    assert out.ok and out.outputs == [2.0] and out.warm
