"""Run configuration: dataclasses with documented defaults, loaded from TOML.

Precedence, lowest first: these defaults, the problem's `[defaults]` table in
its problem.toml (or a run's stored config), the user's `--config FILE`, this
process's environment (ADRS_SANDBOX, ADRS_WARM), then command-line flags.

This module is the only place adrs reads an ADRS_* variable: each becomes a layer
of the configuration (or, for the judging key, goes to adrs/judging.py alone), and
from here every setting is passed explicitly, to workers and Ray tasks too.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adrs.errors import UserError


@dataclass(frozen=True)
class SearchConfig:
    """`[search]`: parent selection, islands, migration, resets and MAP-Elites."""

    elite_pool: int = 32  # best candidates per island (and in the archive) for selection
    # Parent rule over an island's elites: uniform | power_law | tournament |
    # weighted | softmax (formulas in adrs/search/selection.py)
    selection: str = "softmax"
    explore: float = 0.1  # chance of a uniformly random member (or grid cell) instead
    temperature: float = 1.0  # softmax/weighted: softness, in elite-score std units
    power_law_alpha: float = 1.0  # power_law: p ∝ rank ** -alpha
    tournament_size: int = 3
    inspirations: int = 2  # other programs shown with the parent (crossover, prompts)
    # Children generated before earlier results become visible. Fixed (not the
    # worker count) so the same seed gives the same run on any machine.
    in_flight: int = 8
    # Islands: chosen as the default by benchmarks/results/search_quality.md (top
    # three on both bundled problems, the best at half budget on both)
    islands: int = 4  # independent sub-populations; iteration i uses island i mod N
    migration_interval: int = 25  # iterations between migrations; 0 = never
    migrants: int = 2  # best programs each island sends per migration
    topology: str = "ring"  # ring: to the next island; all: to every other island
    reset_after: int = 60  # iterations without a new best before the weakest half of
    # the islands restart from the others' best (FunSearch); 0 = never
    map_elites: bool = False  # keep the best per cell of a feature grid
    grid_bins: int = 8  # bins per feature
    # Feature ranges [low, high]: code_length (characters, log bins) or any metric
    features: dict = field(default_factory=lambda: {"code_length": [64.0, 8192.0]})


@dataclass(frozen=True)
class MutatorConfig:
    # offline: AST edits, no network; llm: an OpenAI-compatible model;
    # replay: serve the LLM responses recorded by run `replay_run` (adrs replay)
    """`[mutator]`: which mutator proposes children and how (model, prompts, retries)."""

    kind: str = "offline"
    max_edits: int = 3  # an offline child gets 1..max_edits edits
    # offline: where inserted and replacing code comes from besides the program itself:
    # both | baselines (the problem's) | archive (the parent's relatives) | none
    donors: str = "both"
    # Chance of crossover with a second parent (offline: one statement; llm: the
    # crossover prompt). llm: of the rest, `diff` asks for SEARCH/REPLACE edits and
    # the remainder for a full rewrite of the evolvable region.
    crossover: float = 0.15
    diff: float = 0.6
    model: str = ""  # llm: model name as the endpoint knows it
    # llm ensemble: {"model-a" = 3, "model-b" = 1} sends 3/4 of requests to a;
    # replaces `model` when set
    models: dict = field(default_factory=dict)
    bandit: bool = False  # llm: UCB choice of model by improvement per dollar
    base_url: str = ""  # llm: e.g. http://localhost:8000/v1 for vLLM; empty = OpenAI
    api_key_env: str = "OPENAI_API_KEY"  # llm: environment variable holding the key
    temperature: float = 0.8
    max_tokens: int = 4096
    timeout_seconds: float = 120.0  # per call
    max_retries: int = 5  # on 429/5xx/timeouts, exponential backoff, honours Retry-After
    concurrency: int = 8  # mutations (LLM requests) in flight; at most search.in_flight
    breaker_failures: int = 5  # failed calls in a row that pause a model; 0 = never
    breaker_seconds: float = 60.0  # how long a tripped model is paused
    prompt_chars: int = 24000  # user prompt bound: inspirations are dropped to fit
    # the parent's artifacts (its evaluator's feedback) shown, in characters; 0 = none
    artifact_chars: int = 4000
    recent_failures: int = 3  # failed children shown in the prompt, with their errors
    templates: str = ""  # folder of prompt templates overriding the problem's and shared
    replay_run: str = ""  # replay: the recorded run whose responses are served
    # Any mutator: chance that an iteration tunes its parent's float constants with
    # optuna (tune_trials sandboxed evaluations) instead of editing code
    tune_probability: float = 0.0
    tune_trials: int = 20
    # llm: stop the run (resumable, exit 3) once the endpoint has been unreachable this
    # long with no successful call; iterations lost to it are redone on resume
    give_up_seconds: float = 120.0
    # USD per million tokens, in and out, by model: {"gpt-x" = [2.5, 10.0]}
    prices: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PromptsConfig:
    """`[prompts]`: prompts that evolve (LLM mutator only; off by default)."""

    evolve: bool = False
    # every meta_every iterations a model rewrites the instruction of the island's
    # best variant and writes an insight note, from the recent best and worst children
    meta_every: int = 20
    meta_model: str = ""  # the model for meta calls (may be a cheaper one); empty: the mutator's
    notes: int = 5  # insight notes kept per island and shown in prompts
    # a note whose next `note_patience` children include no improvement is dropped
    note_patience: int = 30
    # a variant whose `retire_after` children brought no improvement is retired
    # (never an island's last one)
    retire_after: int = 15
    variants: int = 6  # variants in use per island at most: the weakest is retired
    explore: float = 0.5  # UCB1's exploration weight when choosing a variant
    meta_chars: int = 12000  # the meta prompt's bound: children's diffs are cut to fit


@dataclass(frozen=True)
class HashingConfig:
    """`[hashing]`: syntactic and functional duplicate detection."""

    syntactic: bool = True  # never evaluate the same compiled program twice
    functional: bool = True  # stop after the probes when an earlier candidate behaves the same
    # Noisy problems only: every K-th equivalent is evaluated in full anyway and the
    # shared score becomes the running mean, so one lucky sample does not stick.
    reevaluate_every: int = 5


@dataclass(frozen=True)
class Limits:
    """The run config's [sandbox]: resource limits for one candidate evaluation, and how
    it is confined. Plain configuration: adrs.sandbox consumes it."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30  # per process (RLIMIT_CPU)
    memory_mb: int = 2048  # everything in the box, tmpfs and shared memory included
    max_processes: int = 32  # processes and threads
    file_mb: int = 64  # largest file it may write
    disk_mb: int = 512  # its scratch /tmp (and /dev/shm), a size-capped tmpfs
    reply_mb: int = 16  # largest single reply (the parent decodes it: a cap on its memory too)
    cpu_share: float = 0.0  # CPUs the box may use at most (cgroup CPU quota); 0 = no cap
    warm: bool = True  # fork candidates from a warm template (adrs/sandbox/warm.py); False: cold
    mode: str = "auto"  # auto | bwrap | jail | none (unsafe); see adrs/sandbox/confine.py


