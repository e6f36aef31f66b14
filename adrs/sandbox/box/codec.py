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
BINARY = b"\x00"  # first byte of a binary frame's body (JSON text never starts so)


class BadOutput(ValueError):
    """The candidate returned something that is not plain, finite, numeric data."""


def encode(value, depth: int = 0, blobs: list | None = None):
    """A value as JSON-able data (child side and for the parent's own cases). With
    `blobs`, array data is appended there as raw bytes and referenced by offset
    (a binary frame, see frame_binary), instead of inlined as base64."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise BadOutput("output is nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in NUMERIC_KINDS:
            raise BadOutput(f"array of dtype {value.dtype} is not numeric")
        a = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        head = {"__ndarray__": a.dtype.str, "shape": list(a.shape)}
        if blobs is None:
            return {**head, "data": base64.b64encode(a.tobytes()).decode("ascii")}
        at = sum(len(b) for b in blobs)
        blobs.append(a.tobytes())
        return {**head, "at": [at, a.nbytes]}
    if isinstance(value, np.generic):
        return encode(value.item(), depth + 1, blobs)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v, depth + 1, blobs) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: encode(v, depth + 1, blobs) for k, v in value.items()}
    raise BadOutput(f"cannot return a value of type {type(value).__name__}")


def decode(value, depth: int = 0, finite: bool = True, blobs: bytes = b""):
    """Inverse of encode, validating as it goes: numeric arrays whose data matches
    their shape, bounded nesting, and (for what a candidate sent) finite numbers.
    `blobs`: the raw tail of a binary frame, which arrays may reference."""
    if depth > MAX_DEPTH:
        raise BadOutput("output is nested too deeply")
    if isinstance(value, list):
        return [decode(v, depth + 1, finite, blobs) for v in value]
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return _array(value, finite, blobs)
        return {str(k): decode(v, depth + 1, finite, blobs) for k, v in value.items()}
    if finite and isinstance(value, float) and not math.isfinite(value):
        raise BadOutput(f"output contains the non-finite number {value}")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise BadOutput(f"unexpected {type(value).__name__} in output")


def _array(value: dict, finite: bool, blobs: bytes = b""):
    import numpy as np

    dtype = np.dtype(str(value["__ndarray__"]))
    if dtype.kind not in NUMERIC_KINDS or dtype.itemsize > 16:
        raise BadOutput(f"array of dtype {dtype} is not numeric")
    shape = value["shape"]
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(
            type(n) is int and 0 <= n < 2**31 for n in shape):
        raise BadOutput("array shape is not a short list of sizes")
    raw = _blob(value["at"], blobs) if "at" in value else \
        base64.b64decode(str(value["data"]), validate=True)
    if len(raw) != dtype.itemsize * math.prod(shape):
        raise BadOutput("array data does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if finite and dtype.kind == "f" and not np.isfinite(array).all():
        raise BadOutput("array contains non-finite numbers")
    return array


def _blob(at, blobs: bytes) -> bytes:
    if not (isinstance(at, list) and len(at) == 2 and all(type(n) is int and n >= 0
                                                          for n in at)):
        raise BadOutput("array reference is not [offset, length]")
    if at[0] + at[1] > len(blobs):
        raise BadOutput("array reference beyond the frame")
    return bytes(blobs[at[0]:at[0] + at[1]])


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


def decode_reply(data: bytes) -> tuple[object, bytes]:
    """Parent side: one message from the child and the raw tail its arrays may
    reference (empty for a plain JSON frame), any failure as BadOutput."""
    try:
        text, blobs = _split(data)
        return loads(text), blobs
    except BadOutput:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the candidate's
        raise BadOutput(f"malformed reply: {type(exc).__name__}: {str(exc)[:200]}") from None


def _split(body: bytes) -> tuple[bytes, bytes]:
    """A binary frame's body is BINARY, the JSON text's length, the text, the raw
    array bytes; any other body is JSON text alone."""
    if body[:1] != BINARY:
        return body, b""
    if len(body) < 1 + HEADER.size:
        raise BadOutput("binary frame shorter than its header")
    size = HEADER.unpack_from(body, 1)[0]
    start = 1 + HEADER.size
    if start + size > len(body):
        raise BadOutput("binary frame shorter than its text")
    return body[start:start + size], memoryview(body)[start + size:]


def frame_binary(message: dict, blobs: list[bytes]) -> bytes:
    """A frame whose arrays travel as raw bytes (no base64, no JSON escaping)."""
    text = json.dumps(message).encode()
    body = b"".join([BINARY, HEADER.pack(len(text)), text, *blobs])
    return HEADER.pack(len(body)) + body


def frame(message: dict) -> bytes:
    """One message as a frame: header, then its JSON text."""
    return frame_raw(json.dumps(message))


def frame_raw(text: str) -> bytes:
    """A frame around JSON text serialised earlier (the parent's cached cases)."""
    body = text.encode()
    return HEADER.pack(len(body)) + body


def send(fd: int, message: dict, blobs: list[bytes] | None = None) -> None:
    """Child side: write one whole frame (blocking); binary when there are blobs."""
    view = memoryview(frame_binary(message, blobs) if blobs else frame(message))
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
