"""LLM mutator: any OpenAI-compatible endpoint (hosted APIs, vLLM, Ollama, llama.cpp).

Per request it picks a model (weighted ensemble or bandit, see models.py) and an
edit format (SEARCH/REPLACE diff, full rewrite, or crossover of two parents),
renders the prompt from jinja2 templates, and turns the reply into a child
confined to the evolvable region (edits.py). Every choice is made in `submit`,
in iteration order; the request itself runs on the mutator's own asyncio event
loop (one thread for all requests in flight, at most `concurrency` at once),
and the loop gets a Future.

The transport (openai_transport.py) is the `openai` async client with a
deadline per attempt and adrs's own retries of 429/5xx/timeouts/connection
errors (exponential backoff and jitter, Retry-After honoured). Failed calls
are reported by reason (llm_rate_limited, llm_timeout, ...). The API key is
read from the environment variable named in the config; it is never stored,
never reaches candidates, and is redacted from everything an endpoint sends
back (redact.py). A replay transport (replay.py) serves recorded
replies through the same code path.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.base import Mutation, MutationRequest, Mutator, Parent
from adrs.mutate.edits import EditError, child_from_reply
from adrs.mutate.models import ModelChooser
from adrs.mutate.prompt import Prompts
from adrs.mutate.transport import CallFailed, Reply, Transport


@dataclass(frozen=True)
class ModelCall:
    """One request and its reply, as stored in the llm_calls table."""

    model: str
    prompt: str
    response: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_seconds: float = 0.0
    error: str | None = None  # "<reason>: <message>" for a failed call
    cost: float = 0.0  # USD, from the price table in config
    iteration: int | None = None  # the child it was made for
    usage_estimated: bool = False  # tokens counted from the text, not reported
    purpose: str = "mutation"  # or "meta": a rewrite of the prompt (adrs.prompt_evolution)


PROBE_POLL = 0.05  # seconds between looks at a half-open model's probe


class LLMMutator(Mutator):

    """Children written by a model behind an OpenAI-compatible endpoint: diff, rewrite and
    crossover prompts, calls made concurrently on an asyncio loop, every call recorded."""
    def __init__(self, cfg: MutatorConfig, problem_root: Path | None = None,
                 transport: Transport | None = None, breaker: bool = True):
        weights = cfg.models or ({cfg.model: 1.0} if cfg.model else {})
        if not weights:
            raise UserError("[mutator] kind = 'llm' needs a model name: set mutator.model "
                            "(or mutator.models for an ensemble)")
        self.cfg = cfg
        self.chooser = ModelChooser(weights, cfg.bandit,
                                    cfg.breaker_failures if breaker else 0, cfg.breaker_seconds)
        self.prompts = Prompts(problem_root, cfg.templates, cfg.prompt_chars,
                               cfg.artifact_chars)
        self._stored: dict[int, Reply] = {}  # replies already paid for, by iteration
        self._loop = asyncio.new_event_loop()
        self._slots = asyncio.Semaphore(max(1, cfg.concurrency))
        threading.Thread(target=self._loop.run_forever, name="adrs-llm", daemon=True).start()
        try:
            if transport is None:
                from adrs.mutate.openai_transport import OpenAITransport

                transport = OpenAITransport(cfg)
            self.transport = transport
        except BaseException:
            self.close()
            raise

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
        """As Mutator.mutate, waiting for the model's reply."""
        return self.submit(request, rng).result()

    def submit(self, request: MutationRequest, rng: np.random.Generator) -> Future:
        """Draw the model, edit format and seed now; the request runs on the event loop."""
        model = self.chooser.choose(float(rng.random()))
        u = float(rng.random())
        seed = int(rng.integers(1 << 31))
        if request.inspirations and u < self.cfg.crossover:
            kind, other = "crossover", request.inspirations[0]
        else:
            kind, other = ("diff" if u < self.cfg.crossover + self.cfg.diff else "rewrite"), None
        return asyncio.run_coroutine_threadsafe(
            self._call(request, model, kind, other, seed), self._loop)

    def ask(self, model: str, system: str, user: str, seed: int,
            iteration: int) -> tuple[str | None, ModelCall]:
        """A meta call (evolving prompts), waited for: the reply's text (None if the call
        failed) and the call to store."""
        return asyncio.run_coroutine_threadsafe(
            self._ask(model, system, user, seed, iteration), self._loop).result()

    async def _ask(self, model, system, user, seed, iteration):
        async with self._slots:
            await self._admitted(model)
            start = time.perf_counter()
            try:
                reply = await self.transport.complete(model, system, user, seed, iteration,
                                                      purpose="meta")
                self.chooser.call_succeeded(reply.model)
            except CallFailed as exc:
                self.chooser.call_failed(model, str(exc))
                return None, ModelCall(model, user, None, *exc.usage,
                                       latency_seconds=time.perf_counter() - start,
                                       error=f"{exc.reason}: {exc}",
                                       cost=self._cost(model, *exc.usage), iteration=iteration,
                                       purpose="meta")
            finally:
                self.chooser.call_done(model)
        return reply.text, ModelCall(
            reply.model, user, reply.text, reply.tokens_in, reply.tokens_out,
            time.perf_counter() - start, cost=self._cost(reply.model, reply.tokens_in,
                                                         reply.tokens_out),
            iteration=iteration, usage_estimated=reply.usage_estimated, purpose="meta")

    def reuse(self, replies: dict) -> None:
        """Stored replies (llm_calls rows by iteration) to serve instead of asking again,
        when the same model is drawn for that iteration."""
        self._stored = {i: Reply(r.response, r.tokens_in, r.tokens_out, r.model,
                                 bool(r.usage_estimated)) for i, r in replies.items()}

    def close(self, cancel: bool = False) -> None:
        """Stop the event loop; requests still running are abandoned."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)

    def observe(self, model: str, gain: float, cost: float) -> None:
        """The loop reports each revealed child of an LLM call (for the bandit)."""
        self.chooser.observe(model, gain, cost)

    async def _admitted(self, model: str) -> None:
        """Wait out the model's pause; after one, wait for the probe call's verdict."""
        while not self.chooser.may_call(model):
            await asyncio.sleep(max(self.chooser.pause_left(model), PROBE_POLL))

    def _cost(self, model: str, tokens_in: int, tokens_out: int) -> float:
        price = self.cfg.prices.get(model, [0.0, 0.0])
        return (tokens_in * price[0] + tokens_out * price[1]) / 1e6

    async def _call(self, request: MutationRequest, model: str, kind: str,
                    other: Parent | None, seed: int) -> Mutation:
        system, user = self.prompts.render(kind, request, other)
        stored = self._stored.pop(request.iteration, None)
        reuse = stored is not None and stored.model == model
        async with self._slots:
            if not reuse:
                await self._admitted(model)
            start = time.perf_counter()
            try:
                reply = stored if reuse else \
                    await self.transport.complete(model, system, user, seed, request.iteration)
                self.chooser.call_succeeded(reply.model)
            except CallFailed as exc:
                self.chooser.call_failed(model, str(exc))
                tokens_in, tokens_out = exc.usage  # what the server billed for an unusable reply
                call = ModelCall(model, user, None, tokens_in, tokens_out,
                               latency_seconds=time.perf_counter() - start,
                               error=f"{exc.reason}: {exc}", cost=self._cost(model, *exc.usage),
                               iteration=request.iteration)
                return Mutation(None, f"llm: {model} ({kind})", other.id if other else None,
                                error=f"LLM call failed: {exc}", reason=exc.reason, call=call,
                                prompt_variant_id=request.guidance.variant_id
                                if request.guidance else None)
            finally:
                self.chooser.call_done(model)  # after the verdict: waiters see it
            latency = time.perf_counter() - start
        call = ModelCall(reply.model, user, reply.text, reply.tokens_in, reply.tokens_out, latency,
                       cost=self._cost(reply.model, reply.tokens_in, reply.tokens_out),
                       iteration=request.iteration, usage_estimated=reply.usage_estimated)
        description = f"llm: {reply.model} ({kind})"
        variant = request.guidance.variant_id if request.guidance else None
        try:
            child = child_from_reply(reply.text, request.parent.source, kind == "diff")
        except EditError as exc:
            return Mutation(None, description, other.id if other else None, error=str(exc),
                            reason=exc.reason, call=call, prompt_variant_id=variant)
        return Mutation(child, description, other.id if other else None, call=call,
                        prompt_variant_id=variant)
