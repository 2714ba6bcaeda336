"""Probe, then judge: the graded run's checks, run outside the process that runs learner code.

For the checks in ``REMOTE`` (steps 1 to 15, notebook 16's ``agent``, notebook 17's
``bug_hunt`` and notebook 18's ``exploration``) the graded run splits in two processes:

* the **probe** (``probe.run_checks``, inside the sandbox) runs the notebook's cells.
  At a check cell it evaluates the check call's arguments (the learner's functions, values of
  theirs) and hands them to the judge: a function becomes a *handle*, values are packed. It
  then only answers the judge's requests (``answer``): "call handle 1 with these inputs",
  replying with what the learner's code returned, what it did to its inputs, the random and
  torch state after the call, the warnings it raised, or the exception it raised.
* the **judge** (``serve``, a fresh process of the grader's, never running learner code and
  never visible from the sandbox) runs the instructor's check, unchanged, on seed 0 and on the
  hidden seeds of the points file, then the hidden checks, with a stand-in (``Remote``) for each
  handle. It writes the verdict to its own file.

So the check's code, its expected values and the hidden seeds never enter the learner's
process: forging frames, patching the checks or emptying the hidden checks there changes
nothing. What crosses is data only (``pack`` / ``unpack``, ``Packer`` / ``Unpacker``; no pickle,
nothing from the probe is ever executed or imported):

* tensors as raw bytes with a dtype from a fixed list, numpy arrays of numbers, numbers,
  strings, lists, sets and dicts of them, ``torch.device``;
* objects of the classes in ``allowed`` only, rebuilt from the package's (or torch's, numpy's)
  own class on the other side: a network (``networks.Actor`` / ``Critic``) as its class name,
  constructor arguments and parameters (value, ``requires_grad``, ``.grad``, whether it joined
  an autograd graph); an optimizer (``SGD``, ``Adam``) as its param groups and state, bound to
  the rebuilt parameters; the checks' ``StandInAgent``, ``SimpleNamespace`` agents and
  ``Batch`` by their attributes; a numpy ``Generator`` by its bit generator's state. After the
  learner's call the probe sends every such object's new state back and the judge puts it into
  its own objects, so the check sees them changed as the learner's code changed them;
* a tensor with an autograd graph (the loss a check hands to step 12; the Q-values step 10 and
  the loss step 11 get back) as its value plus the gradient of its sum with respect to every
  parameter and every leaf input that crossed; the other side rebuilds a tensor with that value
  whose sum has exactly those gradients, and which, like the original, saves the parameters
  (a parameter changed in place before ``backward()`` fails it, as it fails the original);
* the learner's class (step 1's ``ReplayBuffer``) as a *handle*: the judge's stand-in
  (``remote_class``) has its name, its ``__init__``'s signature and its methods' names; building
  one builds the learner's object in the probe, where it stays, and the judge gets a stand-in
  for it (``remote_object``) whose methods call the learner's object's. A numpy array handed to
  such a method is one array on both sides from then on (``wire.Handles``): what the check
  writes into its own copy afterwards reaches the learner's (a buffer that kept a reference
  sees it change). The check's recording buffer for ``store_step`` crosses as data and comes
  back with what the learner's code added to it;
* a learner's network (step 2's ``Actor``, step 3's ``Critic``, built by its class's stand-in,
  or what step 2's ``make_target`` returned) as a *mirror* (``Judge.mirror``): an nn.Module of
  the same class name whose ``nn.Linear`` layers, other submodules and parameters (values,
  ``requires_grad``, ``.grad``, one parameter or one storage in two places) are the learner's,
  sent after every call; its ``forward`` (and ``Q1``) call the learner's network in the probe,
  and what the check changed in its parameters goes across before. A result's autograd graph
  crosses as above, so the gradients the check takes reach the mirror's parameters; the same
  tensor twice in a result stays one tensor;
* the learner's function, besides its name and signature, as the names its code uses
  (``checks._code_facts.CodeFacts``), for the checks that say *which* mistake a wrong
  result is (``step()`` before ``backward()``, ``.copy_ = ...``, using ``actor_target``).

What the probe reports about the learner's code is still the learner's process speaking: it can
return the right numbers by any means, which is why reference use is watched there too
(``reference``) and reported with each answer. ``tests/test_grading_judge.py`` runs
every judged check, on the solution and on every mistake of the mutation tests, both in-process
and through a loopback judge, and asserts the same text.

The whole-agent checks (``agent``, ``bug_hunt``) are split by hand instead: their learner's
class is trained through a scripted memory whose ``sample()`` the learner's code calls back,
with a spy in place of its target critic's ``forward``, which as check code in the learner's
process could be patched to pass. So the probe's half is ``checks._agent_probe.AgentProbe``:
its operations (build the agent, report its parts, run its networks, ``select_action`` and
``train`` calls; the memory only records the batch sizes asked for and stops ``train`` on a
wrong one, the spy only records what it sees) answer with plain data, and the check's judge
(``checks.agent``, ``checks.bug_hunt``, on ``remote_session``) decides. The judge sends
inputs only (sizes, hyperparameters, batches, seeds hashed from the check's seed; the networks
start from weights both sides draw from such a seed); what comes back is facts, the networks'
outputs, the a~ of each iteration and the parameters after each iteration as a sample of
every tensor (about 1.7 MB of JSON per seed for a correct agent), the full parameters only
where a sample differs. Reference use the probe's watch saw is the verdict of those checks
whatever they found, as in the graded run's in-process attempt.
"""

