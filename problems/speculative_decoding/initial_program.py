"""A speculative-decoding length policy: the evolvable region is choose_k.

Each step of the serving system asks choose_k(batch, acceptance) how many tokens
the draft model should propose for every request in the batch (0..8): batch is
the number of running requests, acceptance the system's running estimate of the
share of draft tokens the target accepts.
"""


# EVOLVE-BLOCK-START
def choose_k(batch, acceptance):
    """Speculate while the batch is small and drafts are often right."""
    if acceptance < 0.3:
        return 0
    if batch <= 8:
        return 5
    if batch <= 24:
        return 2
    return 1
# EVOLVE-BLOCK-END
