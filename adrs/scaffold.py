"""`adrs new problem NAME`: write a working problem folder (or pip-installable plugin).

The folder passes `adrs check` and can be searched at once: a toy task
(approximate a hidden function) with an initial program, a trusted scorer with
probes, a baseline, run defaults, a README and a pytest file, all meant to be
edited into the user's own problem. With `--package` the folder becomes a
Python package with an `adrs.problems` entry point, so `pip install` makes it
known to `adrs problems` by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import jinja2

from adrs.errors import UserError

TEMPLATES = Path(__file__).parent / "templates" / "problem"
FILES = ["problem.toml", "initial_program.py", "evaluate.py", "baselines/bhaskara.py",
         "README.md", "test_problem.py"]


def new_problem(name: str, parent: Path, package: bool = False) -> Path:
    """Write the problem; returns the folder holding problem.toml."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UserError(f"'{name}' is not a usable problem name; use lowercase letters, "
                        "digits and underscores, starting with a letter (e.g. my_scheduler)")
    top = parent / name
    if top.exists():
        raise UserError(f"{top} already exists; choose another name or --dir")
    pkg = f"adrs_problem_{name}"
    root = top / pkg if package else top
    hint = name if package else str(top)
    values = {"name": name, "path_hint": hint, "package": pkg,
              "dist_name": f"adrs-problem-{name.replace('_', '-')}",
              "test_path": str(root / "test_problem.py")}
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    try:
        (root / "baselines").mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"cannot create {root}: {exc.strerror}; choose a writable --dir") \
            from None
    for file in FILES:
        (root / file).write_text(env.get_template(f"{file}.jinja").render(values))
    if package:
        (top / "pyproject.toml").write_text(env.get_template("pyproject.toml.jinja")
                                            .render(values))
        (root / "__init__.py").write_text(f'"""The {name} problem for adrs."""\n')
        (root / "baselines" / "__init__.py").write_text("")
    return root
