"""A seeded run's whole archive, compared with the one recorded before the controller
was rebuilt (issue 21): refactoring the loop must not change a single candidate.

The recorded archives live in tests/fixtures/golden_archives.json. A deliberate
change of behaviour (a new hash, a new selection rule) regenerates them with
`ADRS_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_archive.py`, and the diff
of that file shows what changed.
"""

import hashlib
import json
import os

import pytest
from conftest import FIXTURES

from adrs.loop import Search
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.runs import start_run

GOLDEN = FIXTURES / "golden_archives.json"
TARGET = str(FIXTURES / "target_number")

SCENARIOS = {
    "islands": {"iterations": 60, "workers": 2, "seed": 11,
                "search": {"islands": 3, "migration_interval": 10, "in_flight": 4}},
    "map_elites": {"iterations": 40, "workers": 2, "seed": 12,
                   "search": {"map_elites": True, "islands": 2, "in_flight": 3},
                   "mutator": {"crossover": 0.4}},
    "llm_budget": {"iterations": 60, "workers": 2, "seed": 13, "max_cost": 4000.0,
                   "search": {"in_flight": 6},
                   "mutator": {"kind": "llm", "models": {"big": 2, "small": 1}, "bandit": True,
                               "max_retries": 0, "timeout_seconds": 5.0, "concurrency": 4,
                               "prices": {"big": [1e6, 0.0], "small": [5e5, 0.0]}}},
}


def _short(text):
    return None if text is None else hashlib.sha1(text.encode()).hexdigest()[:12]


def _dump(ctx) -> dict:
    """Everything a seeded run decides, keyed by iteration (ids follow completion order)."""
    with ctx.store.engine.connect() as conn:
        q = conn.exec_driver_sql
        it = dict(q(f"select id, iteration from candidates where run_id={ctx.run.id}").fetchall())
        candidates = [
            [r[0], _short(r[1]), r[2], None if r[3] is None else round(r[3], 9),
             it.get(r[4]), it.get(r[5]), it.get(r[6]), r[7], _short(r[8]), r[9], r[10], r[11],
             r[12]]
            for r in q("select iteration, source, status, score, parent_id, other_parent_id, "
                       "duplicate_of, duplicate_kind, functional_hash, island, generation, "
                       f"failure, mutation from candidates where run_id={ctx.run.id} "
                       "order by iteration")]
        events = [list(r) for r in q("select kind, iteration, island, cell from search_events "
                                     f"where run_id={ctx.run.id} order by iteration, id")]
        calls = [[r[0], r[1], round(r[2], 6), r[3]] for r in q(
            "select iteration, model, cost, tokens_in + tokens_out from llm_calls "
            f"where run_id={ctx.run.id} order by iteration")]
    return {"status": ctx.run.status, "candidates": candidates, "events": events,
            "calls": calls}


def _run(tmp_path, name: str) -> dict:
    overrides = json.loads(json.dumps(SCENARIOS[name]))
    with FakeOpenAIServer() as server:
        if overrides.get("mutator", {}).get("kind") == "llm":
            overrides["mutator"]["base_url"] = server.url
        ctx = start_run(TARGET, name=name, db=None, archive=tmp_path, config_file=None,
                        overrides=overrides)
        Search(ctx, progress=False).run()
    return _dump(ctx)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_seeded_run_builds_the_recorded_archive(tmp_path, name):
    got = _run(tmp_path, name)
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if os.environ.get("ADRS_UPDATE_GOLDEN"):
        golden[name] = got
        GOLDEN.write_text(json.dumps(golden, indent=0, sort_keys=True) + "\n")
    want = golden[name]
    assert got["status"] == want["status"]
    for part in ("candidates", "events", "calls"):
        for mine, theirs in zip(got[part], want[part], strict=False):
            assert mine == theirs, f"{name}: first differing {part} row"
        assert len(got[part]) == len(want[part]), f"{name}: {part} count"
