"""Secrets never leave adrs: their values are cut out of whatever an endpoint sends back.

A proxy that echoes the API key in an error body would otherwise put it into
the database (llm_calls, candidates), stderr and, through the recent-failures
context, later prompts. The values redacted are the configured key's and those
of any environment variable whose name says it holds a secret.
"""

from __future__ import annotations

import os
import re

SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
MIN_LENGTH = 8  # shorter values would redact ordinary words
MARK = "[redacted]"


class Redactor:
    """Cuts secret values (named key variables and secret-looking ones) out of text."""

    def __init__(self, env_names: tuple[str, ...] = ()):
        named = {os.environ.get(n) for n in env_names}
        guessed = {v for k, v in os.environ.items() if SECRET_NAME.search(k)}
        self.values = sorted((v for v in named | guessed if v and len(v) >= MIN_LENGTH),
                             key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        for value in self.values:
            text = text.replace(value, MARK)
        return text
