"""Online bin packing (FunSearch's problem): a priority function picks the bin for each item.

An OpenEvolve-format problem with cascade evaluation: adrs runs this folder unchanged.
The evaluator does the packing (each item goes to the fitting bin with the highest
priority, or opens a new bin) and calls priority() for every item.
"""

import numpy as np


# EVOLVE-BLOCK-START
def priority(item, bins):
    """Score every bin the item fits in (bins: remaining capacities); the highest wins.

    This is first fit: the waste term is switched off and earlier bins win."""
    waste = bins - item
    return 0.0 * waste - 1.0 * np.arange(len(bins))
# EVOLVE-BLOCK-END
