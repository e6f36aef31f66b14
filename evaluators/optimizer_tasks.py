"""Small training tasks in pure numpy, and the protocol that judges an optimizer on them.

An optimizer is two functions (the candidate program defines them):

    init(params) -> state
    update(params, grads, state, step, lr) -> (new_params, new_state)

`params` and `grads` are lists of float arrays, passed read-only: an update that
writes into them fails, as one that returns the wrong shapes does. Each task
has analytic gradients, a seeded start, a target loss and a step cap. `train`
runs an optimizer at one learning rate until the full loss reaches the target
(checked every `CHECK_EVERY` steps); `tune_and_train` gives every optimizer the
same learning-rate tuning budget (optuna TPE, seeded) so none can win by hiding
a better default learning rate.

This module is the problem's *harness*: its source also runs inside the
sandbox child, where `run_task` (the entry point) starts the candidate in a
process of its own (CandidateProcess, below) from the global `candidate_source`.
It must therefore use only numpy, the standard library and optuna, and import
nothing from this project.
"""

from __future__ import annotations

import math

import numpy as np

CHECK_EVERY = 5  # steps between full-loss checks against the target
LR_RANGE = (1e-5, 3.0)  # learning rates tried, log-uniform


class Task:
    """A seeded objective with analytic gradients."""

    name = ""
    target = 0.0  # full loss to reach
    max_steps = 300

    def params0(self) -> list[np.ndarray]:
        raise NotImplementedError

    def loss(self, params: list[np.ndarray]) -> float:
        """The full, deterministic loss (what the target and the score use)."""
        return self.loss_grad(params)[0]

    def loss_grad(self, params, rng=None) -> tuple[float, list[np.ndarray]]:
        """Loss and gradients; stochastic tasks use `rng` to draw a minibatch."""
        raise NotImplementedError


class Quadratic(Task):
    """An ill-conditioned convex quadratic 0.5 x^T A x, condition number 1000, rotated."""

    name, target, max_steps = "quadratic", 1e-3, 300

    def __init__(self, seed: int = 0, dim: int = 20):
        rng = np.random.default_rng([seed, 1])
        q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        self.a = q @ np.diag(np.logspace(0, 3, dim)) @ q.T
        self.center = rng.normal(size=dim)  # the optimum: drawn, not a known constant
        self.x0 = self.center + rng.normal(size=dim) / math.sqrt(dim)

    def params0(self):
        return [self.x0.copy()]

    def loss_grad(self, params, rng=None):
        d = params[0] - self.center
        ad = self.a @ d
        return 0.5 * float(d @ ad), [ad]


class Rosenbrock(Task):
    """The 2-D Rosenbrock valley from (-1.2, 1): a narrow curved path to (1, 1)."""

    name, target, max_steps = "rosenbrock", 1e-2, 400

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng([seed, 2])
        self.shift = rng.normal(size=2)  # the valley, and its optimum, moved by this
        self.x0 = np.array([-1.2, 1.0]) + 0.05 * rng.normal(size=2) + self.shift

    def params0(self):
        return [self.x0.copy()]

    def loss_grad(self, params, rng=None):
        x, y = params[0] - self.shift
        loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        gx = -2 * (1 - x) - 400 * x * (y - x * x)
        return float(loss), [np.array([gx, 200 * (y - x * x)])]


class Logistic(Task):
    """L2-regularised logistic regression on a synthetic dataset, full batch."""

    name, max_steps = "logistic", 300
    l2 = 1e-2

    def __init__(self, seed: int = 0, n: int = 256, dim: int = 10):
        rng = np.random.default_rng([seed, 3])
        self.x = rng.normal(size=(n, dim)) * np.geomspace(0.1, 5.0, dim)  # uneven scales
        w = rng.normal(size=dim)
        self.y = (rng.random(n) < 1 / (1 + np.exp(-self.x @ w))).astype(float)
        self.target = self._optimum() + 1e-4

    def params0(self):
        return [np.zeros(self.x.shape[1])]

    def loss_grad(self, params, rng=None):
        w = params[0]
        z = self.x @ w
        p = 1 / (1 + np.exp(-z))
        loss = np.mean(np.logaddexp(0, z) - self.y * z) + 0.5 * self.l2 * w @ w
        return float(loss), [self.x.T @ (p - self.y) / len(self.y) + self.l2 * w]

    def _optimum(self) -> float:
        """Newton's method: the regularised loss is strongly convex."""
        w = np.zeros(self.x.shape[1])
        for _ in range(30):
            p = 1 / (1 + np.exp(-self.x @ w))
            h = (self.x.T * (p * (1 - p))) @ self.x / len(self.y) + self.l2 * np.eye(len(w))
            w -= np.linalg.solve(h, self.loss_grad([w])[1][0])
        return self.loss([w])


