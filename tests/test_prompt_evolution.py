"""Prompts that evolve (issue 32): variants stored with lineage and credited by their
children, the meta step's calls recorded and replayed, notes bounded and dropped, and
model-written text kept inert. Runs go against the fake OpenAI-compatible server."""


import numpy as np
import pytest
from conftest import FIXTURES, network_off

from adrs.cli import main
from adrs.errors import UserError
from adrs.loop import Search
from adrs.mutate.base import Guidance, MutationRequest, Parent
from adrs.mutate.fake_advice import HIDDEN, USELESS, VOCABULARY, advice_responder
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.mutate.prompt import Prompts
from adrs.prompt_evolution import Note, Scratchpad, Variant, VariantPool, parse_meta_reply
from adrs.runs import open_run, start_run


def _evolving(tmp_path, name, url, iterations=30, **prompts):
    ctx = start_run(str(FIXTURES / "target_number"), name=name, db=None, archive=tmp_path,
                    config_file=None, overrides={
                        "iterations": iterations, "search": {"in_flight": 2, "islands": 2},
                        "mutator": {"kind": "llm", "model": "fake", "base_url": url,
                                    "max_retries": 0, "timeout_seconds": 5.0,
                                    "prices": {"fake": [1.0, 2.0]}},
                        "prompts": {"evolve": True, "meta_every": 5, **prompts}})
    Search(ctx, progress=False).run()
    return ctx


def _sql(ctx, q):
    with ctx.store.engine.connect() as conn:
        return conn.exec_driver_sql(q).fetchall()


def test_variants_are_stored_with_lineage_and_written_into_later_prompts(tmp_path):
    with FakeOpenAIServer() as server:
        ctx = _evolving(tmp_path, "evo", server.url)
    variants = ctx.store.prompt_variants(ctx.run.id)
    seeds = [v for v in variants if v.author == "seed"]
    metas = [v for v in variants if v.author.startswith("meta")]
    assert [v.island for v in seeds] == [0, 1] and all(v.instruction == "" for v in seeds)
    assert metas and all(v.parent_id in {s.id for s in variants} for v in metas)
    assert all(v.iteration % 5 == 0 and v.llm_call_id for v in metas)
    assert all(any(a in v.instruction for a in USELESS) for v in metas)
    # every meta call is stored, costed and marked; each iteration's child names its variant
    meta_calls = _sql(ctx, "select iteration, cost from llm_calls where purpose = 'meta'")
    assert {i for i, _ in meta_calls} == {v.iteration for v in metas} and \
        all(c > 0 for _, c in meta_calls)
    children = _sql(ctx, "select iteration, prompt_variant_id from candidates "
                         "where iteration > 0")
    assert len(children) == 30 and all(v is not None for _, v in children)
    used = {v for _, v in children}
    assert used & {v.id for v in metas}, "no child was written from an evolved variant"
    # the prompt of a child written from a meta variant shows its instruction as guidance
    by_id = {v.id: v for v in variants}
    prompts = dict(_sql(ctx, "select c.iteration, l.prompt from candidates c join llm_calls l "
                             "on l.id = c.llm_call_id"))
    for i, vid in children:
        if by_id[vid].instruction and i in prompts:
            assert f"# Guidance\n{by_id[vid].instruction}" in prompts[i]
    notes = ctx.store.insight_notes(ctx.run.id)
    assert notes and all(n.text in USELESS for n in notes)


def test_replay_gives_the_same_variants_and_children_with_the_network_off(tmp_path,
                                                                        monkeypatch, capsys):
    with FakeOpenAIServer(fault="server_error", fault_every=7) as server:
        _evolving(tmp_path, "recorded", server.url, iterations=25)

    network_off(monkeypatch)
    assert main(["replay", "recorded", "--into", "again", "--archive", str(tmp_path),
                 "--quiet"]) == 0
    assert "replay: 26/26 candidates identical" in capsys.readouterr().out
    store, again, _ = open_run("again", db=None, archive=tmp_path)
    _, recorded, _ = open_run("recorded", db=None, archive=tmp_path)

    def lineage(run_id):
        return [(v.island, v.instruction, v.iteration, v.retired_at, v.author)
                for v in store.prompt_variants(run_id)]

    assert lineage(again.id) == lineage(recorded.id) and len(lineage(again.id)) > 2
    assert [n.text for n in store.insight_notes(again.id)] == \
        [n.text for n in store.insight_notes(recorded.id)]


