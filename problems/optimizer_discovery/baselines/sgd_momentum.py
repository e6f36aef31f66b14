"""SGD with heavy-ball momentum (beta 0.9)."""

import numpy as np


def init(params):
    return [np.zeros_like(p) for p in params]


def update(params, grads, state, step, lr):
    velocity = [0.9 * v + g for v, g in zip(state, grads)]
    return [p - lr * v for p, v in zip(params, velocity)], velocity