from __future__ import annotations

import inspect
import json
import linecache
import os
import select
import sys
import time
import traceback
from typing import Any, Callable

from .messages import JudgeJob, Protocol, Record, Step, to_wire
from .wire import (KEPT_DUNDERS, MAX_WIDTH, Packer, Proxy, Unpackable, Unpacker, WARNINGS, pack,
                   rng_state, set_rng_state, set_torch_state, torch_state, unpack)

REMOTE = frozenset({f"step{n:02d}" for n in range(1, 16)} | {"exploration", "agent", "bug_hunt"})
AGENT_CHECKS = frozenset({"agent", "bug_hunt"})  # judged through the agent probe's operations
MAX_MESSAGE = 64 << 20


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
        if info.get("code") is not None:
            from ..checks._code_facts import CodeFacts
            self.__code__ = CodeFacts.from_data(info["code"])
        if info.get("params") is not None:
            self.__signature__ = inspect.Signature([
                inspect.Parameter(str(p["name"]), inspect._ParameterKind(int(p["kind"])),
                                  default=None if p.get("default") else inspect.Parameter.empty)
                for p in info["params"]])

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge.call(self._handle, args, kwargs)

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"


def _ident(name: Any, default: str) -> str:
    name = str(name or "")[:80]
    return name if name.isidentifier() else default


def _signature(params: Any) -> inspect.Signature | None:
    if params is None:
        return None
    try:
        return inspect.Signature([
            inspect.Parameter(str(p["name"]), inspect._ParameterKind(int(p["kind"])),
                              default=None if p.get("default") else inspect.Parameter.empty)
            for p in list(params)[:50]])
    except (TypeError, ValueError, KeyError):
        return None


def _method(judge: "Judge", name: str) -> Callable:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return judge.call(type(self).__td3_handle__, args, kwargs, method=name)
    method.__name__ = method.__qualname__ = name
    return method


def _methods(judge: "Judge", info: dict, module: bool = False) -> dict[str, Callable]:
    """Stand-in methods that call the learner's. On a network's mirror, ``forward`` calls the
    learner's network (``net(x)``, as the checks do) and ``__call__`` stays nn.Module's."""
    names = [str(m) for m in list(info.get("methods") or [])[:200]]
    out = {m: _method(judge, m) for m in names
           if m.isidentifier() and (not m.startswith("__") or m in KEPT_DUNDERS)}
    if module:
        out.pop("__call__", None)
        if "forward" in out:
            out["forward"] = _method(judge, "__call__")
            out["forward"].__name__ = out["forward"].__qualname__ = "forward"
    return out


