"""Reference use, detected by what runs: did the package's own code do the step's work while the
grader ran the learner's code?

The graded run asks this for every check call. Who calls does not matter: the learner may hand
the check ``functools.partial(reference)``, a ``types.FunctionType`` clone of its code, an
``eval``-made lambda, a class whose method delegates to the package, or a function that looks at
the stack and calls the reference only under a check. In every case a code object of the
package's reference runs, and the only legitimate caller of it is the check itself (checks build
their expected values and stand-in networks with the package's code).

So, during the check call, a profile hook (``sys.setprofile``, and ``threading.setprofile`` for
threads started meanwhile) looks at every Python frame that starts:

* its code is the step's work when it *is* one of the reference's code objects, or *equals* one
  by bytecode, names and constants (a clone made with ``code.replace`` or ``marshal`` has a new
  identity, the same instructions) and uses two names or more (a ``return self.size`` is in
  every honest buffer);
* the step's work is the reference and every td3_teach function it reaches through its globals
  (``polyak_update`` for steps 14-15, ``frozen`` for 13), plus ``HELPERS``
  (``networks.make_target`` for steps 2-3: the exercise builds the target itself);
* for the named checks (``agent``, ``bug_hunt``: the learner's whole TD3 class) the work is
  ``td3_teach.TD3``'s methods, ``update.train_step`` and what they reach in ``td3_teach.agent``,
  ``td3_teach.update`` (every step function) and ``td3_teach.fast_update`` (the hand-derived
  update ``TD3.train`` runs on a CPU, its class's methods too): a class that keeps a ``TD3``
  inside and hands its calls on, or calls ``train_step`` or the fast update itself, runs them
  while its ``train`` runs, whatever wraps them. The package's networks do not count there
  (notebook 16 builds the agent from them);
* such a frame is reference use unless its nearest caller that is not torch, numpy or the
  standard library is the check's own code (by code-object identity, taken before learner code
  ran), and not the helper through which checks call learner code (``call_learner``).
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import types
from pathlib import Path
from typing import Any, Callable

HELPERS: dict[int | str, tuple[str, ...]] = {
    2: ("networks.make_target",),
    3: ("networks.make_target",),
    14: ("update.polyak_update",),
    15: ("update.polyak_update",),
    "agent": ("update.train_step",),
    "bug_hunt": ("update.train_step",),
}
# checks that are not one step -> the package's code that would do their whole work
NAMED: dict[str, str] = {"agent": "agent.TD3", "bug_hunt": "agent.TD3"}
# for those, the package's code that counts is its agent and its update: a learner's own TD3 may
# build the package's networks (notebook 16 imports Actor and Critic) and pick its device
NAMED_MODULES = ("td3_teach.agent", "td3_teach.update", "td3_teach.fast_update")
_PACKAGE = str(Path(__file__).resolve().parents[1])  # td3_teach/
LIBRARY_ROOTS = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix}
                      if p) + ("<frozen ",)


def code_key(code: types.CodeType) -> tuple:
    """What a code object does, without where it came from: its bytecode, the names it uses and
    its constants (nested code objects by their own key). Equal keys = a clone."""
    consts = tuple(code_key(c) if isinstance(c, types.CodeType) else (type(c).__name__, repr(c))
                   for c in code.co_consts)
    return (code.co_code, code.co_names, code.co_argcount, consts)


def _nested(code: types.CodeType):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _nested(c)


def _functions_of(obj: Any) -> list[types.FunctionType]:
    """The Python functions that make up ``obj``: a function, or a td3_teach class's methods."""
    obj = getattr(obj, "__func__", obj)
    if isinstance(obj, types.FunctionType):
        return [obj]
    out = []
    if isinstance(obj, type):
        for c in obj.__mro__:
            if str(c.__module__).startswith("td3_teach"):
                for v in vars(c).values():
                    for f in (v, getattr(v, "__func__", None), getattr(v, "fget", None)):
                        if isinstance(f, types.FunctionType):
                            out.append(f)
    return out


def _resolve(where: str) -> Any:
    module, attr = where.split(".", 1)
    try:
        return getattr(importlib.import_module(f"td3_teach.{module}"), attr)
    except (ImportError, AttributeError):
        return None


def _where(step: int | str) -> str:
    from ..steps import STEPS
    if isinstance(step, str):
        return NAMED.get(step, "")
    return STEPS[step - 1].where if 1 <= step <= len(STEPS) else ""


def reference(step: int | str) -> Any:
    """The package's own implementation of ``step`` (a step number, or a named check such as
    ``agent``): a function or class, or None."""
    where = _where(step)
    return _resolve(where) if where else None


