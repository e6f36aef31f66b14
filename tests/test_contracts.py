"""The Mutator and Executor bases: what every implementation gets, what the loop relies on."""

import threading

import numpy as np
import pytest

from adrs.evaluation import run_here
from adrs.executors import Executor
from adrs.loop import Search
from adrs.mutate import Mutation, MutationRequest, Mutator, Parent

REQUEST = MutationRequest("p", Parent(1, "def guess(scale):\n    return 1.0\n", 1.0))


class Threaded(Mutator):
    """Waits on I/O (the default): its mutate runs off the caller's thread."""

    def __init__(self):
        self.threads_seen = set()

    def mutate(self, request, rng):
        self.threads_seen.add(threading.current_thread().name)
        return Mutation(f"def guess(scale):\n    return {float(rng.random())}\n", "threaded")


class Inline(Threaded):
    waits_on_io = False


def test_an_io_bound_mutator_runs_in_its_own_threads_and_a_cpu_bound_one_inline():
    threaded, inline = Threaded(), Inline()
    for m in (threaded, inline):
        futures = [m.submit(REQUEST, np.random.default_rng(i)) for i in range(6)]
        assert all(f.result().source for f in futures)
        m.close()
    assert all(name.startswith("adrs-mutate") for name in threaded.threads_seen)
    assert inline.threads_seen == {threading.current_thread().name}


def test_close_is_safe_twice_and_a_closed_mutator_works_again():
    m = Threaded()
    m.submit(REQUEST, np.random.default_rng(0)).result()
    m.close(cancel=True)
    m.close()
    assert m.submit(REQUEST, np.random.default_rng(1)).result().source


def test_the_optional_parts_do_nothing_by_default():
    m = Inline()
    m.observe("model", 0.5, 0.01)
    m.reuse({1: object()})
    assert m.diverged() == []
    assert m.submit(REQUEST, np.random.default_rng(0)).result().description == "threaded"


def test_the_loop_sets_the_threads_from_the_config(make_ctx, target_problem):
    m = Threaded()
    ctx = make_ctx(target_problem, iterations=4, mutator={"concurrency": 3})
    Search(ctx, mutator=m, progress=False).run()
    assert m.threads == 3 and m.threads_seen


def test_an_object_that_is_not_a_mutator_is_refused_with_the_fix(make_ctx, target_problem):
    class DuckTyped:
        def mutate(self, request, rng):
            return Mutation("def guess(scale):\n    return 1.0\n", "duck")

    with pytest.raises(TypeError, match="subclass adrs.mutate.Mutator"):
        Search(make_ctx(target_problem, iterations=2), mutator=DuckTyped(), progress=False)


class Counting(Executor):
    """Runs on this machine, as the local pool does, counting the sandboxed runs."""

    def __init__(self):
        super().__init__(2)
        self.runs = []

    def runner(self):
        def run(problem, source, *rest):
            self.runs.append(source)
            return run_here(problem, source, *rest)
        return run


def test_every_sandboxed_run_goes_to_the_executors_runner(make_ctx, target_problem):
    executor = Counting()
    ctx = make_ctx(target_problem, iterations=5)
    Search(ctx, executor=executor, progress=False).run()
    rows = [ctx.store.get_candidate(r.id) for r in ctx.store.history(ctx.run.id)]
    evaluated = {c.source for c in rows
                 if c.status != "duplicate" and not (c.failure or "").startswith("mutation:")}
    assert len(evaluated) > 1 and evaluated <= set(executor.runs)


def test_an_object_that_is_not_an_executor_is_refused_with_the_fix(make_ctx, target_problem):
    class DuckTyped:
        def submit(self, fn, *args):
            raise AssertionError("never called")

    with pytest.raises(TypeError, match="subclass adrs.executors.Executor"):
        Search(make_ctx(target_problem, iterations=2), executor=DuckTyped(), progress=False)
