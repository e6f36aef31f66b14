"""The evaluator contract: what a problem plugin's evaluator provides.

An evaluator is the trusted scorer of a problem. It runs in the controller and
never runs candidate code: adrs calls the candidate's `entrypoint(**case)` in the
sandbox for every case and hands the outputs to `score`. Subclass `Evaluator`
to inherit the defaults of the optional parts, or write any class with the same
members: either way it is checked once, when the problem loads (`parts_of`), and
a member of the wrong kind is refused in one line naming it.

Required:
    entrypoint        the function (or, with a harness, the harness's function) called
    cases()           keyword arguments for each call: plain data, arrays included
    score(outputs, seconds)
                      a dict of metrics with a `score` to maximise; raise ValueError for
                      an output that breaks the rules. `seconds` are the trusted
                      parent's, per case (CPU time charged to the sandbox, or wall time)

Optional (defaults below):
    private(seed)     the evaluator judging on data drawn from `seed` (each run draws
                      one no candidate can know); without it a run judges on public data
    probes()          a few cheap inputs for functional hashing
    probe_rtol        relative tolerance for comparing float probe outputs
    noisy             one program's score varies between evaluations
    volatile_metrics  metrics that vary between evaluations (times): left out of prompts
    harness           Python source run in the sandbox around the candidate, whose
                      entry point calls the candidate's functions through `candidate`
    preload           modules each warm sandbox template imports before any candidate
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from adrs.errors import UserError


class Evaluator(Protocol):
    """A problem's scorer (see the module docstring). Subclassing is optional: any
    object with `entrypoint`, `cases` and `score` is one."""

    entrypoint: str
    probes: Callable[[], list[dict[str, Any]]] | None = None
    private: Callable[[int], Evaluator] | None = None
    probe_rtol: float = 1e-6
    noisy: bool = False
    volatile_metrics: tuple[str, ...] = ()
    harness: str | None = None
    preload: tuple[str, ...] = ()

    def cases(self) -> list[dict[str, Any]]:
        """Keyword arguments of each call of the candidate's entry point."""
        ...

    def score(self, outputs: list[Any], seconds: list[float]) -> dict[str, float]:
        """Metrics of the outputs, `score` among them; ValueError for an invalid one."""
        ...


_DEFAULTS = {name: getattr(Evaluator, name) for name in
             ("probes", "private", "probe_rtol", "noisy", "volatile_metrics", "harness",
              "preload")}


@dataclass(frozen=True)
class EvaluatorParts:
    """An evaluator's optional parts, read once with their defaults and checked."""

    probes: Callable[[], list[dict[str, Any]]] | None
    private: Callable[[int], Evaluator] | None
    probe_rtol: float
    noisy: bool
    volatile_metrics: frozenset[str]
    harness: str | None
    preload: tuple[str, ...]


def parts_of(evaluator: object, where: str) -> EvaluatorParts:
    """Check `evaluator` against the contract; UserError (naming `where` and the member)
    for a missing required member or an optional one of the wrong kind."""
    for need in ("entrypoint", "cases", "score"):
        if not hasattr(evaluator, need):
            raise UserError(f"{where}: the evaluator has no '{need}'; see the contract in "
                            "adrs/evaluator.py (or subclass adrs.evaluator.Evaluator)")
    if not isinstance(evaluator.entrypoint, str) or not evaluator.entrypoint:
        raise UserError(f"{where}: the evaluator's 'entrypoint' must be a function name")
    for need in ("cases", "score"):
        if not callable(getattr(evaluator, need)):
            raise UserError(f"{where}: the evaluator's '{need}' must be a method")
    got = {name: getattr(evaluator, name, default) for name, default in _DEFAULTS.items()}
    for name in ("probes", "private"):
        _expect(got[name] is None or callable(got[name]), where, name, "a method or None")
    _expect(got["harness"] is None or isinstance(got["harness"], str), where, "harness",
            "Python source text or None")
    for name in ("preload", "volatile_metrics"):
        value = got[name]
        _expect(not isinstance(value, (str, bytes)) and _all_str(value), where, name,
                "a list of names")
    rtol = got["probe_rtol"]
    _expect(isinstance(rtol, (int, float)) and not isinstance(rtol, bool) and rtol >= 0,
            where, "probe_rtol", "a number >= 0")
    _expect(not isinstance(got["noisy"], (str, bytes)), where, "noisy", "True or False")
    return EvaluatorParts(
        probes=got["probes"], private=got["private"], probe_rtol=float(rtol),
        noisy=bool(got["noisy"]), volatile_metrics=frozenset(got["volatile_metrics"]),
        harness=got["harness"], preload=tuple(got["preload"]))


def _all_str(value) -> bool:
    try:
        return all(isinstance(v, str) for v in value)
    except TypeError:  # not iterable
        return False


def _expect(ok: bool, where: str, name: str, kind: str) -> None:
    if not ok:
        raise UserError(f"{where}: the evaluator's '{name}' must be {kind}; see "
                        "adrs/evaluator.py")
