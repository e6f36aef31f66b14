"""Parent selection: score-weighted over the elites, with exploration.

weight(e) = exp((score(e) - best) / (temperature * spread)) / (1 + children(e)),
where spread is the standard deviation of elite scores. Dividing by the
number of children already made from a parent keeps one lucky program from
taking every turn. With probability `explore` the parent is instead drawn
uniformly from every successful candidate.
"""

from __future__ import annotations

import numpy as np

from adrs.config import SearchConfig
from adrs.search.population import Population
from adrs.store.records import Scored


def selection_weights(elites: list[Scored], children: dict[int, int],
                      temperature: float) -> np.ndarray:
    scores = np.array([e.score for e in elites], dtype=float)
    spread = scores.std() * temperature
    logits = (scores - scores.max()) / spread if spread > 0 else np.zeros_like(scores)
    w = np.exp(logits) / (1.0 + np.array([children.get(e.id, 0) for e in elites]))
    return w / w.sum()


def select(pop: Population, cfg: SearchConfig, rng: np.random.Generator,
           inspirations: int = 2) -> tuple[Scored, list[Scored]]:
    """Choose a parent and up to `inspirations` other elites (for crossover or prompts)."""
    if not pop.elites:
        raise RuntimeError("no successful candidate to select from")
    if rng.random() < cfg.explore:
        parent = pop.members[int(rng.integers(len(pop.members)))]
    else:
        w = selection_weights(pop.elites, pop.children, cfg.temperature)
        parent = pop.elites[int(rng.choice(len(pop.elites), p=w))]
    others = [e for e in pop.elites if e.id != parent.id]
    k = min(inspirations, len(others))
    picked = rng.choice(len(others), size=k, replace=False) if k else []
    return parent, [others[int(i)] for i in picked]
