"""OpenEvolve-format folders run unchanged: evaluator in the sandbox, cascade stages,
config.yaml mapped onto adrs's settings, evolve-block boundaries enforced."""

import shutil

import pytest

from adrs.config import build
from adrs.evaluation import evaluate
from adrs.loop import Search
from adrs.mutate.edits import EditError, apply_diff
from adrs.openevolve import read_config
from adrs.problem import bundled_root, find_problem, list_problems
from adrs.runs import start_run

EXAMPLES = ["function_minimization", "online_bin_packing"]


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_openevolve_folder_runs_unchanged_and_improves(tmp_path, name):
    ctx = start_run(str(bundled_root() / name), name=name, db=None, archive=tmp_path,
                    config_file=None, overrides={"iterations": 60})
    Search(ctx, progress=False).run()
    initial, best = ctx.store.initial(ctx.run.id), ctx.store.best(ctx.run.id)[0]
    assert initial.status == "ok" and "combined_score" in initial.metrics
    assert best.score > initial.score, (best.score, initial.score)
    assert ctx.problem.origin == "openevolve folder"


def test_openevolve_folders_are_listed_by_name():
    listed = {p.name: p.origin for p in list_problems()}
    assert all(listed[n] == "bundled" for n in EXAMPLES)
    assert find_problem("online_bin_packing").evaluator.entrypoint == "adrs_openevolve_evaluate"


def test_config_yaml_is_mapped_and_the_rest_named(capsys):
    mapped = read_config(bundled_root() / "function_minimization" / "config.yaml")
    d = mapped.defaults
    assert (d["iterations"], d["seed"]) == (60, 42)
    assert d["mutator"]["models"] == {"gemini-2.0-flash-lite": 0.8, "gemini-2.0-flash": 0.2}
    assert d["mutator"]["api_key_env"] == "GEMINI_API_KEY" and d["mutator"]["diff"] == 0.85
    assert (d["search"]["islands"], d["search"]["migration_interval"]) == (2, 20)
    assert d["search"]["inspirations"] == 3 and d["sandbox"]["wall_seconds"] == 30.0
    assert "global minimum" in mapped.prompt and mapped.cascade is False
    assert mapped.ignored == ["database.population_size"]
    assert mapped.not_needed == ["checkpoint_interval", "log_level"]
    build(d)  # a valid adrs config layer
    find_problem("function_minimization")
    err = capsys.readouterr().err
    assert "no adrs equivalent, ignored: database.population_size" in err
    assert "not needed (adrs stores every candidate, call and prompt as it goes): " \
        "checkpoint_interval, log_level" in err


def test_the_bundled_cascade_runs_both_stages_and_checks_what_priority_returns():
    problem = find_problem("online_bin_packing")
    limits = build(problem.defaults).sandbox
    good = evaluate(problem, problem.initial_source, limits)
    assert good.status == "ok" and good.metrics["cascade_stages"] == 2
    assert good.artifacts == {"note": "4 instances of 400 items"}
    short = problem.initial_source.replace("    waste = bins - item\n",
                                           "    waste = bins - item\n    return [1.0]\n")
    ev = evaluate(problem, short, limits)
    assert ev.status == "failed" and "finite scores, one per bin" in ev.error, ev.error


def test_the_evaluator_runs_in_the_sandbox_with_subprocesses_allowed(tmp_path):
    root = tmp_path / "sneaky"
    root.mkdir()
    pwned = tmp_path / "pwned"
    source = (bundled_root() / "function_minimization" / "initial_program.py").read_text()
    (root / "initial_program.py").write_text(source)
    (root / "evaluator.py").write_text(
        "import subprocess\n\ndef evaluate(program_path):\n"
        "    out = subprocess.run(['python', program_path], capture_output=True)\n"
        "    try:\n"
        f"        open({str(pwned)!r}, 'w').write('x')\n"
        "        wrote = 1.0\n"
        "    except OSError:\n"
        "        wrote = 0.0\n"
        "    return {'combined_score': 1.0 - wrote, 'rc': float(out.returncode)}\n")
    problem = find_problem(str(root))
    ev = evaluate(problem, source, build(problem.defaults).sandbox)
    assert ev.status == "ok" and ev.score == 1.0 and ev.metrics["rc"] == 0.0, ev
    assert not pwned.exists()