@dataclass(frozen=True)
class RunConfig:
    """A run's whole configuration: top-level settings and one table per concern."""

    iterations: int = 200  # children to generate (the initial program is iteration 0)
    seed: int = 0
    workers: int = 0  # concurrent evaluations; 0 means one per CPU core
    # local: a pool of sandboxes here; workers: `adrs worker RUN --db URL` processes,
    # on this or other machines, evaluate through the run's database; ray: Ray tasks
    executor: str = "local"
    # initial: generation 0 is the initial program; baselines: the problem's baselines
    # too, as candidates every island starts from (adrs run --start-from baselines)
    start_from: str = "initial"
    ray_address: str = ""  # ray: a cluster's address; empty starts a local Ray
    max_cost: float = 0.0  # stop cleanly once LLM calls cost this many USD; 0 = no limit
    max_tokens: int = 0  # stop cleanly once LLM calls used this many tokens; 0 = no limit
    search: SearchConfig = field(default_factory=SearchConfig)
    mutator: MutatorConfig = field(default_factory=MutatorConfig)
    hashing: HashingConfig = field(default_factory=HashingConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    sandbox: Limits = field(default_factory=Limits)

    @property
    def worker_count(self) -> int:
        """Concurrent evaluations: `workers`, or one per CPU core when it is 0."""
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def to_dict(self) -> dict:
        """The configuration as plain data, as a run stores it."""
        return dataclasses.asdict(self)


def build(*layers: dict, where: str = "config") -> RunConfig:
    """Merge dict layers (later wins) and validate them into a RunConfig."""
    merged: dict = {}
    for layer in layers:
        _forget_models(merged, layer)
        _deep_merge(merged, layer)
    return _from_dict(RunConfig, merged, where, "")


SANDBOX_ENV = "ADRS_SANDBOX"  # [sandbox] mode: auto | bwrap | jail | none
WARM_ENV = "ADRS_WARM"  # [sandbox] warm: 0 or 1
JUDGING_KEY_ENV = "ADRS_JUDGING_KEY"  # the judging key as hex (a secret: never a setting)
ENVIRONMENT = f"the environment (${SANDBOX_ENV}, ${WARM_ENV})"
_WARM = {"0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}


def environment_layer(environ: Mapping[str, str] | None = None) -> dict:
    """The settings this process's environment gives, as a configuration layer:
    ADRS_SANDBOX as `sandbox.mode`, ADRS_WARM as `sandbox.warm`. Empty ones are unset."""
    env = os.environ if environ is None else environ
    sandbox: dict = {}
    if env.get(SANDBOX_ENV):
        sandbox["mode"] = env[SANDBOX_ENV]
    warm = env.get(WARM_ENV, "").strip().lower()
    if warm:
        if warm not in _WARM:
            raise UserError(f"${WARM_ENV} must be 0 or 1, got {env[WARM_ENV]!r}; "
                            f"unset it for the default (warm templates on)")
        sandbox["warm"] = _WARM[warm]
    return {"sandbox": sandbox} if sandbox else {}


def resolve(*layers: dict, flags: dict | None = None, where: str = "config") -> RunConfig:
    """A RunConfig for this process: `layers` (lowest first), then the environment's
    layer, then command-line `flags`; the environment's errors name the variable."""
    return build(*layers, _checked_environment(), flags or {}, where=where)


def sandbox_settings_here(flags: dict | None = None) -> dict:
    """The [sandbox] keys this process itself sets (environment, then flags), validated:
    an `adrs worker` applies them over the limits each job carries from its controller,
    since the machine that evaluates is the one that knows its own confinement."""
    env = _checked_environment()
    build(flags or {}, where="command-line flags")
    return {**env.get("sandbox", {}), **(flags or {}).get("sandbox", {})}


def _checked_environment() -> dict:
    """The environment's layer, validated alone so its errors name the variables."""
    env = environment_layer()
    build(env, where=ENVIRONMENT)
    return env


def judging_key_hex() -> str | None:
    """$ADRS_JUDGING_KEY, the judging key given as hex instead of the key file. Only
    adrs/judging.py asks; it never enters a RunConfig (which is stored with the run)."""
    return os.environ.get(JUDGING_KEY_ENV) or None


DB_WAIT_ENV = "ADRS_DB_WAIT"  # seconds a Store waits for a lost database server


def db_wait_seconds(default: float = 60.0) -> float:
    """$ADRS_DB_WAIT: how long a Store rides out a lost database server (the database
    is opened before any configuration is read, so it is not a [section] key)."""
    raw = os.environ.get(DB_WAIT_ENV, "").strip()
    try:
        seconds = float(raw) if raw else default
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise UserError(f"${DB_WAIT_ENV}={raw!r} is not a number of seconds; set it to "
                        "e.g. 60, or unset it")
    return seconds


def _forget_models(merged: dict, layer: dict) -> None:
    """A layer that names the model (or an ensemble) replaces the lower layers' choice
    whole: the user's `model` is not overridden by a problem folder's ensemble, and two
    ensembles are not mixed."""
    chosen = layer.get("mutator") if isinstance(layer.get("mutator"), dict) else {}
    lower = merged.get("mutator") if isinstance(merged.get("mutator"), dict) else {}
    if chosen.get("model") or chosen.get("models"):
        lower.pop("models", None)
        lower.pop("model", None)


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; UserError naming the file for a missing or malformed one."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist; check the --config path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}); fix the syntax") from None


def _deep_merge(into: dict, layer: dict) -> None:
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


def _from_dict(cls, data: Any, where: str, prefix: str):
    if not isinstance(data, dict):
        raise UserError(f"{where}: '{prefix.rstrip('.')}' must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(f"{where}: unknown key '{prefix}{unknown[0]}'; "
                        f"known keys there: {', '.join(fields)}")
    values = {}
    for name, value in data.items():
        default = fields[name].default_factory() if fields[name].default_factory is not \
            dataclasses.MISSING else fields[name].default
        if dataclasses.is_dataclass(default):
            values[name] = _from_dict(type(default), value, where, f"{prefix}{name}.")
        else:
            values[name] = _validated(value, type(default), where, prefix + name)
    return cls(**values)


def _validated(value: Any, kind: type, where: str, key: str):
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UserError(f"{where}: '{key}' must be {kind.__name__}, got {value!r}")
    if kind is dict:
        check = {"prices": _prices, "features": _ranges}.get(key.split(".")[-1], _weights)
        return check(value, where, key)
    if key in _CHOICES and value not in _CHOICES[key]:
        raise UserError(f"{where}: '{key}' must be one of {', '.join(_CHOICES[key])}, "
                        f"got {value!r}")
    if kind in (int, float) and value < 0:
        raise UserError(f"{where}: '{key}' must not be negative, got {value!r}")
    return value


_CHOICES = {
    "search.selection": ("uniform", "power_law", "tournament", "weighted", "softmax"),
    "search.topology": ("ring", "all"),
    "executor": ("local", "workers", "ray"),
    "start_from": ("initial", "baselines"),
    "mutator.donors": ("both", "baselines", "archive", "none"),
    "sandbox.mode": ("auto", "bwrap", "jail", "none"),  # adrs/sandbox/confine.py
}


def _ranges(value: dict, where: str, key: str) -> dict:
    for name, span in value.items():
        ok = (isinstance(span, list) and len(span) == 2
              and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in span)
              and span[0] < span[1])
        if not ok:
            raise UserError(f"{where}: '{key}.{name}' must be [low, high] with low < high, "
                            f"got {span!r}")
    return {name: [float(x) for x in span] for name, span in value.items()}


def _weights(value: dict, where: str, key: str) -> dict:
    for model, weight in value.items():
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
            raise UserError(f"{where}: '{key}.{model}' must be a weight >= 0, got {weight!r}")
    return {m: float(w) for m, w in value.items()}


def _prices(value: dict, where: str, key: str) -> dict:
    for model, price in value.items():
        ok = (isinstance(price, list) and len(price) == 2
              and all(isinstance(p, (int, float)) and p >= 0 for p in price))
        if not ok:
            raise UserError(f"{where}: '{key}.{model}' must be [usd_per_million_in, "
                            f"usd_per_million_out], got {price!r}")
    return {m: [float(p) for p in price] for m, price in value.items()}
