"""LLM mutator: any OpenAI-compatible endpoint (hosted APIs, vLLM, Ollama, llama.cpp).

It renders the system and user prompts from jinja2 templates, asks the model
for a full rewrite of the evolvable region, and takes the region from the
reply's code block, so edits outside the region cannot happen. The `openai`
client retries 429/5xx/timeouts with exponential backoff and honours
Retry-After. The API key is read from the environment variable named in the
config; it is never stored and never reaches candidates.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adrs import evolve_block
from adrs.errors import UserError
from adrs.mutate.base import Mutation, MutationRequest
from adrs.mutate.prompt import render

_CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)


@dataclass(frozen=True)
class LLMCall:
    """One request and its reply, as stored in the llm_calls table."""

    model: str
    prompt: str
    response: str | None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_seconds: float = 0.0
    error: str | None = None
    cost: float = 0.0  # USD, from the price table in config


class LLMMutator:
    def __init__(self, model: str, base_url: str, api_key_env: str, temperature: float,
                 max_tokens: int, timeout_seconds: float, max_retries: int,
                 problem_root: Path | None = None, price: list[float] | None = None):
        import openai  # imported here so offline runs never load it

        if not model:
            raise UserError("[mutator] kind = 'llm' needs a model name: set mutator.model")
        key = os.environ.get(api_key_env)
        if not key and not base_url:
            raise UserError(f"no API key: set the environment variable {api_key_env} "
                            "(or name another with mutator.api_key_env)")
        self.model, self.temperature, self.max_tokens = model, temperature, max_tokens
        self.problem_root = problem_root
        self.price = price or [0.0, 0.0]  # USD per million tokens in, out
        self.client = openai.OpenAI(base_url=base_url or None, api_key=key or "not-needed",
                                    timeout=timeout_seconds, max_retries=max_retries)
        self._api_error = openai.APIError

    def mutate(self, request: MutationRequest, rng: np.random.Generator) -> Mutation:
        system = render("system.jinja", request, self.problem_root)
        user = render("mutate.jinja", request, self.problem_root)
        start = time.perf_counter()
        try:
            reply = self.client.chat.completions.create(
                model=self.model, temperature=self.temperature, max_tokens=self.max_tokens,
                seed=int(rng.integers(1 << 31)),
                messages=[{"role": "system", "content": system},
                          {"role": "user", "content": user}])
        except self._api_error as exc:
            call = LLMCall(self.model, user, None, latency_seconds=time.perf_counter() - start,
                           error=f"{type(exc).__name__}: {exc}"[:500])
            return Mutation(None, f"llm: {self.model}", error=f"LLM call failed: {call.error}",
                            call=call)
        text = reply.choices[0].message.content or ""
        usage = reply.usage
        tokens_in = usage.prompt_tokens if usage else 0
        tokens_out = usage.completion_tokens if usage else 0
        cost = (tokens_in * self.price[0] + tokens_out * self.price[1]) / 1e6
        call = LLMCall(self.model, user, text, tokens_in, tokens_out,
                       time.perf_counter() - start, cost=cost)
        region = _region_from_reply(text)
        if region is None:
            return Mutation(None, f"llm: {self.model}", error="the reply has no code block",
                            call=call)
        child = evolve_block.split(request.parent.source).join(region)
        return Mutation(child, f"llm: {self.model} (full rewrite)", call=call)


def _region_from_reply(text: str) -> str | None:
    """The new evolvable region: the longest code block, cut to its markers if it has them."""
    blocks = _CODE_BLOCK.findall(text)
    if not blocks:
        return None
    code = max(blocks, key=len)
    try:
        return evolve_block.split(code).region
    except evolve_block.MarkerError:
        return None