def test_edits_outside_the_evolve_block_are_refused():
    source = find_problem("function_minimization").initial_source
    with pytest.raises(EditError) as err:
        apply_diff(source, [("    return np.sin(x) * np.cos(y) + np.sin(x * y)",
                             "    return 0.0 * x")])
    assert err.value.reason == "outside_region"


def test_the_checker_accepts_an_openevolve_folder():
    from adrs.check import check

    findings = check("function_minimization")
    assert all(f.ok for f in findings), findings
    assert {f.check for f in findings} >= {"initial program", "determinism"}


STACK_EVALUATOR = '''
import importlib.util
import subprocess
import sys


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    metrics = {"combined_score": float(program.compute())}
    import networkx as nx
    import pandas as pd
    from scipy.optimize import minimize_scalar

    metrics["scipy"] = round(minimize_scalar(lambda t: (t - 2) ** 2).x, 3)
    metrics["pandas"] = float(pd.Series([1, 2, 3]).sum())
    metrics["networkx"] = float(nx.shortest_path_length(nx.path_graph(4), 0, 3))
    for name, expr in (("torch", "float(torch.arange(4.0).sum())"),
                       ("jax", "float(jax.numpy.arange(4.0).sum())")):
        if importlib.util.find_spec(name) is not None:
            exec(f"import {name}; import {name}.numpy" if name == "jax" else f"import {name}")
            metrics[name] = eval(expr)
    run = subprocess.run([sys.executable, program_path], capture_output=True, timeout=60)
    metrics["subprocess_rc"] = float(run.returncode)
    return metrics
'''

STACK_PROGRAM = '''# EVOLVE-BLOCK-START
import numpy as np
import scipy.special


def compute():
    return float(scipy.special.expit(0.0) + np.zeros(1).sum())
# EVOLVE-BLOCK-END
'''


def test_an_openevolve_evaluator_and_candidate_use_the_scientific_stack(tmp_path):
    for name in ("scipy", "pandas", "networkx"):
        pytest.importorskip(name)
    root = tmp_path / "stack"
    root.mkdir()
    (root / "initial_program.py").write_text(STACK_PROGRAM)
    (root / "evaluator.py").write_text(STACK_EVALUATOR)
    (root / "config.yaml").write_text("evaluator:\n  timeout: 120\n")
    problem = find_problem(str(root))
    limits = build(problem.defaults, {"sandbox": {"memory_mb": 4096,
                                                   "max_processes": 128}}).sandbox
    ev = evaluate(problem, problem.initial_source, limits)
    assert ev.status == "ok", ev.error
    expected = {"combined_score": 0.5, "scipy": 2.0, "pandas": 6.0, "networkx": 3.0,
                "subprocess_rc": 0.0}
    assert {k: ev.metrics[k] for k in expected} == expected
    import importlib.util

    for name in ("torch", "jax"):
        if importlib.util.find_spec(name) is not None:
            assert ev.metrics[name] == 6.0


SIBLING_EVALUATOR = '''
import importlib.util

from helper import WEIGHT  # a module next to the evaluator


def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("program", program_path)
    program = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(program)
    with open("data.txt") as fh:  # relative to the folder, as OpenEvolve users run it
        data = float(fh.read())
    with open("/tmp/imports") as fh:
        imports = len(fh.read())
    return {"combined_score": WEIGHT * data * program.value(), "imports": float(imports)}
'''

SIBLING_PROGRAM = '''# EVOLVE-BLOCK-START
with open("/tmp/imports", "a") as fh:  # counts how often the program is run
    fh.write("x")


def value():
    return 2.0
# EVOLVE-BLOCK-END
'''


