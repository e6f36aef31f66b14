"""Private judging data: a seed per run that no candidate can know.

A problem whose evaluator has `private(seed)` is judged, in a run, on data drawn
from that seed (workloads, task instances) instead of its public seeds, so a
candidate that regenerates the public data from the source gains nothing. The
seed is an HMAC of the run's seed under a key kept outside every sandbox:
$ADRS_JUDGING_KEY (hex), else ~/.local/share/adrs/judging.key, made on first
use with mode 0600. The same run seed on the same account therefore gives the
same judging data (and the same archive), while the key keeps it unguessable.
The run stores the derived seed, so resume, replay and `adrs worker` processes
on other machines judge on the same data. `adrs eval` judges on the public data,
for figures anyone can reproduce.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from adrs.config import JUDGING_KEY_ENV as KEY_ENV
from adrs.config import judging_key_hex
from adrs.errors import UserError


def key_path() -> Path:
    """Where the judging key lives: $XDG_DATA_HOME/adrs/judging.key (default ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                             "share")
    return Path(base) / "adrs" / "judging.key"


def private_seed(run_seed: int) -> int:
    """The judging seed of a run with this seed: 63 bits no candidate can derive."""
    digest = hmac.new(_key(), f"adrs-judging:{run_seed}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _key() -> bytes:
    given = judging_key_hex()
    if given:
        try:
            return bytes.fromhex(given)
        except ValueError:
            raise UserError(f"${KEY_ENV} must be hex (e.g. `openssl rand -hex 32`)") from None
    path = key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        return _new_key(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the judging key {path} ({exc}); delete it to make a "
                        f"new one, or set ${KEY_ENV}") from None


def _new_key(path: Path) -> bytes:
    """Written whole under a private name, then linked into place: a run starting at the
    same moment sees either no key or the whole key, and the first link wins."""
    key = secrets.token_bytes(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
        os.link(draft, path)
    except FileExistsError:  # another run made it meanwhile: use theirs
        return bytes.fromhex(path.read_text().strip())
    except OSError as exc:
        raise UserError(f"cannot create the judging key {path} ({exc.strerror}); set "
                        f"${KEY_ENV} to a hex key instead") from None
    finally:
        draft.unlink(missing_ok=True)
    return key
