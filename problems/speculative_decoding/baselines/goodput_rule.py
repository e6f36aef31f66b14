"""Baseline: SmartSpec's goodput rule. Pick the k that maximises expected tokens per
second for this batch: batch x E[tokens per request] / step time, where a request
that accepts each draft token with probability a gains (1 - a^(k+1)) / (1 - a)."""

DRAFT_S, TARGET_S, VERIFY_S = 0.0012, 0.018, 0.00022


def choose_k(batch, acceptance):
    a = min(max(acceptance, 0.0), 0.999)

    def goodput(k):
        tokens = (1 - a ** (k + 1)) / (1 - a)
        step = DRAFT_S * k * (1 + batch / 32) + TARGET_S + VERIFY_S * batch * (k + 1)
        return batch * tokens / step

    return max(range(9), key=goodput)
