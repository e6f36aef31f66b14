"""The progress bar: iterations done, best score, failures."""

from __future__ import annotations

from tqdm import tqdm

from adrs.store.records import Status


class Progress:
    """The progress bar: iterations done, the best score, failures so far."""

    def __init__(self, name: str, iterations: int, show: bool):
        self.name, self.iterations, self.show = name, iterations, show
        self.best, self.failed = float("-inf"), 0
        self._bar = None

    def bar(self, done: int):
        """Context manager: the bar, starting at `done` iterations."""
        self._bar = tqdm(total=self.iterations, initial=done, disable=not self.show, unit="it",
                         desc=self.name, dynamic_ncols=True, mininterval=0.5)
        return self._bar

    def note(self, rec) -> None:
        """One candidate recorded (or restored)."""
        if rec.status == Status.OK and rec.score > self.best:
            self.best = rec.score
        self.failed += rec.status == Status.FAILED
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(best=f"{self.best:.4f}", failed=self.failed, refresh=False)
