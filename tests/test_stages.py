"""The controller's parts on their own: the budget, the model chooser, the equivalence
registry and the reveal schedule, each driven directly rather than through a run."""

import threading
import time

import pytest

from adrs.mutate.models import ModelChooser
from adrs.search.equivalence import EquivalenceRegistry
from adrs.stages.budget import Budget

# --- the budget ---


def test_an_unlimited_budget_never_stops():
    budget = Budget(0.0, 0, in_flight=4)
    for i in range(1, 50):
        budget.charge(i, 1e9, 10**9)
        assert budget.exceeded(i) is None
    assert not budget.limited


def test_calls_are_billed_only_once_they_are_in_flight_lags_behind():
    budget = Budget(100.0, 0, in_flight=3)
    for i in (5, 1, 3, 2, 4):  # replies arrive in any order
        budget.charge(i, 1.0, 10)
    budget.exceeded(4)  # iteration 4 sees iterations <= 1
    assert (budget.cost, budget.tokens) == (1.0, 10)
    budget.exceeded(7)  # ... and 7 sees <= 4
    assert (budget.cost, budget.tokens) == (4.0, 40)


def test_the_stop_counts_calls_in_flight_at_the_dearest_recent_price():
    budget = Budget(10.0, 0, in_flight=4)
    for i in range(1, 20):
        budget.charge(i, 1.0 if i != 3 else 2.0, 5)
    # at 6: billed 1 and 2 (2 USD); 3, 4, 5 in flight and 6 itself at 1 USD each: 6 < 10
    assert budget.exceeded(6) is None
    # at 8: billed 1-4 (5 USD, dearest 2), 5-7 in flight + 8 itself at 2 USD: 13 >= 10
    reason = budget.exceeded(8)
    assert "cost budget (--max-cost 10 USD) ran out" in reason
    assert "5.0000 USD billed, 3 calls finishing" in reason


def test_the_token_budget_and_restored_spending_count_too():
    budget = Budget(0.0, 100, in_flight=1)
    budget.restore(0.0, 95)  # what the stored calls used before a resume
    budget.charge(1, 0.0, 3)
    assert budget.exceeded(1) is None  # nothing billed yet, no price known: 95 < 100
    reason = budget.exceeded(2)  # billed 1 (98), child 2 at 3 tokens: 101
    assert "token budget (--max-tokens 100) ran out: 98 tokens billed" in reason


# --- the model chooser ---


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_weights_split_choices_by_the_uniform_draw():
    chooser = ModelChooser({"a": 3, "b": 1})
    picks = [chooser.choose(u / 100) for u in range(100)]
    assert picks.count("a") == 75 and picks[:75] == ["a"] * 75


def test_the_bandit_tries_each_model_then_prefers_improvement_per_dollar():
    chooser = ModelChooser({"cheap": 1, "dear": 1}, bandit=True)
    first = {chooser.choose(0.0), chooser.choose(0.0)}
    assert first == {"cheap", "dear"}
    for _ in range(20):
        chooser.observe("cheap", gain=0.1, cost=0.01)
        chooser.observe("dear", gain=0.1, cost=1.0, pending=False)
    picks = [chooser.choose(0.5) for _ in range(30)]
    assert picks.count("cheap") > 20


def test_pending_requests_count_as_pulls_so_one_model_does_not_take_them_all():
    chooser = ModelChooser({"a": 1, "b": 1}, bandit=True)
    chooser.observe("a", gain=1.0, cost=0.0, pending=False)
    chooser.observe("b", gain=0.5, cost=0.0, pending=False)
    picks = [chooser.choose(0.0) for _ in range(32)]  # none scored yet
    assert picks.count("b") >= 4


def test_the_breaker_pauses_a_failing_model_then_lets_one_probe_through():
    clock, said = Clock(), []
    chooser = ModelChooser({"flaky": 1, "steady": 1}, breaker_failures=2, breaker_seconds=30,
                           clock=clock, say=said.append)
    chooser.call_failed("flaky", "500")
    assert chooser.may_call("flaky")
    chooser.call_failed("flaky", "500 again")
    assert "model flaky failed 2 calls in a row (last: 500 again)" in said[0]
    assert not chooser.may_call("flaky") and chooser.pause_left("flaky") == 30
    assert {chooser.choose(u / 10) for u in range(10)} == {"steady"}
    clock.now = 31.0
    assert chooser.may_call("flaky")  # the half-open probe
    assert not chooser.may_call("flaky")  # only one until it answers
    chooser.call_done("flaky")
    chooser.call_failed("flaky", "still down")  # one more failure re-trips at once
    assert chooser.pause_left("flaky") == 30 and len(said) == 2
    clock.now = 62.0
    chooser.call_succeeded("flaky")
    assert chooser.may_call("flaky") and chooser.may_call("flaky")  # closed again


