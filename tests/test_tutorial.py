"""docs/tutorial.md, followed step by step: its files are written and its commands run."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

TUTORIAL = Path(__file__).parents[1] / "docs" / "tutorial.md"
STEP = re.compile(r"(?:^`([^`\n]+)`:\n\n)?^```(\w+)\n(.*?)^```", re.M | re.S)


def steps():
    """(file path or None, language, body) for every fenced block, in order."""
    return [(m.group(1), m.group(2), m.group(3)) for m in STEP.finditer(TUTORIAL.read_text())]


def run(command: str, cwd: Path) -> subprocess.CompletedProcess:
    args = shlex.split(command)
    if args[0] == "adrs":
        args = [sys.executable, "-m", "adrs", *args[1:]]
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def test_the_tutorial_works_as_written(tmp_path):
    outputs = {}
    for path, lang, body in steps():
        if path:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(body)
            continue
        assert lang == "bash", f"a {lang} block with no file name: {body[:60]}"
        for command in body.strip().splitlines():
            done = run(command, tmp_path)
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
            outputs[command] = done.stdout
    assert "0 failed" in outputs["adrs check job_order"]
    best = outputs["adrs best first"]
    score = float(re.search(r"score ([0-9.]+)", best).group(1))
    assert score > 0.99  # Smith's rule, rediscovered, as the tutorial promises
    status = run("adrs status first --json", tmp_path).stdout
    initial = float(re.search(r'"initial_score": ([0-9.]+)', status).group(1))
    assert 0.5 < initial < 0.7  # "about 0.6": the run is judged on data of this account's key
