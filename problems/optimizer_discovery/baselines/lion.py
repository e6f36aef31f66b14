"""Lion (Chen et al., 2023): update = sign(interp(g, m, beta1)), momentum = interp(g, m, beta2),
with decoupled weight decay. beta1 0.9, beta2 0.99, weight decay 0.01."""

import numpy as np

BETA1, BETA2, WEIGHT_DECAY = 0.9, 0.99, 0.01


def init(params):
    return [np.zeros_like(p) for p in params]


def update(params, grads, state, step, lr):
    new = [p - lr * (np.sign(BETA1 * m + (1 - BETA1) * g) + WEIGHT_DECAY * p)
           for p, m, g in zip(params, state, grads)]
    momentum = [BETA2 * m + (1 - BETA2) * g for m, g in zip(state, grads)]
    return new, momentum
