"""The tamper snapshot of the graded run: the identity of everything the checks depend on,
taken before any learner code runs, and compared before and after every check call (``probe``).

``_import_checks`` imports every module of td3_teach the checks and the references live in,
and ``_settle_torch`` makes now the changes torch makes to itself lazily, so that both are in
the snapshot and neither is mistaken for a learner's tampering.
"""

from __future__ import annotations

import importlib
import re
import sys
import types
from typing import Any, Callable, Mapping

CHECK_NAME = re.compile(r"[a-z][A-Za-z0-9_]*")  # checks.step08, checks.agent: any public function
CALLABLE_MODULES = ("builtins", "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
                    "torch.autograd", "torch.linalg", "torch.optim", "torch.random", "numpy",
                    "math", "inspect", "linecache", "traceback", "html", "copy", "functools",
                    "operator", "types", "random", "json")
CLASS_ROOTS = ("torch", "numpy", "td3_teach", "inspect")
# caches Python fills in by itself: the warnings registry, copyreg's __slotnames__ (set on a
# class the first time one of its objects is pickled, e.g. by an honest torch.save)
IGNORED_KEYS = frozenset({"__warningregistry__", "__slotnames__"})


def _settle_torch() -> None:
    """Make now the changes torch makes to itself lazily, so they are in the snapshot and are
    not mistaken for a learner's tampering: ``torch._dynamo`` wraps ``torch.manual_seed`` when
    first imported, and each optimizer class wraps its ``step`` when first instantiated."""
    import torch
    import torch._dynamo  # noqa: F401
    import torch.optim

    todo = [torch.optim.Optimizer]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        step = vars(cls).get("step")
        if cls is not torch.optim.Optimizer and step is not None \
                and not getattr(step, "hooked", None):
            hooked = torch.optim.Optimizer.profile_hook_step(step)
            setattr(hooked, "hooked", True)
            setattr(cls, "step", hooked)


def _import_checks() -> dict[str, Callable]:
    """``{"step08": checks.step08, ...}`` with every module of td3_teach the checks and the
    references live in imported, so that the snapshot covers them."""
    import pkgutil

    import td3_teach
    from td3_teach import checks, steps, update  # noqa: F401
    from td3_teach.grading import hidden  # noqa: F401
    for info in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"td3_teach.checks.{info.name}")
    for s in steps.STEPS:
        try:
            importlib.import_module(f"td3_teach.{s.where.split('.')[0]}")
        except Exception:
            pass
    del td3_teach
    return {name: getattr(checks, name) for name in dir(checks) if CHECK_NAME.fullmatch(name)
            and isinstance(getattr(checks, name), types.FunctionType)}