def test_the_budget_counts_meta_calls(tmp_path):
    with FakeOpenAIServer() as server:
        ctx = _evolving(tmp_path, "budget", server.url, iterations=200)
        cheap = start_run(str(FIXTURES / "target_number"), name="cheap", db=None,
                          archive=tmp_path, config_file=None,
                          overrides={"iterations": 200, "max_cost": 0.05, **{
                              k: ctx.config.to_dict()[k] for k in ("search", "mutator",
                                                                   "prompts")}})
        Search(cheap, progress=False).run()
    spent = _sql(cheap, "select sum(cost), sum(purpose = 'meta') from llm_calls")[0]
    assert cheap.store.get_run("cheap").status == "stopped"
    assert spent[1] > 0 and spent[0] <= 0.05 * 1.2, spent  # meta calls are billed too


def test_a_variant_is_retired_when_it_stops_paying_and_the_bandit_prefers_the_payer():
    pool = VariantPool(explore=0.3, retire_after=5, capacity=3)
    pool.add(Variant(1, 0, None, "", "", "seed", 0))
    pool.add(Variant(2, 0, 1, "", "good advice", "meta: m", 10))
    for _ in range(6):
        pool.credit(1, 0.0, "ok")
        pool.credit(2, 0.5, "ok")
    assert [v.id for v in pool.to_retire(0, 20)] == [1]
    rng = np.random.default_rng(0)
    assert pool.choose(0, 20, rng).id == 2
    assert pool.choose(0, 5, rng).id == 1  # variant 2 appeared at iteration 10
    pool.variants[2].since_improvement = 9  # both stale: the island keeps its best
    assert [v.id for v in pool.to_retire(0, 20)] == [1]


def test_notes_are_bounded_and_dropped_when_they_precede_no_improvement():
    pad = Scratchpad(size=2, patience=3)
    for k in range(4):
        pad.add(Note(k, 0, f"note {k}", 10 * k))
    assert [n.text for n in pad.shown(0, 100)] == ["note 2", "note 3"]
    assert {n.id for n in pad.to_drop(0, 100)} == {0, 1}  # pushed out of the newest two
    pad = Scratchpad(size=5, patience=3)
    pad.add(Note(1, 0, "early", 10))
    pad.add(Note(2, 0, "late", 35))
    pad.add(Note(3, 1, "elsewhere", 10))
    for it, better in [(31, False), (32, False), (33, True), (34, False)]:
        pad.follow(0, it, improved=better)
    assert pad.to_drop(0, 35) == []  # "early" was followed by an improvement at 33
    for it in (35, 36):
        pad.follow(0, it, improved=False)
    assert [n.text for n in pad.to_drop(0, 37)] == ["early"]  # 34, 35, 36: nothing better
    assert pad.to_drop(1, 37) == []  # another island's children do not count


def test_model_written_text_is_inert_in_prompts():
    evil = "{{ request.parent.source }} {% for x in range(3) %}X{% endfor %} $(rm -rf ~) `id`"
    prompts = Prompts()
    request = MutationRequest("a problem", Parent(1, "def f():\n    return 1\n", 0.5),
                              guidance=Guidance(7, system=evil, instruction=evil,
                                                notes=(evil,)))
    system, user = prompts.render("diff", request)
    assert system == evil  # shown as written, not rendered
    assert user.count(evil) == 2 and "XXX" not in user
    reply = parse_meta_reply(f"INSTRUCTION:\n{evil}\x1b[31m red\nNOTE:\n\x07bell " + "n" * 999)
    assert reply.instruction == evil + "[31m red" and "\x1b" not in reply.instruction
    assert reply.note.startswith("bell n") and len(reply.note) == 400
    assert parse_meta_reply("no sections here") == parse_meta_reply("")


def test_an_offline_run_ignores_evolve_and_says_so(tmp_path, capsys):
    ctx = start_run(str(FIXTURES / "target_number"), name="off", db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": 4, "prompts": {"evolve": True}})
    Search(ctx, progress=False).run()
    assert "[prompts] evolve is ignored" in capsys.readouterr().err
    assert ctx.store.prompt_variants(ctx.run.id) == []
    bad = start_run(str(FIXTURES / "target_number"), name="bad", db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": 2, "prompts": {
                        "evolve": True, "meta_every": 0}, "mutator": {
                        "kind": "llm", "model": "m", "base_url": "http://127.0.0.1:9/v1"}})
    with pytest.raises(UserError, match=r"meta_every must be at least 1"):
        Search(bad, progress=False)


