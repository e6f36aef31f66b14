"""Problem plugins: discovery and loading.

A problem is a folder with a `problem.toml` manifest:

    [problem]
    name = "my_problem"
    description = "What the program must do; shown to mutators and in listings."
    initial_program = "initial_program.py"   # evolvable region between markers
    evaluator = "evaluate.py:Evaluator"      # trusted scorer, runs in the controller

    [baselines]                              # optional: name = program file
    greedy = "baselines/greedy.py"

    [defaults]                               # optional: run-config overrides
    iterations = 300

    [limits]                                 # optional: the sandbox's, for this problem
    memory_mb = 8192                         # e.g. for torch; see docs/configuration.md

The evaluator follows the contract in adrs/evaluator.py (`Evaluator`: required
`entrypoint`, `cases()`, `score(outputs, seconds)`; optional `private(seed)`,
`probes()`, `probe_rtol`, `noisy`, `volatile_metrics`, `harness`, `preload`),
checked once when the problem loads. `seconds` are measured by the trusted
parent, per case: the CPU time charged to the sandbox during the call (robust to
machine load), or wall-clock time where there are no cgroups. Cases must not
reveal what the score is computed on: `private(seed)` judges a run on data drawn
from a seed no candidate can know (adrs.judging). A `harness` runs in the
sandbox beside the candidate and calls its functions through the global
`candidate` (e.g. a training loop around an evolved optimizer). Inside the
sandbox anything may be imported and run (scipy, torch, subprocesses); the
kernel boundary, not an import list, keeps it in. The
problem folder is visible there read-only. Limits (memory, CPU, wall time,
processes, disk) are set per problem in `[defaults.sandbox]` (or `[limits]`)
of problem.toml. Candidate code itself only ever runs in the sandbox.

Folders are found in the bundled `problems` package, at a path given by the
user, and in installed packages registered under the `adrs.problems` entry
point group. A folder in OpenEvolve's format (initial_program.py, evaluator.py,
optional config.yaml, no problem.toml) is loaded by adrs.openevolve.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path

from adrs import evolve_block, openevolve
from adrs.config import read_toml
from adrs.errors import UserError
from adrs.evaluator import Evaluator, EvaluatorParts, parts_of
from adrs.sandbox import encode_cases

MANIFEST = "problem.toml"
ENTRY_POINT_GROUP = "adrs.problems"


@dataclass(frozen=True)
class Problem:
    """A loaded problem: its initial program, its evaluator (checked against the
    contract in adrs/evaluator.py as it is made), baselines and default config."""

    name: str
    root: Path
    description: str
    initial_source: str
    evaluator: Evaluator = field(repr=False)
    baselines: dict[str, Path]
    defaults: dict
    origin: str  # "bundled", "path", "entry point <dist>" or "openevolve folder"
    initial_path: Path | None = None  # the file initial_source was read from
    language: str = "python"  # the candidates' (another only where the evaluator compiles it)
    spec: str | None = None  # how a run stores where it came from; None: its root folder

    def __post_init__(self) -> None:
        self.parts  # noqa: B018 - the evaluator is checked against the contract now

    @property
    def parts(self) -> EvaluatorParts:
        """The evaluator's optional parts with their defaults, checked (microseconds:
        kept out of the instance's fields, so a Problem copies as its fields say)."""
        where = str(self.initial_path.parent if self.initial_path else self.root)
        return parts_of(self.evaluator, where)

    @cached_property
    def cases_json(self) -> tuple[str, ...]:
        """The evaluator's cases, serialised once for every sandboxed run."""
        return encode_cases(self.evaluator.cases())

    @cached_property
    def probes_json(self) -> tuple[str, ...] | None:
        """Probe inputs for functional hashing, or None if the problem declares none."""
        probes = self.parts.probes
        return encode_cases(probes()) if probes is not None else None

    @cached_property
    def harness(self) -> str | None:
        """Source the sandbox runs around the candidate (the evaluator's `harness`),
        whose entry point calls the candidate's functions; None: the candidate's own."""
        return self.parts.harness

    @property
    def preload(self) -> tuple[str, ...]:
        """Modules imported in the sandbox before the candidate (a missing one fails
        the evaluation at once, naming it)."""
        return self.parts.preload

    def baseline_sources(self) -> tuple[str, ...]:
        """The baselines' programs, by name (donors for the offline mutator)."""
        return tuple(self.baselines[n].read_text() for n in sorted(self.baselines))

    @property
    def share(self) -> tuple[str, ...]:
        """Folders bound read-only into the sandbox: the problem's own."""
        return (str(self.root),)

    @property
    def volatile_metrics(self) -> frozenset[str]:
        """Metrics that differ between evaluations of one program (measured times): kept
        in the archive, left out of prompts so the same seed gives the same prompts."""
        return self.parts.volatile_metrics

    @property
    def probe_rtol(self) -> float:
        """Relative tolerance when comparing float probe outputs."""
        return self.parts.probe_rtol

    def judged_on(self, seed: int | None) -> Problem:
        """This problem judged on private data drawn from `seed` (adrs.judging), where its
        evaluator supports it; None or no `private`: as it is (public data)."""
        if seed is None or not self.judges_privately:
            return self
        return replace(self, evaluator=self.parts.private(seed))

    @property
    def judges_privately(self) -> bool:
        """The evaluator can judge on private data (it has `private(seed)`)."""
        return self.parts.private is not None

    @property
    def noisy(self) -> bool:
        """The same program can score differently on two evaluations."""
        return self.parts.noisy


