"""What a mutation is shown of a parent, read from the store once per parent."""

from __future__ import annotations

from collections import OrderedDict

from adrs.mutate import Parent
from adrs.store.records import Scored


class ParentCache:
    def __init__(self, store, volatile_metrics, size: int):
        self.store, self.volatile, self.size = store, set(volatile_metrics), size
        self._parents: OrderedDict[int, Parent] = OrderedDict()

    def __len__(self) -> int:
        return len(self._parents)

    def get(self, s: Scored) -> Parent:
        if s.id not in self._parents:
            source, score, metrics, notes = self.store.parent_fields(s.id)
            # measured times differ run to run: shown, they would make prompts unrepeatable
            shown = {k: v for k, v in (metrics or {}).items() if k not in self.volatile}
            self._parents[s.id] = Parent(s.id, source, score, shown, notes or {})
            if len(self._parents) > self.size:
                self._parents.popitem(last=False)
        return self._parents[s.id]