class MLP(Task):
    """A 2-16-1 tanh network classifying two noisy concentric rings, full batch."""

    name, target, max_steps = "mlp", 0.1, 400
    hidden = 16

    def __init__(self, seed: int = 0, n: int = 200):
        rng = np.random.default_rng([seed, 4])
        radius = np.where(np.arange(n) % 2 == 0, 1.0, 2.0)
        angle = rng.uniform(0, 2 * np.pi, n)
        self.x = np.c_[radius * np.cos(angle), radius * np.sin(angle)] + 0.2 * rng.normal(
            size=(n, 2))
        self.y = (radius > 1.5).astype(float)
        self.init = [rng.normal(size=(2, self.hidden)) * 0.5, np.zeros(self.hidden),
                     rng.normal(size=self.hidden) * 0.5, np.zeros(1)]

    def params0(self):
        return [p.copy() for p in self.init]

    def loss_grad(self, params, rng=None):
        w1, b1, w2, b2 = params
        h = np.tanh(self.x @ w1 + b1)
        z = h @ w2 + b2[0]
        p = 1 / (1 + np.exp(-z))
        loss = np.mean(np.logaddexp(0, z) - self.y * z)
        dz = (p - self.y) / len(self.y)
        dh = np.outer(dz, w2) * (1 - h * h)
        return float(loss), [self.x.T @ dh, dh.sum(0), h.T @ dz, np.array([dz.sum()])]


class MatrixFactorization(Task):
    """Fit a rank-3 matrix as U V^T from a small random start (non-convex)."""

    name, target, max_steps = "matrix_factorization", 1e-4, 400

    def __init__(self, seed: int = 0, rows: int = 20, cols: int = 15, rank: int = 3):
        rng = np.random.default_rng([seed, 5])
        self.m = rng.normal(size=(rows, rank)) @ rng.normal(size=(rank, cols)) / math.sqrt(rank)
        self.init = [0.3 * rng.normal(size=(rows, rank)), 0.3 * rng.normal(size=(cols, rank))]

    def params0(self):
        return [p.copy() for p in self.init]

    def loss_grad(self, params, rng=None):
        u, v = params
        r = u @ v.T - self.m
        n = r.size
        return 0.5 * float(np.sum(r * r)) / n, [r @ v / n, r.T @ u / n]


class NoisyRegression(Task):
    """Least squares with minibatch gradients (batch 16 of 512): optimizing under noise."""

    name, max_steps = "noisy_regression", 400
    batch = 16

    def __init__(self, seed: int = 0, n: int = 512, dim: int = 10):
        rng = np.random.default_rng([seed, 6])
        self.x = rng.normal(size=(n, dim))
        self.y = self.x @ rng.normal(size=dim) + 0.5 * rng.normal(size=n)
        w_best = np.linalg.lstsq(self.x, self.y, rcond=None)[0]
        self.target = self.loss([w_best]) * 1.02

    def params0(self):
        return [np.zeros(self.x.shape[1])]

    def loss_grad(self, params, rng=None):
        x, y = self.x, self.y
        if rng is not None:
            pick = rng.integers(len(y), size=self.batch)
            x, y = x[pick], y[pick]
        r = x @ params[0] - y
        return 0.5 * float(r @ r) / len(y), [x.T @ r / len(y)]