@dataclass(frozen=True)
class Listing:
    """A problem adrs can find, before it is loaded: its name, origin and folder."""

    name: str
    origin: str
    root: Path

    def summary(self, width: int = 100) -> str:
        """One line on what the problem is: the first sentence of its manifest's
        description, else of its README's first paragraph (read, never imported)."""
        try:
            text = read_toml(self.root / MANIFEST)["problem"]["description"]
        except (UserError, OSError, KeyError, TypeError):
            text = _first_paragraph(self.root / "README.md")
        line = " ".join(str(text).split())
        line = line.split(". ")[0].rstrip(".")
        return line if len(line) <= width else line[:width - 3].rstrip() + "..."


def _first_paragraph(readme: Path) -> str:
    try:
        lines = readme.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    text = []
    for line in lines:
        if line.startswith("#") or not line.strip():
            if text:
                break
            continue
        text.append(line)
    return " ".join(text)


def bundled_root() -> Path:
    """The bundled problems sit beside the adrs package, installed or in a checkout.

    Found by location, not by `import problems`, which a user's own `problems/`
    folder in the working directory could shadow.
    """
    return Path(__file__).resolve().parent.parent / "problems"


def list_problems() -> list[Listing]:
    """Every problem adrs can find: bundled, then installed plugins' entry points."""
    found = [Listing(p.name, "bundled", p) for p in sorted(bundled_root().iterdir())
             if (p / MANIFEST).is_file() or openevolve.is_openevolve_folder(p)]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        root = _entry_point_root(ep)
        if root is not None:
            found.append(Listing(ep.name, f"entry point ({ep.value})", root))
    return found


def find_problem(name_or_path: str) -> Problem:
    """Load a problem by bundled/entry-point name or by folder path."""
    path = Path(name_or_path).expanduser()
    looks_like_path = "/" in name_or_path or name_or_path.startswith(".")
    is_problem = (path / MANIFEST).is_file() or openevolve.is_openevolve_folder(path)
    if path.is_dir() and (looks_like_path or is_problem):
        return load_problem(path, "path")
    for listing in list_problems():  # a bare name: a folder here without a manifest
        if listing.name == name_or_path:  # (e.g. a plugin's project dir) does not shadow it
            return load_problem(listing.root, listing.origin)
    if path.is_dir():
        return load_problem(path, "path")  # says what the folder lacks
    known = ", ".join(sorted(p.name for p in list_problems())) or "none"
    raise UserError(f"unknown problem '{name_or_path}'; known problems: {known} "
                    "(or pass the path of a problem folder)")


def _entry_point_root(ep) -> Path | None:
    try:
        module = ep.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not break listing
        print(f"adrs: warning: problem plugin {ep.name} failed to load: {exc}", file=sys.stderr)
        return None
    return Path(module.__file__).parent


def load_problem(root: Path, origin: str) -> Problem:
    """The problem in folder `root` (an adrs manifest or an OpenEvolve folder)."""
    root = root.resolve()
    manifest = root / MANIFEST
    if not manifest.is_file() and openevolve.is_openevolve_folder(root):
        return openevolve_problem(openevolve.folder_files(root))
    if not manifest.is_file():
        raise UserError(f"{root} has no {MANIFEST}; a problem folder needs one "
                        "(see `adrs problems` for examples)")
    data = read_toml(manifest)
    meta = data.get("problem", {})
    for key in ("name", "initial_program", "evaluator"):
        if not isinstance(meta.get(key), str):
            raise UserError(f"{manifest}: [problem] needs a string '{key}'")
    initial = _read(root / meta["initial_program"], manifest)
    try:
        evolve_block.split(initial)
    except evolve_block.MarkerError as exc:
        raise UserError(f"{root / meta['initial_program']}: {exc}") from None
    baselines = {n: root / p for n, p in data.get("baselines", {}).items()}
    for name, p in baselines.items():
        if not p.is_file():
            raise UserError(f"{manifest}: baseline '{name}' file {p} does not exist")
    return Problem(name=meta["name"], root=root, description=meta.get("description", ""),
                   initial_path=root / meta["initial_program"],
                   initial_source=initial, evaluator=_load_evaluator(root, meta, manifest),
                   baselines=baselines, defaults=_defaults(data, manifest), origin=origin)


def _defaults(data: dict, manifest: Path) -> dict:
    """[defaults], with a top-level [limits] table as the sandbox section."""
    defaults = dict(data.get("defaults", {}))
    limits = data.get("limits")
    if limits is not None:
        if not isinstance(limits, dict):
            raise UserError(f"{manifest}: [limits] must be a table (memory_mb = 4096, ...)")
        defaults["sandbox"] = {**defaults.get("sandbox", {}), **limits}
    return defaults


def _read(path: Path, manifest: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        raise UserError(f"{manifest}: cannot read {path}; fix the path in the manifest") from None


def _load_evaluator(root: Path, meta: dict, manifest: Path) -> Evaluator:
    file, _, attr = meta["evaluator"].partition(":")
    path = root / file
    module_name = f"adrs_problem_{meta['name']}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or not path.is_file():
        raise UserError(f"{manifest}: evaluator file {path} does not exist")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
        make = vars(module).get(attr or "Evaluator")
        if make is None:
            raise UserError(f"{path} defines no '{attr or 'Evaluator'}'; name the evaluator "
                            f"class in {MANIFEST}: evaluator = \"{file}:ClassName\"")
        evaluator = make()
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - report a broken plugin in one line
        raise UserError(f"{path}: the evaluator failed to load: {type(exc).__name__}: {exc}") \
            from None
    parts_of(evaluator, str(path))  # checked here so the message names its file
    return evaluator


def openevolve_problem(files: openevolve.Files) -> Problem:
    """An OpenEvolve-format problem (a folder's files, or INITIAL EVALUATOR [CONFIG])."""
    return Problem(**openevolve.problem_fields(files))
