"""An OpenEvolve problem's files: the folder's initial program, evaluator.py and
config, or the three files as `openevolve-run` takes them; and the adrs problem they
make."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from adrs import evolve_block
from adrs.errors import UserError
from adrs.openevolve.config import Mapped, read_config
from adrs.openevolve.scoring import OpenEvolveEvaluator

EVALUATOR, INITIAL_STEM = "evaluator.py", "initial_program"
_NOT_CODE = {".pyc", ".yaml", ".yml", ".json", ".md", ".txt", ".csv", ".orig", ".bak"}
_LANGUAGES = {".py": "python", ".rs": "rust", ".c": "c", ".cc": "cpp", ".cpp": "cpp",
              ".h": "c", ".r": "r", ".js": "javascript", ".ts": "typescript", ".go": "go",
              ".jl": "julia", ".java": "java", ".sh": "bash", ".cu": "cuda"}


@dataclass(frozen=True)
class Files:
    """The three files of an OpenEvolve problem, as `openevolve-run` takes them."""

    initial: Path
    evaluator: Path
    config: Path | None = None

    @property
    def spec(self) -> str:
        """How a run stores them, to load them again on resume."""
        return json.dumps([str(self.initial), str(self.evaluator),
                           str(self.config) if self.config else None])

    @classmethod
    def from_spec(cls, spec: str) -> Files:
        """The files a run stored as `spec`."""
        initial, evaluator, config = json.loads(spec)
        return cls(Path(initial), Path(evaluator), Path(config) if config else None)


def is_openevolve_folder(path: Path) -> bool:
    """An evaluator.py beside one initial program: a folder OpenEvolve would run."""
    return (path / EVALUATOR).is_file() and bool(_initials(path))


def folder_files(root: Path) -> Files:
    """A folder's files: evaluator.py, its one initial program (initial_program.*, else
    the one initial* file, else the one init_* file) and its config (config.yaml, else
    the first config*.yaml)."""
    initials = _initials(root)
    if len(initials) != 1:
        names = ", ".join(p.name for p in initials) or "none"
        raise UserError(f"{root}: expected one initial program, found {names}; name the one "
                        f"to start from: adrs run {root}/INITIAL {root / EVALUATOR}")
    configs = [root / n for n in ("config.yaml", "config.yml") if (root / n).is_file()] or \
        sorted(p for p in root.glob("config*.y*ml") if p.is_file())
    if len(configs) > 1:
        print(f"adrs: {root}: using {configs[0].name} (also there: "
              f"{', '.join(p.name for p in configs[1:])}; choose one with --config FILE.yaml)",
              file=sys.stderr)
    return Files(initials[0], root / EVALUATOR, configs[0] if configs else None)


def _initials(root: Path) -> list[Path]:
    def sources(pattern: str) -> list[Path]:
        return sorted(p for p in root.glob(pattern) if p.is_file() and p.suffix not in _NOT_CODE)

    return sources(INITIAL_STEM + ".*") or sources("initial*") or sources("init_*")


def problem_fields(files: Files) -> dict:
    """An OpenEvolve problem from its three files (the CLI form), as the fields of an
    adrs.problem.Problem (which builds it: this module does not import problem.py),
    config mapped onto the run's defaults. The evaluator's folder is the problem's:
    bound into the sandbox, its working directory and import path."""
    for path in (files.initial, files.evaluator, files.config):
        if path is not None and not path.is_file():
            raise UserError(f"{path} does not exist; pass INITIAL EVALUATOR [--config FILE]")
    cfg = read_config(files.config)
    _say_ignored(files.config, cfg)
    suffix = cfg.suffix or files.initial.suffix or ".py"
    language = cfg.language or _LANGUAGES.get(suffix.lower(), suffix.lstrip(".") or "python")
    source = files.initial.read_text()
    try:
        evolve_block.split(source)
    except evolve_block.MarkerError as exc:
        raise UserError(f"{files.initial}: {exc}") from None
    root = files.evaluator.resolve().parent
    evaluator = OpenEvolveEvaluator(files.evaluator.resolve(), cfg, suffix)
    return dict(name=root.name, root=root, description=cfg.prompt,
                initial_path=files.initial, initial_source=source, evaluator=evaluator,
                baselines={}, defaults=cfg.defaults, origin="openevolve folder",
                language=language, spec=files.spec)


def _say_ignored(path: Path | None, cfg: Mapped) -> None:
    if cfg.not_needed:
        print(f"adrs: {path}: not needed (adrs stores every candidate, call and prompt as "
              f"it goes): {', '.join(cfg.not_needed)}", file=sys.stderr)
    if cfg.ignored:
        print(f"adrs: {path}: no adrs equivalent, ignored: {', '.join(cfg.ignored)}",
              file=sys.stderr)