def test_every_model_paused_means_the_first_to_resume_goes_on():
    clock = Clock()
    chooser = ModelChooser({"a": 1, "b": 1}, breaker_failures=1, breaker_seconds=10,
                           clock=clock, say=lambda _: None)
    chooser.call_failed("a", "x")
    clock.now = 5.0
    chooser.call_failed("b", "x")
    assert chooser.choose(0.9) == "a"


def test_a_model_dropped_from_the_ensemble_is_ignored():
    chooser = ModelChooser({"a": 1})
    chooser.observe("gone", 1.0, 1.0)
    chooser.call_failed("gone", "x")
    chooser.call_succeeded("gone")
    assert chooser.choose(0.3) == "a"


# --- the equivalence registry ---


def test_the_earliest_equivalent_is_named_with_how_many_came_before():
    registry = EquivalenceRegistry({"h1": [0]})
    assert registry.resolve(3, "h1") == (0, 1)
    assert registry.resolve(5, "h2") == (None, 0)
    assert registry.resolve(7, "h1") == (0, 2)


def test_an_answer_waits_for_every_earlier_pending_iteration():
    registry = EquivalenceRegistry()
    for i in (1, 2):
        registry.expect(i)
    answers = {}
    later = threading.Thread(target=lambda: answers.setdefault(2, registry.resolve(2, "h")))
    later.start()
    time.sleep(0.2)
    assert later.is_alive()  # 1 has not reported: 2 cannot know whether 1 matches
    assert registry.resolve(1, "h") == (None, 0)
    later.join(5)
    assert answers[2] == (1, 1)  # 1 came first, whatever the order they finished in


def test_an_abandoned_iteration_releases_those_waiting_on_it():
    registry = EquivalenceRegistry()
    registry.expect(1)
    registry.expect(2)
    done = threading.Event()
    threading.Thread(target=lambda: (registry.resolve(2, "h"), done.set())).start()
    assert not done.wait(0.2)
    registry.abandon(1)  # it failed before its probes
    assert done.wait(5)


def test_later_pending_iterations_do_not_hold_an_earlier_answer():
    registry = EquivalenceRegistry()
    registry.expect(9)
    assert registry.resolve(4, "h") == (None, 0)


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 1, 2), (2, 3, 1)])
def test_answers_do_not_depend_on_the_order_reports_arrive(order):
    registry = EquivalenceRegistry()
    for i in (1, 2, 3):
        registry.expect(i)
    answers = {}
    threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, registry.resolve(i, "h")))
               for i in order]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(5)
    assert answers == {1: (None, 0), 2: (1, 1), 3: (1, 2)}


# --- the reveal schedule ---


def test_results_are_revealed_in_iteration_order_up_to_the_lag_and_samples_fold_once(
        make_ctx, target_problem):
    from adrs.config import SearchConfig
    from adrs.mutate import Mutation, Mutator
    from adrs.search.state import SearchState
    from adrs.stages.schedule import Schedule
    from adrs.store import CandidateRecord, HistoryRow, Sample

    class Watching(Mutator):
        seen = []

        def mutate(self, request, rng):
            return Mutation(None, "unused")

        def observe(self, model, gain, cost):
            self.seen.append((model, round(gain, 6), cost))

    ctx = make_ctx(target_problem)
    store, run = ctx.store, ctx.run
    state = SearchState(SearchConfig(islands=1))
    schedule = Schedule(store, run.id, state, Watching(), failures=3)

    def add(i, status, score, **kw):
        rec = CandidateRecord(i, f"x = {i}", f"h{i}", status, score=score, **kw)
        cid = store.add_candidate(run.id, rec)
        schedule.add(HistoryRow(i, cid, status, score, 0, kw.get("parent_id"), f"h{i}", None,
                                failure=kw.get("failure"), model="m" if i else None,
                                duplicate_of=kw.get("duplicate_of"),
                                score_sample=kw.get("score_sample")))
        return cid

    first = add(0, "ok", 1.0)
    add(3, "duplicate", 3.0, parent_id=first, duplicate_of=first,
        score_sample=Sample.PENDING)
    add(2, "failed", None, parent_id=first, failure="timeout", mutation="edit")
    add(1, "ok", 1.5, parent_id=first)
    schedule.reveal(upto=2)
    assert [s.iteration for s in state.archive.elites] == [1, 0]
    assert [f.failure for f in schedule.failures] == ["timeout"]
    assert Watching.seen == [("m", 0.5, 0.0), ("m", 0.0, 0.0)]  # in iteration order
    assert store.initial(run.id).score == 1.0  # iteration 3 is not visible yet
    schedule.reveal(upto=3)
    assert store.initial(run.id).score == 2.0  # (1.0 + 3.0) / 2
    assert state.archive.score_of(first) == 2.0
    schedule.settle()  # already folded: not again
    schedule.reveal(upto=10)
    assert store.initial(run.id).score == 2.0
    assert store.initial(run.id).metrics["score_samples"] == 2
