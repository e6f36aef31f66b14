"""The parent's three pipes to a sandboxed child, held to one deadline.

Requests go out on one pipe, length-framed replies come back on another, and
the child's stdout and stderr are drained from a third into a capped tail.
Every wait is a select() against the deadline; nothing here trusts what the
child sends beyond the frame header, which is checked against the reply cap.
"""

from __future__ import annotations

import os
import select
import time

from adrs.sandbox.box import codec

LOG_BYTES = 16 << 10  # of the child's stdout and stderr, the last this many are kept


class Ended(Exception):
    """The conversation cannot go on. `kind`: eof (the child ended or closed its end),
    timeout, too_large (a reply over the cap) or invalid (`why` says how)."""

    def __init__(self, kind: str, why: str = ""):
        super().__init__(why or kind)
        self.kind, self.why = kind, why


class Channel:
    """The parent's three pipes to one child: requests out, framed replies in, and a
    capped tail of the child's output; every wait is held to `deadline`."""

    def __init__(self, req_w: int, rep_r: int, out_r: int, reply_cap: int):
        self.req_w, self.rep_r, self.out_r = req_w, rep_r, out_r
        self.reply_cap = reply_cap
        self.deadline = float("inf")
        self.inbox, self.log = bytearray(), bytearray()
        self.blobs = b""  # the raw tail of the last binary reply
        self.eof = False
        for fd in (req_w, rep_r, out_r):
            os.set_blocking(fd, False)

    def close(self) -> None:
        """Close the parent's ends (once)."""
        for fd in (self.req_w, self.rep_r, self.out_r):
            if fd >= 0:  # -1: closed already (never close a number twice: threads reuse it)
                os.close(fd)
        self.req_w = self.rep_r = self.out_r = -1

    def tail(self) -> str:
        """The last LOG_BYTES the child printed."""
        return self.log.decode("utf-8", "replace")

    def message(self) -> dict:
        """The next reply, strictly decoded (its binary tail kept in `blobs`)."""
        body = self._frame()
        try:
            message, self.blobs = codec.decode_reply(body)
        except codec.BadOutput as exc:
            raise Ended("invalid", str(exc)) from None
        if not isinstance(message, dict):
            raise Ended("invalid", "a reply that is not an object")
        return message

    def send(self, data: bytes) -> None:
        """Write all of `data` before the deadline, draining the child's output meanwhile;
    Ended if the child is gone."""
        view = memoryview(data)
        while view:
            if not self._pump(writing=view):
                raise Ended("eof")
            try:
                view = view[os.write(self.req_w, view[:1 << 16]):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                raise Ended("eof") from None

    def surplus(self) -> bool:
        """End the requests; True if replies nobody asked for arrive before the child's
        end (a forged frame raced ahead of the real one). Waits at most 0.5 s."""
        os.close(self.req_w)
        self.req_w = -1
        until = min(self.deadline, time.monotonic() + 0.5)
        while not self.eof and not self.inbox and (left := until - time.monotonic()) > 0:
            if not select.select([self.rep_r], [], [], left)[0]:
                break
            self._take_reply()
        return bool(self.inbox)

    def _frame(self) -> bytes:
        while True:
            if len(self.inbox) >= codec.HEADER.size:
                size = codec.HEADER.unpack_from(self.inbox)[0]
                if size > self.reply_cap:
                    raise Ended("too_large")
                end = codec.HEADER.size + size
                if len(self.inbox) >= end:
                    body = bytes(self.inbox[codec.HEADER.size:end])
                    del self.inbox[:end]
                    return body
            if self.eof or not self._pump(writing=None):
                raise Ended("eof")

    def _pump(self, writing) -> bool:
        """Wait for the next event before the deadline, draining replies and output.
        True when there is something to read from the inbox or room to write."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Ended("timeout")
        reading = [fd for fd in (self.rep_r, self.out_r) if fd >= 0]
        ready_r, ready_w, _ = select.select(reading, [self.req_w] if writing else [], [], left)
        if not ready_r and not ready_w:
            raise Ended("timeout")
        if self.out_r in ready_r:
            self._drain_output()
        if self.rep_r in ready_r:
            self._take_reply()
            if len(self.inbox) > self.reply_cap + codec.HEADER.size:
                raise Ended("too_large")
            if self.eof and writing is None and not self.inbox:
                return False
        return True

    def _take_reply(self) -> None:
        """Move what the reply pipe holds into the inbox; note its end."""
        chunk = _read(self.rep_r)
        self.eof = self.eof or chunk == b""
        self.inbox += chunk or b""

    def _drain_output(self) -> None:
        chunk = _read(self.out_r)
        if chunk is None:
            return
        if not chunk:
            os.close(self.out_r)
            self.out_r = -1
            return
        self.log += chunk
        del self.log[:-LOG_BYTES]


def _read(fd: int) -> bytes | None:
    """Up to 64 KiB; b"" at end of file, None if nothing is there after all."""
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""
