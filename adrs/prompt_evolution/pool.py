"""Prompt variants per island: which one writes the next prompt (UCB1, seeded), what
their children earned them, and which are retired.

A child credits the variant that wrote its prompt: reward 1 if it beat its parent,
VALID if it scored without beating it, DUPLICATE if it repeated a known program or
behaviour, 0 if it failed. A variant is in use at iteration i if it appeared at or
before i and was not retired before i, so a resumed run that redoes an iteration
sees the variants that iteration saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VALID = 0.2
DUPLICATE = 0.05
PRIOR = 0.3  # what an unseen variant is assumed worth (one pseudo-child)


@dataclass
class Variant:
    """A stored prompt variant and its children's record so far."""

    id: int
    island: int
    parent_id: int | None
    system: str  # "" keeps the template's system message
    instruction: str  # "" adds no guidance
    author: str  # "seed" or "meta: <model>"
    iteration: int
    retired_at: int | None = None
    children: int = 0
    valid: int = 0
    improved: int = 0
    reward: float = 0.0
    since_improvement: int = 0  # children since its last improvement

    def in_use(self, i: int) -> bool:
        """Whether iteration i may be written from this variant."""
        return self.iteration <= i and (self.retired_at is None or self.retired_at > i)

    @property
    def mean(self) -> float:
        """Its mean reward, the prior counted as one child."""
        return (self.reward + PRIOR) / (self.children + 1)


class VariantPool:
    """Every variant of a run, by id; choice and retirement per island."""

    def __init__(self, explore: float = 0.5, retire_after: int = 15, capacity: int = 6):
        self.explore, self.retire_after, self.capacity = explore, retire_after, capacity
        self.variants: dict[int, Variant] = {}

    def add(self, v: Variant) -> None:
        """A variant, stored or restored."""
        self.variants[v.id] = v

    def in_use(self, island: int, i: int) -> list[Variant]:
        """The island's variants iteration i may use, oldest first."""
        return [v for v in self.variants.values() if v.island == island and v.in_use(i)]

    def choose(self, island: int, i: int, rng: np.random.Generator) -> Variant | None:
        """UCB1 over the island's variants in use (ties broken by `rng`)."""
        arms = self.in_use(island, i)
        if not arms:
            return None
        total = sum(v.children + 1 for v in arms)
        scores = [v.mean + self.explore * math.sqrt(math.log(total + 1) / (v.children + 1))
                  + 1e-9 * rng.random() for v in arms]
        return arms[int(np.argmax(scores))]

    def credit(self, variant_id: int | None, gain: float, status: str) -> None:
        """A revealed child of `variant_id`'s prompt."""
        v = self.variants.get(variant_id)
        if v is None:
            return
        improved = status == "ok" and gain > 0
        v.children += 1
        v.valid += status == "ok"
        v.improved += improved
        v.reward += 1.0 if improved else VALID if status == "ok" else \
            DUPLICATE if status == "duplicate" else 0.0
        v.since_improvement = 0 if improved else v.since_improvement + 1

    def best(self, island: int, i: int) -> Variant | None:
        """The island's most rewarding variant in use (the meta step rewrites it)."""
        arms = self.in_use(island, i)
        return max(arms, key=lambda v: (v.mean, -v.id)) if arms else None

    def to_retire(self, island: int, i: int) -> list[Variant]:
        """Variants that stopped paying (`retire_after` children with no improvement),
        and the weakest beyond `capacity`; never the island's last one."""
        arms = self.in_use(island, i)
        gone = [v for v in arms if v.since_improvement >= self.retire_after]
        left = [v for v in arms if v not in gone]
        if not left:  # keep the best of them
            keep = max(gone, key=lambda v: (v.mean, -v.id))
            gone.remove(keep)
            left = [keep]
        while len(left) > self.capacity:
            weakest = min(left, key=lambda v: (v.mean, -v.id))
            left.remove(weakest)
            gone.append(weakest)
        return gone
