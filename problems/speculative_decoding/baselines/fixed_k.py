"""Baseline: always speculate 3 tokens, as a static configuration would."""


def choose_k(batch, acceptance):
    return 3