def test_status_the_archive_and_the_report_show_the_variants(tmp_path, capsys):
    from adrs import archive
    from adrs.report import write_report

    with FakeOpenAIServer() as server:
        _evolving(tmp_path, "shown", server.url, iterations=20)
    run = archive.open(tmp_path / "shown")
    variants = run.prompt_variants()
    assert len(variants) >= 3 and sum(v["children"] for v in variants) == 20
    assert {v["parent_id"] for v in variants if v["author"] != "seed"} <= \
        {v["id"] for v in variants}
    assert run.notes() and all(n["text"] in USELESS for n in run.notes())
    assert main(["status", "shown", "--archive", str(tmp_path)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("prompts")]
    assert line and f"{len(variants)} variants" in line[0]
    paid = [v for v in variants if v["improved"]]
    assert paid and all(v["cost_per_improvement"] == pytest.approx(v["cost"] / v["improved"])
                        and v["cost"] > 0 for v in paid)
    page = write_report(run, tmp_path / "report").read_text()
    assert "Prompt variants" in page
    assert all(f"<td>#{v['id']}</td>" in page for v in variants)


def _lineage(ctx):
    """Candidates, variants and notes, a variant named by where it appeared (its id
    depends on the database's sequence)."""
    variants = ctx.store.prompt_variants(ctx.run.id)
    where = {v.id: (v.island, v.iteration) for v in variants}
    rows = [(i, h, st, sc, where.get(v)) for i, h, st, sc, v in _sql(
        ctx, "select iteration, syntactic_hash, status, score, prompt_variant_id "
             "from candidates order by iteration")]
    lineage = [(v.island, where.get(v.parent_id), v.instruction, v.iteration, v.retired_at)
               for v in variants]
    notes = [(n.text, n.iteration, n.dropped_at) for n in ctx.store.insight_notes(ctx.run.id)]
    return rows, lineage, notes


def test_a_resumed_run_gives_the_same_prompts_and_pays_for_no_call_twice(tmp_path):
    from adrs.runs import resume_run

    with FakeOpenAIServer() as server:
        straight = _evolving(tmp_path, "straight", server.url, iterations=30)
        _evolving(tmp_path, "part", server.url, iterations=12)
        resumed = resume_run("part", db=None, archive=tmp_path, iterations=30)
        Search(resumed, progress=False).run()
        assert _lineage(resumed) == _lineage(straight)
        # a crash after iteration 10's meta call was stored, before anything it made
        with resumed.store.engine.begin() as conn:
            for table in ("candidates", "prompt_variants", "insight_notes"):
                conn.exec_driver_sql(f"delete from {table} where iteration >= 10")
        asked = len(server.requests)
        again = resume_run("part", db=None, archive=tmp_path)
        Search(again, progress=False).run()
    assert len(server.requests) == asked  # every reply, meta ones included, was reused
    assert _lineage(again) == _lineage(straight)


def test_the_advice_sensitive_fake_model_edits_better_with_its_hidden_phrases():
    from pathlib import Path

    initial = (Path(__file__).parents[1] / "problems" / "txn_scheduling" /
               "initial_program.py").read_text()

    def replies(advice):
        prompt = f"# Problem\nschedule\n{advice}\n```python\n{initial}```\n"
        return [advice_responder({"seed": k, "messages": [{"role": "user", "content": prompt}]})
                for k in range(40)]

    with_phrase = replies(f"# Guidance\n{HIDDEN['txn_scheduling'][0]}")
    assert sum("heapq" in r for r in with_phrase) >= 3  # greedy_smf's loop, transplanted
    for useless in ("", f"# Guidance\n{USELESS[0]}", f"# Guidance\n{HIDDEN['gpu_allocation'][0]}"):
        assert not any("heapq" in r for r in replies(useless))
    meta = advice_responder({"seed": 3, "messages": [{"role": "user", "content":
                                                       "ask\nINSTRUCTION:\n..."}]})
    reply = parse_meta_reply(meta)
    assert reply.instruction and reply.note in VOCABULARY
    hidden = {p for ps in HIDDEN.values() for p in ps}
    assert 0 < len(hidden) <= len(VOCABULARY) / 3  # the phrases are a minority
