"""Searches against the fake OpenAI-compatible server over HTTP: faults, ensembles,
the circuit breaker, cost budgets, and replay with the network off."""

import time

import pytest
from conftest import FIXTURES, network_off

from adrs.cli import main
from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.runs import open_run, replay_run, start_run
from adrs.status import run_status

ITERATIONS = 12
# per call: ample for a good reply on a loaded 2-core machine (at 0.5 s one timed out in
# CI, a sixth failed call); the hang fault outlasts it
TIMEOUT = 3.0


def _llm(url, **kw):
    return {"kind": "llm", "model": "fake", "base_url": url, "max_retries": 0,
            "timeout_seconds": TIMEOUT, "concurrency": 4, **kw}


def _run(tmp_path, name, mutator, **overrides):
    ctx = start_run(str(FIXTURES / "target_number"), name=name, db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": ITERATIONS, "mutator": mutator,
                                                 "search": {"in_flight": 4}, **overrides})
    Search(ctx, progress=False).run()
    return ctx


def _rows(ctx, sql):
    with ctx.store.engine.connect() as conn:
        return conn.exec_driver_sql(sql, ).fetchall()


@pytest.mark.parametrize("fault, reason", [
    ("rate_limit", "llm_rate_limited"), ("server_error", "llm_server_error"),
    ("hang", "llm_timeout"), ("truncated", "llm_connection"),
    ("malformed", "llm_bad_response"), ("no_code", "no_code"), ("bad_diff", "diff_failed"),
])
def test_each_fault_mode_is_survived_and_counted_by_reason(tmp_path, fault, reason):
    with FakeOpenAIServer(fault=fault, fault_every=3, hang_seconds=2 * TIMEOUT) as server:
        ctx = _run(tmp_path, fault, _llm(server.url, diff=1.0 if fault == "bad_diff" else 0.6))
    st = run_status(ctx.store, ctx.run)
    assert ctx.run.status == "finished"
    iterations = [i for (i,) in _rows(ctx, "select iteration from candidates order by 1")]
    assert iterations == list(range(ITERATIONS + 1))  # none lost, none twice
    assert len(server.requests) == ITERATIONS == _rows(ctx, "select count(*) from llm_calls")[0][0]
    assert server.faults_served == ITERATIONS // 3
    failed = st["failures"].get(f"mutation:{reason}", 0)
    if reason.startswith("llm_"):  # only the fault makes these
        assert failed == server.faults_served
        assert st["models"]["fake"]["failed_calls"] == server.faults_served
    else:  # a plausible model also sometimes answers without a usable edit
        assert failed >= server.faults_served
    assert st["by_status"].get("ok", 0) >= 2  # the rest still produced scored children


def test_transient_faults_are_retried_and_do_not_fail_mutations(tmp_path):
    # three faults in all, so no call can meet more than its three retries allow
    failures = [(429, {"Retry-After": "0.05"}), (500, {}), (429, {"retry-after-ms": "20"})]
    with FakeOpenAIServer(failures=failures) as server:
        ctx = _run(tmp_path, "retry", _llm(server.url, max_retries=3))
    st = run_status(ctx.store, ctx.run)
    assert len(server.requests) == ITERATIONS + 3
    assert not any(k.startswith("mutation:llm_") for k in st["failures"])


def test_edit_formats_follow_their_probabilities(tmp_path):
    with FakeOpenAIServer() as server:
        ctx = _run(tmp_path, "formats", _llm(server.url, diff=0.5, crossover=0.25),
                   iterations=40)
    kinds = [m.split("(")[-1].rstrip(")") for (m,) in
             _rows(ctx, "select mutation from candidates where iteration > 0")]
    counts = {k: kinds.count(k) for k in ("diff", "rewrite", "crossover")}
    assert all(n >= 4 for n in counts.values()), counts
    assert sum(counts.values()) == 40
    assert _rows(ctx, "select count(*) from candidates where mutation like '%crossover%' "
                      "and other_parent_id is not null")[0][0] == counts["crossover"]


def test_an_ensemble_splits_requests_by_weight(tmp_path):
    with FakeOpenAIServer() as server:
        ctx = _run(tmp_path, "ensemble", _llm(server.url, models={"big": 3, "small": 1}),
                   iterations=40)
    models = [r["model"] for r in server.requests]
    assert set(models) == {"big", "small"} and models.count("big") > 2 * models.count("small")
    usage = run_status(ctx.store, ctx.run)["models"]
    assert usage["big"]["calls"] + usage["small"]["calls"] == 40


def test_the_bandit_moves_traffic_to_the_model_that_improves_scores(tmp_path):
    with FakeOpenAIServer(fault="no_code", fault_every=1, fault_models={"useless"}) as server:
        _run(tmp_path, "bandit", _llm(server.url, models={"useless": 1, "useful": 1},
                                      bandit=True), iterations=40)
    models = [r["model"] for r in server.requests]
    assert models.count("useful") > 2 * models.count("useless") >= 2


