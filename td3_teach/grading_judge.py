"""Probe, then judge: the graded run's checks, run outside the process that runs learner code.

For the checks in ``REMOTE`` the graded run splits in two processes:

* the **probe** (``grading_worker.run_checks``, inside the sandbox) runs the notebook's cells.
  At a check cell it evaluates the check call's arguments (the learner's functions, values of
  theirs) and hands them to the judge: a function becomes a *handle*, values are packed. It
  then only answers the judge's requests: "call handle 1 with these inputs", replying with what
  the learner's code returned, how it changed its inputs, the random state after the call, or
  the exception it raised.
* the **judge** (``serve``, a fresh process of the grader's, never running learner code and
  never visible from the sandbox) runs the instructor's check, unchanged, on seed 0 and on the
  hidden seeds of the points file, then the hidden checks, with a stand-in (``Remote``) for each
  handle. It writes the verdict to its own file.

So the check's code, its expected values and the hidden seeds never enter the learner's
process: forging frames, patching the checks or emptying the hidden checks there changes
nothing. What crosses is data only: tensors as raw bytes with a dtype from a fixed list, numbers,
strings, lists and dicts of them (``pack`` / ``unpack``, no pickle), so a hostile probe cannot
run code in the judge either. What the probe reports about the learner's code is still the
learner's process speaking: it can return the right numbers by any means, which is why
reference use is watched there too (``grading_reference``) and reported with each answer.

A check is in ``REMOTE`` when everything it hands the learner's code is such data and it only
looks at what comes back (values, shapes, dtypes, ``requires_grad``, the inputs afterwards, the
global RNG). Checks that hand over networks, optimizers or a replay buffer, follow gradients
through the result, or read the learner's bytecode still run in the probe (see README, Limits).
"""

from __future__ import annotations

import base64
import inspect
import json
import linecache
import os
import select
import sys
import time
import traceback
from typing import Any, Callable

REMOTE = frozenset({"step06", "step08", "step09"})
MAX_MESSAGE = 64 << 20
DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8",
          "uint8", "bool")


class Unpackable(TypeError):
    """A value that cannot cross between probe and judge (only data can)."""


# --------------------------------------------------------------------------- data across
def pack(x: Any, depth: int = 0) -> Any:
    """``x`` as JSON-able data: tensors by dtype, shape, bytes and requires_grad."""
    import numpy as np
    import torch

    if depth > 20:
        raise Unpackable("too deeply nested")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu().contiguous()
        dtype = str(t.dtype).replace("torch.", "")
        if dtype not in DTYPES:
            raise Unpackable(f"a tensor of dtype {t.dtype}")
        raw = t.view(torch.int16).numpy().tobytes() if dtype == "bfloat16" else t.numpy().tobytes()
        return {"__tensor__": dtype, "shape": list(t.shape), "rg": bool(x.requires_grad),
                "data": base64.b64encode(raw).decode()}
    if isinstance(x, np.ndarray):
        return {"__ndarray__": str(x.dtype), "shape": list(x.shape),
                "data": base64.b64encode(np.ascontiguousarray(x).tobytes()).decode()}
    if isinstance(x, (list, tuple)):
        return {"__seq__": type(x).__name__ if type(x) in (list, tuple) else "tuple",
                "items": [pack(v, depth + 1) for v in x]}
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        return {"__map__": {k: pack(v, depth + 1) for k, v in x.items()}}
    raise Unpackable(f"a {type(x).__name__}")


def pack_result(x: Any) -> Any:
    """``pack``, or, for what cannot cross (a learner's own object), a record of its type name,
    so that the check still says "your function returned a Foo; expected a tensor"."""
    try:
        return pack(x)
    except Unpackable:
        return {"__opaque__": type(x).__name__[:80]}


