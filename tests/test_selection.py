"""Parent selection follows its formula; the population keeps only the best as elites."""

import numpy as np
import pytest

from adrs.config import SearchConfig
from adrs.search.population import Population
from adrs.search.selection import select, selection_weights
from adrs.store import Scored


def _pop(scores, elite_pool=10):
    pop = Population(elite_pool)
    for i, s in enumerate(scores):
        pop.add(Scored(id=i + 1, iteration=i, score=s, generation=0))
    return pop


def test_elites_are_the_best_k_in_order():
    pop = _pop([0.1, 0.9, 0.5, 0.7, 0.3], elite_pool=3)
    assert [e.score for e in pop.elites] == [0.9, 0.7, 0.5]
    assert len(pop.members) == 5


def test_weights_match_the_formula():
    pop = _pop([1.0, 2.0, 4.0])
    pop.note_child(3)
    w = selection_weights(pop.elites, pop.children, temperature=0.5)
    scores = np.array([4.0, 2.0, 1.0])
    expected = np.exp((scores - 4.0) / (scores.std() * 0.5)) / np.array([2.0, 1.0, 1.0])
    np.testing.assert_allclose(w, expected / expected.sum())


def test_sampled_frequencies_follow_the_weights():
    pop = _pop([1.0, 2.0, 3.0])
    cfg = SearchConfig(explore=0.0, temperature=1.0)
    rng = np.random.default_rng(0)
    counts = {}
    for _ in range(20000):
        parent, _ = select(pop, cfg, rng)
        counts[parent.id] = counts.get(parent.id, 0) + 1
    w = selection_weights(pop.elites, {}, 1.0)
    for elite, p in zip(pop.elites, w, strict=True):
        assert counts[elite.id] / 20000 == pytest.approx(p, abs=0.015)


def test_equal_scores_are_chosen_uniformly_and_inspirations_exclude_the_parent():
    pop = _pop([1.0] * 4)
    w = selection_weights(pop.elites, {}, 1.0)
    np.testing.assert_allclose(w, 0.25)
    parent, others = select(pop, SearchConfig(), np.random.default_rng(1))
    assert parent.id not in {o.id for o in others} and len(others) == 2
