"""Spot-instance scheduling under a deadline ("Can't Be Late", NSDI '24; the ADRS study).

A job needs `duration` hours of compute and must finish by `deadline`. Time runs
in ticks of `gap` hours. At the start of each tick a policy picks what runs
during it: SPOT (cheap, only when the trace says spot is available, and taken
away when it stops being), ON_DEMAND (dear, always there) or NONE (wait, free).
Starting a cluster (from NONE, after a preemption, or switching type) costs
`overhead` hours of restart during which the cluster is paid for but does no
work. A tick a cluster runs is paid in full. A job unfinished at its deadline
is a miss.

Semantics follow the study's simulator (sky_spot's Strategy.step): progress of
a tick is max(gap - overhead left, 0); a spot cluster whose spot vanishes
becomes NONE; SPOT requested while unavailable runs nothing; any change to a
running type restarts. Where this one differs: traces are synthetic two-state
Markov chains (stable, bursty, scarce regimes) instead of the AWS traces, and
there is no "strong guarantee" forcing on-demand near the deadline: a policy
must keep its own safety margin, and a miss is scored as a heavy penalty.

This module is also the problem's *harness*: its source runs inside the sandbox,
where `schedule` (the entry point) simulates every job of a case in lockstep and
asks the candidate's policies, which live in a process of their own forked
before any trace arrives (so the candidate never holds a tick it has not
reached), for one decision per job per tick. It returns the decisions; the
controller replays them on its own copy of the traces to get the costs. It must
use only numpy and the standard library, and import nothing from this project.
"""

from __future__ import annotations

import collections
import math

import numpy as np

NONE, SPOT, ON_DEMAND = 0, 1, 2
PRICES = np.array([0.0, 0.97, 3.06])  # $/hour for NONE, SPOT, ON_DEMAND (V100, as the study)
GAP = 0.1  # hours per tick

Job = collections.namedtuple("Job", "duration deadline overhead gap")


def ticks(deadline, gap):
    """Ticks that fit before the deadline (numbers or arrays of them)."""
    return np.floor(np.asarray(deadline) / gap + 1e-9).astype(np.int64)


class Simulation:
    """Every job of a case, one tick at a time: state as numpy arrays, one row per job."""

    def __init__(self, available: np.ndarray, jobs: np.ndarray):
        self.available = np.asarray(available, dtype=bool)  # [jobs, ticks]
        self.duration, self.deadline, self.overhead, self.gap = (jobs[:, k] for k in range(4))
        n = len(jobs)
        self.limit = ticks(self.deadline, self.gap)
        self.done, self.left = np.zeros(n), np.zeros(n)
        self.paid = np.zeros((n, 3), dtype=np.int64)  # ticks paid, per cluster type
        self.cluster = np.zeros(n, dtype=np.int8)
        self.finished = np.zeros(n, dtype=bool)
        self.t = 0

    def active(self) -> np.ndarray:
        """Jobs that still choose this tick: unfinished and before their deadline."""
        return ~self.finished & (self.t < self.limit)

    def observe(self, rows: np.ndarray) -> tuple:
        """What the policies of `rows` see now: (elapsed, done, overhead left, cluster
        running now (NONE if its spot was just taken), spot available this tick)."""
        has_spot = self.available[rows, self.t]
        now = np.where((self.cluster[rows] == SPOT) & ~has_spot, NONE, self.cluster[rows])
        return self.t * self.gap[rows], self.done[rows], self.left[rows], now, has_spot

    def advance(self, rows: np.ndarray, actions: np.ndarray, seen: tuple) -> np.ndarray:
        """Run one tick with `actions` for `rows`, who saw `seen` (observe(rows));
        returns the actions that took effect."""
        _, _, _, now, has_spot = seen
        actions = np.where((actions == SPOT) & ~has_spot, NONE, actions).astype(np.int8)
        running = actions != NONE
        restart = running & (actions != now)
        gap = self.gap[rows]
        left = np.where(restart, self.overhead[rows], self.left[rows])
        work = np.where(running, np.maximum(gap - left, 0.0), 0.0)
        self.left[rows] = np.where(running, np.maximum(left - gap, 0.0), left)
        self.done[rows] += np.minimum(work, self.duration[rows] - self.done[rows])
        self.paid[rows, actions] += 1
        self.cluster[rows] = actions
        self.finished[rows] |= self.done[rows] >= self.duration[rows] - 1e-9
        return actions

    def run(self, decide) -> np.ndarray:
        """Simulate to the end; decide(rows, observation) gives the actions of the jobs
        still choosing. Returns every tick's effective action, -1 where a job had
        stopped choosing."""
        log = np.full(self.available.shape, -1, dtype=np.int8)
        while self.t < self.available.shape[1] and (rows := np.flatnonzero(self.active())).size:
            seen = self.observe(rows)
            log[rows, self.t] = self.advance(rows, decide(rows, seen), seen)
            self.t += 1
        return log

    def met(self) -> np.ndarray:
        return self.finished

    @property
    def cost(self) -> np.ndarray:
        """Dollars paid per job: every tick a cluster ran, at its type's price."""
        return self.gap * (self.paid[:, SPOT] * PRICES[SPOT] + self.paid[:, ON_DEMAND]
                           * PRICES[ON_DEMAND])


