"""Prompts that evolve: prompt variants with lineage, chosen by a bandit and credited
by their children; a meta step that rewrites them and writes insight notes.

    pool.py    variants per island, UCB1 choice, credit, retirement
    notes.py   the bounded scratchpad of insight notes, dropped when they stop paying
    meta.py    the meta prompt (jinja2, model text as data) and its reply's parsing
    stage.py   PromptEvolution: the controller's stage that ties them to the store

Every choice is made in iteration order from revealed results only, so a run with
evolving prompts is as reproducible as one without, and replays identically.
"""

from adrs.prompt_evolution.meta import MetaReply, parse_meta_reply
from adrs.prompt_evolution.notes import Note, Scratchpad
from adrs.prompt_evolution.pool import Variant, VariantPool
from adrs.prompt_evolution.stage import Guidance, PromptEvolution, meta_asker

__all__ = ["Guidance", "MetaReply", "Note", "PromptEvolution", "Scratchpad", "Variant",
           "VariantPool", "meta_asker", "parse_meta_reply"]
