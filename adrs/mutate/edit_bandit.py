"""Which kind of edit the offline mutator tries next: a bandit over edit kinds.

Each revealed child credits the kinds of edit that made it (read back from its
stored description): reward 1 for a child that beat its parent, `VALID` for a
valid one that did not, 0 for a failure; duplicates (the same program or the
same behaviour as one already seen) teach nothing about the edit's worth and
count as a small penalty, since they cost probes. The choice is UCB1 on the mean
reward, with an exploration floor, and ties broken by the caller's generator:
the same revealed history and seed give the same choices, as the loop's
schedule reveals children in iteration order whatever the timing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VALID = 0.2  # a valid child that did not improve on its parent
DUPLICATE = 0.05  # a child that repeats a program or behaviour already seen
EXPLORE = 0.15  # chance of a uniform choice, so no kind is starved for good
PRIOR = 0.3  # what an edit kind is assumed worth before any child of it is seen


@dataclass
class _EditArm:
    pulls: float = 0.0
    reward: float = 0.0
    improved: int = 0


class EditBandit:
    """UCB1 over edit kinds, credited by the children's improvement and validity."""

    def __init__(self, kinds: tuple[str, ...], c: float = 0.5):
        self.kinds, self.c = kinds, c
        self.arms = {k: _EditArm() for k in kinds}

    def choose(self, rng: np.random.Generator, allowed: tuple[str, ...] | None = None) -> str:
        """The next kind to try (among `allowed`, default all)."""
        kinds = allowed or self.kinds
        if rng.random() < EXPLORE:
            return kinds[int(rng.integers(len(kinds)))]
        total = sum(self.arms[k].pulls for k in kinds) + 1.0
        scores = [self._ucb(self.arms[k], total) + 1e-6 * rng.random() for k in kinds]
        return kinds[int(np.argmax(scores))]

    def _ucb(self, arm: _EditArm, total: float) -> float:
        # one pseudo-child at the prior keeps unseen kinds finite: all start equal
        pulls = arm.pulls + 1.0
        mean = (arm.reward + PRIOR) / pulls
        return mean + self.c * math.sqrt(math.log(total + 1.0) / pulls)

    def credit(self, kinds: list[str], gain: float, valid: bool, duplicate: bool) -> None:
        """A revealed child made by `kinds` (each credited a share)."""
        known = [k for k in kinds if k in self.arms]
        if not known:
            return
        reward = DUPLICATE if duplicate else 1.0 if valid and gain > 0 else \
            VALID if valid else 0.0
        share = 1.0 / len(known)
        for k in known:
            arm = self.arms[k]
            arm.pulls += share
            arm.reward += share * reward
            arm.improved += int(valid and gain > 0 and not duplicate)

    def table(self) -> list[dict]:
        """Per kind: children credited, mean reward, improvements; most rewarding first."""
        rows = [{"edit": k, "children": round(a.pulls, 2), "improved": a.improved,
                 "mean_reward": round(a.reward / a.pulls, 4) if a.pulls else 0.0}
                for k, a in self.arms.items()]
        return sorted(rows, key=lambda r: (-r["mean_reward"], r["edit"]))
