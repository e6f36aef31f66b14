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


# --- the LLM path's hardening: a real deadline, no secret anywhere, honest usage ------------

def test_a_trickling_reply_is_cut_at_the_deadline():
    import time

    with FakeOpenAIServer(lambda body: BETTER, fault="trickle", fault_every=1,
                          hang_seconds=8.0) as server:
        start = time.monotonic()
        out = _mutator(server.url, timeout_seconds=1.0, max_retries=1).mutate(
            _request(), np.random.default_rng(0))
        took = time.monotonic() - start
    assert out.source is None and out.reason == "llm_timeout"
    assert len(server.requests) == 2 and took < 2 * 1.0 + 2.5  # two attempts, each cut at 1 s


def test_an_echoed_api_key_is_redacted_everywhere(make_ctx, target_problem, monkeypatch,
                                                  capsys):
    key = "sk-test-echoed-secret-4242"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with FakeOpenAIServer(fault="echo_key", fault_every=2) as server:
        ctx = make_ctx(target_problem, iterations=12, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url, "max_retries": 0,
            "recent_failures": 3, "breaker_failures": 1, "breaker_seconds": 0.01})
        Search(ctx, progress=False).run()
    assert server.faults_served > 0
    with ctx.store.engine.connect() as conn:
        dump = "\n".join(str(row) for table in ("llm_calls", "candidates")
                         for row in conn.exec_driver_sql(f"select * from {table}"))
    assert "[redacted]" in dump and key not in dump
    assert key not in capsys.readouterr().err
    later_prompts = [m["content"] for r in server.requests for m in r["messages"]]
    assert not any(key in p for p in later_prompts)


@pytest.mark.parametrize("fault", ["negative_usage", "no_usage"])
def test_bad_or_missing_usage_is_estimated_and_said(fault, make_ctx, target_problem):
    with FakeOpenAIServer(fault=fault, fault_every=1) as server:
        ctx = make_ctx(target_problem, iterations=4, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url})
        Search(ctx, progress=False).run()
    usage = run_status(ctx.store, ctx.run)["models"]["fake"]
    assert usage["tokens_in"] > 0 and usage["tokens_out"] > 0
    assert usage["estimated_calls"] == usage["calls"] == 4
    from adrs.status import format_status

    assert "estimated from the text" in format_status(run_status(ctx.store, ctx.run))


def test_tokens_billed_on_an_unusable_reply_are_counted(make_ctx, target_problem):
    with FakeOpenAIServer(fault="no_choices", fault_every=1) as server:
        ctx = make_ctx(target_problem, iterations=3, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url, "max_retries": 0,
            "prices": {"fake": [1000.0, 2000.0]}})
        Search(ctx, progress=False).run()
    usage = run_status(ctx.store, ctx.run)["models"]["fake"]
    assert usage["failed_calls"] == 3 and usage["tokens_in"] > 0 and usage["cost"] > 0


def test_a_dead_endpoint_stops_the_run_resumably_and_resume_redoes_the_lost(tmp_path):
    import socket

    from conftest import FIXTURES

    from adrs.runs import resume_run, start_run

    with socket.socket() as s:  # a port nothing listens on (yet)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    ctx = start_run(str(FIXTURES / "target_number"), name="dead", db=None,
                    archive=tmp_path, config_file=None, overrides={
                        "iterations": 40, "mutator": {"kind": "llm", "model": "fake",
                                                      "base_url": url, "max_retries": 0,
                                                      "give_up_seconds": 0.5,
                                                      "breaker_seconds": 0.05}})
    search = Search(ctx, progress=False)
    search.run()
    assert ctx.run.status == "stopped" and url in search.stop_reason
    assert "adrs resume dead" in search.resume_hint
    st = run_status(ctx.store, ctx.run)
    assert st["iterations"] < 40 and "mutation:llm_unreachable" not in st["failures"]
    with FakeOpenAIServer(port=port) as server:
        again = resume_run("dead", db=None, archive=tmp_path)
        Search(again, progress=False).run()
    assert again.run.status == "finished" and len(server.requests) > 0
    assert run_status(again.store, again.run)["iterations"] == 40


def test_replies_received_before_a_crash_are_not_requested_again(make_ctx, target_problem):
    with FakeOpenAIServer() as server:
        ctx = make_ctx(target_problem, iterations=20, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url})
        Search(ctx, progress=False).run()
    with ctx.store.engine.connect() as conn:
        before = dict(conn.exec_driver_sql(
            "select iteration, source from candidates where iteration in (15, 17)").all())
        calls = conn.exec_driver_sql("select count(*) from llm_calls").scalar()
    with ctx.store.engine.begin() as conn:  # as if the controller died with 15 and 17 unrecorded
        conn.exec_driver_sql("delete from candidates where iteration in (15, 17)")
        conn.exec_driver_sql("update runs set status = 'interrupted'")
    with FakeOpenAIServer(port=int(server.url.rsplit(":", 1)[1].split("/")[0])) as again:
        ctx.run = ctx.store.get_run(ctx.run.name)  # re-read, as a resume does
        Search(ctx, progress=False).run()
    assert again.requests == []  # both replies came from the store
    with ctx.store.engine.connect() as conn:
        after = dict(conn.exec_driver_sql(
            "select iteration, source from candidates where iteration in (15, 17)").all())
        assert conn.exec_driver_sql("select count(*) from llm_calls").scalar() == calls
    assert after == before


def test_after_a_pause_one_probe_call_goes_first_not_the_whole_queue(make_ctx, target_problem):
    import time

    # the first burst of 8 concurrent calls all fail and trip the breaker; the calls
    # queued behind it wait out the pause, then one probe goes alone until it succeeds.
    # The breaker trips on the first failure: with 2, the next iteration's call could
    # start between the first and second of the near-simultaneous failures.
    with FakeOpenAIServer(lambda body: BETTER, failures=[(500, {})] * 8,
                          latency=0.2) as server:
        stamps = []
        admit = server._admit
        server._admit = lambda body: (stamps.append(time.monotonic()), admit(body))[1]
        ctx = make_ctx(target_problem, iterations=10, search={"in_flight": 8}, mutator={
            "kind": "llm", "model": "fake", "base_url": server.url, "max_retries": 0,
            "concurrency": 8, "breaker_failures": 1, "breaker_seconds": 0.5})
        Search(ctx, progress=False).run()
    assert len(stamps) == 10
    # the earliest failure's reply came 0.2 s after the first admission, then the pause;
    # the burst's later admissions may lag the first on a loaded machine
    assert stamps[8] - stamps[0] >= 0.2 + 0.5
    assert stamps[9] - stamps[8] >= 0.2  # the probe's reply came first (its latency)


def test_a_null_content_is_a_bad_response_not_a_reply_without_code():
    with FakeOpenAIServer(fault="null_content", fault_every=1) as server:
        out = _mutator(server.url, max_retries=0).mutate(_request(), np.random.default_rng(0))
    assert out.source is None and out.reason == "llm_bad_response"
    assert out.call.tokens_in > 0  # billed all the same
