"""Recognising programs already paid for.

Syntactic hash: programs that differ only in comments, docstrings or layout
hash equal, so the same source is never evaluated twice.

Functional hash: the outputs of a candidate on a problem's probe inputs,
canonicalised (floats rounded to a relative tolerance) and hashed. Equal
functional hashes mean equal behaviour on the probes, and the stored
evaluation of the first such program is reused.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math

import numpy as np


def normalise(source: str) -> str:
    """Canonical text of a program: parsed, docstrings dropped, unparsed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "\n".join(line.rstrip() for line in source.strip().splitlines())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def syntactic_hash(source: str) -> str:
    return hashlib.sha256(normalise(source).encode()).hexdigest()


def functional_hash(outputs: list, rtol: float = 1e-6) -> str:
    """Hash a candidate's outputs on the probe inputs, floats rounded to `rtol`.

    Order is preserved; arrays keep their kind (int, float, bool) and shape.
    """
    digits = max(1, math.ceil(-math.log10(rtol))) if rtol > 0 else 17
    text = json.dumps(_canonical(outputs, digits), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value, digits: int):
    if isinstance(value, np.ndarray):
        kind = value.dtype.kind
        flat = value.ravel()
        if kind == "f":
            items = [_float(float(v), digits) for v in flat]
        else:
            items = flat.astype(bool if kind == "b" else np.int64).tolist()
        return ["nd", "f" if kind == "f" else "b" if kind == "b" else "i", list(value.shape),
                items]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _float(float(value), digits)
    if isinstance(value, (list, tuple)):
        return [_canonical(v, digits) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v, digits) for k, v in value.items()}
    return repr(value)


def _float(v: float, digits: int) -> str:
    return f"{v + 0.0:.{digits - 1}e}"  # + 0.0 turns -0.0 into 0.0
