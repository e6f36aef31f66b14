"""OpenEvolve's half of `openevolve_parity.py`; runs with OpenEvolve's own Python.

For each folder: OpenEvolve's real controller (`OpenEvolve(initial, evaluator,
config).run(iterations=1)`), its LLM pointed at a running `adrs fake-llm`, and
the initial program's metrics and fitness (OpenEvolve's get_fitness_score) read
back from its database. Nothing here imports adrs.

    python openevolve_parity_side.py --url http://127.0.0.1:PORT/v1 --out r.json F1 F2 ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path


def initial_score(folder: Path, url: str) -> dict:
    from openevolve.config import LLMModelConfig, load_config
    from openevolve.controller import OpenEvolve
    from openevolve.utils.metrics_utils import get_fitness_score

    initial = next(p for p in sorted(folder.glob("initial_program.*")))
    config = folder / "config.yaml"
    cfg = load_config(str(config) if config.is_file() else None)
    cfg.llm.models = [LLMModelConfig(name="fake", weight=1.0)]  # the fake, not theirs
    cfg.llm.update_model_params({"api_base": url, "api_key": "unused"}, overwrite=True)
    cfg.log_level = "WARNING"
    with tempfile.TemporaryDirectory() as out:
        oe = OpenEvolve(str(initial), str(folder / "evaluator.py"), cfg, output_dir=out)
        asyncio.run(oe.run(iterations=1))
        first = min(oe.database.programs.values(), key=lambda p: p.iteration_found)
        metrics = {k: v for k, v in first.metrics.items() if isinstance(v, (int, float))}
        return {"metrics": metrics,
                "score": get_fitness_score(first.metrics, cfg.database.feature_dimensions)}


def main() -> None:
    for name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):  # configs name them as ${VAR}
        os.environ.setdefault(name, "unused")
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("folders", nargs="+", type=Path)
    args = ap.parse_args()
    args.out.write_text(json.dumps({str(f): initial_score(f, args.url) for f in args.folders}))


if __name__ == "__main__":
    main()