def unpack(x: Any, depth: int = 0) -> Any:
    """The inverse of ``pack``; refuses anything that is not such data."""
    import numpy as np
    import torch

    if depth > 20:
        raise Unpackable("too deeply nested")
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    if isinstance(x, list):
        raise Unpackable("a bare list")
    if not isinstance(x, dict):
        raise Unpackable(f"a {type(x).__name__}")
    if "__tensor__" in x:
        dtype = x["__tensor__"]
        if dtype not in DTYPES:
            raise Unpackable(f"dtype {dtype!r}")
        shape = [int(n) for n in x["shape"]]
        raw = base64.b64decode(x["data"])
        if dtype == "bfloat16":
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=getattr(torch, dtype)) if raw else \
                torch.empty(0, dtype=getattr(torch, dtype))
        t = t.reshape(shape).clone()
        if x.get("rg") and t.is_floating_point():
            t.requires_grad_(True)
        return t
    if "__ndarray__" in x:
        dtype = np.dtype(x["__ndarray__"])
        if dtype.kind not in "biuf":
            raise Unpackable(f"an array of dtype {dtype}")
        return np.frombuffer(base64.b64decode(x["data"]), dtype=dtype).reshape(x["shape"]).copy()
    if "__seq__" in x:
        items = [unpack(v, depth + 1) for v in x["items"]]
        return items if x["__seq__"] == "list" else tuple(items)
    if "__map__" in x:
        return {str(k): unpack(v, depth + 1) for k, v in x["__map__"].items()}
    if "__opaque__" in x:
        name = str(x["__opaque__"])
        return type(name if name.isidentifier() else "object", (), {})()
    raise Unpackable("an unknown record")


def rng_state() -> dict:
    """torch's and numpy's global random state (a learner's code may draw from them)."""
    import numpy as np
    import torch
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {"torch": pack(torch.get_rng_state()),
            "numpy": [kind, pack(np.asarray(keys)), int(pos), int(has_gauss), float(cached)]}


def set_rng_state(state: dict) -> None:
    import numpy as np
    import torch
    torch.set_rng_state(unpack(state["torch"]).to(torch.uint8))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((str(kind), unpack(keys).astype(np.uint32), int(pos), int(has_gauss),
                         float(cached)))


def describe(fn: Any) -> dict:
    """What the judge's stand-in needs to look like the learner's function to a check."""
    try:
        params = [{"name": p.name, "kind": int(p.kind), "default": p.default is not p.empty}
                  for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        params = None
    return {"name": str(getattr(fn, "__name__", type(fn).__name__))[:100], "params": params}


# --------------------------------------------------------------------------- the link
class Link:
    """One JSON message per line over two FIFOs; ``recv`` waits at most ``timeout`` seconds."""

    def __init__(self, read_path: str, write_path: str, reader_first: bool) -> None:
        if reader_first:
            self.r = os.open(read_path, os.O_RDONLY)
            self.w = os.open(write_path, os.O_WRONLY)
        else:
            self.w = os.open(write_path, os.O_WRONLY)
            self.r = os.open(read_path, os.O_RDONLY)
        self.buf = b""

    def send(self, msg: dict) -> None:
        data = (json.dumps(msg) + "\n").encode()
        view = memoryview(data)
        while view:
            n = os.write(self.w, view)
            view = view[n:]

    def recv(self, timeout: float | None = None) -> dict | None:
        end = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > MAX_MESSAGE:
                raise Unpackable("a message over 64 MiB")
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line)
        if not isinstance(msg, dict):
            raise Unpackable("a message that is not a record")
        return msg


# --------------------------------------------------------------------------- the judge
class ProbeGone(BaseException):
    """The probe stopped answering (it died, or the learner's code never returned)."""


class _RemoteTimeout(BaseException):
    """The learner's code ran past --timeout-cell inside the probe."""