def test_an_evaluator_imports_siblings_reads_relative_files_and_runs_the_program_once(tmp_path):
    root = tmp_path / "siblings"
    root.mkdir()
    (root / "initial_program.py").write_text(SIBLING_PROGRAM)
    (root / "evaluator.py").write_text(SIBLING_EVALUATOR)
    (root / "helper.py").write_text("WEIGHT = 3.0\n")
    (root / "data.txt").write_text("0.5\n")
    problem = find_problem(str(root))
    ev = evaluate(problem, problem.initial_source, build(problem.defaults).sandbox)
    assert ev.status == "ok", ev.error
    assert ev.score == 3.0 and ev.metrics["imports"] == 1.0  # not run before the evaluator


def _folder(tmp_path, evaluator: str, config: str | None = None):
    root = tmp_path / "cascade"
    root.mkdir(parents=True)
    source = (bundled_root() / "function_minimization" / "initial_program.py").read_text()
    (root / "initial_program.py").write_text(source)
    (root / "evaluator.py").write_text(evaluator)
    if config is not None:
        (root / "config.yaml").write_text(config)
    problem = find_problem(str(root))
    return evaluate(problem, source, build(problem.defaults).sandbox)


STAGES = ("def evaluate_stage1(path):\n    return {{'combined_score': {s1}}}\n"
          "def evaluate_stage2(path):\n    return {{'combined_score': {s2}, 'two': 1.0}}\n"
          "def evaluate_stage3(path):\n    return {{'combined_score': 1.0, 'three': 1.0}}\n"
          "def evaluate(path):\n    return {{'combined_score': 0.0}}\n")


def test_cascades_use_openevolves_default_thresholds_when_none_are_configured(tmp_path):
    ev = _folder(tmp_path, STAGES.format(s1=0.4, s2=0.9))  # 0.4 < the default 0.5
    assert ev.status == "ok" and ev.metrics["cascade_stages"] == 1 and "two" not in ev.metrics


def test_stage_three_runs_only_when_a_second_threshold_passes(tmp_path):
    ev = _folder(tmp_path, STAGES.format(s1=0.6, s2=0.9),
                 "evaluator:\n  cascade_thresholds: [0.5]\n")
    assert ev.metrics["cascade_stages"] == 2 and "three" not in ev.metrics


def test_booleans_are_flags_in_the_fitness_but_count_in_thresholds_as_in_openevolve(tmp_path):
    ev = _folder(tmp_path, "def evaluate(path):\n    return {'valid': True, 'value': 0.25}\n",
                 "evaluator:\n  cascade_evaluation: false\n")
    assert ev.status == "ok" and ev.score == 0.25  # OpenEvolve 0.4 leaves flags out
    stages = ("def evaluate_stage1(path):\n    return {'valid': True, 'a': 0.2}\n"
              "def evaluate_stage2(path):\n    return {'b': 0.9}\n"
              "def evaluate(path):\n    return {}\n")
    ev = _folder(tmp_path / "2", stages)  # (1 + 0.2) / 2 passes 0.5: stage 2 runs
    assert ev.metrics["cascade_stages"] == 2
    assert ev.score == pytest.approx((1.0 + 0.2 + 0.9) / 3)  # merged: the flag is a number


def test_use_meta_prompting_turns_on_evolving_prompts(tmp_path):
    folder = tmp_path / "meta"
    shutil.copytree(bundled_root() / "function_minimization", folder)
    cfg = folder / "config.yaml"
    cfg.write_text(cfg.read_text().replace("prompt:\n", "prompt:\n  use_meta_prompting: true\n", 1))
    mapped = read_config(cfg)
    assert mapped.defaults["prompts"] == {"evolve": True}
    assert build(mapped.defaults).prompts.evolve is True
    assert "use_meta_prompting" not in " ".join(mapped.ignored)
