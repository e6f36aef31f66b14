"""What a mutation is shown of a parent, read from the store once per parent."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from adrs.mutate import Parent
from adrs.store.records import Scored

if TYPE_CHECKING:  # the type only: importing it here would load the database layer
    from adrs.store import Store


class ParentCache:
    """What a prompt shows of each parent (its source, metrics, artifacts), read
    from the store once and kept for the most recent `size` parents."""

    def __init__(self, store: Store, volatile_metrics: Iterable[str], size: int):
        self.store, self.volatile, self.size = store, set(volatile_metrics), size
        self._parents: OrderedDict[int, Parent] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parents)

    def get(self, s: Scored) -> Parent:
        """What a prompt shows of `s`, read from the store the first time."""
        if s.id not in self._parents:
            source, score, metrics, notes = self.store.parent_fields(s.id)
            # measured times differ run to run: shown, they would make prompts unrepeatable
            shown = {k: v for k, v in (metrics or {}).items() if k not in self.volatile}
            self._parents[s.id] = Parent(s.id, source, score, shown, notes or {})
            if len(self._parents) > self.size:
                self._parents.popitem(last=False)
        return self._parents[s.id]