def test_the_breaker_pauses_a_failing_model_and_says_so(tmp_path, capfd):
    with FakeOpenAIServer(fault="server_error", fault_every=1, fault_models={"flaky"}) as server:
        _run(tmp_path, "breaker", _llm(server.url, models={"flaky": 1, "steady": 1},
                                       breaker_failures=2, breaker_seconds=600, concurrency=1),
             search={"in_flight": 1}, iterations=16)
    models = [r["model"] for r in server.requests]
    assert models.count("flaky") == 2 and models.count("steady") == 14
    assert "model flaky failed 2 calls in a row" in capfd.readouterr().err


def test_a_cost_budget_stops_within_one_call_of_the_limit(tmp_path):
    price = {"fake": [1e6, 0.0]}  # 1 USD per prompt token
    with FakeOpenAIServer() as server:
        ctx = _run(tmp_path, "budget", _llm(server.url, prices=price), max_cost=3000.0,
                   iterations=200, search={"in_flight": 8})
    (calls, total, biggest), = _rows(ctx, "select count(*), sum(cost), max(cost) from llm_calls")
    assert ctx.run.status == "stopped" and 8 < calls < 200
    assert abs(total - 3000.0) <= biggest, (total, biggest)


def test_replay_reproduces_candidates_and_scores_with_the_network_off(tmp_path, monkeypatch,
                                                                     capsys):
    with FakeOpenAIServer(fault="server_error", fault_every=5) as server:
        _run(tmp_path, "recorded", _llm(server.url, diff=0.5, crossover=0.2), iterations=20)

    network_off(monkeypatch)
    assert main(["replay", "recorded", "--into", "again", "--archive", str(tmp_path),
                 "--quiet"]) == 0
    assert "replay: 21/21 candidates identical to run recorded" in capsys.readouterr().out
    store, again, _ = open_run("again", db=None, archive=tmp_path)
    src_store, recorded, _ = open_run("recorded", db=None, archive=tmp_path)
    a, b = store.history(recorded.id), store.history(again.id)
    assert [(r.iteration, r.syntactic_hash, r.status, r.score, r.failure) for r in a] == \
        [(r.iteration, r.syntactic_hash, r.status, r.score, r.failure) for r in b]
    assert any(r.failure == "mutation:llm_server_error" for r in b)
    assert store.best(again.id)[0].score == src_store.best(recorded.id)[0].score
    assert src_store.get_run("again") is None  # the original archive is untouched


def test_replay_refuses_a_run_without_llm_calls(tmp_path, capsys):
    _run(tmp_path, "offline", {"kind": "offline"}, iterations=2)
    assert main(["replay", "offline", "--into", "x", "--archive", str(tmp_path)]) == 2
    assert "made no LLM calls" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="no archive at .*missing"):
        replay_run("missing", "y", db=None, archive=tmp_path)


def test_a_reply_is_recorded_when_it_arrives_not_when_its_turn_comes(make_ctx, target_problem):
    """A crash while an early call is slow must not lose the later calls already paid for."""
    import threading
    from concurrent.futures import Future

    from adrs.mutate import Mutation, Mutator
    from adrs.mutate.llm import ModelCall

    release = threading.Event()

    class OutOfOrder(Mutator):
        def mutate(self, request, rng):
            return self.submit(request, rng).result()

        def submit(self, request, rng):
            i = request.iteration
            call = ModelCall("m", f"prompt {i}", "```python\ndef guess(scale):\n    return "
                           f"{i}.0\n```", 10, 5, iteration=i)
            future = Future()
            done = lambda: future.set_result(Mutation(  # noqa: E731
                f"def guess(scale):\n    return {i}.0\n", "m", call=call))
            if i == 1:  # the first call is slow
                threading.Thread(target=lambda: (release.wait(30), done())).start()
            else:
                done()
            return future

    ctx = make_ctx(target_problem, iterations=8, search={"in_flight": 8})
    search = Search(ctx, mutator=OutOfOrder(), progress=False)
    runner = threading.Thread(target=search.run)
    runner.start()
    time.sleep(1.0)
    with ctx.store.engine.connect() as conn:
        early = conn.exec_driver_sql("select iteration from llm_calls order by 1").fetchall()
        children = conn.exec_driver_sql("select count(*) from candidates").scalar()
    release.set()
    runner.join(30)
    assert [i for (i,) in early] == list(range(2, 9)) and children == 1  # only the initial
    assert _rows(ctx, "select count(*) from llm_calls")[0][0] == 8
    linked = _rows(ctx, "select c.iteration, l.iteration from candidates c "
                        "join llm_calls l on l.id = c.llm_call_id")
    assert sorted(linked) == [(i, i) for i in range(1, 9)]


def test_prompts_leave_out_measured_times_so_they_repeat(make_ctx, moe_problem):
    with FakeOpenAIServer() as server:
        ctx = make_ctx(moe_problem, iterations=4, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url})
        Search(ctx, progress=False).run()
    prompts = [m["content"] for r in server.requests for m in r["messages"]]
    assert prompts and all("call_ms" not in p for p in prompts)
    assert any("balancedness" in p for p in prompts)  # the other metrics are still shown