class Snapshot:
    """Identity of everything the checks depend on, taken before learner code runs.

    * every td3_teach module: all its globals (a new global that is not a submodule counts);
    * torch, numpy, builtins and the stdlib modules the checks use: their functions and classes;
    * the classes of td3_teach, torch, numpy and inspect: their class dicts;
    * every Python function among those: code, defaults, globals and closure contents.
    """

    def __init__(self) -> None:
        self.full: dict[str, tuple[types.ModuleType, dict]] = {}
        self.calls: dict[str, tuple[types.ModuleType, dict]] = {}
        self.classes: dict[type, dict] = {}
        self.functions: dict[types.FunctionType, tuple] = {}
        self.sysmods: dict[str, types.ModuleType] = {}
        import td3_teach
        for export in td3_teach.__all__:  # lazy exports (PEP 562) are cached on first use: load
            getattr(td3_teach, export)    # them now, so a learner's first td3_teach.Batch is no "addition"
        for name, mod in list(sys.modules.items()):
            if mod is None:
                continue
            if name == "td3_teach" or name.startswith("td3_teach."):
                self.full[name] = (mod, dict(vars(mod)))
                self.sysmods[name] = mod
            elif name in CALLABLE_MODULES:
                self.calls[name] = (mod, {k: v for k, v in vars(mod).items() if callable(v)})
                self.sysmods[name] = mod
        for _, d in list(self.full.values()) + list(self.calls.values()):
            for v in d.values():
                if isinstance(v, type) and str(getattr(v, "__module__", "")).split(".")[0] \
                        in CLASS_ROOTS:
                    for c in v.__mro__:
                        if c is not object and c not in self.classes:
                            self.classes[c] = dict(vars(c))
                elif isinstance(v, types.FunctionType):
                    self.functions[v] = self._fn(v)
        import torch
        for base in (torch.Tensor, getattr(torch._C, "TensorBase", None),
                     getattr(torch._C, "_TensorBase", None), torch.nn.Parameter, torch.nn.Module):
            if base is not None:
                self.classes.setdefault(base, dict(vars(base)))
        for c, d in self.classes.items():
            for v in d.values():
                for f in (v, getattr(v, "__func__", None), getattr(v, "fget", None)):
                    if isinstance(f, types.FunctionType):
                        self.functions.setdefault(f, self._fn(f))
        self.grad_enabled = torch.is_grad_enabled()
        self.dtype = torch.get_default_dtype()

    @staticmethod
    def _fn(f: types.FunctionType) -> tuple:
        """Everything that decides what ``f`` does, compared by identity."""
        parts: list[Any] = [f.__code__, f.__defaults__, f.__kwdefaults__, f.__globals__]
        parts += list((f.__kwdefaults__ or {}).values())
        for c in f.__closure__ or ():
            try:
                parts.append(c.cell_contents)
            except ValueError:
                parts.append(Snapshot)
        return tuple(parts)

    @staticmethod
    def _same(a: tuple, b: tuple) -> bool:
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))

    def changes(self, limit: int = 5) -> list[str]:
        """What differs from the snapshot (at most ``limit`` items), or [] when nothing does."""
        out: list[str] = []
        now: Mapping[str, Any]  # a module's or a class's namespace
        for name, mod in self.sysmods.items():
            if sys.modules.get(name) is not mod:
                out.append(f"sys.modules[{name!r}] was replaced")
        for name, (mod, d) in self.full.items():
            now = vars(mod)
            for k, v in d.items():
                if k not in IGNORED_KEYS and now.get(k, Snapshot) is not v:
                    out.append(f"{name}.{k} was changed")
            for k in now.keys() - d.keys():
                if k not in IGNORED_KEYS and not isinstance(now[k], types.ModuleType):
                    out.append(f"{name}.{k} was added")
            if len(out) >= limit:
                return out[:limit]
        for name, (mod, d) in self.calls.items():
            now = vars(mod)
            out += [f"{name}.{k} was changed" for k, v in d.items() if now.get(k, Snapshot) is not v]
            if len(out) >= limit:
                return out[:limit]
        for c, d in self.classes.items():
            now = vars(c)
            if any(now.get(k, Snapshot) is not v for k, v in d.items() if k not in IGNORED_KEYS) \
                    or any(k not in d for k in now if k not in IGNORED_KEYS):
                out.append(f"class {c.__module__}.{c.__qualname__} was changed")
                if len(out) >= limit:
                    return out[:limit]
        for f, t in self.functions.items():
            if not self._same(self._fn(f), t):
                out.append(f"function {f.__module__}.{f.__qualname__} was changed")
                if len(out) >= limit:
                    return out[:limit]
        out += self._torch_overrides()
        return out[:limit]

    @staticmethod
    def _torch_overrides() -> list[str]:
        import torch
        out = []
        for fn, what in (("_len_torch_function_stack", "a TorchFunctionMode is active"),
                         ("_len_torch_dispatch_stack", "a TorchDispatchMode is active")):
            f = getattr(torch._C, fn, None)
            if f is not None and f() > 0:
                out.append(what)
        todo, seen = [torch.Tensor], set()
        while todo:
            c = todo.pop()
            for s in c.__subclasses__():
                if s in seen:
                    continue
                seen.add(s)
                todo.append(s)
                if str(s.__module__).split(".")[0] in ("torch", "numpy", "td3_teach"):
                    continue
                # a learner's tensor subclass can make a wrong result look right to the checks
                # (override __torch_function__, detach, allclose...): no course exercise needs one
                out.append(f"tensor subclass {s.__name__} defined by the notebook")
        return out

    def normalise(self) -> None:
        """Global torch settings a learner may have changed, back to how the checks expect."""
        import torch
        torch.set_grad_enabled(self.grad_enabled)
        torch.set_default_dtype(self.dtype)