def _nested_names(info: dict) -> Any:
    """What ``checks._networks._nested`` reads of a class: its methods' local functions' names."""
    import types
    names = [str(n)[:80] for n in list(info.get("nested") or [])[:50]]
    return types.SimpleNamespace(__code__=types.SimpleNamespace(
        co_consts=tuple(types.SimpleNamespace(co_name=n) for n in names)))


def remote_class(judge: "Judge", handle: int, info: dict) -> type:
    """The judge's stand-in for a learner's class (step 1's ``ReplayBuffer``): a class of the
    same name, with its ``__init__``'s signature and its methods' names; building one builds the
    learner's object in the probe and gives back the stand-in for it (``remote_object``)."""
    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return judge.call(handle, args, kwargs)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        pass
    sig = _signature(info.get("params"))
    if sig is not None:
        __init__.__signature__ = sig  # type: ignore[attr-defined]
    name = _ident(info.get("name"), "LearnerClass")
    module = bool(info.get("module"))
    ns = {**_methods(judge, info, module), "__new__": __new__, "__init__": __init__,
          "__td3_handle__": handle, "__module__": "__main__", "__qualname__": name, "__doc__": None,
          "__td3_nested__": _nested_names(info)}
    if module:  # the learner's network class: an nn.Module subclass here too
        from torch import nn
        return type(name, (Proxy, nn.Module), ns)
    return type(name, (Proxy,), ns)


def remote_object(judge: "Judge", handle: int, info: dict) -> Any:
    """The judge's stand-in for a learner's object that stays in the probe (a replay buffer the
    learner's class built): an object of a class of the same name whose methods call the
    learner's object's methods there."""
    name = _ident(info.get("name") or info.get("__opaque__"), "object")
    module = bool(info.get("module"))
    ns = {**_methods(judge, info, module), "__td3_handle__": handle, "__module__": "__main__",
          "__qualname__": name, "__doc__": None}
    if module:  # a network handed over as it is (not built by the check): no mirror
        from torch import nn
        net_cls = type(name, (Proxy, nn.Module), ns)
        net: Any = object.__new__(net_cls)
        nn.Module.__init__(net)
        return net
    cls = type(name, (Proxy,), ns)
    return object.__new__(cls)


