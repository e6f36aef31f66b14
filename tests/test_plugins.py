"""Writing a problem: the scaffold passes the checker and searches; the checker names
each way a plugin can be broken; a packaged plugin is found through its entry point."""

import subprocess
import sys

import pytest

from adrs.check import check
from adrs.cli import main
from adrs.loop import Search
from adrs.runs import start_run
from adrs.scaffold import new_problem


def test_a_new_problem_passes_the_checker_searches_and_its_own_tests(tmp_path, capsys):
    assert main(["new", "problem", "fit", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "fit"
    assert main(["check", str(root)]) == 0
    out = capsys.readouterr().out
    assert "8 passed, 0 failed" in out and "FAIL" not in out and "warn" not in out
    ctx = start_run(str(root), name="r", db=None, archive=tmp_path / "archive",
                    config_file=None, overrides={"iterations": 20})
    Search(ctx, progress=False).run()
    assert ctx.store.best(ctx.run.id)[0].score > ctx.store.initial(ctx.run.id).score
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", str(root / "test_problem.py")],
                           capture_output=True, text=True, timeout=120)
    assert tests.returncode == 0, tests.stdout[-2000:]


def test_the_name_and_place_are_checked(tmp_path):
    with pytest.raises(Exception, match="not a usable problem name"):
        new_problem("My Problem", tmp_path)
    new_problem("dup", tmp_path)
    with pytest.raises(Exception, match="already exists"):
        new_problem("dup", tmp_path)


def _broken(tmp_path, edit):
    root = new_problem("broken", tmp_path)
    edit(root)
    return {f.check: f for f in check(str(root))}


def _replace(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


BROKEN = {
    "manifest without evaluator": (
        lambda r: _replace(r / "problem.toml", 'evaluator = "evaluate.py:Evaluator"\n', ""),
        "manifest", "needs a string 'evaluator'"),
    "evaluator that does not load": (
        lambda r: _replace(r / "evaluate.py", "class Evaluator(", "1 / 0\n\nclass Evaluator("),
        "manifest", "the evaluator failed to load: ZeroDivisionError"),
    "evaluator class not where the manifest says": (
        lambda r: _replace(r / "problem.toml", '"evaluate.py:Evaluator"', '"evaluate.py:Scorer"'),
        "manifest", "defines no 'Scorer'; name the evaluator class"),
    "an optional part of the wrong kind": (
        lambda r: _replace(r / "evaluate.py", '    entrypoint = "predict"\n',
                           '    entrypoint = "predict"\n    preload = "numpy"\n'),
        "manifest", "evaluate.py: the evaluator's 'preload' must be a list of names"),
    "a required part missing": (
        lambda r: _replace(r / "evaluate.py", '    entrypoint = "predict"\n', ""),
        "manifest", "the evaluator has no 'entrypoint'"),
    "markers out of order": (
        lambda r: _replace(r / "initial_program.py", "# EVOLVE-BLOCK-START",
                           "# EVOLVE-BLOCK-END\n# EVOLVE-BLOCK-START"),
        "manifest", "expected one EVOLVE-BLOCK-START"),
    "initial program that raises": (
        lambda r: _replace(r / "initial_program.py", "return 0.5 * x + 0.1",
                           "raise RuntimeError('boom')"),
        "initial program", "exception: RuntimeError: boom"),
    "unseeded evaluator": (
        lambda r: _replace(r / "evaluate.py", 'return {"score": -mse,',
                           'return {"score": -mse + np.random.random(),'),
        "determinism", "seed the evaluator's randomness"),
    "probes as slow as the evaluation": (
        lambda r: (_replace(r / "initial_program.py", "return 0.5 * x + 0.1",
                            "import time\n    time.sleep(len(x) * 0.001)\n"
                            "    return 0.5 * x + 0.1"),
                   _replace(r / "evaluate.py", "np.array([0.0, 0.5, 1.7, 3.0])",
                            "np.linspace(0.0, 3.0, 600)")),
        "probes", "make them smaller"),
    "probes the entry point rejects": (
        lambda r: _replace(r / "evaluate.py", 'return [{"x": np.array([0.0, 0.5, 1.7, 3.0])}]',
                           'return [{"y": 1.0}]'),
        "probes", "fails on the probe inputs (exception: TypeError"),
    "a failing baseline": (
        lambda r: _replace(r / "baselines" / "bhaskara.py", "p = x * (np.pi - x)",
                           "p = x * (np.pi - x)\n    return p[:1]"),
        "baseline bhaskara", "invalid_output"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_checker_names_what_is_broken_and_where(tmp_path, case):
    edit, which, words = BROKEN[case]
    findings = _broken(tmp_path, edit)
    assert not findings[which].ok, findings
    assert words in findings[which].detail, findings[which].detail
    assert sum(not f.ok for f in findings.values()) == 1  # nothing else is blamed


WARNED = {
    "a score from the candidate's own clock": (
        # it pays a penalty when its wall clock runs far ahead of its CPU time
        lambda r: _replace(r / "initial_program.py", "return 0.5 * x + 0.1",
                           "import time\n    wall, cpu = time.perf_counter(), time.process_time()"
                           "\n    sum(range(2_000_000))\n"
                           "    slow = (time.perf_counter() - wall) > 2 * (time.process_time()"
                           " - cpu)\n    return 0.5 * x + 0.1 + float(slow)"),
        "load", "load-sensitive"),
    "public judging data": (
        lambda r: _replace(r / "evaluate.py", "    def private(self, seed):",
                           "    def _not_private(self, seed):"),
        "judging data", "public: a candidate can regenerate"),
}


@pytest.mark.parametrize("case", list(WARNED))
def test_the_checker_warns_where_a_score_could_be_gamed_or_moved_by_load(tmp_path, case):
    from adrs.sandbox import cgroups

    edit, which, words = WARNED[case]
    if which == "load" and cgroups.hierarchies().throttle is None:
        pytest.skip("no cgroup CPU controller here to slow the sandbox with")
    findings = _broken(tmp_path, edit)
    assert findings[which].ok and findings[which].warn, findings[which]
    assert words in findings[which].detail, findings[which].detail
    assert [f.check for f in findings.values() if f.warn] == [which]


def test_a_packaged_plugin_is_found_through_its_entry_point(tmp_path):
    assert main(["new", "problem", "pkgfit", "--dir", str(tmp_path), "--package"]) == 0
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(site), str(tmp_path / "pkgfit")], check=True, capture_output=True,
                   timeout=300)
    env_run = {"PYTHONPATH": str(site)}

    def adrs(*args):
        import os

        return subprocess.run([sys.executable, "-m", "adrs", *args], cwd=tmp_path, text=True,
                              capture_output=True, timeout=300, env={**os.environ, **env_run})

    listing = adrs("problems").stdout
    assert "pkgfit" in listing and "entry point (adrs_problem_pkgfit)" in listing
    checked = adrs("check", "pkgfit")
    assert checked.returncode == 0 and "8 passed, 0 failed" in checked.stdout, checked.stdout
    run = adrs("run", "pkgfit", "--iterations", "5", "--quiet")
    assert run.returncode == 0 and "finished" in run.stdout, run.stderr


def test_a_problem_sets_its_own_sandbox_limits_in_a_limits_table(tmp_path):
    from adrs.config import build
    from adrs.errors import UserError
    from adrs.problem import find_problem

    assert main(["new", "problem", "heavy", "--dir", str(tmp_path)]) == 0
    manifest = tmp_path / "heavy" / "problem.toml"
    text = manifest.read_text()
    manifest.write_text(text + "\n[limits]\nmemory_mb = 8192\nmax_processes = 128\n")
    limits = build(find_problem(str(tmp_path / "heavy")).defaults).sandbox
    assert (limits.memory_mb, limits.max_processes, limits.wall_seconds) == (8192, 128, 10.0)
    manifest.write_text("limits = 3\n" + text)  # top level: not inside a table
    with pytest.raises(UserError, match=r"\[limits\] must be a table"):
        find_problem(str(tmp_path / "heavy"))


def test_the_evaluator_contract_gives_defaults_with_or_without_subclassing(tmp_path):
    """adrs.evaluator.Evaluator is the contract: a plain class with the three required
    members is an evaluator with every optional part at its default; a subclass gets
    the same defaults, and what it overrides is what the problem uses."""
    from adrs.evaluator import Evaluator, parts_of
    from adrs.problem import find_problem

    class Plain:
        entrypoint = "f"

        def cases(self):
            return [{}]

        def score(self, outputs, seconds):
            return {"score": 1.0}

    class Noisy(Evaluator):
        entrypoint = "f"
        noisy = True
        preload = ["scipy"]

        def cases(self):
            return [{}]

        def score(self, outputs, seconds):
            return {"score": 1.0}

    plain, noisy = parts_of(Plain(), "here"), parts_of(Noisy(), "here")
    assert (plain.private, plain.probes, plain.noisy, plain.preload, plain.harness) == \
        (None, None, False, (), None) and plain.probe_rtol == 1e-6
    assert (noisy.noisy, noisy.preload, noisy.private) == (True, ("scipy",), None)
    root = new_problem("contracted", tmp_path)  # the scaffold subclasses the contract
    problem = find_problem(str(root))
    assert Evaluator in type(problem.evaluator).__mro__
    assert problem.judges_privately and problem.probes_json is not None
    assert problem.judged_on(7).evaluator is not problem.evaluator
