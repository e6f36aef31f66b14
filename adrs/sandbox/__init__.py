"""The sandbox: candidate code, which language models write, run behind a kernel boundary.

What the rest of adrs may use is listed in `__all__` below; every module of this
package is private to it (tests/test_structure.py keeps it so). The sandbox takes
its settings as plain configuration, `adrs.config.Limits` (the run config's
`[sandbox]`), passed in on every call: it reads no environment variable.

Inside the package, by concern:

    runner.py     one evaluation's life: a warm fork or a cold start, its cgroup, the
                  case-by-case conversation, trusted timing, why a child died
    channel.py    the parent's three pipes to a child, every wait held to the deadline
    command.py    how a child is started: bubblewrap's or the jail's command line
    confine.py    which boundary this machine can build, probed once per mode
    mounts.py     the filesystem a candidate sees, as one mount plan
    cgroups.py    one cgroup per evaluation: caps, CPU accounting, kill-all, sweeping
    seccomp_filter.py  the seccomp filter, built once with libseccomp
    warm.py       warm templates on the trusted side, lent to each evaluation
    selftest.py   `adrs sandbox`: each layer proven by a candidate trying to get past it
    box/          what runs inside the box (standard library only): the child, its
                  lockdown, the template and its spares, the jail, the codec
"""

from adrs.config import Limits
from adrs.sandbox.box.codec import decode as decode_data
from adrs.sandbox.box.codec import encode as encode_data
from adrs.sandbox.confine import MODES, Layers, SandboxUnavailable, layers, sweep
from adrs.sandbox.runner import Outcome, ProbeGate, encode_cases, run_candidate
from adrs.sandbox.selftest import self_test
from adrs.sandbox.warm import POOL as _TEMPLATES


def close_templates() -> None:
    """End every idle warm template of this process (they end with it anyway)."""
    _TEMPLATES.close()


__all__ = [
    "Limits",  # the settings every call takes (defined in adrs.config)
    "Outcome",  # what one sandboxed run returned, or why it failed
    "ProbeGate",  # sees the probe outputs; False stops the run after them
    "run_candidate",  # run entrypoint(**case) for every case, in a fresh sandbox
    "encode_cases",  # cases serialised once, reused for every run
    "encode_data",  # plain data (arrays included) to JSON-able form, e.g. for the job queue
    "decode_data",  # and back, strictly
    "layers",  # which boundary this machine builds for a mode (refuses in one line)
    "Layers",
    "MODES",
    "SandboxUnavailable",
    "sweep",  # remove what killed adrs processes left behind
    "self_test",  # `adrs sandbox`
    "close_templates",
]