class Judge:
    """Runs one check on ``Remote`` stand-ins; see the module docstring."""

    def __init__(self, link: Link, timeout_cell: float) -> None:
        self.link, self.timeout_cell = link, timeout_cell
        self.hits: list[str] = []  # reference use the probe reported
        self.stand_ins: dict[int, Any] = {}  # handle -> its stand-in (one per learner object)
        self.arrays: dict[str, tuple[Any, bytes]] = {}  # key -> (array handed to a method, as sent)
        self.array_keys: dict[int, str] = {}
        self.reset()

    def reset(self) -> None:
        """Forget the learner's objects of the last check (a new check call begins)."""
        self.stand_ins, self.arrays, self.array_keys = {}, {}, {}
        self.params: dict[str, Any] = {}  # key -> a mirrored network's parameter
        self.versions: dict[str, int] = {}  # key -> its ``_version`` when last in step
        self.ptrs: dict[int, str] = {}  # the probe's storage address -> a parameter's key
        self.mirrors: dict[str, Any] = {}  # key -> the mirror of a learner's network

    def mirror(self, rec: Any, tables: dict) -> None:
        """Build or update the mirrors of the learner's networks (``wire.Handles.modules``):
        nn.Modules of the same class names, ``nn.Linear`` layers of the same sizes, parameters
        with the learner's values, gradients and ``requires_grad`` (put in by ``Unpacker.load``
        after this), and the same sharing (one parameter, or one storage, in two places). The
        mirror's ``forward`` (and its other methods) call the learner's network in the probe;
        before each call, what the check changed in a mirror's parameters goes across first."""
        import torch
        from torch import nn
        if not isinstance(rec, dict):
            return
        mods, roots = dict(rec.get("mods") or {}), dict(rec.get("roots") or {})
        params = dict(tables.get("params") or {})
        for m in mods.values():
            for name, key, ptr in list(m.get("params", []))[:100]:
                if key is None or str(key) in self.params:
                    continue
                key = str(key)
                data = unpack(params[key]["data"])
                if not isinstance(data, torch.Tensor):
                    raise Unpackable("a parameter that is not a tensor")
                twin = self.params.get(self.ptrs.get(int(ptr), ""))
                if twin is not None and twin.shape == data.shape and twin.dtype == data.dtype:
                    data = twin.data  # one storage there: one storage here
                rg = bool(params[key].get("rg")) and data.is_floating_point()
                self.params[key] = nn.Parameter(data, requires_grad=rg)
                self.ptrs.setdefault(int(ptr), key)
        for key, m in mods.items():
            if key not in self.mirrors:
                self.mirrors[key] = self._new_mirror(m, roots.get(key))
        for key, m in mods.items():
            mod = self.mirrors[key]
            mod.training = bool(m.get("training", True))
            mod._parameters.clear()  # the learner's parameters, in the learner's order
            for name, pkey, _ in list(m.get("params", []))[:100]:
                mod._parameters[str(name)] = None if pkey is None else self.params[str(pkey)]
            for name, ckey in list(m.get("children", []))[:100]:
                if str(ckey) in self.mirrors:
                    mod._modules[str(name)] = self.mirrors[str(ckey)]

    def _new_mirror(self, rec: dict, root: Any) -> Any:
        import torch
        from torch import nn
        if rec.get("linear") is not None:
            i, o = (int(n) for n in list(rec["linear"])[:2])
            if not (0 <= i <= MAX_WIDTH and 0 <= o <= MAX_WIDTH):
                raise Unpackable(f"a layer of sizes {i}, {o}")
            with torch.random.fork_rng(devices=[]):
                return nn.Linear(i, o, bias=False, device="meta")  # parameters: ``mirror``
        name = _ident(rec.get("cls"), "Module")
        ns: dict[str, Any] = {"__module__": "__main__", "__qualname__": name, "__doc__": None}
        bases: tuple = (nn.Module,)
        if isinstance(root, dict):  # a network the check holds: its methods call the learner's
            ns.update(_methods(self, root, module=True), __td3_handle__=int(root["handle"]))
            bases = (Proxy, nn.Module)
        cls = type(name, bases, ns)
        net: Any = object.__new__(cls)
        nn.Module.__init__(net)
        return net

    def stand_in(self, handle: int, info: dict) -> Any:
        """The one stand-in for the learner's object ``handle`` (``info``: ``wire.describe``):
        a class, an object, a network's mirror (``mirror``), or a function."""
        if handle not in self.stand_ins:
            kind = info.get("kind")
            if isinstance(info.get("module"), str) and info["module"] in self.mirrors:
                self.stand_ins[handle] = self.mirrors[info["module"]]
                return self.stand_ins[handle]
            self.stand_ins[handle] = remote_class(self, handle, info) if kind == "class" else \
                remote_object(self, handle, info) if kind == "object" else Remote(self, handle, info)
        return self.stand_ins[handle]

    def resolve(self, rec: dict) -> Any:
        """A handle that came back (a learner's object returned by its code) -> its stand-in."""
        handle = int(rec.get("__handle__", 0))
        if handle not in self.stand_ins and not rec.get("__opaque__"):
            raise Unpackable("a handle to nothing")
        return self.stand_in(handle, rec)

    def _share(self, x: Any, depth: int = 0) -> None:
        """Key every numpy array in ``x``: handed to a learner object's method, it stays one
        array on both sides (``wire.Handles``)."""
        import numpy as np
        if depth > 5:
            return
        if isinstance(x, np.ndarray) and id(x) not in self.array_keys:
            key = f"a{len(self.arrays) + 1}"
            self.array_keys[id(x)] = key
            self.arrays[key] = (x, b"")
        elif isinstance(x, (list, tuple)):
            for v in list(x)[:1000]:
                self._share(v, depth + 1)
        elif isinstance(x, dict):
            for v in list(x.values())[:1000]:
                self._share(v, depth + 1)

    def _updates(self) -> dict:
        """The shared arrays the check changed since they were last sent."""
        return {k: pack(a) for k, (a, sent) in self.arrays.items() if a.tobytes() != sent}

    def call(self, handle: int, args: tuple, kwargs: dict, method: str | None = None) -> Any:
        """Ask the probe to call handle ``handle`` (or its method ``method``) on ``args``:
        networks, optimizers and the checks' agents cross as data (``Packer``), and what the
        learner's code did to them, to the global random and torch state, and the warnings it
        raised, come back into the judge's own objects before its result is returned (or its
        exception raised). A learner's object it returns stays there: its stand-in comes back."""
        import warnings

        if method is not None:
            self._share((args, kwargs))
        packer = Packer("j", {id(t): k for k, t in self.params.items()}, arrays=self.array_keys)
        for key, t in self.params.items():  # what the check changed in the learner's networks
            if t._version != self.versions.get(key):
                packer.param(t)
        msg = {"type": "call", "handle": handle, "args": packer.pack(list(args)),
               "kwargs": packer.pack(dict(kwargs)), "rng": rng_state(), "torch": torch_state()}
        if method is not None:
            msg["method"] = method
        if self.arrays:
            msg["updates"] = self._updates()
        msg["tables"] = packer.tables()
        self.link.send(msg)
        for key, (a, _) in self.arrays.items():
            self.arrays[key] = (a, a.tobytes())
        try:
            reply = self.link.recv(self.timeout_cell + 30)
        except TimeoutError:
            raise _RemoteTimeout() from None
        if reply is None:
            raise ProbeGone()
        self.hits += [str(h) for h in reply.get("hits", [])][:5]
        if reply.get("rng"):
            set_rng_state(reply["rng"])
        set_torch_state(reply.get("torch"))
        tables = reply.get("tables") or {}
        self.mirror(reply.get("modules"), tables if isinstance(tables, dict) else {})
        back = Unpacker({**packer.by_key(), **self.params}, resolve=self.resolve)
        back.load(tables)
        self.versions = {k: t._version for k, t in self.params.items()}
        after = reply.get("after")
        if isinstance(after, list):
            for orig, now in zip(list(args) + list(kwargs.values()), after):
                back.merge(orig, now)
        for key, (a, _) in self.arrays.items():  # as the learner's code left them
            self.arrays[key] = (a, a.tobytes())
        for w in list(reply.get("warnings", []))[:20]:
            if isinstance(w, list) and len(w) == 2:
                warnings.warn(str(w[1])[:500], WARNINGS.get(str(w[0]), UserWarning), stacklevel=2)
        kind = reply.get("type")
        if kind == "return":
            return back.value(reply["value"])
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


