"""The OpenAI-compatible transport: one chat completion, with a real deadline.

Each attempt has an overall deadline (`timeout_seconds`, enforced with
asyncio.wait_for, so a server that trickles bytes cannot stretch it); failed
attempts (429, 5xx, timeouts, connection errors) are retried with exponential
backoff and jitter, honouring Retry-After. The body is parsed here, so the
tokens a server billed are kept even when its reply is unusable, and usage is
checked: missing, negative or non-integer counts are replaced by an estimate
from the text and the call is marked as estimated. Every text that comes back
(reply and error) passes through the redactor first.
"""

from __future__ import annotations

import asyncio
import json
import os
import random

from adrs.config import MutatorConfig
from adrs.errors import UserError
from adrs.mutate.redact import Redactor
from adrs.mutate.transport import CallFailed, Reply

RETRIED = {"llm_rate_limited", "llm_server_error", "llm_timeout", "llm_connection",
           "llm_unreachable"}
CHARS_PER_TOKEN = 4  # the usual rule of thumb, for estimates only


class OpenAITransport:
    """One completion at a time from an OpenAI-compatible endpoint, with adrs's retries."""

    def __init__(self, cfg: MutatorConfig):
        import openai  # imported here so offline runs never load it

        key = os.environ.get(cfg.api_key_env)
        if not key and not cfg.base_url:
            raise UserError(f"no API key: set the environment variable {cfg.api_key_env} "
                            "(or name another with mutator.api_key_env)")
        self.cfg = cfg
        self.redact = Redactor((cfg.api_key_env,))
        # retries are ours: the client's own would run inside one deadline
        self.client = openai.AsyncOpenAI(base_url=cfg.base_url or None,
                                         api_key=key or "not-needed",
                                         timeout=cfg.timeout_seconds, max_retries=0)
        self._openai = openai

    async def complete(self, model, system, user, seed, iteration,
                       purpose="mutation") -> Reply:
        """The model's reply to one prompt, retried on rate limits, 5xx and timeouts."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        for attempt in range(self.cfg.max_retries + 1):
            try:
                return await self._attempt(model, messages, seed)
            except CallFailed as exc:
                if exc.reason not in RETRIED or attempt == self.cfg.max_retries:
                    raise
                await asyncio.sleep(_backoff(attempt, exc.retry_after))
        raise AssertionError("unreachable")

    async def _attempt(self, model: str, messages: list, seed: int) -> Reply:
        create = self.client.chat.completions.with_raw_response.create(
            model=model, temperature=self.cfg.temperature, max_tokens=self.cfg.max_tokens,
            seed=seed, messages=messages)
        try:
            raw = await asyncio.wait_for(create, self.cfg.timeout_seconds)
            body = raw.text
        except TimeoutError:
            raise CallFailed("llm_timeout", f"no complete reply within "
                             f"{self.cfg.timeout_seconds:g} s") from None
        except Exception as exc:  # noqa: BLE001 - any failure of one call is recorded
            raise CallFailed(self._reason(exc), self.redact(f"{type(exc).__name__}: {exc}")
                             [:500], retry_after=_retry_after(exc)) from None
        return self._reply(model, body, messages)

    def _reply(self, model: str, body: str, messages: list) -> Reply:
        try:
            data = json.loads(body)
        except ValueError:
            raise CallFailed("llm_bad_response",
                             self.redact(f"the reply is not JSON: {body[:200]!r}")) from None
        data = data if isinstance(data, dict) else {}
        text = _text(data)
        tokens_in, tokens_out, estimated = _usage(data, messages, text or "")
        if text is None:
            raise CallFailed("llm_bad_response", self.redact(
                f"the reply has no message content: {body[:200]!r}"), (tokens_in, tokens_out))
        return Reply(self.redact(text), tokens_in, tokens_out, model, estimated)

    def _reason(self, exc: Exception) -> str:
        o = self._openai
        if isinstance(exc, o.RateLimitError):
            return "llm_rate_limited"
        if isinstance(exc, o.APITimeoutError):
            return "llm_timeout"
        if isinstance(exc, o.APIStatusError):
            return "llm_server_error" if exc.status_code >= 500 else f"llm_http_{exc.status_code}"
        if isinstance(exc, o.APIConnectionError):  # could not connect at all, or cut off
            return "llm_unreachable" if _never_connected(exc) else "llm_connection"
        return "llm_bad_response"  # unparsable body, missing fields


def _never_connected(exc: BaseException) -> bool:
    """The HTTP library's connect error anywhere in the chain (refused, no route, DNS):
    matched by name, as the openai client bundles its own httpx."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _text(data: dict) -> str | None:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    content = (choices[0].get("message") or {}).get("content")
    return content if isinstance(content, str) else None


def _usage(data: dict, messages: list, text: str) -> tuple[int, int, bool]:
    """(tokens_in, tokens_out, estimated): the server's counts when they are sane."""
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    counts = [usage.get("prompt_tokens"), usage.get("completion_tokens")]
    if all(type(c) is int and c >= 0 for c in counts):
        return counts[0], counts[1], False
    prompt = sum(len(str(m.get("content", ""))) for m in messages)
    return -(-prompt // CHARS_PER_TOKEN), -(-len(text) // CHARS_PER_TOKEN), True


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    try:
        return min(60.0, max(0.0, float(response.headers.get("retry-after"))))
    except (AttributeError, TypeError, ValueError):
        return None


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return retry_after
    return min(8.0, 0.5 * 2 ** attempt) * random.uniform(0.75, 1.25)
