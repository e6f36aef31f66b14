from pathlib import Path

import pytest

from adrs.config import build
from adrs.loop import RunContext
from adrs.problem import find_problem
from adrs.store import open_store, sqlite_url

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def target_problem():
    return find_problem(str(FIXTURES / "target_number"))


@pytest.fixture
def moe_problem():
    return find_problem("moe_expert_placement")


@pytest.fixture
def make_ctx(tmp_path):
    """Build a RunContext on a fresh SQLite archive under tmp_path."""

    def make(problem, name="run", **config):
        store = open_store(sqlite_url(tmp_path / f"{name}.db"))
        cfg = build(problem.defaults, config)
        run = store.create_run(name, problem.name, str(problem.root), cfg.to_dict(), cfg.seed,
                               cfg.iterations)
        return RunContext(store, run, problem, cfg, tmp_path / name)

    return make
