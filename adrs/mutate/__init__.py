"""Mutators propose children: offline AST edits now, LLMs over OpenAI-compatible APIs next."""

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.base import Mutation, MutationRequest, Mutator, Parent
from adrs.mutate.offline import OfflineMutator

__all__ = ["Mutation", "MutationRequest", "Mutator", "OfflineMutator", "Parent", "make_mutator"]


def make_mutator(cfg: MutatorConfig) -> Mutator:
    if cfg.kind == "offline":
        return OfflineMutator(cfg.max_edits, cfg.crossover)
    raise UserError(f"unknown mutator kind '{cfg.kind}' in [mutator]; available: offline")
