"""An optimizer for small training tasks: the evolvable region defines init and update.

params and grads are lists of numpy arrays (read-only: return new arrays);
state is anything picklable that init returns and update passes on.
"""

import numpy as np


# EVOLVE-BLOCK-START
def init(params):
    """The optimizer's state before the first step: one velocity per parameter."""
    return [np.zeros_like(p) for p in params]


def update(params, grads, state, step, lr):
    """One step: returns (new_params, new_state). With beta = 0 this is plain SGD."""
    beta = 0.0
    velocity = [beta * v + g for v, g in zip(state, grads)]
    new_params = [p - lr * v for p, v in zip(params, velocity)]
    return new_params, velocity
# EVOLVE-BLOCK-END