class Remote:
    """The judge's stand-in for a learner's function: calling it asks the probe to call theirs."""

    def __init__(self, judge: "Judge", handle: int, info: dict) -> None:
        self._judge, self._handle = judge, handle
        self.__name__ = self.__qualname__ = info.get("name") or "learner_function"
        self.__doc__ = None
        if info.get("params") is not None:
            self.__signature__ = inspect.Signature([
                inspect.Parameter(str(p["name"]), inspect._ParameterKind(int(p["kind"])),
                                  default=None if p.get("default") else inspect.Parameter.empty)
                for p in info["params"]])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge.call(self._handle, args, kwargs)

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"


class Judge:
    """Runs one check on ``Remote`` stand-ins; see the module docstring."""

    def __init__(self, link: Link, timeout_cell: float) -> None:
        self.link, self.timeout_cell = link, timeout_cell
        self.hits: list[str] = []  # reference use the probe reported

    def call(self, handle: int, args: tuple, kwargs: dict) -> Any:
        import torch

        originals = list(args) + list(kwargs.values())
        self.link.send({"type": "call", "handle": handle, "args": pack(list(args)),
                        "kwargs": pack(dict(kwargs)), "rng": rng_state()})
        try:
            reply = self.link.recv(self.timeout_cell + 30)
        except TimeoutError:
            raise _RemoteTimeout() from None
        if reply is None:
            raise ProbeGone()
        self.hits += [str(h) for h in reply.get("hits", [])][:5]
        if reply.get("rng"):
            set_rng_state(reply["rng"])
        for orig, after in zip(originals, reply.get("after", [])):  # in-place changes
            if isinstance(orig, torch.Tensor) and after is not None:
                new = unpack(after)
                with torch.no_grad():
                    if isinstance(new, torch.Tensor) and new.shape == orig.shape \
                            and new.dtype == orig.dtype:
                        if not torch.equal(new, orig.detach()):
                            orig.copy_(new)
                    elif isinstance(new, torch.Tensor):
                        orig.data = new
        kind = reply.get("type")
        if kind == "return":
            return unpack(reply["value"])
        if kind == "timeout":
            raise _RemoteTimeout()
        if kind == "raise":
            self._raise(reply)
        raise ProbeGone()

    @staticmethod
    def _raise(reply: dict) -> None:
        """Raise, here, the exception the learner's code raised there, with its line in the
        traceback (so the check's message points at it as usual)."""
        base = NotImplementedError if reply.get("not_implemented") else Exception
        name = str(reply.get("ename") or "Exception")[:80]
        cls = type(name if name.isidentifier() else "Exception", (base,), {})
        exc = cls(str(reply.get("message", ""))[:500])
        where, line = str(reply.get("file") or ""), int(reply.get("line") or 0)
        if where and line > 0:
            text = str(reply.get("text") or "")
            linecache.cache[where] = (len(text), None, ["\n"] * (line - 1) + [text + "\n"], where)
            code = compile("\n" * (line - 1) + "raise __exc__", where, "exec")
            exec(code, {"__exc__": exc})
        raise exc