class Probe(Task):
    """A tiny fixed quadratic for functional hashing: a few steps at a fixed rate."""

    name, target, max_steps = "probe", 0.0, 6

    def params0(self):
        return [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -0.1], [0.2, 0.4]])]

    def loss_grad(self, params, rng=None):
        scale = [np.array([1.0, 10.0, 100.0]), np.array([[2.0, 1.0], [0.5, 4.0]])]
        return (0.5 * sum(float(np.sum(s * p * p)) for s, p in zip(scale, params, strict=True)),
                [s * p for s, p in zip(scale, params, strict=True)])


TASKS = {t.name: t for t in (Quadratic, Rosenbrock, Logistic, MLP, MatrixFactorization,
                             NoisyRegression)}
SEARCH_TASKS = ("quadratic", "rosenbrock", "logistic", "mlp")
HELDOUT_TASKS = ("matrix_factorization", "noisy_regression")


# --- judging an optimizer --------------------------------------------------------
#
# The candidate never runs in this process. This process (the harness: task data,
# the run's judging seed, the tuning) starts one plain Python process for the
# candidate, which loads its source and answers init/update requests over pipes
# as raw float64 arrays; its state never leaves it. So the candidate cannot read
# the task instances, walk the harness's frames or patch its bookkeeping, and
# what comes back is only numbers of known shapes. Each tuning trial is served by
# a process forked from the loaded candidate that can start no process or thread
# and open no file, so no trial can remember another's solution.


class BrokenOptimizer(ValueError):
    """The optimizer broke the contract (shapes, types, non-finite values everywhere)."""


class CandidateError(RuntimeError):
    """The candidate's init or update raised; the message is its exception."""


# Frames: a request is struct REQUEST (op, step, lr, payload bytes) then the payload;
# init's payload is a JSON list of shapes then the arrays, update's the params then
# the grads, raw float64. A reply is struct REPLY (status, payload bytes) then the
# new params, raw (status 0), or a message (1: contract broken, 2: it raised).
REQUEST, REPLY = "<BIdQ", "<BQ"
INIT, UPDATE, END = 1, 2, 3

PROCESS = r'''
import json, os, resource, struct, sys, types

import numpy as np

REQUEST, REPLY = "<BIdQ", "<BQ"
ENDED = 17  # a trial's process exits with this after the harness's END, and only then


def read(fd, n):
    """Exactly n bytes, unbuffered: a forked trial reads from the same pipe next."""
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return data


def arrays(body, shapes):
    out, at = [], 0
    for shape in shapes:
        n = 8 * int(np.prod(shape, dtype=np.int64))
        out.append(np.frombuffer(body, np.float64, n // 8, at).reshape(shape))
        at += n  # frombuffer over bytes: read-only arrays, as the contract says
    return out


def reply(fd, status, payload):
    data = struct.pack(REPLY, status, len(payload)) + payload
    while data:
        data = data[os.write(fd, data):]


def update(module, state, shapes, body, step, lr):
    n = len(shapes)
    both = arrays(body, shapes + shapes)
    new, state = module.update(both[:n], both[n:], state, step, lr)
    if not isinstance(new, (list, tuple)) or len(new) != n:
        return 1, (f"update must return a list of {n} arrays as its new params, "
                   f"got {type(new).__name__}").encode(), state
    new = [np.asarray(a, dtype=np.float64) for a in new]
    for i, (a, shape) in enumerate(zip(new, shapes)):
        if a.shape != tuple(shape):
            return 1, (f"update returned params[{i}] of shape {a.shape}, expected "
                       f"{tuple(shape)}").encode(), state
    return 0, b"".join(np.ascontiguousarray(a).tobytes() for a in new), state


def main():
    inp, out = 0, 1  # raw descriptors: stdin, and stdout before prints are moved off it
    sys.stdout = sys.stderr  # the candidate's prints must not corrupt the protocol
    size = struct.unpack("<Q", read(inp, 8))[0]
    module = types.ModuleType("candidate")
    sys.modules["candidate"] = module
    try:
        source = read(inp, size).decode()
        exec(compile(source, "<candidate>", "exec", dont_inherit=True), module.__dict__)
    except BaseException as exc:
        return reply(out, 2, f"{type(exc).__name__}: {exc}".encode())
    missing = [f for f in ("init", "update") if not callable(getattr(module, f, None))]
    if missing:
        return reply(out, 1, f"the program defines no {missing[0]}() function".encode())
    reply(out, 0, b"")
    while True:  # one forked process per trial: nothing it learns outlives the trial
        head = read(inp, struct.calcsize(REQUEST))
        pid = os.fork()
        if pid == 0:
            trial(module, inp, out, head)
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != ENDED:  # the harness waits on a reply
            reply(out, 2, b"the candidate's process died during a trial")
        else:
            reply(out, 0, b"")


def trial(module, inp, out, head):
    """Serve one trial (init, updates, end) with no way to leave anything behind: no
    new processes, threads or file descriptors (so no files, pipes or sockets)."""
    os.closerange(3, 65536)
    resource.setrlimit(resource.RLIMIT_NOFILE, (3, 3))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    state, shapes = None, []
    while True:
        op, step, lr, size = struct.unpack(REQUEST, head)
        body = read(inp, size)
        if op == 3:
            sys.stderr.flush()
            os._exit(ENDED)
        try:
            if op == 1:
                cut = body.index(b"\n")
                shapes = [tuple(s) for s in json.loads(body[:cut])]
                state = module.init(arrays(body[cut + 1:], shapes))
                status, payload = 0, b""
            else:
                status, payload, state = update(module, state, shapes, body, step, lr)
        except BaseException as exc:
            status, payload = 2, f"{type(exc).__name__}: {exc}".encode()
        reply(out, status, payload)
        head = read(inp, struct.calcsize(REQUEST))


main()
'''


