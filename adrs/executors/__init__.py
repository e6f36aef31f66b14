"""Executors run evaluations concurrently: a local pool now, Ray later."""

from adrs.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
