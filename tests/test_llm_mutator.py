"""The LLM mutator against a real HTTP server speaking the OpenAI protocol."""

import numpy as np
import pytest

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate import MutationRequest, Parent, make_mutator
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.status import run_status

PARENT = ("# EVOLVE-BLOCK-START\ndef guess(scale):\n    return 0.5 * scale + 1.0\n"
          "# EVOLVE-BLOCK-END\n")
BETTER = "Try this:\n```python\ndef guess(scale):\n    return 3.7\n```\n"


def _mutator(url, **kw):
    cfg = MutatorConfig(**{"kind": "llm", "model": "fake-model", "base_url": url,
                           "max_retries": 3, "diff": 0.0, "crossover": 0.0, **kw})
    return make_mutator(cfg)


def _request():
    return MutationRequest("Guess the hidden number.", Parent(1, PARENT, -2.2, {"guess": 1.5}))


def test_the_reply_replaces_the_evolvable_region_and_the_call_is_recorded():
    with FakeOpenAIServer(lambda body: BETTER) as server:
        out = _mutator(server.url).mutate(_request(), np.random.default_rng(0))
    assert out.source == PARENT.replace("0.5 * scale + 1.0", "3.7")
    assert out.call.model == "fake-model" and out.call.response == BETTER
    assert out.call.tokens_in > 0 and out.call.tokens_out == len(BETTER.split())
    sent = server.requests[0]
    assert sent["model"] == "fake-model"
    user = sent["messages"][1]["content"]
    assert "Guess the hidden number." in user and "0.5 * scale + 1.0" in user


def test_rate_limits_and_server_errors_are_retried():
    failures = [(429, {"Retry-After": "0"}), (500, {})]
    with FakeOpenAIServer(lambda body: BETTER, failures=failures) as server:
        out = _mutator(server.url).mutate(_request(), np.random.default_rng(0))
    assert out.source is not None and len(server.requests) == 3


def test_a_reply_without_code_or_a_dead_endpoint_is_a_failed_mutation():
    with FakeOpenAIServer(lambda body: "I cannot help with that.") as server:
        out = _mutator(server.url).mutate(_request(), np.random.default_rng(0))
    assert out.source is None and out.reason == "no_code" and out.call.response
    with FakeOpenAIServer(lambda body: BETTER, failures=[(500, {})] * 5) as server:
        out = _mutator(server.url, max_retries=1).mutate(_request(), np.random.default_rng(0))
    assert out.source is None and "LLM call failed" in out.error and out.call.error
    assert out.reason == "llm_server_error" and out.call.error.startswith("llm_server_error:")


def test_configuration_errors_name_the_fix(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        make_mutator(MutatorConfig(kind="llm", model="gpt-x"))
    with pytest.raises(UserError, match="mutator.model"):
        make_mutator(MutatorConfig(kind="llm", base_url="http://127.0.0.1:1/v1"))


def test_a_search_with_the_llm_mutator_records_every_call(make_ctx, target_problem,
                                                          monkeypatch):
    monkeypatch.setenv("ADRS_TEST_KEY", "sk-not-for-candidates")
    replies = iter(["no code here"] + [BETTER] * 100)
    with FakeOpenAIServer(lambda body: next(replies)) as server:
        ctx = make_ctx(target_problem, iterations=6, mutator={
            "kind": "llm", "model": "fake-model", "base_url": server.url,
            "api_key_env": "ADRS_TEST_KEY"})
        Search(ctx, progress=False).run()
    st = run_status(ctx.store, ctx.run)
    assert st["best_score"] == 0.0 and st["failures"] == {"mutation:no_code": 1}
    with ctx.store.engine.connect() as conn:
        calls = conn.exec_driver_sql("select model, prompt, response, tokens_in from llm_calls"
                                     ).fetchall()
        linked = conn.exec_driver_sql("select count(*) from candidates where llm_call_id "
                                      "is not null").scalar()
        dump = " ".join(str(r) for r in conn.exec_driver_sql("select * from llm_calls"))
    assert len(calls) == 6 == linked
    usage = st["models"]["fake-model"]
    assert (usage["calls"], usage["failed_calls"]) == (6, 0)
    assert usage["ok_children"] == st["by_status"].get("ok", 0) - 1  # all but the initial
    assert usage["tokens_out"] == sum(len(r.split()) for r in ["no code here"] + [BETTER] * 5)
    assert all(c[0] == "fake-model" and "hidden target" in c[1] and c[2] and c[3] > 0
               for c in calls)
    assert "sk-not-for-candidates" not in dump


def test_llm_calls_overlap_instead_of_queueing(make_ctx, target_problem):
    with FakeOpenAIServer(lambda body: BETTER, latency=0.3) as server:
        ctx = make_ctx(target_problem, iterations=8, mutator={
            "kind": "llm", "model": "fake-model", "base_url": server.url, "concurrency": 8},
            search={"in_flight": 8})
        Search(ctx, progress=False).run()
    assert server.max_active >= 4
    assert len(server.requests) == 8


def _calls(ctx):
    with ctx.store.engine.connect() as conn:
        return conn.exec_driver_sql(
            "select count(*), sum(cost), sum(tokens_in + tokens_out), "
            "(select count(*) from candidates where llm_call_id is not null) "
            "from llm_calls").fetchone()


def test_budgets_stop_the_run_cleanly_and_resume_can_raise_them(tmp_path, monkeypatch):
    from conftest import FIXTURES

    from adrs.runs import resume_run, start_run

    with FakeOpenAIServer(lambda body: BETTER) as server:
        mutator = {"kind": "llm", "model": "fake-model", "base_url": server.url,
                   "concurrency": 2, "prices": {"fake-model": [0.0, 1e6]}}  # 1 USD per token out
        ctx = start_run(str(FIXTURES / "target_number"), name="b", db=None, archive=tmp_path,
                        config_file=None, overrides={"iterations": 30, "max_cost": 20.0,
                                                     "mutator": mutator,
                                                     "search": {"in_flight": 2}})
        search = Search(ctx, progress=False)
        search.run()
        calls, cost, _, linked = _calls(ctx)
        assert ctx.run.status == "stopped" and "cost budget" in search.stop_reason
        assert abs(cost - 20.0) <= 8.0 and 2 <= calls < 30  # a call costs 6-8 USD
        assert linked == calls  # every call that was in flight was finished and recorded
        again = resume_run("b", db=None, archive=tmp_path, budgets={"max_cost": 1000.0})
        Search(again, progress=False).run()
        assert again.run.status == "finished" and _calls(again)[0] == 30
        tokens = resume_run("b", db=None, archive=tmp_path, iterations=40,
                            budgets={"max_tokens": 1})
        stopper = Search(tokens, progress=False)
        stopper.run()
        assert "token budget" in stopper.stop_reason and _calls(tokens)[0] == 30


def test_bad_price_tables_are_refused_with_the_key_named(make_ctx, target_problem):
    with pytest.raises(UserError, match="mutator.prices.m"):
        make_ctx(target_problem, mutator={"prices": {"m": [1.0]}})