class CandidateProcess:
    """The candidate's optimizer in its own process, called like init/update."""

    def __init__(self, source: str):
        import os
        import struct
        import subprocess
        import sys

        # one thread: a trial's forked process may not start any (RLIMIT_NPROC 0)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
               **{v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                   "MKL_NUM_THREADS")}}
        self.proc = subprocess.Popen([sys.executable, "-c", PROCESS], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, close_fds=True, env=env)
        self._write(struct.pack("<Q", len(source.encode())) + source.encode())
        self._reply(0)

    def init(self, params) -> None:
        import json

        shapes = json.dumps([list(p.shape) for p in params]).encode() + b"\n"
        self._request(INIT, 0, 0.0, shapes + _raw(params))
        self._reply(0)

    def update(self, params, grads, step: int, lr: float) -> list[np.ndarray]:
        self._request(UPDATE, step, lr, _raw(params) + _raw(grads))
        body = self._reply(8 * sum(p.size for p in params))
        out, at = [], 0
        for p in params:  # exactly the shapes they must have: nothing else is believed
            out.append(np.frombuffer(body, np.float64, p.size, at).reshape(p.shape))
            at += 8 * p.size
        return out

    def end(self) -> None:
        """The trial is over: its process exits, taking the optimizer's state with it."""
        self._request(END, 0, 0.0, b"")
        self._reply(0)

    def _request(self, op: int, step: int, lr: float, payload: bytes) -> None:
        import struct

        self._write(struct.pack(REQUEST, op, step, lr, len(payload)) + payload)

    def _write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise CandidateError("the candidate's process exited") from None

    def _reply(self, expect: int) -> bytes:
        import struct

        status, size = struct.unpack(REPLY, self._read(struct.calcsize(REPLY)))
        if status == 0 and size == expect:
            return self._read(size)
        if status in (1, 2) and size <= 4096:
            message = self._read(size).decode("utf-8", "replace")
            raise (BrokenOptimizer if status == 1 else CandidateError)(message[:300])
        raise CandidateError("the candidate's process broke the protocol")

    def _read(self, n: int) -> bytes:
        data = self.proc.stdout.read(n)
        if len(data) != n:
            raise CandidateError("the candidate's process exited")
        return data


def _raw(arrays) -> bytes:
    return b"".join(np.ascontiguousarray(a, dtype=np.float64).tobytes() for a in arrays)


