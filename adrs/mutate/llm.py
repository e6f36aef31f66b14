"""LLM mutator: any OpenAI-compatible endpoint (hosted APIs, vLLM, Ollama, llama.cpp).

Per request it picks a model (weighted ensemble or bandit, see models.py) and an
edit format (SEARCH/REPLACE diff, full rewrite, or crossover of two parents),
renders the prompt from jinja2 templates, and turns the reply into a child
confined to the evolvable region (edits.py). Every choice is made in `submit`,
in iteration order; the request itself runs on the mutator's own asyncio event
loop (one thread for all requests in flight, at most `concurrency` at once),
and the loop gets a Future.

The transport is the `openai` async client: it retries 429/5xx/timeouts/connection
errors with exponential backoff and jitter and honours Retry-After. Failed
calls are reported by reason (llm_rate_limited, llm_timeout, ...). The API key
is read from the environment variable named in the config; it is never stored
and never reaches candidates. A replay transport (replay.py) serves recorded
replies through the same code path.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.base import Mutation, MutationRequest, Parent
from adrs.mutate.edits import EditError, child_from_reply
from adrs.mutate.models import ModelChooser
from adrs.mutate.prompt import Prompts


@dataclass(frozen=True)
class LLMCall:
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


@dataclass(frozen=True)
class Reply:
    text: str
    tokens_in: int
    tokens_out: int
    model: str  # the model that answered (a replay answers as the recorded one)


class CallFailed(Exception):
    """A call that produced no reply after retries; `reason` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Transport(Protocol):
    async def complete(self, model: str, system: str, user: str, seed: int,
                       iteration: int) -> Reply: ...


class OpenAITransport:
    def __init__(self, cfg: MutatorConfig):
        import openai  # imported here so offline runs never load it

        key = os.environ.get(cfg.api_key_env)
        if not key and not cfg.base_url:
            raise UserError(f"no API key: set the environment variable {cfg.api_key_env} "
                            "(or name another with mutator.api_key_env)")
        self.cfg = cfg
        self.client = openai.AsyncOpenAI(base_url=cfg.base_url or None,
                                         api_key=key or "not-needed",
                                         timeout=cfg.timeout_seconds, max_retries=cfg.max_retries)
        self._openai = openai

    async def complete(self, model, system, user, seed, iteration) -> Reply:
        try:
            reply = await self.client.chat.completions.create(
                model=model, temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens,
                seed=seed, messages=[{"role": "system", "content": system},
                                     {"role": "user", "content": user}])
            text = reply.choices[0].message.content or ""
        except Exception as exc:  # noqa: BLE001 - any failure of one call is recorded, not fatal
            raise CallFailed(self._reason(exc), f"{type(exc).__name__}: {exc}"[:500]) from None
        usage = reply.usage
        return Reply(text, usage.prompt_tokens if usage else 0,
                     usage.completion_tokens if usage else 0, model)

    def _reason(self, exc: Exception) -> str:
        o = self._openai
        if isinstance(exc, o.RateLimitError):
            return "llm_rate_limited"
        if isinstance(exc, o.APITimeoutError):
            return "llm_timeout"
        if isinstance(exc, o.APIStatusError):
            return "llm_server_error" if exc.status_code >= 500 else f"llm_http_{exc.status_code}"
        if isinstance(exc, o.APIConnectionError):
            return "llm_connection"
        return "llm_bad_response"  # unparsable body, missing fields


class LLMMutator:
    waits_on_io = True

    def __init__(self, cfg: MutatorConfig, problem_root: Path | None = None,
                 transport: Transport | None = None, breaker: bool = True):
        weights = cfg.models or ({cfg.model: 1.0} if cfg.model else {})
        if not weights:
            raise UserError("[mutator] kind = 'llm' needs a model name: set mutator.model "
                            "(or mutator.models for an ensemble)")
        self.cfg = cfg
        self.chooser = ModelChooser(weights, cfg.bandit,
                                    cfg.breaker_failures if breaker else 0, cfg.breaker_seconds)
        self.prompts = Prompts(problem_root, cfg.templates, cfg.prompt_chars)
        self._loop = asyncio.new_event_loop()
        self._slots = asyncio.Semaphore(max(1, cfg.concurrency))
        threading.Thread(target=self._loop.run_forever, name="adrs-llm", daemon=True).start()
        try:
            self.transport = transport or OpenAITransport(cfg)
        except BaseException:
            self.close()
            raise

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
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

    def close(self) -> None:
        """Stop the event loop; requests still running are abandoned."""
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)

    def observe(self, model: str, gain: float, cost: float) -> None:
        """The loop reports each revealed child of an LLM call (for the bandit)."""
        self.chooser.observe(model, gain, cost)

    async def _call(self, request: MutationRequest, model: str, kind: str,
                    other: Parent | None, seed: int) -> Mutation:
        system, user = self.prompts.render(kind, request, other)
        async with self._slots:
            await asyncio.sleep(self.chooser.pause_left(model))
            start = time.perf_counter()
            try:
                reply = await self.transport.complete(model, system, user, seed,
                                                      request.iteration)
            except CallFailed as exc:
                self.chooser.call_failed(model, str(exc))
                call = LLMCall(model, user, None, latency_seconds=time.perf_counter() - start,
                               error=f"{exc.reason}: {exc}", iteration=request.iteration)
                return Mutation(None, f"llm: {model} ({kind})", other.id if other else None,
                                error=f"LLM call failed: {exc}", reason=exc.reason, call=call)
            latency = time.perf_counter() - start
        self.chooser.call_succeeded(reply.model)
        price = self.cfg.prices.get(reply.model, [0.0, 0.0])
        call = LLMCall(reply.model, user, reply.text, reply.tokens_in, reply.tokens_out, latency,
                       cost=(reply.tokens_in * price[0] + reply.tokens_out * price[1]) / 1e6,
                       iteration=request.iteration)
        description = f"llm: {reply.model} ({kind})"
        try:
            child = child_from_reply(reply.text, request.parent.source, kind == "diff")
        except EditError as exc:
            return Mutation(None, description, other.id if other else None, error=str(exc),
                            reason=exc.reason, call=call)
        return Mutation(child, description, other.id if other else None, call=call)
