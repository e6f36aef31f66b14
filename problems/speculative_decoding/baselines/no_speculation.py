"""Baseline: no speculation (plain decoding, one token per request per step)."""


def choose_k(batch, acceptance):
    return 0