def remote_session(judge: "Judge") -> Any:
    """A ``RemoteSession`` (a ``checks._agent_probe.Session``, which the whole-agent checks take
    in place of the learner's class) for ``judge``'s link."""
    from ..checks._agent_probe import Session

    class RemoteSession(Session):
        """The judge's session for the whole-agent checks (``checks._agent_probe``): each operation
        of the check's judge crosses to the probe as data (``pack``), where ``AgentProbe`` runs the
        learner's class on it, and its record comes back as data (``unpack``), with the reference use
        the probe's watch saw and torch's global settings as the learner's code left them."""

        def __init__(self, judge: "Judge") -> None:
            self.judge = judge

        def ask(self, op: str, **data: Any) -> dict:
            link = self.judge.link
            link.send({"type": "agent", "op": str(op), "data": pack(data), "torch": torch_state()})
            try:
                reply = link.recv(self.judge.timeout_cell + 30)
            except TimeoutError:
                raise _RemoteTimeout() from None
            if reply is None:
                raise ProbeGone()
            self.judge.hits += [str(h) for h in reply.get("hits", [])][:5]
            set_torch_state(reply.get("torch"))
            if reply.get("type") == "timeout":
                raise _RemoteTimeout()
            if reply.get("type") != "agent":
                raise ProbeGone()
            value = unpack(reply.get("value"))
            if not isinstance(value, dict):
                raise Unpackable("an agent record that is not a record")
            return value

    return RemoteSession(judge)


