"""Parent selection rules over a list of elites (best first).

    uniform     p(e) = 1 / n
    power_law   p(e) ∝ rank(e) ** -alpha                 (rank 1 is the best)
    tournament  the best of `tournament_size` elites drawn uniformly with
                replacement: p(rank r) = ((n - r + 1)^k - (n - r)^k) / n^k
    weighted    p(e) ∝ sigmoid((score(e) - median) / (temperature * spread))
                       / (1 + children(e))                (ShinkaEvolve's rule)
    softmax     p(e) ∝ exp((score(e) - best) / (temperature * spread))
                       / (1 + children(e))

spread is the standard deviation of the elites' scores. Dividing by the
number of children a parent already has keeps one lucky program from taking
every turn. Each rule's cost is O(elites), never O(stored candidates).
"""

from __future__ import annotations

import numpy as np

from adrs.store.records import Scored

RULES = ("uniform", "power_law", "tournament", "weighted", "softmax")


def probabilities(rule: str, elites: list[Scored], children: dict[int, int],
                  temperature: float = 1.0, alpha: float = 1.0,
                  tournament_size: int = 3) -> np.ndarray:
    """The chance each elite (best first) is chosen as the parent."""
    n = len(elites)
    if rule == "uniform":
        return np.full(n, 1.0 / n)
    if rule == "power_law":
        w = np.arange(1, n + 1, dtype=float) ** -alpha
        return w / w.sum()
    if rule == "tournament":
        r = np.arange(1, n + 1, dtype=float)
        return ((n - r + 1) ** tournament_size - (n - r) ** tournament_size) / n ** tournament_size
    scores = np.array([e.score for e in elites], dtype=float)
    spread = scores.std() * temperature
    penalty = 1.0 + np.array([children.get(e.id, 0) for e in elites], dtype=float)
    if rule == "weighted":
        z = (scores - np.median(scores)) / spread if spread > 0 else np.zeros(n)
        w = 1.0 / (1.0 + np.exp(-z)) / penalty
    elif rule == "softmax":
        z = (scores - scores.max()) / spread if spread > 0 else np.zeros(n)
        w = np.exp(z) / penalty
    else:
        raise ValueError(f"unknown selection rule {rule!r}; choose from {', '.join(RULES)}")
    return w / w.sum()


def choose(rule: str, elites: list[Scored], children: dict[int, int],
           rng: np.random.Generator, temperature: float = 1.0, alpha: float = 1.0,
           tournament_size: int = 3) -> Scored:
    """One parent from the elites (best first) by the rule."""
    if rule == "tournament":  # run the tournament itself; probabilities() is its law
        picks = rng.integers(len(elites), size=tournament_size)
        return elites[int(picks.min())]
    p = probabilities(rule, elites, children, temperature, alpha, tournament_size)
    return elites[int(rng.choice(len(elites), p=p))]
