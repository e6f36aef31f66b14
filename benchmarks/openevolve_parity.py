"""The initial program's score under adrs and under OpenEvolve itself, folder by folder.

Folders: the two bundled OpenEvolve-format problems and small ones written here,
each exercising one rule both must agree on (cascade default thresholds, a later
stage's error, booleans in the fallback mean, feature dimensions left out of it,
artifacts, module-level dataclasses). OpenEvolve 0.4.0 runs from PyPI in its own
venv (made on first use), its LLM pointed at `adrs fake-llm`; adrs evaluates the
same file in its sandbox. Writes benchmarks/results/openevolve_parity.md.

    python benchmarks/openevolve_parity.py
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, save
from vs_openevolve import OPENEVOLVE, openevolve_python

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.problem import bundled_root, find_problem

HERE = Path(__file__).parent
LOAD = ("import importlib.util\n\n\ndef load(path):\n"
        "    spec = importlib.util.spec_from_file_location('program', path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n    return module\n\n\n")
PROGRAM = "# EVOLVE-BLOCK-START\ndef x():\n    return 0.6\n# EVOLVE-BLOCK-END\n"
WRITTEN = {
    "cascade_default_thresholds": (PROGRAM, LOAD + (
        "def evaluate_stage1(path):\n    return {'a': load(path).x()}\n\n\n"
        "def evaluate_stage2(path):\n    return {'b': 0.2}\n\n\n"
        "def evaluate_stage3(path):\n    return {'c': 1.0}\n\n\n"
        "def evaluate(path):\n    return {'combined_score': 0.0}\n"), None),
    "stage_two_raises": (PROGRAM, LOAD + (
        "def evaluate_stage1(path):\n    return {'a': load(path).x(), 'error': 0.0}\n\n\n"
        "def evaluate_stage2(path):\n    raise RuntimeError('stage two broke')\n\n\n"
        "def evaluate(path):\n    return {'combined_score': 0.0}\n"), None),
    "booleans_and_features": (PROGRAM, LOAD + (
        "def evaluate(path):\n    return {'valid': True, 'value': load(path).x(),"
        " 'complexity': 50.0, 'note': 'text is not averaged'}\n"),
        "evaluator:\n  cascade_evaluation: false\n"
        "database:\n  feature_dimensions: [complexity]\n"),
    "artifacts_and_dataclasses": (PROGRAM.replace(
        "# EVOLVE-BLOCK-START\n", "from dataclasses import dataclass\n\n\n"
        "# EVOLVE-BLOCK-START\n@dataclass\nclass P:\n    w: float = 0.5\n\n\n"),
        "from __future__ import annotations\n\nfrom dataclasses import dataclass\n\n"
        "from openevolve.evaluation_result import EvaluationResult\n\n" + LOAD +
        "@dataclass\nclass V:\n    s: float\n\n\n"
        "def evaluate(path):\n    m = load(path)\n"
        "    return EvaluationResult({'combined_score': V(m.x() * m.P().w).s},"
        " {'stderr': 'fine'})\n", None),
}


def write_folders(into: Path) -> list[Path]:
    folders = [bundled_root() / "function_minimization", bundled_root() / "online_bin_packing"]
    for name, (program, evaluator, config) in WRITTEN.items():
        root = into / name
        root.mkdir()
        (root / "initial_program.py").write_text(program)
        (root / "evaluator.py").write_text(evaluator)
        if config:
            (root / "config.yaml").write_text(config)
        folders.append(root)
    return folders


def adrs_score(folder: Path) -> float:
    problem = find_problem(str(folder))
    ev = evaluate(problem, problem.initial_source, build(problem.defaults).sandbox)
    if ev.status != "ok":
        raise SystemExit(f"{folder}: adrs: {ev.failure}: {ev.error}")
    return ev.score


def openevolve_scores(py: Path, folders: list[Path]) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "adrs", "fake-llm", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.5)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "r.json")
            subprocess.run([str(py), str(HERE / "openevolve_parity_side.py"), "--url",
                            f"http://127.0.0.1:{port}/v1", "--out", str(out),
                            *map(str, folders)], check=True, env=env, cwd=tmp,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return json.loads(out.read_text())
    finally:
        server.terminate()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", type=Path, default=HERE / ".openevolve-venv")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "openevolve_parity.md")
    args = ap.parse_args()
    py = openevolve_python(args.venv)
    with tempfile.TemporaryDirectory() as tmp:
        folders = write_folders(Path(tmp))
        theirs = openevolve_scores(py, folders)
        rows = [{"folder": f.name, "adrs": adrs_score(f), "openevolve": theirs[str(f)]["score"],
                 "openevolve_metrics": theirs[str(f)]["metrics"]} for f in folders]
    lines = ["# The initial program's score: adrs vs OpenEvolve itself", "",
             f"Machine: {machine()}; openevolve {OPENEVOLVE} from PyPI in its own venv, its "
             "LLM pointed at `adrs fake-llm`. Command: `python benchmarks/openevolve_parity.py`.",
             "", "| folder | adrs | OpenEvolve | same |", "|---|---:|---:|:---:|"]
    for r in rows:
        same = abs(r["adrs"] - r["openevolve"]) <= 1e-12
        lines.append(f"| {r['folder']} | {r['adrs']:.6f} | {r['openevolve']:.6f} | "
                     f"{'yes' if same else 'NO'} |")
    save(args.out, lines, rows)
    print(args.out.read_text())
    if any(abs(r["adrs"] - r["openevolve"]) > 1e-12 for r in rows):
        raise SystemExit("scores differ")


if __name__ == "__main__":
    main()
