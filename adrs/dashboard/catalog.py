"""The runs a dashboard shows: every run of an archive folder (one database per run)
or of a database URL, optionally only those named, found afresh on each request so a
run started after the dashboard appears in it."""

from __future__ import annotations

from pathlib import Path

from adrs.archive import DB_FILE, RunView
from adrs.errors import UserError
from adrs.store.database import open_read_only


class Catalog:
    """Run views by name, over an archive folder or a database URL."""

    def __init__(self, archive: Path | None = None, db: str | None = None,
                 names: tuple[str, ...] = ()):
        if db is None and (archive is None or not Path(archive).is_dir()):
            raise UserError(f"no archive folder at {archive}; pass --archive DIR (where "
                            "adrs run writes its runs) or --db URL")
        self.archive, self.db, self.names = archive, db, tuple(names)
        self._stores: dict[str, object] = {}  # opened once per database, reused

    def _open(self, where: str):
        if where not in self._stores:
            self._stores[where] = open_read_only(where, DB_FILE)[0]
        return self._stores[where]

    def runs(self) -> list[RunView]:
        """Every run shown, newest first."""
        found = []
        if self.db is not None:
            store = self._open(self.db)
            found = [RunView(store, r) for r in store.runs()]
        else:
            for folder in sorted(Path(self.archive).iterdir()):
                if (folder / DB_FILE).is_file():
                    try:
                        store = self._open(str(folder))
                    except UserError:  # a run being created: shown once it has tables
                        continue
                    found += [RunView(store, r) for r in store.runs()]
        if self.names:
            found = [v for v in found if v.name in self.names]
        return sorted(found, key=lambda v: (v.run.created_at, v.name), reverse=True)

    def run(self, name: str) -> RunView | None:
        """One run, read now (its row moves on while it runs)."""
        return next((v for v in self.runs() if v.name == name), None)