def replay(available: np.ndarray, jobs: np.ndarray, log) -> Simulation:
    """The simulation the decisions `log` give (the controller's check of what came back).
    Raises ValueError when the log is not a decision for every tick a job chose."""
    log = np.asarray(log)
    if log.shape != np.shape(available) or log.dtype.kind not in "iu":
        raise ValueError(f"expected an integer decision array of shape {np.shape(available)}")

    def decide(rows, _observation):
        actions = log[rows, sim.t]
        if not _decisions(actions):
            raise ValueError(f"a decision at tick {sim.t} is not NONE, SPOT or ON_DEMAND")
        return actions

    sim = Simulation(available, jobs)
    if not np.array_equal(sim.run(decide), log):  # -1 after a job stopped, spot only if there
        raise ValueError("the log does not replay as given: decisions after a job had finished "
                         "or reached its deadline, or spot where there was none")
    return sim


def _decisions(actions: np.ndarray) -> bool:
    """Every value is NONE, SPOT or ON_DEMAND (0, 1, 2): cheaper than np.isin per tick."""
    return actions.size == 0 or (int(actions.min()) >= NONE and int(actions.max()) <= ON_DEMAND)


def on_demand_cost(jobs: np.ndarray) -> np.ndarray:
    """What always-on-demand pays: one restart, then every tick until done."""
    duration, _, overhead, gap = (jobs[:, k] for k in range(4))
    return gap * (np.ceil((duration + overhead) / gap - 1e-9) * PRICES[ON_DEMAND])


# --- synthetic availability traces (the controller draws them; the box sees only ticks) ---

# mean hours spot stays available / unavailable, per regime
REGIMES = {"stable": (10.0, 3.0), "bursty": (1.0, 0.8), "scarce": (0.8, 4.0)}


def trace(regime: str, hours: float, gap: float, rng: np.random.Generator) -> np.ndarray:
    """Spot availability per tick: alternating up/down spells of exponential length,
    their means jittered per trace so availability varies within a regime."""
    up, down = (m * math.exp(rng.normal(0.0, 0.35)) for m in REGIMES[regime])
    n = ticks(hours, gap)
    state = rng.random() < up / (up + down)
    out, at = np.zeros(n, dtype=np.int8), 0
    while at < n:
        spell = max(1, int(round(rng.exponential(up if state else down) / gap)))
        out[at:at + spell] = state
        at, state = at + spell, not state
    return out


# --- the candidate's process --------------------------------------------------------
#
# Requests: struct HEAD (op, rows) then the payload; START's is the jobs (float64
# [rows, 4]), STEP's the observation of the jobs still choosing (int32 row numbers,
# float64 elapsed/done/overhead-left, int8 cluster/has_spot). Replies: struct HEAD
# (status, size) then the int8 actions (status 0) or an error message (status 1).
HEAD = "<BI"
START, STEP, END = 1, 2, 3


class CandidateError(RuntimeError):
    """The policy raised, returned something that is no decision, or its process died."""


def _exact(fd: int, n: int) -> bytes:
    import os

    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _send(fd: int, op: int, count: int, payload: bytes = b"") -> None:
    import os
    import struct

    data = struct.pack(HEAD, op, count) + payload
    while data:
        data = data[os.write(fd, data):]


def _serve(namespace: dict, inp: int, out: int) -> None:
    """The candidate's side: its policies, one per job, answering every tick."""
    import struct

    policies = []
    while True:
        op, n = struct.unpack(HEAD, _exact(inp, struct.calcsize(HEAD)))
        if op == END:
            return
        try:
            if op == START:
                jobs = np.frombuffer(_exact(inp, 32 * n), np.float64).reshape(n, 4)
                policies = [namespace["Policy"](Job(*map(float, row))) for row in jobs]
                _send(out, 0, 0)
                continue
            body = _exact(inp, n * 30)
            rows = np.frombuffer(body, np.int32, n, 0).tolist()
            floats = np.frombuffer(body, np.float64, 3 * n, 4 * n).reshape(3, n).tolist()
            small = np.frombuffer(body, np.int8, 2 * n, 28 * n).reshape(2, n).tolist()
            actions = bytes(_decision(policies[r].decide(e, d, lf, c, bool(s)), e)
                            for r, e, d, lf, c, s in zip(rows, *floats, *small, strict=True))
            _send(out, 0, n, actions)
        except BaseException as exc:  # noqa: BLE001 - the harness reports it
            _fail(out, exc)


