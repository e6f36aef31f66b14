"""Problems in OpenEvolve's format, run unchanged: `adrs run path/to/folder`, or
the three files as `openevolve-run` takes them: `adrs run INITIAL EVALUATOR
[--config CONFIG.yaml]`.

The folder holds an initial program (`initial_program.py`, or any language the
evaluator compiles, e.g. `initial_program.rs`; EVOLVE-BLOCK-START/END markers in
any comment syntax), `evaluator.py` with `evaluate(program_path) -> dict` (or an
EvaluationResult with artifacts) and optionally `evaluate_stage1/2/3` for
cascade evaluation, and optionally a config (config.py). The
evaluator runs in the sandbox: its source becomes the problem's harness, run
with its folder on sys.path and as its working directory; the candidate is
written to `program<suffix>` in the scratch /tmp and only the evaluator runs it
(as OpenEvolve does); metrics and artifacts come back as plain data. The score
is `combined_score` when the evaluator gives one, else the mean of the numeric
metrics (OpenEvolve's rule). The LLM settings are mapped but the mutator stays
offline until the user sets `[mutator] kind = "llm"` (so a run needs no key).
docs/openevolve.md compares the two point by point.

Inside the package: folder.py (the files, and the problem they make), config.py (the
config.yaml mapped onto a run-config layer), harness.py (the source that runs in the
sandbox around evaluator.py), scoring.py (OpenEvolve's fitness rule, on the trusted
side).
"""

from adrs.openevolve.config import Mapped, read_config
from adrs.openevolve.folder import (
    EVALUATOR,
    Files,
    folder_files,
    is_openevolve_folder,
    problem_fields,
)
from adrs.openevolve.scoring import JUDGING_SEED_ENV, OpenEvolveEvaluator, fitness

__all__ = ["EVALUATOR", "Files", "folder_files", "is_openevolve_folder", "problem_fields",
           "Mapped", "read_config", "OpenEvolveEvaluator", "fitness", "JUDGING_SEED_ENV"]
