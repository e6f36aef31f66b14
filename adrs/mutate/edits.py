"""Turning a model's reply into a child program: SEARCH/REPLACE diffs and full rewrites.

Both formats may touch only the evolvable region. A diff is applied to the
region alone; if its SEARCH text is found only outside the region, the edit is
refused as `outside_region`. Models drift in whitespace, so a SEARCH text that
does not match exactly is matched line by line ignoring indentation and
trailing spaces, and its replacement is re-indented by the same offset.
Every refusal is an `EditError` carrying a short reason code that the loop
records as the failed mutation's reason.
"""

from __future__ import annotations

import re

from adrs import evolve_block

# a fenced block in any language (```python, ```rust, ```c++, or none)
CODE_BLOCK = re.compile(r"```[\w+#.-]*[ \t]*\n(.*?)```", re.S)
DIFF_BLOCK = re.compile(
    r"^<{7}[ \t]*SEARCH[ \t]*\n(.*?)^={7}[ \t]*\n(.*?)^>{7}[ \t]*REPLACE[ \t]*$", re.S | re.M)


class EditError(ValueError):
    """A reply that yields no child; `reason` is no_code, diff_failed or outside_region."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def child_from_reply(text: str, parent_source: str, want_diff: bool) -> str:
    """The child program a reply describes. A diff request answered with a whole
    code block is taken as a rewrite: models do that, and the region check still holds."""
    blocks = DIFF_BLOCK.findall(text)
    if want_diff and blocks:
        return apply_diff(parent_source, blocks)
    if CODE_BLOCK.search(text):
        return apply_rewrite(parent_source, text)
    if blocks:
        return apply_diff(parent_source, blocks)
    raise EditError("no_code", "the reply has no code block and no SEARCH/REPLACE diff")


def apply_rewrite(parent_source: str, text: str) -> str:
    """Replace the region with the reply's longest code block (cut to its markers)."""
    blocks = CODE_BLOCK.findall(text)
    if not blocks:
        raise EditError("no_code", "the reply has no code block")
    code = max(blocks, key=len)
    parent = evolve_block.split(parent_source)
    try:
        new = evolve_block.split(code)
    except evolve_block.MarkerError as exc:
        raise EditError("outside_region", f"the rewrite's evolve-block markers: {exc}") from None
    if new.before or new.after:  # a whole program: only its region may differ
        if _squash(new.before) != _squash(parent.before) or \
                _squash(new.after) != _squash(parent.after):
            raise EditError("outside_region",
                            "the rewrite changes code outside the evolvable region")
    return parent.join(new.region)


def apply_diff(parent_source: str, blocks: list[tuple[str, str]]) -> str:
    """Apply SEARCH/REPLACE blocks to the parent's evolvable region; EditError names the
    block that does not apply."""
    parent = evolve_block.split(parent_source)
    region = parent.region
    for n, (search, replace) in enumerate(blocks, 1):
        region = _apply_one(region, search, replace, parent, n)
    return parent.join(region)


def _apply_one(region: str, search: str, replace: str, parent: evolve_block.Split,
               n: int) -> str:
    if not search.strip():
        raise EditError("diff_failed", f"SEARCH block {n} is empty")
    if search in region:
        return region.replace(search, replace, 1)
    lines = region.splitlines(keepends=True)
    found = _fuzzy_find(lines, search)
    if found is not None:
        start, end, shift = found
        new = _reindent(replace, shift)
        return "".join(lines[:start]) + new + "".join(lines[end:])
    outside = (parent.before + parent.after).splitlines(keepends=True)
    if search in parent.before + parent.after or _fuzzy_find(outside, search) is not None:
        raise EditError("outside_region",
                        f"SEARCH block {n} matches code outside the evolvable region")
    first = next(line.strip() for line in search.splitlines() if line.strip())
    raise EditError("diff_failed", f"SEARCH block {n} is not in the program "
                                   f"(first line: {first[:60]!r})")


def _fuzzy_find(lines: list[str], search: str) -> tuple[int, int, int] | None:
    """(start, end, indent shift) of the first window whose lines equal the SEARCH
    lines up to indentation and trailing whitespace; blank edge lines are ignored."""
    want = search.splitlines()
    while want and not want[0].strip():
        want.pop(0)
    while want and not want[-1].strip():
        want.pop()
    key = [w.strip() for w in want]
    for start in range(len(lines) - len(want) + 1):
        if all(lines[start + k].strip() == key[k] for k in range(len(want))):
            return start, start + len(want), _indent(lines[start]) - _indent(want[0])
    return None


def _reindent(text: str, shift: int) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        if not line.strip() or shift == 0:
            out.append(line)
        elif shift > 0:
            out.append(" " * shift + line)
        else:
            out.append(line[min(-shift, _indent(line)):])
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    return "".join(out)


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _squash(code: str) -> list[str]:
    """Code compared for 'unchanged': stripped, non-blank lines."""
    return [line.strip() for line in code.splitlines() if line.strip()]


def render_diff(old_region: str, new_region: str) -> str:
    """A SEARCH/REPLACE block turning old into new (for the fake server and tests):
    the changed lines plus enough context to make the SEARCH text unique."""
    import difflib

    a, b = old_region.splitlines(keepends=True), new_region.splitlines(keepends=True)
    ops = [op for op in difflib.SequenceMatcher(a=a, b=b).get_opcodes() if op[0] != "equal"]
    if not ops:
        return ""
    i1, i2, j1, j2 = ops[0][1], ops[-1][2], ops[0][3], ops[-1][4]
    while True:
        search = "".join(a[i1:i2])
        if search.strip() and old_region.count(search) == 1:
            break
        if i1 == 0 and i2 == len(a):
            break
        if i1 > 0:
            i1, j1 = i1 - 1, j1 - 1
        if i2 < len(a):
            i2, j2 = i2 + 1, j2 + 1
    replace = "".join(b[j1:j2])
    return f"<<<<<<< SEARCH\n{_nl(search)}=======\n{_nl(replace)}>>>>>>> REPLACE\n"


def _nl(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
