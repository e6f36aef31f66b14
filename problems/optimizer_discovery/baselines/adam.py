"""Adam (Kingma and Ba, 2015): beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected."""

import numpy as np

BETA1, BETA2, EPS, WEIGHT_DECAY = 0.9, 0.999, 1e-8, 0.0


def init(params):
    return [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]


def update(params, grads, state, step, lr):
    m, v = state
    m = [BETA1 * mi + (1 - BETA1) * g for mi, g in zip(m, grads)]
    v = [BETA2 * vi + (1 - BETA2) * g * g for vi, g in zip(v, grads)]
    new = []
    for p, mi, vi in zip(params, m, v):
        m_hat = mi / (1 - BETA1 ** step)
        v_hat = vi / (1 - BETA2 ** step)
        new.append(p - lr * (m_hat / (np.sqrt(v_hat) + EPS) + WEIGHT_DECAY * p))
    return new, (m, v)