def judge_one(judge: Judge, check: Callable, name: str, args: list, kwargs: dict,
              seeds: list[int], hidden: list[Callable], label: Callable[[str], str]) -> Step:
    """Every run of one check (seed 0, the hidden seeds, the hidden checks): the first failure,
    or a pass."""
    from ..checks import CheckFailed, CheckPassed

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
        if judge.hits and (verdict is None or name in AGENT_CHECKS):
            # as the graded run's in-process attempt says it: for the whole agent, reference use
            # is the verdict whatever the check found (a wrapper around TD3 may still fail the
            # listing's source checks)
            verdict = (f"{title} ✗ uses the package's reference: td3_teach's own "
                       f"`{judge.hits[0]}` did the step's work while the check ran your code."
                       "\nHint: the exercise is to write it yourself; the package's version is "
                       "there for the later notebooks.")
        if verdict is not None:
            return Step(name, False, verdict, which=which)
    return Step(name, True, f"{len(runs)} checks passed", which="all")


def serve(job: JudgeJob) -> int:
    """The judge process: answer every check request of one probe, write the verdicts."""
    from .plan import check_label, step_number
    from .snapshot import _import_checks, _settle_torch

    checks = _import_checks()
    _settle_torch()
    from . import hidden as grading_hidden

    out = os.open(job.result, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(record: Record) -> None:
        os.write(out, (json.dumps(to_wire(record)) + "\n").encode())

    link = Link(job.from_probe, job.to_probe, reader_first=True)
    judge = Judge(link, float(job.timeout_cell))
    while True:
        try:
            msg = link.recv(None)
        except (Unpackable, ValueError) as e:
            write(Protocol(str(e)[:300]))
            return 0
        if msg is None:
            return 0
        if msg.get("type") != "judge":
            continue
        name = str(msg.get("check", ""))
        if name not in REMOTE or name not in checks:
            write(Protocol(f"asked to judge {name[:40]!r}"))
            continue
        judge.reset()
        try:
            if name in AGENT_CHECKS:  # the learner's classes stay in the probe, with its AgentProbe
                msg = {**msg, "args": [], "handles": {}}
            for h, info in dict(msg.get("handles", {})).items():
                judge.stand_in(int(h), dict(info))
            there = Unpacker(resolve=judge.resolve)
            args = [there.value(a) for a in msg.get("args", [])]
            kwargs = {str(k): there.value(v) for k, v in dict(msg.get("kwargs", {})).items()}
            kwargs.pop("seed", None)
            if name in AGENT_CHECKS:
                args, kwargs = [remote_session(judge)], {}
        except (Unpackable, KeyError, TypeError, ValueError) as e:
            write(Step(name, False, f"{check_label(name)}: the grader could not read the check's "
                       f"arguments from your notebook ({e}).", which="visible"))
            link.send({"type": "judged"})
            continue
        judge.hits = []
        step = step_number(name)
        hidden = list(grading_hidden.HIDDEN.get(step if step is not None else name, []))
        try:
            verdict = judge_one(judge, checks[name], name, args, kwargs, list(job.seeds),
                                hidden, check_label)
        except BaseException:  # the judge's own bug: say so, never a silent pass
            verdict = Step(name, False, "The grader's judge failed: "
                           + traceback.format_exc().strip().splitlines()[-1][:300], grader_error=True)
        cell = msg.get("cell")
        verdict.cell = cell if isinstance(cell, int) and not isinstance(cell, bool) else None
        write(verdict)
        try:
            link.send({"type": "judged"})
        except OSError:
            return 0


def run_judge(job: JudgeJob) -> int:
    """The job kind "judge" (``server.JOBS``) (forked from the grader's server, outside the
    sandbox): no learner code ever runs in this process."""
    sys.dont_write_bytecode = True
    return serve(job)
