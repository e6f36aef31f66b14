"""Replay: re-run a recorded LLM search with no network.

The replay transport answers iteration i's request with the reply (or the
failure) recorded for iteration i of the source run, through the LLM
mutator's own code path. With the same seed and config every random choice
repeats, so the replay reaches the same candidates and scores; a prompt that
differs from the recorded one is counted, since it means the run diverged
(for example, a template was edited since).
"""

from __future__ import annotations

from dataclasses import replace

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.llm import LLMMutator
from adrs.mutate.transport import CallFailed, Reply
from adrs.store import Store


def recorded_calls(store: Store, source) -> dict:
    """The source run's calls by iteration; refuse a run that made none."""
    calls = store.recorded_calls(source.id)
    if not calls:
        raise UserError(f"run '{source.name}' made no LLM calls, so there is nothing to "
                        "replay; run it again with the same --seed instead")
    return calls


class ReplayTransport:
    """Serves the replies a run recorded, by iteration, instead of calling a model."""

    def __init__(self, store: Store, run_name: str):
        source = store.get_run(run_name)
        if source is None:
            raise UserError(f"no run '{run_name}' to replay in {store.url}; "
                            "see `adrs status` for the runs there")
        self.run_name = run_name
        self.calls = recorded_calls(store, source)
        self.meta = store.meta_calls(source.id)  # evolving prompts' meta calls
        self.diverged: list[int] = []  # iterations whose prompt differs from the recording

    async def complete(self, model, system, user, seed, iteration,
                       purpose="mutation") -> Reply:
        """The recorded reply of `iteration`; a differing prompt is noted as a divergence."""
        call = (self.meta if purpose == "meta" else self.calls).get(iteration)
        if call is None:
            what = "meta call" if purpose == "meta" else "LLM call"
            raise UserError(f"run '{self.run_name}' has no recorded {what} for iteration "
                            f"{iteration}; replay only the iterations it ran")
        if call.prompt != user:
            self.diverged.append(iteration)
        if call.error is not None:
            reason, _, message = call.error.partition(": ")
            raise CallFailed(reason, message, (call.tokens_in, call.tokens_out))
        return Reply(call.response or "", call.tokens_in, call.tokens_out, call.model,
                     bool(call.usage_estimated))


class ReplayMutator(LLMMutator):
    """The LLM mutator answered from a recording, noting where prompts diverge."""

    def diverged(self) -> list[int]:
        """Iterations whose prompt differed from the recording."""
        return list(self.transport.diverged)


def replay_mutator(cfg: MutatorConfig, store: Store, problem_root=None) -> LLMMutator:
    """An LLM mutator whose model is run `cfg.replay_run`'s recording."""
    if not cfg.replay_run:
        raise UserError("[mutator] kind = 'replay' needs replay_run, the recorded run to serve")
    transport = ReplayTransport(store, cfg.replay_run)
    # The recorded model answers each call; the breaker would only add pauses.
    llm_cfg = replace(cfg, model=cfg.model or "replay")
    return ReplayMutator(llm_cfg, problem_root, transport, breaker=False)
