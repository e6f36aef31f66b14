"""`pip install .` (not only editable) must ship everything a run needs."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
NEEDED = [
    "adrs/cli/__init__.py",
    "adrs/sandbox/__init__.py",
    "adrs/sandbox/box/child.py",
    "adrs/sandbox/box/jail.py",
    "adrs/sandbox/box/lockdown.py",
    "adrs/sandbox/box/codec.py",
    "adrs/store/migrations/env.py",
    "adrs/store/migrations/script.py.mako",
    "adrs/store/migrations/versions/0001_initial.py",
    "evaluators/moe_placement.py",
    "problems/moe_expert_placement/problem.toml",
    "problems/moe_expert_placement/initial_program.py",
    "problems/moe_expert_placement/evaluate.py",
    "problems/moe_expert_placement/baselines/eplb_greedy.py",
    "problems/moe_expert_placement/baselines/round_robin.py",
    "problems/moe_expert_placement/README.md",
    "evaluators/optimizer_tasks.py",
    "problems/optimizer_discovery/problem.toml",
    "problems/optimizer_discovery/evaluate.py",
    "problems/optimizer_discovery/reference.json",
    "problems/optimizer_discovery/baselines/lion.py",
    "problems/function_minimization/config.yaml",
    "problems/online_bin_packing/evaluator.py",
    "adrs/templates/problem/evaluate.py.jinja",
    "adrs/templates/report.html.jinja",
    "adrs/templates/problem/baselines/bhaskara.py.jinja",
    "prompts/_context.jinja",
    "prompts/diff.jinja",
    "prompts/rewrite.jinja",
    "prompts/crossover.jinja",
    "prompts/system.jinja",
]


def test_the_wheel_contains_code_migrations_problems_and_prompts(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path,
                    ROOT], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("adrs-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [n for n in NEEDED if n not in names] == []
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "adrs = adrs.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
