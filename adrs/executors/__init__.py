"""Executors run evaluations concurrently: a local pool, Ray, or `adrs worker`s."""

from adrs.executors.base import Executor
from adrs.executors.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor"]
