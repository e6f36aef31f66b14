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
sandbox child, where `run_task` (the entry point) finds the candidate's
functions in the global `candidate`. It must therefore use only numpy, the
standard library and optuna, and import nothing from this project.
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
        self.x0 = rng.normal(size=dim) / math.sqrt(dim)

    def params0(self):
        return [self.x0.copy()]

    def loss_grad(self, params, rng=None):
        ax = self.a @ params[0]
        return 0.5 * float(params[0] @ ax), [ax]


class Rosenbrock(Task):
    """The 2-D Rosenbrock valley from (-1.2, 1): a narrow curved path to (1, 1)."""

    name, target, max_steps = "rosenbrock", 1e-2, 400

    def __init__(self, seed: int = 0):
        rng = np.random.default_rng([seed, 2])
        self.x0 = np.array([-1.2, 1.0]) + 0.05 * rng.normal(size=2)

    def params0(self):
        return [self.x0.copy()]

    def loss_grad(self, params, rng=None):
        x, y = params[0]
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


class BrokenOptimizer(ValueError):
    """The optimizer broke the contract (shapes, types, non-finite values everywhere)."""


def _frozen(arrays: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for a in arrays:
        a = a.copy()
        a.setflags(write=False)
        out.append(a)
    return out


def _checked(new, like: list[np.ndarray]) -> list[np.ndarray]:
    if not isinstance(new, (list, tuple)) or len(new) != len(like):
        raise BrokenOptimizer(f"update must return a list of {len(like)} arrays as its new "
                              f"params, got {type(new).__name__}")
    out = []
    for i, (n, p) in enumerate(zip(new, like, strict=True)):
        a = np.asarray(n, dtype=float)
        if a.shape != p.shape:
            raise BrokenOptimizer(f"update returned params[{i}] of shape {a.shape}, "
                                  f"expected {p.shape}")
        out.append(a)
    return out


def train(task: Task, init, update, lr: float, seed: int = 0) -> dict:
    """Run the optimizer until the target or the step cap.

    Returns steps (the step the target was reached, or None), the full loss at
    the end, whether it diverged, and the final params.
    """
    params = task.params0()
    l0 = task.loss(params)
    state = init(_frozen(params))
    rng = np.random.default_rng([seed, 7])
    loss, steps = l0, None
    for step in range(1, task.max_steps + 1):
        with np.errstate(all="ignore"):
            _, grads = task.loss_grad(params, rng)
            new, state = update(_frozen(params), _frozen(grads), state, step, lr)
            params = _checked(new, params)
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


def tune_and_train(task: Task, init, update, trials: int, seed: int = 0) -> dict:
    """The best of `trials` learning rates (optuna TPE, seeded), with its result."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    l0 = task.loss(task.params0())
    results: dict[int, dict] = {}

    def run(trial) -> float:
        lr = trial.suggest_float("lr", *LR_RANGE, log=True)
        results[trial.number] = {**train(task, init, update, lr, seed), "lr": lr}
        return objective(task, results[trial.number], l0)

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(4, trials))
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(run, n_trials=trials)
    return results[study.best_trial.number]


def run_task(task: str, seed: int = 0, trials: int = 8, lr: float = 0.0) -> dict:
    """The sandbox entry point: judge the candidate's optimizer on one task.

    With `lr` > 0 (probes) the optimizer runs at that learning rate, untuned.
    """
    opt = globals().get("candidate")
    for name in ("init", "update"):
        if not callable(getattr(opt, name, None)):
            raise BrokenOptimizer(f"the program defines no {name}() function")
    t = Probe() if task == "probe" else TASKS[task](seed)
    out = train(t, opt.init, opt.update, lr, seed) if lr > 0 else \
        tune_and_train(t, opt.init, opt.update, trials, seed)
    return {"steps": out["steps"], "diverged": out["diverged"], "lr": out.get("lr", lr),
            "params": out["params"]}
