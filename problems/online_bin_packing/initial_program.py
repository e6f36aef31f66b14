"""Online bin packing (FunSearch's problem): a priority function picks the bin for each item.

An OpenEvolve-format problem with cascade evaluation: adrs runs this folder unchanged.
"""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item, bins):
    """Score every bin the item fits in (bins: remaining capacities); the highest wins.

    This is first fit: the waste term is switched off and earlier bins win."""
    waste = bins - item
    return 0.0 * waste - 1.0 * np.arange(len(bins))
# EVOLVE-BLOCK-END


def pack(items, capacity):
    """Place each item in the open bin its priority prefers, or open a new bin."""
    remaining = []
    for item in items:
        fits = [i for i, r in enumerate(remaining) if r >= item]
        if fits:
            scores = priority(item, np.array([remaining[i] for i in fits], dtype=float))
            remaining[fits[int(np.argmax(scores))]] -= item
        else:
            remaining.append(capacity - item)
    return len(remaining)