class ReferenceCode:
    """The code objects that do one step's work (see the module docstring)."""

    def __init__(self, step: int | str) -> None:
        self.step = step
        roots = [reference(step)] + [_resolve(h) for h in HELPERS.get(step, ())]
        self.names: dict[types.CodeType, str] = {}
        todo = [f for r in roots if r is not None for f in _functions_of(r)]
        seen: set = set()
        named = isinstance(step, str)
        while todo:  # the reference, and the td3_teach functions it calls by global name
            f = todo.pop()
            while isinstance(getattr(f, "__wrapped__", None), types.FunctionType):
                f = getattr(f, "__wrapped__")  # a decorated helper: its own code, not the decorator's
            if f in seen or named and f.__module__ not in NAMED_MODULES:
                continue
            seen.add(f)
            if _PACKAGE not in f.__code__.co_filename:
                continue  # a wrapper made elsewhere (contextlib's, torch's) is not the package's
            for code in _nested(f.__code__):
                self.names[code] = f"{f.__module__.removeprefix('td3_teach.')}.{f.__qualname__}"
                for n in code.co_names:
                    g = f.__globals__.get(n)
                    if named and isinstance(g, type) and g.__module__ in NAMED_MODULES:
                        todo.extend(_functions_of(g))  # fast_update.FastUpdate, which TD3.train makes
                    elif isinstance(g, types.FunctionType) and g.__module__.startswith("td3_teach") \
                            and not g.__module__.startswith("td3_teach.checks"):
                        todo.append(g)
        # clones are matched by what they do, but not a comprehension's or a lambda's code: a
        # `{k: v for k, v in d.items()}` inside torch does what one inside TD3.train does; nor
        # code that uses one name at most (ReplayBuffer.__len__'s `return self.size`: every
        # honest buffer has that line, and it does none of the step's work)
        self.keys = {code_key(c): name for c, name in self.names.items()
                     if not c.co_name.startswith("<") and len(c.co_names) > 1}
        self.where = _where(step)
        self._cache: dict[int, tuple[types.CodeType, str | None]] = {}

    def match(self, code: types.CodeType) -> str | None:
        """The reference function ``code`` is (or is a clone of), else None."""
        hit = self._cache.get(id(code))
        if hit is not None and hit[0] is code:
            return hit[1]
        name = self.names.get(code) or self.keys.get(code_key(code))
        self._cache[id(code)] = (code, name)
        return name

    def handed_over(self, obj: Any) -> str | None:
        """``obj`` (an argument given to the check) is the reference itself, a subclass, a
        partial / bound method / ``functools.wraps`` wrapper of it, or a clone of its code."""
        for _ in range(10):
            if isinstance(obj, functools.partial):
                obj = obj.func
            elif hasattr(obj, "__wrapped__"):
                obj = obj.__wrapped__
            elif isinstance(obj, types.MethodType):
                obj = obj.__func__
            else:
                break
        ref = reference(self.step)
        if ref is not None and (obj is ref or (isinstance(obj, type) and isinstance(ref, type)
                                               and issubclass(obj, ref))):
            return self.where
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType):
            return self.match(code)
        return None


def _library(code: types.CodeType) -> bool:
    f = code.co_filename
    return f.startswith(LIBRARY_ROOTS) and "/td3_teach/" not in f


class Watch:
    """The profile hook of one check call: ``hits`` lists the reference functions that ran on
    the learner's behalf. ``check_codes``: the code objects of the checks (identity);
    ``learner_entry``: those of the helpers that call learner code (``call_learner``)."""

    def __init__(self, ref: ReferenceCode, check_codes: set, learner_entry: set) -> None:
        self.ref, self.check_codes, self.learner_entry = ref, check_codes, learner_entry
        self.hits: list[str] = []

    def profile(self, frame: Any, event: str, arg: Any) -> None:
        if event != "call" or len(self.hits) > 3:
            return
        name = self.ref.match(frame.f_code)
        if name is None:
            return
        caller = frame.f_back
        while caller is not None and _library(caller.f_code):
            caller = caller.f_back
        if caller is not None and caller.f_code in self.check_codes \
                and caller.f_code not in self.learner_entry:
            return  # the check built its expected value or stand-in with the package's code
        if caller is not None and self.ref.match(caller.f_code) is not None:
            return  # the reference calling its own helpers: its caller was judged already
        self.hits.append(name.rsplit(".", 1)[-1])

    def start(self, set_profile: Callable[[Any], None]) -> None:
        set_profile(self.profile)
        threading.setprofile(self.profile)

    def stop(self, set_profile: Callable[[Any], None]) -> None:
        set_profile(None)
        threading.setprofile(None)


def check_code_objects() -> tuple[set, set]:
    """(every code object of td3_teach.checks and grading.hidden, the ones that call learner
    code), taken in the graded run before any learner code runs."""
    codes: set = set()
    entry: set = set()
    for name, mod in list(sys.modules.items()):
        if not (name.startswith("td3_teach.checks") or name == "td3_teach.grading.hidden"):
            continue
        for v in list(vars(mod).values()):
            for f in _functions_of(v) if isinstance(v, type) else [v]:
                f = getattr(f, "__wrapped__", f)
                if isinstance(f, types.FunctionType) and f.__module__ == name:
                    for c in _nested(f.__code__):
                        codes.add(c)
                    if f.__name__ in ("call_learner", "call_update"):
                        entry |= set(_nested(f.__code__))
    # decorated checks: the wrapper's code (guarded) is check code too
    for name, mod in list(sys.modules.items()):
        if name.startswith("td3_teach.checks"):
            for v in list(vars(mod).values()):
                while isinstance(v, types.FunctionType):
                    codes |= set(_nested(v.__code__))
                    v = getattr(v, "__wrapped__", None)
    return codes, entry
