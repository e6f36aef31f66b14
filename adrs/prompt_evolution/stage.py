"""PromptEvolution: the controller's stage for prompts that evolve.

Before iteration i (after the results i may see are revealed) it retires the
island's variants and notes that stopped paying, runs the meta step every
`meta_every` iterations, and hands the mutator the guidance for i: the variant
the bandit chose and the notes in use. Each revealed child credits its variant
and the notes it followed. All of it is stored as it happens and restored on
resume, and a meta call already stored for an iteration is applied again rather
than paid for again.
"""

from __future__ import annotations

import sys
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from adrs.artifacts import for_prompt
from adrs.config import PromptsConfig
from adrs.errors import UserError
from adrs.mutate.base import Guidance
from adrs.prompt_evolution.meta import Example, diff_of, parse_meta_reply
from adrs.prompt_evolution.notes import Note, Scratchpad
from adrs.prompt_evolution.pool import Variant, VariantPool
from adrs.store.records import HistoryRow

if TYPE_CHECKING:  # types only: importing them here would load the database layer
    from adrs.stages.budget import Budget
    from adrs.store import Store

CHOICE_STREAM, META_STREAM = 32, 33  # generators of their own: other draws stay as they were


class PromptEvolution:
    """Variants, notes and the meta step of one run."""

    def __init__(self, store: Store, run_id: int, cfg: PromptsConfig, seed: int,
                 islands: int, budget: Budget, volatile: frozenset[str] = frozenset()):
        self.store, self.run_id, self.cfg, self.seed = store, run_id, cfg, seed
        self.islands, self.budget, self.volatile = islands, budget, volatile
        self.pool = VariantPool(cfg.explore, cfg.retire_after, cfg.variants)
        self.notes = Scratchpad(cfg.notes, cfg.note_patience)
        self.recent = {k: deque(maxlen=max(2, 2 * cfg.meta_every)) for k in range(islands)}
        self.meta_done: set[int] = set()  # iterations whose meta step is applied

    def restore(self) -> None:
        """The stored variants and notes; a fresh run gets one seed variant per island."""
        rows = self.store.prompt_variants(self.run_id)
        if not rows:
            for island in range(self.islands):
                self._add_variant(island, None, "", "", "seed", 0, None)
        for v in rows:
            self.pool.add(Variant(v.id, v.island, v.parent_id, v.system, v.instruction,
                                  v.author, v.iteration, v.retired_at))
            if v.author != "seed":
                self.meta_done.add(v.iteration)
        for n in self.store.insight_notes(self.run_id):
            self.notes.add(Note(n.id, n.island, n.text, n.iteration, n.dropped_at))
            self.meta_done.add(n.iteration)

    # --- each iteration ---

    def reveal(self, row: HistoryRow, gain: float) -> None:
        """A revealed child: its variant's credit, its notes' record, the meta step's
        examples."""
        if row.iteration <= 0:
            return
        self.pool.credit(row.prompt_variant_id, gain, row.status)
        self.notes.follow(row.island, row.iteration, row.status == "ok" and gain > 0)
        if row.island in self.recent:
            self.recent[row.island].append((row, gain))

    def before(self, i: int, island: int, asker, model: str, problem: str) -> Guidance:
        """Retire, reflect when due (for each island in turn), and the guidance for
        iteration i's prompt (from `island`'s variants)."""
        for v in self.pool.to_retire(island, i):
            if v.retired_at is None:
                v.retired_at = i
                self.store.retire_prompt_variant(v.id, i)
        for n in self.notes.to_drop(island, i):
            if n.dropped_at is None:
                n.dropped_at = i
                self.store.drop_insight_note(n.id, i)
        every = self.cfg.meta_every
        if every and i % every == 0 and i not in self.meta_done:  # islands take turns
            self._reflect(i, (i // every) % self.islands, asker, model, problem)
        chosen = self.pool.choose(island, i, np.random.default_rng([self.seed, i, CHOICE_STREAM]))
        notes = tuple(n.text for n in self.notes.shown(island, i))
        return Guidance(chosen.id, chosen.system, chosen.instruction, notes)

    # --- the meta step ---

    def _reflect(self, i: int, island: int, asker, model: str, problem: str) -> None:
        """Ask for a rewritten instruction and a note (or apply the reply stored for i)."""
        self.meta_done.add(i)
        best = self.pool.best(island, i)
        examples = self._examples(island)
        if best is None or not examples:
            return
        stored = self.store.meta_calls(self.run_id).get(i)
        if stored is not None:
            text, call_id = (stored.response if stored.error is None else None), stored.id
        else:
            user = asker.prompts.env.get_template("meta.jinja").render(
                problem=problem, instruction=best.instruction, examples=examples,
                notes=[n.text for n in self.notes.shown(island, i)])
            seed = int(np.random.default_rng([self.seed, i, META_STREAM]).integers(1 << 31))
            text, call = asker.ask(model, best.system or "", user[:self.cfg.meta_chars], seed, i)
            call_id = self.store.add_llm_call(self.run_id, **call.__dict__)
            self.budget.charge(i, call.cost, call.tokens_in + call.tokens_out)
        reply = parse_meta_reply(text or "")
        if reply.instruction and reply.instruction != best.instruction:
            self._add_variant(island, best.id, best.system, reply.instruction,
                              f"meta: {model}", i, call_id)
        if reply.note:
            nid = self.store.add_insight_note(self.run_id, island=island, text=reply.note,
                                              iteration=i, llm_call_id=call_id)
            self.notes.add(Note(nid, island, reply.note, i))

    def _examples(self, island: int) -> list[Example]:
        """The best recent child (the largest gain) and the worst (a failure, else the
        smallest gain), with their diffs."""
        seen = [(r, g) for r, g in self.recent[island] if r.status in ("ok", "failed")]
        ok = [(r, g) for r, g in seen if r.status == "ok"]
        if not ok:
            return []
        best = max(ok, key=lambda x: (x[1], -x[0].iteration))
        failed = [(r, g) for r, g in seen if r.status == "failed"]
        worst = failed[-1] if failed else min(ok, key=lambda x: (x[1], x[0].iteration))
        room = self.cfg.meta_chars // 4
        pair = [best] if worst[0].id == best[0].id else [best, worst]
        return [self._example(r, g, room) for r, g in pair]

    def _example(self, row: HistoryRow, gain: float, room: int) -> Example:
        source, _, metrics, artifacts = self.store.parent_fields(row.id)
        parent = self.store.parent_fields(row.parent_id)[0] if row.parent_id else ""
        shown = {k: v for k, v in (metrics or {}).items() if k not in self.volatile}
        return Example(row.iteration, row.status, row.score, gain, row.mutation or "",
                       diff_of(parent, source, room), shown, for_prompt(artifacts, room // 2),
                       f"{row.failure}: {row.error or ''}"[:300] if row.failure else "")

    def _add_variant(self, island, parent_id, system, instruction, author, iteration,
                     call_id) -> None:
        vid = self.store.add_prompt_variant(
            self.run_id, island=island, parent_id=parent_id, system=system,
            instruction=instruction, author=author, iteration=iteration, llm_call_id=call_id)
        self.pool.add(Variant(vid, island, parent_id, system, instruction, author, iteration))


def meta_asker(mutator, cfg) -> tuple[object, str]:
    """`[prompts] evolve`: the LLM mutator that makes the meta calls, and their model
    ((None, "") when prompts do not evolve: off, or an offline run, which writes no
    prompts; an OpenEvolve folder's use_meta_prompting then changes nothing)."""
    from adrs.mutate.llm import LLMMutator

    if not cfg.prompts.evolve:
        return None, ""
    if not isinstance(mutator, LLMMutator):
        print("adrs: [prompts] evolve is ignored: the offline mutator writes no prompts; "
              "set [mutator] kind = \"llm\" to evolve them", file=sys.stderr, flush=True)
        return None, ""
    if cfg.prompts.meta_every < 1:
        raise UserError("[prompts] meta_every must be at least 1 (iterations between "
                        "meta steps)")
    models = cfg.mutator.models or {cfg.mutator.model: 1.0}
    return mutator, cfg.prompts.meta_model or next(iter(models))
