"""The evolvable region of a program, between EVOLVE-BLOCK-START/END marker comments.

The markers are OpenEvolve's, so its problems work unchanged. A program with no
markers is evolvable as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

START = "EVOLVE-BLOCK-START"
END = "EVOLVE-BLOCK-END"


class MarkerError(ValueError):
    """The evolve-block markers are missing a partner, repeated, or out of order."""


@dataclass(frozen=True)
class Split:
    """A program cut at its evolve-block markers: before, the region, after."""

    before: str  # up to and including the START marker line
    region: str
    after: str  # from the END marker line on

    def join(self, region: str) -> str:
        """The program with `region` in place of the evolvable one."""
        if region and not region.endswith("\n"):
            region += "\n"
        return self.before + region + self.after


def split(source: str) -> Split:
    """Cut `source` at its markers (no markers: all of it evolves); MarkerError if malformed."""
    lines = source.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if START in line]
    ends = [i for i, line in enumerate(lines) if END in line]
    if not starts and not ends:
        return Split("", source, "")
    if len(starts) != 1 or len(ends) != 1:
        raise MarkerError(f"expected one {START} and one {END} line, found "
                          f"{len(starts)} and {len(ends)}")
    s, e = starts[0], ends[0]
    if e < s:
        raise MarkerError(f"{END} comes before {START}")
    return Split("".join(lines[: s + 1]), "".join(lines[s + 1 : e]), "".join(lines[e:]))
