"""OpenEvolve's half of `vs_openevolve.py`; runs with OpenEvolve's own Python.

Mirrors `throughput.py` for adrs: the same trivial problem (return a number,
score = the number), an instant "LLM" that writes a new program at no cost, the
database pre-filled with N programs, then M iterations of OpenEvolve's real
controller (process pool, snapshots, database, islands) timed from the first
program added to the last. Nothing here imports adrs.

    python openevolve_side.py --stored 1000 --iterations 200 --workers 2 --out r.json
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

EVALUATOR = '''
import importlib.util

def evaluate(program_path):
    spec = importlib.util.spec_from_file_location("candidate", program_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {"combined_score": float(module.value())}
'''


def program(value: float) -> str:
    return f"# EVOLVE-BLOCK-START\ndef value():\n    return {value!r}\n# EVOLVE-BLOCK-END\n"


class InstantLLM:
    """OpenEvolve's LLM interface answered at once with a never-seen full rewrite."""

    def __init__(self, model_cfg=None):
        self.model = "instant"  # the ensemble logs this attribute
        self.rng = random.Random(os.getpid())
        self.n = itertools.count()

    async def generate(self, prompt: str, **kwargs) -> str:
        return await self.generate_with_context("", [{"role": "user", "content": prompt}])

    async def generate_with_context(self, system_message, messages, **kwargs) -> str:
        return f"```python\n{program(self.rng.random() + next(self.n))}```"


def config(stored: int, iterations: int, workers: int):
    from openevolve.config import Config, LLMModelConfig

    cfg = Config()
    cfg.llm.models = [LLMModelConfig(name="instant", init_client=InstantLLM, weight=1.0)]
    cfg.llm.evaluator_models = cfg.llm.models
    cfg.diff_based_evolution = False  # full rewrites: the instant LLM needs no parent text
    cfg.evaluator.parallel_evaluations = workers
    cfg.evaluator.cascade_evaluation = False
    cfg.database.population_size = stored + iterations + 10  # keep every program, as adrs does
    cfg.checkpoint_interval = 10**9  # no checkpoint inside the timed window
    cfg.log_level = "WARNING"  # spare it the per-iteration log lines
    return cfg


def prefill(database, stored: int) -> None:
    from openevolve.database import Program

    rng = random.Random(0)
    for i in range(stored):
        database.add(Program(id=str(uuid.uuid4()), code=program(rng.random() * 1000),
                             metrics={"combined_score": rng.random()}, iteration_found=i),
                     iteration=i)


def measure(stored: int, iterations: int, workers: int) -> dict:
    from openevolve.controller import OpenEvolve

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "initial_program.py").write_text(program(0.0))
        Path(tmp, "evaluator.py").write_text(EVALUATOR)
        oe = OpenEvolve(str(Path(tmp, "initial_program.py")), str(Path(tmp, "evaluator.py")),
                        config(stored, iterations, workers), output_dir=str(Path(tmp, "out")))
        prefill(oe.database, stored)
        stamps = []
        add = oe.database.add
        oe.database.add = lambda *a, **k: (stamps.append(time.perf_counter()), add(*a, **k))[1]
        asyncio.run(oe.run(iterations=iterations))
        final = len(oe.database.programs)
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    return {"framework": "openevolve", "stored": stored, "iterations": iterations,
            "added": len(stamps), "final_programs": final, "workers": workers,
            "it_per_s": rate, "ms_per_it": 1000 / rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stored", type=int, required=True)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.write_text(json.dumps(measure(args.stored, args.iterations, args.workers)))


if __name__ == "__main__":
    main()
