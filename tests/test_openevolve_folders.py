"""OpenEvolve-format folders written here, one per gap a new user met running real
example folders: dataclasses, /tmp folders, artifacts, subprocess evaluators, stdin,
compiled non-Python candidates, any file names and the three-path CLI form, noise
and limits declared in config.yaml."""

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from sandbox_support import backends

from adrs.cli import main
from adrs.config import build
from adrs.evaluation import evaluate
from adrs.loop import Search
from adrs.mutate.fake_server import FakeOpenAIServer
from adrs.problem import find_problem
from adrs.runs import open_run, start_run
from adrs.status import format_status, run_status


def _write(root: Path, files: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def _evaluate(root: Path, source: str | None = None, **sandbox):
    problem = find_problem(str(root))
    limits = build(problem.defaults, {"sandbox": sandbox}).sandbox
    return evaluate(problem, problem.initial_source if source is None else source, limits)


LOAD = '''
import importlib.util


def load(path):
    spec = importlib.util.spec_from_file_location("program", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
'''

DATACLASS_PROGRAM = '''from dataclasses import dataclass, field


# EVOLVE-BLOCK-START
@dataclass
class Plan:
    weight: float = 2.0
    tags: list = field(default_factory=list)


def plan():
    return Plan()
# EVOLVE-BLOCK-END
'''

DATACLASS_EVALUATOR = '''from __future__ import annotations

from dataclasses import dataclass
''' + LOAD + '''

@dataclass(frozen=True)
class Verdict:
    score: float


def evaluate(program_path):
    return {"combined_score": Verdict(load(program_path).plan().weight / 4).score}
'''


def test_module_level_dataclasses_work_in_candidate_and_evaluator(tmp_path):
    root = _write(tmp_path / "dc", {"initial_program.py": DATACLASS_PROGRAM,
                                    "evaluator.py": DATACLASS_EVALUATOR})
    ev = _evaluate(root)
    assert ev.status == "ok", ev.error
    assert ev.score == 0.5


TMP_EVALUATOR = LOAD + '''
from helper import SCALE


def evaluate(program_path):
    with open("data/weights.txt") as fh:
        weights = [float(x) for x in fh.read().split()]
    return {"combined_score": SCALE * sum(weights) * load(program_path).value()}
'''


@pytest.mark.parametrize("mode", backends())
def test_a_folder_under_tmp_sees_its_own_files(mode):
    root = Path(tempfile.mkdtemp(prefix="adrs-oe-", dir="/tmp"))
    try:
        _write(root, {"initial_program.py": "# EVOLVE-BLOCK-START\ndef value():\n"
                      "    return 2.0\n# EVOLVE-BLOCK-END\n",
                      "evaluator.py": TMP_EVALUATOR, "helper.py": "SCALE = 0.25\n"})
        _write(root / "data", {"weights.txt": "0.5 1.5\n"})
        ev = _evaluate(root, mode=mode)
        assert ev.status == "ok", ev.error
        assert ev.score == 1.0
    finally:
        shutil.rmtree(root)


ARTIFACT_EVALUATOR = LOAD + '''
from openevolve.evaluation_result import EvaluationResult


def evaluate(program_path):
    try:
        x = load(program_path).x()
    except Exception as exc:  # an error the evaluator catches and reports
        return {"combined_score": 0.0, "error": f"caught {type(exc).__name__}: {exc}"}
    return EvaluationResult(metrics={"combined_score": 1.0 / (1.0 + abs(x - 3.0))},
                            artifacts={"stderr": f"warning: x={x:.3f} is off by "
                                                 f"{abs(x - 3.0):.3f}",
                                       "profile": b"hot loop: 93%"})
'''

ARTIFACT_PROGRAM = "# EVOLVE-BLOCK-START\ndef x():\n    return 1.5\n# EVOLVE-BLOCK-END\n"


def test_artifacts_are_returned_and_a_caught_error_is_not_silent(tmp_path):
    root = _write(tmp_path / "art", {"initial_program.py": ARTIFACT_PROGRAM,
                                     "evaluator.py": ARTIFACT_EVALUATOR})
    ev = _evaluate(root)
    assert ev.status == "ok" and ev.artifacts == {"stderr": "warning: x=1.500 is off by 1.500",
                                                  "profile": "hot loop: 93%"}
    broken = ARTIFACT_PROGRAM.replace("return 1.5", "return 1 / 0")
    ev = _evaluate(root, broken)
    assert ev.status == "ok" and ev.score == 0.0
    assert ev.artifacts == {"error": "caught ZeroDivisionError: division by zero"}
    assert "error" not in ev.metrics


def test_artifacts_are_stored_reported_and_shown_in_the_next_prompt(tmp_path, capsys):
    root = _write(tmp_path / "art", {"initial_program.py": ARTIFACT_PROGRAM,
                                     "evaluator.py": ARTIFACT_EVALUATOR})
    with FakeOpenAIServer() as server:
        ctx = start_run(str(root), name="art", db=None, archive=tmp_path / "archive",
                        config_file=None, overrides={
                            "iterations": 4, "search": {"in_flight": 1, "islands": 1},
                            "mutator": {"kind": "llm", "model": "fake", "base_url": server.url,
                                        "diff": 0.0, "crossover": 0.0}})
        Search(ctx, progress=False).run()
    initial = ctx.store.initial(ctx.run.id)
    assert initial.artifacts["stderr"] == "warning: x=1.500 is off by 1.500"
    with ctx.store.engine.connect() as conn:
        prompts = [r[0] for r in conn.exec_driver_sql("SELECT prompt FROM llm_calls")]
    assert prompts and any("# Evaluator feedback on the current program" in p and
                           "## stderr" in p and "is off by" in p for p in prompts)
    status = format_status(run_status(ctx.store, ctx.run))
    assert "artifact   stderr (" in status and "is off by" in status
    from adrs import archive

    run = archive.open(tmp_path / "archive" / "art")
    assert run.program(initial.id).artifacts["profile"] == "hot loop: 93%"
    assert main(["report", "art", "--archive", str(tmp_path / "archive")]) == 0
    report = (tmp_path / "archive" / "art" / "report" / "index.html").read_text()
    assert "artifact: stderr" in report and "is off by" in report


SUBPROCESS_EVALUATOR = '''
import subprocess
import sys


def evaluate(program_path):
    try:
        done = subprocess.run([sys.executable, program_path], input="6 7",
                              capture_output=True, text=True, timeout=3)
    except subprocess.TimeoutExpired:
        return {"combined_score": 0.0, "error": "the program timed out"}
    return {"combined_score": float(done.stdout.strip() or 0) / 42.0}
'''

SUBPROCESS_PROGRAM = '''import sys

# EVOLVE-BLOCK-START
a, b = (int(v) for v in sys.stdin.read().split())
print(a * b)
# EVOLVE-BLOCK-END
'''


def test_an_evaluator_runs_the_candidate_in_a_subprocess_with_a_timeout(tmp_path):
    root = _write(tmp_path / "sub", {"initial_program.py": SUBPROCESS_PROGRAM,
                                     "evaluator.py": SUBPROCESS_EVALUATOR})
    ev = _evaluate(root)
    assert ev.status == "ok" and ev.score == 1.0, (ev.error, ev.artifacts)
    hang = SUBPROCESS_PROGRAM.replace("print(a * b)", "while True:\n    pass")
    ev = _evaluate(root, hang)
    assert ev.status == "ok" and ev.artifacts == {"error": "the program timed out"}


STDIN_EVALUATOR = LOAD + '''

def evaluate(program_path):
    return {"combined_score": load(program_path).answer()}
'''

STDIN_PROGRAM = '''import sys

CONFIG = sys.stdin.read()  # a script's habit: here there is no input, not a hang

# EVOLVE-BLOCK-START
def answer():
    return 0.25 if CONFIG == "" else -1.0
# EVOLVE-BLOCK-END
'''


def test_an_async_evaluate_is_awaited(tmp_path):
    root = _write(tmp_path / "async", {"initial_program.py": ARTIFACT_PROGRAM,
                                       "evaluator.py": ARTIFACT_EVALUATOR.replace(
                                           "def evaluate(", "async def evaluate(")})
    ev = _evaluate(root)
    assert ev.status == "ok" and ev.score == pytest.approx(0.4), ev.error


def test_a_candidate_that_reads_stdin_at_import_does_not_hang(tmp_path):
    root = _write(tmp_path / "stdin", {"initial_program.py": STDIN_PROGRAM,
                                       "evaluator.py": STDIN_EVALUATOR})
    ev = _evaluate(root, wall_seconds=10.0)
    assert ev.status == "ok" and ev.score == 0.25, ev.error


C_PROGRAM = '''#include <stdio.h>

// EVOLVE-BLOCK-START
double guess(void) { return 2.0; }
// EVOLVE-BLOCK-END

int main(void) { printf("%f\\n", guess()); return 0; }
'''

COMPILED_EVALUATOR = '''
import os
import shutil
import subprocess
import tempfile

COMPILER = {".c": ["gcc", "-O1", "-o"], ".rs": ["rustc", "-O", "-o"]}


def evaluate(program_path):
    suffix = os.path.splitext(program_path)[1]
    binary = os.path.join(tempfile.gettempdir(), "candidate")
    cmd = COMPILER[suffix]
    built = subprocess.run(cmd + [binary, program_path], capture_output=True, text=True)
    if built.returncode != 0:
        return {"combined_score": 0.0, "compiled": False, "error": built.stderr[-2000:]}
    out = subprocess.run([binary], capture_output=True, text=True, timeout=5).stdout
    return {"combined_score": 1.0 / (1.0 + abs(float(out) - 7.0)), "compiled": True}
'''

RUST_PROGRAM = '''// EVOLVE-BLOCK-START
fn guess() -> f64 { 2.0 }
// EVOLVE-BLOCK-END

fn main() { println!("{}", guess()); }
'''


def _toolchain(name: str) -> str | None:
    """A compiler the sandbox can see: only system folders (/usr) are bound into it."""
    found = shutil.which(name)
    return found if found and found.startswith(("/usr/", "/bin/")) else None


@pytest.mark.parametrize("language, source, suffix", [
    pytest.param("c", C_PROGRAM, ".c", marks=pytest.mark.skipif(
        _toolchain("gcc") is None, reason="no gcc under /usr")),
    pytest.param("rust", RUST_PROGRAM, ".rs", marks=pytest.mark.skipif(
        _toolchain("rustc") is None, reason="no rustc under /usr (a rustup install in "
                                            "~/.cargo is not visible inside the sandbox)")),
])
def test_a_compiled_candidate_is_built_by_its_evaluator_and_evolved(tmp_path, language,
                                                                    source, suffix):
    root = _write(tmp_path / language, {f"initial_program{suffix}": source,
                                        "evaluator.py": COMPILED_EVALUATOR})
    problem = find_problem(str(root))
    assert problem.language == language
    ev = _evaluate(root)
    assert ev.status == "ok" and ev.score == pytest.approx(1 / 6), (ev.error, ev.artifacts)
    ctx = start_run(str(root), name=language, db=None, archive=tmp_path / "archive",
                    config_file=None, overrides={"iterations": 30})
    Search(ctx, progress=False).run()
    best = ctx.store.best(ctx.run.id)[0]
    assert best.score > ev.score and best.source.endswith(source.split("// EVOLVE-BLOCK-END")[1])


NAMED_CONFIG = '''max_iterations: 3
random_seed: 7
evaluator:
  timeout: 20
  memory_limit_mb: 1024
adrs:
  noisy: true
  limits:
    max_processes: 16
'''


def test_any_file_names_and_the_three_path_cli_form_run_and_resume(tmp_path, capsys):
    root = _write(tmp_path / "named", {"initial_greedy.py": ARTIFACT_PROGRAM,
                                       "evaluator.py": ARTIFACT_EVALUATOR,
                                       "config_phase_1.yaml": NAMED_CONFIG,
                                       "config_phase_2.yaml": "max_iterations: 9\n"})
    problem = find_problem(str(root))  # the one initial*.py, the first config*.yaml
    assert problem.initial_path.name == "initial_greedy.py"
    assert problem.defaults["iterations"] == 3 and problem.noisy
    assert "using config_phase_1.yaml (also there: config_phase_2.yaml" in capsys.readouterr().err
    archive = str(tmp_path / "archive")
    assert main(["run", str(root / "initial_greedy.py"), str(root / "evaluator.py"),
                 "--config", str(root / "config_phase_2.yaml"), "--name", "three",
                 "--archive", archive, "--quiet"]) == 0
    store, run, _ = open_run("three", db=None, archive=Path(archive))
    assert run.iterations == 9 and run.seed == 0  # phase 2's config, not phase 1's
    assert json.loads(run.problem_path)[2].endswith("config_phase_2.yaml")
    assert main(["resume", "three", "--iterations", "11", "--archive", archive, "--quiet"]) == 0
    assert run_status(store, store.get_run("three"))["iterations"] == 11


def test_an_init_program_file_is_found_when_there_is_no_initial_one(tmp_path):
    root = _write(tmp_path / "init", {"init_program.py": ARTIFACT_PROGRAM,
                                      "evaluator.py": ARTIFACT_EVALUATOR})
    assert find_problem(str(root)).initial_path.name == "init_program.py"


def test_a_folder_declares_noise_and_limits_in_its_config(tmp_path):
    root = _write(tmp_path / "noisy", {"initial_program.py": ARTIFACT_PROGRAM,
                                       "evaluator.py": ARTIFACT_EVALUATOR,
                                       "config.yaml": NAMED_CONFIG})
    problem = find_problem(str(root))
    limits = build(problem.defaults).sandbox
    assert problem.noisy
    assert (limits.memory_mb, limits.max_processes, limits.wall_seconds) == (1024, 16, 20.0)


def test_a_folders_models_do_not_override_the_users_model(tmp_path):
    root = _write(tmp_path / "models", {
        "initial_program.py": ARTIFACT_PROGRAM, "evaluator.py": ARTIFACT_EVALUATOR,
        "config.yaml": "llm:\n  models:\n    - name: folder-model\n      weight: 1.0\n"})
    defaults = find_problem(str(root)).defaults
    assert build(defaults).mutator.models == {"folder-model": 1.0}
    mine = build(defaults, {"mutator": {"model": "my-model"}}).mutator
    assert (mine.model, mine.models) == ("my-model", {})
    ensemble = build(defaults, {"mutator": {"models": {"a": 1.0}}}).mutator
    assert ensemble.models == {"a": 1.0}  # replaced whole, not mixed with the folder's
