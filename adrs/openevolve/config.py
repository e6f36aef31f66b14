"""An OpenEvolve config.yaml in adrs's terms.

Settings with an adrs equivalent become a run-config layer (the problem's
defaults, below the user's own config and flags); settings adrs has no use for
are named once, in two groups: not needed (adrs stores every candidate, call
and prompt as it goes) and no equivalent. OpenEvolve ignores keys it does not
know, so a folder may add an `adrs:` section that OpenEvolve skips:

    adrs:
      noisy: true            # the same program can score differently
      limits:                # the sandbox's, as [limits] in problem.toml
        memory_mb: 4096
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from adrs.errors import UserError

DEFAULT_THRESHOLDS = (0.5, 0.75, 0.9)  # OpenEvolve's, when config.yaml names none

# config.yaml key -> (adrs config key, converter); _HANDLED keys are mapped by hand
_SIMPLE = {
    "max_iterations": ("iterations", int),
    "random_seed": ("seed", int),
    "llm.temperature": ("mutator.temperature", float),
    "llm.max_tokens": ("mutator.max_tokens", int),
    "llm.timeout": ("mutator.timeout_seconds", float),
    "llm.retries": ("mutator.max_retries", int),
    "llm.api_base": ("mutator.base_url", str),
    "database.num_islands": ("search.islands", int),
    "database.migration_interval": ("search.migration_interval", int),
    "database.exploration_ratio": ("search.explore", float),
    "database.archive_size": ("search.elite_pool", int),
    "database.feature_bins": ("search.grid_bins", int),
    "evaluator.parallel_evaluations": ("workers", int),
    "evaluator.memory_limit_mb": ("sandbox.memory_mb", int),
    "prompt.max_artifact_bytes": ("mutator.artifact_chars", int),
    "prompt.use_meta_prompting": ("prompts.evolve", bool),  # LLM runs only
}
_HANDLED = {"diff_based_evolution", "llm.models", "llm.api_key", "prompt.system_message",
            "prompt.num_top_programs", "prompt.num_diverse_programs", "evaluator.timeout",
            "evaluator.cascade_evaluation", "evaluator.cascade_thresholds",
            "database.feature_dimensions", "llm.primary_model", "llm.primary_model_weight",
            "llm.secondary_model", "llm.secondary_model_weight", "prompt.include_artifacts",
            "evaluator.enable_artifacts", "language", "file_suffix", "adrs.noisy"}
# OpenEvolve's bookkeeping, which adrs does by storing everything as it goes
_NOT_NEEDED = ("checkpoint_interval", "log_level", "log_dir", "database.db_path",
               "database.in_memory", "database.log_prompts", "database.artifacts_base_path",
               "database.cleanup_old_artifacts", "database.artifact_retention_days",
               "database.artifact_size_threshold", "evaluator.max_artifact_storage",
               "evolution_trace.")


@dataclass(frozen=True)
class Mapped:
    """What config.yaml says, in adrs's terms."""

    defaults: dict = field(default_factory=dict)  # run config layer
    prompt: str = ""  # prompt.system_message: the problem statement for the model
    cascade: bool = True
    thresholds: list[float] = field(default_factory=lambda: list(DEFAULT_THRESHOLDS))
    features: tuple[str, ...] = ()  # left out of the mean when there is no combined_score
    ignored: list[str] = field(default_factory=list)  # no adrs equivalent
    not_needed: list[str] = field(default_factory=list)
    noisy: bool = False
    language: str | None = None  # `language`, e.g. rust
    suffix: str | None = None  # `file_suffix`, e.g. .rs


def read_config(path: Path | None) -> Mapped:
    """An OpenEvolve config.yaml in adrs's terms (None or no file: the defaults)."""
    if path is None or not path.is_file():
        return Mapped()
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc}); fix the syntax") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of settings at the top level")
    flat = _flatten(data)
    defaults: dict = {}
    for key, (target, kind) in _SIMPLE.items():
        if flat.get(key) is not None:
            _put(defaults, target, _converted(kind, flat[key], key, path))
    _map_llm(flat, defaults)
    _map_prompt(flat, defaults)
    _map_sandbox(flat, data.get("adrs"), defaults, path)
    unknown = sorted(k for k, v in flat.items() if v is not None and k not in _SIMPLE
                     and k not in _HANDLED and not k.startswith("adrs.limits."))
    not_needed = [k for k in unknown if k.startswith(_NOT_NEEDED)]
    thresholds = flat.get("evaluator.cascade_thresholds")
    return Mapped(defaults, str(flat.get("prompt.system_message") or ""),
                  bool(flat.get("evaluator.cascade_evaluation", True)),
                  [float(t) for t in (DEFAULT_THRESHOLDS if thresholds is None else thresholds)],
                  tuple(flat.get("database.feature_dimensions") or ()),
                  [k for k in unknown if k not in not_needed], not_needed,
                  bool(flat.get("adrs.noisy", False)),
                  flat.get("language"), flat.get("file_suffix"))


def _map_llm(flat: dict, defaults: dict) -> None:
    if "diff_based_evolution" in flat:
        _put(defaults, "mutator.diff", 0.85 if flat["diff_based_evolution"] else 0.0)
    models = [m for m in flat.get("llm.models") or [] if isinstance(m, dict) and m.get("name")]
    weights = {m["name"]: float(m.get("weight", 1.0)) for m in models}
    for rank in ("primary", "secondary"):  # OpenEvolve's older two-model form
        if flat.get(f"llm.{rank}_model") and not models:
            weights[flat[f"llm.{rank}_model"]] = float(flat.get(f"llm.{rank}_model_weight")
                                                       or 1.0)
    if weights:
        _put(defaults, "mutator.models", weights)
    bases = {m["api_base"] for m in models if m.get("api_base")}
    if len(bases) == 1 and not flat.get("llm.api_base"):
        _put(defaults, "mutator.base_url", bases.pop())
    key = flat.get("llm.api_key")
    if isinstance(key, str) and key.startswith("${") and key.endswith("}"):
        _put(defaults, "mutator.api_key_env", key[2:-1])


def _map_prompt(flat: dict, defaults: dict) -> None:
    shown = sum(int(flat.get(k) or 0) for k in ("prompt.num_top_programs",
                                               "prompt.num_diverse_programs"))
    if shown:
        _put(defaults, "search.inspirations", shown)
    if flat.get("prompt.include_artifacts") is False or \
            flat.get("evaluator.enable_artifacts") is False:
        _put(defaults, "mutator.artifact_chars", 0)


def _map_sandbox(flat: dict, section, defaults: dict, path: Path) -> None:
    """evaluator.timeout, then the `adrs: limits:` section (which wins)."""
    if flat.get("evaluator.timeout"):
        seconds = float(flat["evaluator.timeout"])
        _put(defaults, "sandbox.wall_seconds", seconds)
        _put(defaults, "sandbox.cpu_seconds", int(math.ceil(seconds)))
    if section is None:
        return
    limits = section.get("limits") if isinstance(section, dict) else None
    if not isinstance(section, dict) or not isinstance(limits, dict | None):
        raise UserError(f"{path}: 'adrs' must be a mapping like "
                        "{noisy: true, limits: {memory_mb: 4096}}")
    for key, value in (limits or {}).items():
        _put(defaults, f"sandbox.{key}", value)


def _converted(kind, value, key: str, path: Path):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{path}: '{key}' must be {kind.__name__}, not {value!r}") from None


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + str(k)] = v
    return out


def _put(into: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        into = into.setdefault(p, {})
    into[last] = value