def _undumpable() -> None:
    """No other process of the same user may read or trace this one (PR_SET_DUMPABLE 0)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def train(task: Task, opt: CandidateProcess, lr: float, seed: int = 0) -> dict:
    """Run the optimizer until the target or the step cap.

    Returns steps (the step the target was reached, or None), the full loss at
    the end, whether it diverged, and the final params.
    """
    params = task.params0()
    l0 = task.loss(params)
    opt.init(params)
    try:
        return _steps(task, opt, params, l0, lr, seed)
    finally:
        opt.end()


def _steps(task: Task, opt, params, l0: float, lr: float, seed: int) -> dict:
    rng = np.random.default_rng([seed, 7])
    loss, steps = l0, None
    for step in range(1, task.max_steps + 1):
        with np.errstate(all="ignore"):
            _, grads = task.loss_grad(params, rng)
            params = opt.update(params, grads, step, lr)
            if step % CHECK_EVERY and step != task.max_steps:
                continue
            loss = task.loss(params)
        if not math.isfinite(loss) or loss > 1e6 * max(l0, 1e-12):
            # None, not inf: the sandbox refuses non-finite numbers in what comes back
            return {"steps": None, "loss": None, "diverged": True, "params": None}
        if loss <= task.target:
            steps = step
            break
    return {"steps": steps, "loss": loss, "diverged": False, "params": params}


def progress(l0: float, loss: float, target: float) -> float:
    """How far from the start to the target the loss got, in log space, in [0, 1]."""
    if not math.isfinite(loss):
        return 0.0
    if loss <= target:
        return 1.0
    span = math.log(max(l0, 1e-300)) - math.log(max(target, 1e-300))
    got = math.log(max(l0, 1e-300)) - math.log(max(loss, 1e-300))
    return min(1.0, max(0.0, got / span)) if span > 0 else 0.0


def objective(task: Task, result: dict, l0: float) -> float:
    """What tuning minimises: the fraction of the step cap used to reach the target,
    or 1 + the share of the way not covered, or 3 for a divergence."""
    if result["diverged"]:
        return 3.0
    if result["steps"] is not None:
        return result["steps"] / task.max_steps
    return 2.0 - progress(l0, result["loss"], task.target)


def tune_and_train(name: str, opt: CandidateProcess, trials: int, seed: int = 0) -> dict:
    """The best of `trials` learning rates (optuna TPE, seeded) on the task's instance
    for `seed`, with its result. Each trial is a fresh process forked
    from the loaded candidate, so no trial can remember another's solution."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results: dict[int, dict] = {}

    def run(trial) -> float:
        lr = trial.suggest_float("lr", *LR_RANGE, log=True)
        task = TASKS[name](seed)
        results[trial.number] = {**train(task, opt, lr, seed), "lr": lr}
        return objective(task, results[trial.number], task.loss(task.params0()))

    sampler = optuna.samplers.TPESampler(seed=seed % 2**32, n_startup_trials=min(4, trials))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(run, n_trials=trials)
    return results[study.best_trial.number]


ADRS_LOADS_CANDIDATE = True  # the child must not run it here: it runs in CandidateProcess
_PROCESS: list = []
if "candidate_source" in globals():  # in the sandbox: a syntax error is found at load,
    compile(candidate_source, "<candidate>", "exec", dont_inherit=True)  # noqa: F821
    _undumpable()  # and from now on no candidate process can read this one


def run_task(task: str, seed: int = 0, trials: int = 8, lr: float = 0.0) -> dict:
    """The sandbox entry point: judge the candidate's optimizer on one task.

    With `lr` > 0 (probes) the optimizer runs at that learning rate, untuned. One
    candidate process serves every task of an evaluation.
    """
    if not _PROCESS:
        _PROCESS.append(CandidateProcess(globals()["candidate_source"]))
    opt = _PROCESS[0]
    if task == "probe":
        out = {**train(Probe(), opt, lr, seed), "lr": lr}
    else:
        out = tune_and_train(task, opt, trials, seed)
    return {"steps": out["steps"], "diverged": out["diverged"], "lr": out["lr"],
            "params": out["params"]}
