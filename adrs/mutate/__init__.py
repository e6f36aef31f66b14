"""Mutators propose children: offline AST edits, or an LLM over an OpenAI-compatible API."""

from pathlib import Path

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.base import Mutation, MutationRequest, Mutator, Parent
from adrs.mutate.offline import OfflineMutator

__all__ = ["Mutation", "MutationRequest", "Mutator", "OfflineMutator", "Parent", "make_mutator"]


def make_mutator(cfg: MutatorConfig, problem_root: Path | None = None,
                 store=None, baselines: tuple[str, ...] = ()) -> Mutator:
    """The mutator `cfg.kind` names: offline, llm or replay. `baselines` (the problem's
    baseline programs' sources) are donors for the offline mutator's edits."""
    if cfg.kind == "offline":
        return OfflineMutator(cfg.max_edits, cfg.crossover, cfg.donors, baselines)
    if cfg.kind == "llm":
        from adrs.mutate.llm import LLMMutator

        return LLMMutator(cfg, problem_root)
    if cfg.kind == "replay" and store is not None:
        from adrs.mutate.replay import replay_mutator

        return replay_mutator(cfg, store, problem_root)
    raise UserError(f"unknown mutator kind '{cfg.kind}' in [mutator]; available: offline, "
                    "llm (replay is made by `adrs replay`)")
