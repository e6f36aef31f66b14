"""The boundary's data format, decoded by the trusted parent: binary frames carry
arrays as raw bytes, and every way a frame can lie is refused."""

import numpy as np
import pytest
from sandbox_support import BAD_BINARY, BAD_BINARY_NAMES, binary_frame

from adrs.sandbox.box import codec


def _decode(body: bytes):
    message, blobs = codec.decode_reply(body)
    return codec.decode(message["out"], blobs=blobs)


def test_arrays_round_trip_as_raw_bytes():
    value = {"a": np.arange(12, dtype=np.int64).reshape(3, 4), "b": [np.float32(1.5), 2],
             "c": (np.linspace(0, 1, 5), "text")}
    blobs: list[bytes] = []
    frame = codec.frame_binary({"out": codec.encode(value, blobs=blobs)}, blobs)
    assert len(frame) < 300  # raw: 96 + 40 bytes of data, no base64
    out = _decode(frame[codec.HEADER.size:])
    assert np.array_equal(out["a"], value["a"]) and out["a"].dtype == np.int64
    assert out["b"] == [1.5, 2] and np.array_equal(out["c"][0], value["c"][0])
    # the same value inlined as base64 decodes to the same arrays
    inline = codec.frame({"out": codec.encode(value)})
    assert np.array_equal(_decode(inline[codec.HEADER.size:])["a"], value["a"])


@pytest.mark.parametrize("text, tail", BAD_BINARY, ids=BAD_BINARY_NAMES)
def test_a_lying_binary_frame_is_refused(text, tail):
    with pytest.raises(codec.BadOutput):
        _decode(binary_frame(text, tail))


@pytest.mark.parametrize("body", [b"\x00", b"\x00\x00\x00\x00\x09{}"],
                         ids=["no-length", "text-beyond"])
def test_a_truncated_binary_frame_is_refused(body):
    with pytest.raises(codec.BadOutput):
        codec.decode_reply(body)
