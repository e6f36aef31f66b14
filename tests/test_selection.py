"""Parent selection rules follow their formulas; populations keep only the best as elites."""

import subprocess
import sys

import numpy as np
import pytest

from adrs.config import SearchConfig
from adrs.search.population import Population
from adrs.search.selection import RULES, choose, probabilities
from adrs.search.state import SearchState
from adrs.store import HistoryRow, Scored

SCORES = [1.0, 2.0, 4.0, 0.5, 3.0]


def _elites(scores):
    pop = Population(10)
    for i, s in enumerate(scores):
        pop.add(Scored(id=i + 1, iteration=i, score=s, generation=0))
    return pop.elites


def test_elites_are_the_best_k_in_order_and_a_member_is_added_once():
    pop = Population(3)
    for i, s in enumerate([0.1, 0.9, 0.5, 0.7, 0.3]):
        assert pop.add(Scored(i + 1, i, s, 0))
    assert not pop.add(Scored(2, 1, 0.9, 0))
    assert [e.score for e in pop.elites] == [0.9, 0.7, 0.5] and len(pop.members) == 5


def test_each_rule_matches_its_formula_on_a_fixed_population():
    elites = _elites(SCORES)  # best first: 4, 3, 2, 1, 0.5
    s = np.array([4.0, 3.0, 2.0, 1.0, 0.5])
    children = {3: 1}  # the best (id 3) already has one child
    n = 5
    np.testing.assert_allclose(probabilities("uniform", elites, children), 0.2)
    ranks = np.arange(1, 6)
    law = ranks ** -1.5
    np.testing.assert_allclose(probabilities("power_law", elites, children, alpha=1.5),
                               law / law.sum())
    k = 3
    tour = np.array([((n - r + 1) ** k - (n - r) ** k) / n ** k for r in ranks])
    np.testing.assert_allclose(probabilities("tournament", elites, children,
                                             tournament_size=k), tour)
    penalty = np.array([2.0, 1, 1, 1, 1])
    sig = 1 / (1 + np.exp(-(s - np.median(s)) / (0.5 * s.std()))) / penalty
    np.testing.assert_allclose(probabilities("weighted", elites, children, temperature=0.5),
                               sig / sig.sum())
    soft = np.exp((s - 4.0) / (0.5 * s.std())) / penalty
    np.testing.assert_allclose(probabilities("softmax", elites, children, temperature=0.5),
                               soft / soft.sum())


@pytest.mark.parametrize("rule", RULES)
def test_sampled_frequencies_follow_the_formula(rule):
    elites = _elites(SCORES)
    rng = np.random.default_rng(0)
    counts = np.zeros(len(elites))
    for _ in range(20000):
        pick = choose(rule, elites, {}, rng)
        counts[[e.id for e in elites].index(pick.id)] += 1
    np.testing.assert_allclose(counts / 20000, probabilities(rule, elites, {}), atol=0.015)


def test_equal_scores_are_uniform_and_inspirations_exclude_the_parent():
    elites = _elites([1.0] * 4)
    for rule in ("weighted", "softmax"):
        np.testing.assert_allclose(probabilities(rule, elites, {}), 0.25)
    state = SearchState(SearchConfig())
    for i, e in enumerate(elites):
        state.reveal(HistoryRow(i, e.id, "ok", 1.0, 0, None, "h", None))
    parent, others = state.select(9, np.random.default_rng(1))
    assert parent.id not in {o.id for o in others} and len(others) == 2


def test_the_search_code_imports_without_the_database_layer():
    """Selection, islands and MAP-Elites are plain numpy: importing them must not load
    SQLAlchemy or alembic (here: not installed, as an import hook pretends)."""
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               "        if name.split('.')[0] in ('sqlalchemy', 'alembic'):\n"
               "            raise ImportError('not installed: ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "import adrs.search.selection, adrs.search.state\n"
               "from adrs.store import Scored\n"
               "print('imported')\n")
    out = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "imported", out.stderr
