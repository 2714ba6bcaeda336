"""Carry a learner's agent class from notebook 16 to notebooks 18-19: a small Python file.

``save_agent_class(MyTD3, "my_td3.py")`` runs ``checks.agent(MyTD3)`` and, only if it passes,
writes the class's source to the file, with what it uses from the notebook: imports, simple
values such as ``device``, and helper functions or classes defined there (your step functions,
say). ``load_agent_class("my_td3.py")`` imports it again in another notebook.

Why a file and not pickling: a pickled class is only a reference to a module the other kernel
does not have; the source is readable, survives kernel restarts, and is what passed the check.
"""

from __future__ import annotations

import ast
import dis
import importlib.util
import inspect
import linecache
import os
import sys
import types
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write_text
from .errors import TD3TeachError

HEADER = ('"""Written by td3_teach.my_agent.save_agent_class from your notebook, after '
          'checks.agent passed.\n\nEdit the class in notebook 16, check it, and save it again '
          'rather than editing this file."""\n\nfrom __future__ import annotations\n')


MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")  # the course's exercise markers


class AgentFileError(TD3TeachError, RuntimeError):
    """The agent's class cannot be written to, or read from, its file."""


def _source_of(obj: Any) -> str:
    """The source of a class or function, also when it was defined in a notebook cell (IPython
    keeps each cell's text in linecache; ``inspect.getsource`` of a class cannot find it)."""
    codes = [obj.__code__] if hasattr(obj, "__code__") else \
        [f.__code__ for f in vars(obj).values() if hasattr(f, "__code__")]
    codes += [f.__func__.__code__ for f in vars(obj).values()
              if isinstance(f, (staticmethod, classmethod))] if inspect.isclass(obj) else []
    if not codes:
        raise AgentFileError(f"{obj.__name__} has no methods of its own; nothing to save.")
    code = codes[0]
    lines = linecache.getlines(code.co_filename)
    if not lines:
        raise AgentFileError(f"The source of {obj.__name__} cannot be found (it came from "
                             f"{code.co_filename}). Run its cell again, then this one.")
    tree = ast.parse("".join(lines))
    kind = ast.ClassDef if inspect.isclass(obj) else (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in ast.walk(tree):
        if isinstance(node, kind) and node.name == obj.__name__ \
                and node.lineno <= code.co_firstlineno <= node.end_lineno:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "".join(line for line in lines[start - 1:node.end_lineno]
                           if line.strip() not in MARKERS)
    raise AgentFileError(f"The definition of {obj.__name__} was not found in its cell. Run its "
                         "cell again, then this one.")


def _global_names(obj: Any) -> list[str]:
    """Global names the object's functions load (nested code included), in order."""
    funcs = [obj] if hasattr(obj, "__code__") else \
        [getattr(f, "__func__", f) for f in vars(obj).values()
         if hasattr(getattr(f, "__func__", f), "__code__")]
    out: list[str] = []
    stack = [f.__code__ for f in funcs]
    while stack:
        c = stack.pop()
        out += [i.argval for i in dis.get_instructions(c)
                if i.opname in ("LOAD_GLOBAL", "LOAD_NAME") and i.argval not in out]
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    if inspect.isclass(obj):  # base classes and decorators are names too
        out += [b.__name__ for b in obj.__bases__ if b is not object and b.__name__ not in out]
    return out


def _namespace(obj: Any) -> dict:
    funcs = [obj] if hasattr(obj, "__globals__") else \
        [getattr(f, "__func__", f) for f in vars(obj).values()
         if hasattr(getattr(f, "__func__", f), "__globals__")]
    return funcs[0].__globals__ if funcs else {}


def module_text(cls: type) -> str:
    """The text of a module that defines ``cls`` as the notebook did."""
    imports: list[str] = []
    values: list[str] = []
    defs: list[str] = []
    done: set[str] = set()

    def need(obj: Any) -> None:
        ns = _namespace(obj)
        for name in _global_names(obj):
            if name in done or name not in ns or name == obj.__name__:
                continue
            done.add(name)
            value = ns[name]
            if isinstance(value, types.ModuleType):
                mod = value.__name__
                imports.append(f"import {mod}" if mod == name else f"import {mod} as {name}")
            elif isinstance(value, torch.device):
                imports.append("import torch")
                values.append(f"{name} = torch.device({str(value)!r})")
            elif isinstance(value, (bool, int, float, str, type(None))):
                values.append(f"{name} = {value!r}")
            elif (inspect.isclass(value) or inspect.isfunction(value)) \
                    and getattr(value, "__module__", "") not in ("__main__", "__exercise__", None) \
                    and getattr(value, "__module__", "") == _module_of(value):
                imports.append(f"from {value.__module__} import {value.__qualname__}"
                               + ("" if value.__qualname__ == name else f" as {name}"))
            elif inspect.isclass(value) or inspect.isfunction(value):
                need(value)
                defs.append(_source_of(value))
            else:
                raise AgentFileError(f"{cls.__name__} uses `{name}`, a {type(value).__name__} "
                                     "from the notebook that cannot be written to a file. Build "
                                     "it inside the class (in __init__) instead.")

    need(cls)
    body = [HEADER, *dict.fromkeys(i for i in imports if i), "", *values, "", *defs,
            _source_of(cls), f"\nAGENT_CLASS = {cls.__name__}\n"]
    return "\n".join(body).replace("\n\n\n\n", "\n\n\n")


def _module_of(value: Any) -> str:
    mod = sys.modules.get(getattr(value, "__module__", ""), None)
    return value.__module__ if mod is not None and getattr(mod, value.__name__, None) is value \
        else ""


class Saved(str):
    """The path written, shown as one line in a notebook."""

    cls_name = ""  # the class saved

    def __repr__(self) -> str:
        return f"✓ saved {self.cls_name} to {str(self)} (it passed checks.agent)"


def save_agent_class(cls: type, path: str | os.PathLike = "my_td3.py", check: bool = True) -> Saved:
    """Run ``checks.agent(cls)`` (unless ``check=False``); if it passes, write the class to
    ``path`` (see the module docstring). Raises the check's failure, and writes nothing, if not."""
    if check:
        from .checks import agent as check_agent
        check_agent(cls)
    text = module_text(cls)
    compile(text, str(path), "exec")  # a file that cannot be imported is never written
    path = atomic_write_text(text, path)
    out = Saved(str(path))
    out.cls_name = cls.__name__
    return out


def load_agent_class(path: str | os.PathLike = "my_td3.py", fallback: type | None = None) -> type:
    """The agent class saved by ``save_agent_class``. If the file does not exist: ``fallback``
    with a printed warning when one is given, else an AgentFileError saying what to do."""
    path = Path(path)
    if not path.is_file():
        msg = (f"No {path} here: notebook 16's last cell writes it once your agent passes "
               "checks.agent.")
        if fallback is None:
            raise AgentFileError(msg + " Run notebook 16 to the end first.")
        print(f"⚠ {msg} Using {fallback.__module__}.{fallback.__qualname__} instead, for now.")
        return fallback
    spec = importlib.util.spec_from_file_location(f"_td3_teach_agent_{abs(hash(path.resolve()))}",
                                                  path)
    if spec is None or spec.loader is None:  # a name Python would not import
        raise AgentFileError(f"{path} cannot be imported as a Python file. Save it again from "
                             "notebook 16 (the file name should end in .py).")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # noqa: BLE001 - a file edited by hand, say
        raise AgentFileError(f"{path} cannot be imported ({type(e).__name__}: {e}). Save it "
                             "again from notebook 16.") from None
    cls = getattr(module, "AGENT_CLASS", None)
    if cls is None:
        raise AgentFileError(f"{path} has no AGENT_CLASS; it was not written by "
                             "save_agent_class. Save it again from notebook 16.")
    return cls
