"""Child side of the sandbox: locks itself down, then runs one candidate case by case.

Started by the parent as `python -I child.py SPEC`, inside bubblewrap's
namespaces, or building its own first (box/jail.py), or with none when the
user chose `--sandbox none`. SPEC (JSON, written by the parent) names the
request and reply descriptors, the cgroups to join, the limits and the layers
to apply. The child joins its cgroups before it forks anything and applies the
layers (box/lockdown.py) before it reads a byte from the parent, so everything
after, including the problem's harness, runs confined.

Protocol (box/codec.py frames): the parent sends the setup (candidate source,
entry point, optional harness and preload); the child answers {"ready": true}
or {"failed": ...}; then, one at a time, the parent sends {"case": ...} and
the child answers {"out": value} or {"raise": ...}. The parent times each case
with its own clock and decides what comes next; when it closes the request
pipe the child exits. Stdin is /dev/null; stdout and stderr go to a pipe the
parent drains and caps.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import sys
import types


def _sibling(name: str):
    """A module of this folder, run from its path: nothing is added to sys.path, so a
    candidate's imports resolve exactly as in a plain interpreter."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    module = types.ModuleType(f"_adrs_box_{name}")
    with open(path) as fh:
        exec(compile(fh.read(), path, "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


codec, lockdown = _sibling("codec"), _sibling("lockdown")


def _where(exc: BaseException) -> str:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<candidate>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def one_line(exc: BaseException) -> str:
    """An exception as one short line, with where in the candidate it was raised."""
    text = " ".join(str(exc).split())[:300]
    head = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return head + _where(exc)


def failure(exc: BaseException) -> dict:
    """The reply for an exception a case raised."""
    kind = "memory" if isinstance(exc, MemoryError) else \
        "invalid_output" if isinstance(exc, codec.BadOutput) else "exception"
    return {"raise": kind, "type": type(exc).__name__, "error": one_line(exc)}


def load(setup: dict):
    """The function the cases call: the candidate's, or the harness's when the problem
    has one. The harness runs first and reaches the candidate as the module
    `candidate`, run after it unless the harness sets ADRS_LOADS_CANDIDATE (an
    OpenEvolve evaluator imports the program itself, once). Untrusted code is
    compiled without inheriting this file's __future__ flags, and registered in
    sys.modules as real modules are."""
    import numpy  # noqa: F401  (imported once here so candidates need not)

    for name in setup.get("preload", ()):
        importlib.import_module(name)
    candidate = _registered(types.ModuleType("candidate"))
    namespace = candidate.__dict__
    if setup.get("harness") is None:
        exec(_compile(setup["source"], "<candidate>"), namespace)  # noqa: S102 - in the box
        return namespace.get(setup["entrypoint"])
    harness = _registered(types.ModuleType("harness"))
    harness.candidate, harness.candidate_source = candidate, setup["source"]
    exec(_compile(setup["harness"], "<harness>"), harness.__dict__)  # noqa: S102
    if not harness.__dict__.get("ADRS_LOADS_CANDIDATE"):  # else it may not even be Python
        exec(_compile(setup["source"], "<candidate>"), namespace)  # noqa: S102
    return harness.__dict__.get(setup["entrypoint"])


def _registered(module):
    sys.modules[module.__name__] = module
    return module


def _compile(source: str, filename: str):
    return compile(source, filename, "exec", dont_inherit=True)


def setup_reply(setup: dict):
    """The candidate loaded, and the reply to the setup: ready, or why it failed."""
    try:
        fn = load(setup)
    except SyntaxError as exc:
        return None, {"failed": "syntax_error",
                      "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    except BaseException as exc:  # noqa: BLE001 - any candidate failure is data
        return None, {"failed": failure(exc)["raise"], "error": one_line(exc)}
    if not callable(fn):
        return None, {"failed": "missing_entrypoint",
                      "error": f"the program defines no function {setup['entrypoint']}()"}
    return fn, {"ready": True}


def serve(fn, requests: int, replies: int) -> None:
    """Answer each case the parent sends until it closes the requests pipe."""
    while (message := codec.recv(requests)) is not None:
        blobs: list[bytes] = []
        try:
            out = fn(**codec.decode(message["case"], finite=False))
            reply = {"out": codec.encode(out, blobs=blobs)}
        except BaseException as exc:  # noqa: BLE001
            reply, blobs = failure(exc), []
        codec.send(replies, reply, blobs)


def main() -> None:
    """The cold child: join the cgroups, enter the jail if asked, lock down, serve."""
    spec = json.loads(sys.argv[1])
    for fd in spec.get("cgroups", ()):  # "0": this process; its descendants follow
        os.write(fd, b"0\n")
        os.close(fd)
    if spec.get("jail") is not None:
        _sibling("jail").enter(spec["jail"])  # returns in the new namespaces only
    if spec.get("probe"):  # confine.py checking that the jail can be built here
        os._exit(0)
    if spec.get("template") is not None:  # a warm template (adrs/warm.py): never returns
        _sibling("template").serve(spec, sys.modules[__name__])
    seccomp = base64.b64decode(spec["seccomp"]) if spec.get("seccomp") else None
    lockdown.apply(spec["limits"], seccomp, spec["drop_root"])
    os.chdir(spec["cwd"])
    session(spec["requests"], spec["replies"])


def session(requests: int, replies: int) -> None:
    """One candidate, from its setup to the parent's end of the conversation; exits."""
    setup = codec.recv(requests)
    if setup is None:
        os._exit(0)
    fn, reply = setup_reply(setup)
    codec.send(replies, reply)
    if fn is not None:
        serve(fn, requests, replies)
    os.close(replies)  # the parent's end of the conversation: it need not wait for the exit
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
