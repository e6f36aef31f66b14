"""Plain data across the sandbox boundary: JSON, numpy arrays as raw buffers, never pickle.

Framing: each message is a 4-byte big-endian length and that many bytes of JSON.
`decode_reply` is the parent's strict decoder: anything odd in what a candidate
sent (bad JSON, deep nesting, non-finite numbers, absurd shapes, wrong dtypes)
raises BadOutput, which the parent records as the candidate's invalid_output.
"""

from __future__ import annotations

import base64
import json
import math
import os
import struct

NUMERIC_KINDS = "biuf"
MAX_DEPTH = 16
MAX_DIMS = 32
HEADER = struct.Struct(">I")


class BadOutput(ValueError):
    """The candidate returned something that is not plain, finite, numeric data."""


def encode(value, depth: int = 0):
    """A value as JSON-able data (child side and for the parent's own cases)."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise BadOutput("output is nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS:
            raise BadOutput(f"array of dtype {value.dtype} is not numeric")
        a = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return {"__ndarray__": a.dtype.str, "shape": list(a.shape),
                "data": base64.b64encode(a.tobytes()).decode("ascii")}
    if isinstance(value, np.generic):
        return encode(value.item(), depth + 1)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: encode(v, depth + 1) for k, v in value.items()}
    raise BadOutput(f"cannot return a value of type {type(value).__name__}")


def decode(value, depth: int = 0, finite: bool = True):
    """Inverse of encode, validating as it goes: numeric arrays whose data matches
    their shape, bounded nesting, and (for what a candidate sent) finite numbers."""
    if depth > MAX_DEPTH:
        raise BadOutput("output is nested too deeply")
    if isinstance(value, list):
        return [decode(v, depth + 1, finite) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return _array(value, finite)
        return {str(k): decode(v, depth + 1, finite) for k, v in value.items()}
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise BadOutput(f"output contains the non-finite number {value}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BadOutput(f"unexpected {type(value).__name__} in output")


def _array(value: dict, finite: bool):
    import numpy as np

    dtype = np.dtype(str(value["__ndarray__"]))
    if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 16:
        raise BadOutput(f"array of dtype {dtype} is not numeric")
    shape = value["shape"]
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(
            type(n) is int and 0 <= n < 2**31 for n in shape):
        raise BadOutput("array shape is not a short list of sizes")
    raw = base64.b64decode(str(value["data"]), validate=True)
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise BadOutput("array data does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if finite and dtype.kind == "f" and not np.isfinite(array).all():
        raise BadOutput("array contains non-finite numbers")
    return array


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise BadOutput(f"output contains the number {text}")
    return number


def _refuse_constant(name: str):
    raise BadOutput(f"output contains {name}")


def loads(data: bytes):
    """Strict JSON: NaN, Infinity and overflowing floats are refused."""
    return json.loads(data, parse_float=_finite, parse_constant=_refuse_constant)


def decode_reply(data: bytes):
    """Parent side: one message from the child, any failure as BadOutput."""
    try:
        return loads(data)
    except BadOutput:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the candidate's
        raise BadOutput(f"malformed reply: {type(exc).__name__}: {str(exc)[:200]}") from None


def frame(message: dict) -> bytes:
    return frame_raw(json.dumps(message))


def frame_raw(text: str) -> bytes:
    """A frame around JSON text serialised earlier (the parent's cached cases)."""
    body = text.encode()
    return HEADER.pack(len(body)) + body


def send(fd: int, message: dict) -> None:
    """Child side: write one whole frame (blocking)."""
    view = memoryview(frame(message))
    while view:
        view = view[os.write(fd, view):]


def recv(fd: int) -> dict | None:
    """Child side: read one frame; None at end of input."""
    head = _read_exactly(fd, HEADER.size)
    if head is None:
        return None
    body = _read_exactly(fd, HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def _read_exactly(fd: int, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
