"""The fake model's advice-sensitive mode (`adrs fake-llm --advice`), for showing that
evolving prompts pay without a real model.

Each bundled problem with baselines has a few hidden phrases. When a prompt holds one
of a problem's phrases, the fake model knows what that problem's baselines know: its
offline edits draw on them as donors (transplants, fragments), so its children get
better; without the phrase it edits blind. Asked to rewrite a prompt, it proposes
advice drawn from a vocabulary where the hidden phrases are a minority among useless
ones, so only a search that keeps what paid finds them.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np

from adrs import evolve_block
from adrs.mutate.base import MutationRequest, Parent
from adrs.mutate.edits import CODE_BLOCK, render_diff
from adrs.mutate.offline import OfflineMutator

HIDDEN = {
    "gpu_allocation": ("price every GPU type by its cost per unit of throughput",
                       "search exactly when the instance is small"),
    "moe_expert_placement": ("replicate the hottest experts first",
                             "pack replicas onto GPUs greedily by load"),
    "moe_placement_torch": ("replicate the hottest experts first",
                            "pack replicas onto GPUs greedily by load"),
    "optimizer_discovery": ("keep a second moment per parameter",
                            "decouple weight decay from the gradient step"),
    "speculative_decoding": ("pick the draft length that maximises expected goodput",
                             "speculate less as the batch grows"),
    "spot_scheduling": ("pace progress uniformly against the deadline",
                        "switch to on-demand only when the slack runs out"),
    "txn_scheduling": ("append the transaction that would finish earliest",
                       "break ties by the shorter transaction"),
}
USELESS = ("Prefer small, targeted edits to the hottest path.",
           "Try a different data structure for the inner loop.",
           "Keep what the best program does and vary one constant at a time.",
           "Handle the edge cases the evaluator's feedback names first.",
           "Replace a fixed threshold by one computed from the input.",
           "Remove work that does not change the output.",
           "Write clearer variable names.", "Add comments explaining each step.",
           "Think step by step before editing.", "Make the code shorter.",
           "Avoid global state.", "Use vectorised numpy operations.",
           "Cache results that are computed twice.", "Sort the input before using it.",
           "Prefer integers to floats where you can.", "Check the types of the inputs.",
           "Return early when there is nothing to do.", "Use a priority queue.",
           "Randomise the order of the work.", "Split the function into smaller helpers.",
           "Normalise every score to [0, 1].", "Reuse the buffers between calls.",
           "Be more aggressive.", "Be more conservative.")
VOCABULARY = tuple(sorted(set(USELESS) | {p for ps in HIDDEN.values() for p in ps}))
META_ASK = "\nINSTRUCTION:\n"  # in the meta step's prompt (prompts/meta.jinja)


def meta_reply(body: dict, vocabulary: tuple[str, ...]) -> str:
    """An instruction of two pieces of advice and a note of one, drawn by the seed."""
    prompt = body["messages"][-1]["content"]
    rng = np.random.default_rng([int(body.get("seed") or 0), zlib.crc32(prompt.encode())])
    a, b = rng.choice(len(vocabulary), 2, replace=False)
    return f"INSTRUCTION:\n{vocabulary[a]} {vocabulary[b]}\nNOTE:\n{vocabulary[b]}\n"


@functools.lru_cache(maxsize=16)
def _donors(problem: str) -> tuple[str, ...]:
    from adrs.problem import bundled_root

    folder = bundled_root() / problem / "baselines"
    return tuple(p.read_text() for p in sorted(folder.glob("*.py")))


def advised(prompt: str) -> tuple[str, ...]:
    """The baselines the prompt's advice unlocks (those of every problem it names)."""
    found: tuple[str, ...] = ()
    for problem, phrases in HIDDEN.items():
        if any(p in prompt for p in phrases):
            found += _donors(problem)
    return found


def edit_reply(body: dict, donors: tuple[str, ...]) -> str:
    """An offline edit of the prompt's current program, drawing on `donors`."""
    prompt = body["messages"][-1]["content"]
    blocks = CODE_BLOCK.findall(prompt)
    if not blocks:
        return "I need to see the program to improve it."
    source = blocks[0]
    seed = [int(body.get("seed") or 0), zlib.crc32(prompt.encode())]
    mutator = OfflineMutator(max_edits=2, crossover=0.0, donors="baselines" if donors
                             else "none", baselines=donors)
    out = mutator.mutate(MutationRequest("", Parent(0, source, 0.0)),
                         np.random.default_rng(seed))
    if out.source is None:
        return "I could not find an improvement this time."
    if "<<<<<<< SEARCH" in prompt:
        old, new = evolve_block.split(source).region, evolve_block.split(out.source).region
        return f"Idea: {out.description}.\n\n{render_diff(old, new)}"
    return f"Idea: {out.description}.\n\n```python\n{out.source}```\n"


def advice_responder(body: dict) -> str:
    """The advice-sensitive fake model: meta replies from VOCABULARY, edits that know
    the baselines of the problems whose hidden phrases the prompt holds."""
    prompt = body["messages"][-1]["content"]
    if META_ASK in prompt:
        return meta_reply(body, VOCABULARY)
    return edit_reply(body, advised(prompt))