def _fail(out: int, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {exc}".encode()[:400]
    _send(out, 1, len(message), message)


def _decision(value, elapsed: float) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or value not in (NONE, SPOT, ON_DEMAND):
        raise ValueError(f"decide() returned {value!r} at hour {elapsed:g}; return NONE (0), "
                         "SPOT (1) or ON_DEMAND (2)")
    return int(value)


def _child(source: str, inp: int, out: int) -> None:
    """The forked process: only its two pipe ends stay open; runs the candidate."""
    import os
    import sys
    import types

    for low, high in ((3, min(inp, out)), (min(inp, out) + 1, max(inp, out)),
                      (max(inp, out) + 1, 65536)):
        os.closerange(low, high)
    sys.stdout = sys.stderr  # its prints must not reach the sandbox's own pipes
    module = types.ModuleType("candidate")
    sys.modules["candidate"] = module
    try:
        exec(compile(source, "<candidate>", "exec", dont_inherit=True), module.__dict__)  # noqa: S102
        if not callable(module.__dict__.get("Policy")):
            raise NameError("the program defines no Policy class")
        _send(out, 0, 0)
        _serve(module.__dict__, inp, out)
    except EOFError:
        pass
    except BaseException as exc:  # noqa: BLE001
        _fail(out, exc)
    sys.stderr.flush()
    os._exit(0)


class CandidateProcess:
    """The candidate's policies in a process forked before any trace is received."""

    def __init__(self, source: str):
        import os

        down, up = os.pipe(), os.pipe()
        if os.fork() == 0:
            os.close(down[1])
            os.close(up[0])
            _child(source, down[0], up[1])
        os.close(down[0])
        os.close(up[1])
        self.inp, self.out = up[0], down[1]
        self._reply(0)  # loaded, with a Policy class

    def start(self, jobs: np.ndarray) -> None:
        self._request(START, len(jobs), np.ascontiguousarray(jobs, np.float64).tobytes())
        self._reply(0)

    def decide(self, rows: np.ndarray, observation: tuple) -> np.ndarray:
        elapsed, done, left, now, has_spot = observation
        payload = (rows.astype(np.int32).tobytes()
                   + np.concatenate([elapsed, done, left]).astype(np.float64).tobytes()
                   + np.concatenate([now, has_spot]).astype(np.int8).tobytes())
        self._request(STEP, len(rows), payload)
        actions = np.frombuffer(self._reply(len(rows)), np.int8)
        if not _decisions(actions):
            raise CandidateError("the candidate's process broke the protocol")
        return actions

    def _request(self, op: int, count: int, payload: bytes) -> None:
        try:
            _send(self.out, op, count, payload)
        except BrokenPipeError:
            raise CandidateError("the candidate's process exited") from None

    def _reply(self, expect: int) -> bytes:
        import struct

        try:
            status, size = struct.unpack(HEAD, _exact(self.inp, struct.calcsize(HEAD)))
            if status == 1 and size <= 400:
                raise CandidateError(_exact(self.inp, size).decode("utf-8", "replace"))
            if status != 0 or size != expect:
                raise CandidateError("the candidate's process broke the protocol")
            return _exact(self.inp, size)
        except EOFError:
            raise CandidateError("the candidate's process exited") from None


def _undumpable() -> None:
    """No other process of the same user may read or trace this one (PR_SET_DUMPABLE 0)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def schedule(available, jobs) -> np.ndarray:
    """The entry point in the sandbox: every job simulated, the candidate deciding."""
    if not _PROCESS:
        raise CandidateError("the candidate's process was not started")
    proc = _PROCESS[0]
    jobs = np.asarray(jobs, dtype=np.float64)
    proc.start(jobs)
    return Simulation(np.asarray(available), jobs).run(proc.decide)


ADRS_LOADS_CANDIDATE = True  # the child must not run it here: it runs in CandidateProcess
_PROCESS: list = []
if "candidate_source" in globals():  # in the sandbox, before any case arrives:
    compile(candidate_source, "<candidate>", "exec", dont_inherit=True)  # noqa: F821
    _PROCESS.append(CandidateProcess(candidate_source))  # noqa: F821
    _undumpable()  # and from now on the candidate's process cannot read this one