def judge_one(judge: Judge, check: Callable, name: str, args: list, kwargs: dict,
              seeds: list[int], hidden: list[Callable], label: Callable[[str], str]) -> dict:
    """Every run of one check (seed 0, the hidden seeds, the hidden checks): the first failure,
    or a pass."""
    from .checks import CheckFailed, CheckPassed

    title = label(name)
    try:
        takes_seed = "seed" in inspect.signature(check).parameters
    except (TypeError, ValueError):
        takes_seed = False
    runs: list[tuple[str, Callable, dict]] = []
    for s in ([0] + [x for x in seeds if x != 0]) if takes_seed else [None]:
        runs.append(("visible" if not s else f"hidden test, seed {s}", check,
                     {**kwargs, **({} if s is None else {"seed": s})}))
    for h in hidden:
        runs.append((f"hidden test, {h.__name__}", h, dict(kwargs)))
    for which, fn, kw in runs:
        verdict = None
        try:
            out = fn(*args, **kw)
            if fn is check and not isinstance(out, CheckPassed):
                verdict = "The check did not confirm your code."
        except CheckFailed as e:
            verdict = e.text()
        except _RemoteTimeout:
            verdict = (f"{title}: your code ran longer than {judge.timeout_cell:g} s on the "
                       "check's input (an endless loop?).")
        except ProbeGone:
            verdict = f"{title}: the graded run stopped while your code ran (it crashed or exited)."
        except Unpackable as e:
            verdict = f"{title}: your code returned something the grader cannot read ({e})."
        except Exception as e:  # noqa: BLE001 - a check's own failure on odd results
            verdict = f"{title}: the check could not run your code: {type(e).__name__}: {e}"
        if verdict is None and judge.hits:
            verdict = (f"{title} ✗ uses the package's reference: td3_teach's own "
                       f"`{judge.hits[0]}` did the step's work while the check ran your code."
                       "\nHint: the exercise is to write it yourself; the package's version is "
                       "there for the later notebooks.")
        if verdict is not None:
            return {"type": "step", "check": name, "passed": False, "which": which,
                    "message": verdict}
    return {"type": "step", "check": name, "passed": True, "which": "all",
            "message": f"{len(runs)} checks passed"}


def serve(job: dict) -> int:
    """The judge process: answer every check request of one probe, write the verdicts."""
    from .grading_plan import check_label, step_number
    from .grading_worker import _import_checks, _settle_torch

    checks = _import_checks()
    _settle_torch()
    from . import grading_hidden

    out = os.open(job["result"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(msg: dict) -> None:
        os.write(out, (json.dumps(msg) + "\n").encode())

    link = Link(job["from_probe"], job["to_probe"], reader_first=True)
    judge = Judge(link, float(job["timeout_cell"]))
    while True:
        try:
            msg = link.recv(None)
        except (Unpackable, ValueError) as e:
            write({"type": "protocol", "error": str(e)[:300]})
            return 0
        if msg is None:
            return 0
        if msg.get("type") != "judge":
            continue
        name = str(msg.get("check", ""))
        if name not in REMOTE or name not in checks:
            write({"type": "protocol", "error": f"asked to judge {name[:40]!r}"})
            continue
        try:
            handles = {int(h): Remote(judge, int(h), info)
                       for h, info in dict(msg.get("handles", {})).items()}

            def revive(x: Any) -> Any:
                if isinstance(x, dict) and set(x) == {"__handle__"}:
                    return handles[int(x["__handle__"])]
                return unpack(x)
            args = [revive(a) for a in msg.get("args", [])]
            kwargs = {str(k): revive(v) for k, v in dict(msg.get("kwargs", {})).items()}
            kwargs.pop("seed", None)
        except (Unpackable, KeyError, TypeError, ValueError) as e:
            write({"type": "step", "check": name, "passed": False, "which": "visible",
                   "message": f"{check_label(name)}: the grader could not read the check's "
                   f"arguments from your notebook ({e})."})
            link.send({"type": "judged"})
            continue
        judge.hits = []
        step = step_number(name)
        hidden = list(grading_hidden.HIDDEN.get(step if step is not None else name, []))
        try:
            verdict = judge_one(judge, checks[name], name, args, kwargs, list(job["seeds"]),
                                hidden, check_label)
        except BaseException:  # the judge's own bug: say so, never a silent pass
            verdict = {"type": "step", "check": name, "passed": False, "grader_error": True,
                       "message": "The grader's judge failed: "
                       + traceback.format_exc().strip().splitlines()[-1][:300]}
        verdict["cell"] = msg.get("cell")
        write(verdict)
        try:
            link.send({"type": "judged"})
        except OSError:
            return 0


def run_judge(job: dict) -> int:
    """``grading_worker`` job kind "judge" (forked from the grader's server, outside the
    sandbox): no learner code ever runs in this process."""
    sys.dont_write_bytecode = True
    return serve(job)
