"""Recognising programs already paid for.

Syntactic hash: programs that compile to the same code hash equal, so comments,
docstrings and layout (and constant expressions the compiler folds) never make
the same program be evaluated twice. Source that does not compile hashes by
its text, trailing spaces and blank edges aside.

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

_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")  # where statements nest


def syntactic_hash(source: str) -> str:
    """A hash of the compiled program, docstrings and line positions aside: equal for sources
    that differ only in comments, layout or docstrings."""
    try:
        tree = ast.parse(source)
        _drop_docstrings(tree)
        # optimize=0: the same code whatever -O this interpreter runs with
        code = compile(tree, "<candidate>", "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        text = "\n".join(line.rstrip() for line in source.strip().splitlines())
        return hashlib.sha256(text.encode()).hexdigest()
    return hashlib.sha256(repr(_shape(code)).encode()).hexdigest()


def _drop_docstrings(tree: ast.Module) -> None:
    """Only statements nest definitions: walk statement lists, not expressions."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        body = getattr(node, "body", None)
        if isinstance(node, _DOCUMENTED) and body and _is_docstring(body[0]):
            # a body that was only a docstring keeps a pass, placed where it stood
            node.body = body[1:] or [ast.copy_location(ast.Pass(), body[0])]
        for name in _BLOCKS:
            block = getattr(node, name, None)
            if isinstance(block, list):
                stack.extend(block)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str))


def _shape(code) -> tuple:
    """What a code object does, without where its lines were."""
    return (code.co_name, code.co_qualname, code.co_code, code.co_names, code.co_varnames,
            code.co_freevars, code.co_cellvars, code.co_argcount, code.co_posonlyargcount,
            code.co_kwonlyargcount, code.co_flags, code.co_exceptiontable,
            tuple(_constant(c) for c in code.co_consts))


def _constant(value):
    if hasattr(value, "co_code"):
        return _shape(value)
    if isinstance(value, frozenset):  # its order follows string hashing: per process
        return ("frozenset", tuple(sorted(repr(_constant(v)) for v in value)))
    if isinstance(value, tuple):
        return ("tuple", tuple(_constant(v) for v in value))
    return repr(value)


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
