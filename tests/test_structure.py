"""The shape issue 21 asked for, checked on the source so it stays that way: a short
loop, no wide classes, SQL only in the store, no import cycles, no capability checks
on mutators or executors, and adrs.search importable without the database layer."""

import ast
import subprocess
import sys
from pathlib import Path

ADRS = Path(__file__).resolve().parent.parent / "adrs"
MODULES = {p: ast.parse(p.read_text()) for p in ADRS.rglob("*.py")
           if "migrations" not in p.parts and "templates" not in p.parts}


def _name(path: Path) -> str:
    parts = path.relative_to(ADRS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, tree) -> set[str]:
    """Every adrs module `path` imports, at module level or inside functions."""
    names = set(map(_name, MODULES))
    me = _name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in names:
                t = t.rpartition(".")[0]
            if t and t != me and not me.startswith(t + "."):  # a package's own parents
                found.add(t)
    return found


def test_the_loop_is_wiring_and_no_class_is_wide():
    assert len((ADRS / "loop.py").read_text().splitlines()) < 150
    wide = [f"{_name(p)}.{n.name}: {n.end_lineno - n.lineno + 1} lines"
            for p, tree in MODULES.items() for n in ast.walk(tree)
            if isinstance(n, ast.ClassDef) and n.end_lineno - n.lineno + 1 > 150]
    assert wide == []


def test_sql_lives_only_in_the_store():
    outside = [_name(p) for p, tree in MODULES.items()
               if "store" not in p.relative_to(ADRS).parts[:1]
               and any(isinstance(n, (ast.Import, ast.ImportFrom)) and "sqlalchemy" in
                       (getattr(n, "module", None) or " ".join(a.name for a in n.names))
                       for n in ast.walk(tree))]
    assert outside == []
    raw = [_name(p) for p, tree in MODULES.items()
           if "store" not in p.relative_to(ADRS).parts[:1]
           and any(isinstance(n, ast.Attribute) and n.attr in ("engine", "exec_driver_sql")
                   for n in ast.walk(tree))]
    assert raw == []


def test_no_import_cycles():
    graph = {_name(p): _imports(p, tree) for p, tree in MODULES.items()}

    def reaches(start, goal, seen):
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cycles = sorted(m for m in graph if reaches(m, m, set()))
    assert cycles == []


def test_the_controller_never_asks_what_a_mutator_or_executor_can_do():
    files = [ADRS / "loop.py", *(ADRS / "stages").glob("*.py"), ADRS / "tuning.py"]
    checks = [f"{p.name}:{n.lineno}" for p in files for n in ast.walk(MODULES[p])
              if isinstance(n, ast.Call) and getattr(n.func, "id", None) in ("hasattr",
                                                                             "getattr")]
    assert checks == []


def test_selection_imports_without_the_database_layer():
    blocked = ("import sys\nclass Block:\n    def find_spec(self, name, *a):\n"
               "        if name.split('.')[0] in ('sqlalchemy', 'alembic'):\n"
               "            raise ImportError('blocked: ' + name)\n"
               "sys.meta_path.insert(0, Block())\n"
               "import adrs.search.selection, adrs.search.state, adrs.stages.budget\n")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_store_executors_and_run_context_document_every_public_member():
    files = [*(ADRS / "store").glob("*.py"), *(ADRS / "executors").glob("*.py"),
             ADRS / "run_context.py"]
    missing = []
    for p in files:
        for n in MODULES[p].body:
            if not isinstance(n, (ast.FunctionDef, ast.ClassDef)) or n.name.startswith("_"):
                continue
            members = [n] + [m for m in getattr(n, "body", []) if isinstance(m, ast.FunctionDef)
                             and not m.name.startswith("_")] * isinstance(n, ast.ClassDef)
            missing += [f"{p.name}:{m.name}" for m in members if not ast.get_docstring(m)]
    assert missing == []
