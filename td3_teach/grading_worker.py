"""The processes ``td3-teach grade`` runs a learner's code in.

A fork server (``serve``) imports torch, the checks and nbclient once; every job is a fresh
``fork`` of it, so each submission gets a new process that has never run learner code, without
paying torch's import each time. Two kinds of job:

``execute``
    run the learner's whole notebook, as they would, in a fresh Jupyter kernel (nbclient,
    ``allow_errors``, a per-cell timeout that interrupts the cell and goes on, outputs capped),
    with the guard of ``grading_sandbox`` installed in the kernel by an IPython startup file.
    This gives the notebook's status and the executed copy; it earns no points.

``check``
    the graded run. The instructor's checks are imported and snapshotted (module dicts,
    function code, class dicts of td3_teach, torch, numpy and builtins) before any learner code
    runs; then the program runs cell by cell: the instructor's setup cells (their original text),
    the learner's exercise cells and the cells the learner added, and at each check cell the
    instructor's check, called directly (the learner's ``checks`` name, module or check cell
    text play no part) on seed 0 and the hidden seeds, then the hidden checks of
    ``grading_hidden``. Before and after every call the snapshot is compared: any change is
    "tampered" and no later check counts. Results go, one JSON line each with a per-job token,
    to a file the learner's code cannot open. For the checks of ``grading_judge.REMOTE`` this
    process is only the *probe*: it hands the learner's functions to the judge and answers its
    calls (``ask_judge``); the verdict is the judge's.

``judge``
    ``grading_judge.serve``: the other half of probe-then-judge, forked from a server that never
    runs learner code, outside the sandbox.

With bubblewrap, ``BwrapRunner`` replaces the fork server for ``execute`` and ``check``: each
job is a fresh Python inside its own bubblewrap (``run_one``).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import linecache
import os
import re
import select
import signal
import sys
import time
import traceback
import types
from pathlib import Path
from typing import Any, Callable

from .grading_plan import check_label, step_number
from .grading_reference import ReferenceCode, Watch, check_code_objects, reference
from .grading_sandbox import die_with_parent, install_guard, limit_process, start_time

CHECK_NAME = re.compile(r"[a-z][A-Za-z0-9_]*")  # checks.step08, checks.agent: any public function
LEARNER_FILE = "<learner cell"  # filename prefix of compiled learner code
CALLABLE_MODULES = ("builtins", "torch", "torch.nn", "torch.nn.functional", "torch.nn.init",
                    "torch.autograd", "torch.linalg", "torch.optim", "torch.random", "numpy",
                    "math", "inspect", "linecache", "traceback", "html", "copy", "functools",
                    "operator", "types", "random", "json")
CLASS_ROOTS = ("torch", "numpy", "td3_teach", "inspect")
# caches Python fills in by itself: the warnings registry, copyreg's __slotnames__ (set on a
# class the first time one of its objects is pickled, e.g. by an honest torch.save)
IGNORED_KEYS = frozenset({"__warningregistry__", "__slotnames__"})


# =========================================================================== fork server
def preload() -> None:
    """What every job needs, imported once in the server."""
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    from ipykernel import kernelapp  # noqa: F401
    from IPython.core.inputtransformer2 import TransformerManager  # noqa: F401
    _import_checks()
    _settle_torch()


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
            cls.step = torch.optim.Optimizer.profile_hook_step(step)
            cls.step.hooked = True


def _import_checks() -> dict[str, Callable]:
    """``{"step08": checks.step08, ...}`` with every module of td3_teach the checks and the
    references live in imported, so that the snapshot covers them."""
    import pkgutil

    import td3_teach
    from td3_teach import checks, grading_hidden, steps, update  # noqa: F401
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


def serve() -> None:
    """Read jobs (JSON lines) on stdin, fork one child per job; report ``{"id", "pid"}`` when it
    starts and ``{"id", "exit"}`` when it ends. On end of input, kill what still runs."""
    preload()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    children: dict[int, int] = {}
    buf = b""

    def send(msg: dict) -> None:
        out.write(json.dumps(msg) + "\n")

    while True:
        ready, _, _ = select.select([0], [], [], 0.05)
        if ready:
            chunk = os.read(0, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _child(msg)  # never returns
                children[pid] = msg["id"]
                send({"id": msg["id"], "pid": pid})
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            send({"id": children.pop(pid), "exit": os.waitstatus_to_exitcode(status)})
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def _child(msg: dict) -> None:
    code = 70
    try:
        os.close(0)
        code = JOBS[msg["kind"]](msg["job"]) or 0
    except BaseException:  # the grader's own bug: leave a trace for the instructor
        try:
            Path(msg["job"]["crash_log"]).write_text(traceback.format_exc())
        except Exception:
            pass
    finally:
        os._exit(code)


# =========================================================================== execute (kernel)
class _KernelZygote:
    """A child forked before nbclient runs, that becomes the learner's ipykernel when told its
    connection file: a fresh process that never ran learner code, without re-importing torch.
    ``launch`` stands in for jupyter_client's ``launch_kernel`` and returns a Popen-like handle."""

    def __init__(self) -> None:
        r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(w)
            self._become_kernel(r)
        os.close(r)
        self._w = w
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    @staticmethod
    def _become_kernel(r: int) -> None:
        code = 0
        try:
            os.setsid()
            die_with_parent()
            sys.dont_write_bytecode = True
            msg = b""
            while not msg.endswith(b"\n"):
                chunk = os.read(r, 4096)
                if not chunk:
                    os._exit(0)
                msg += chunk
            job = json.loads(msg)
            os.environ.update(job["env"])
            if job.get("cwd"):
                os.chdir(job["cwd"])
            from ipykernel.kernelapp import IPKernelApp
            app = IPKernelApp.instance()
            app.initialize(["-f", job["connection_file"]])
            app.start()
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)

    def launch(self, cmd: list[str], **kwargs: Any) -> "_KernelZygote":
        env = dict(kwargs.get("env") or {})
        env["JPY_PARENT_PID"] = str(os.getpid())
        msg = {"connection_file": cmd[cmd.index("-f") + 1], "env": env,
               "cwd": str(kwargs.get("cwd") or "")}
        os.write(self._w, (json.dumps(msg) + "\n").encode())
        os.close(self._w)
        return self

    # the part of subprocess.Popen that jupyter_client uses
    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                import subprocess
                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def run_execute(job: dict) -> int:
    """Run the learner's notebook in a fresh kernel; write ``job["result"]`` (JSON) and the
    executed notebook ``job["executed"]``."""
    limit_process(job["memory_mb"])
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.environ.clear()
    os.environ.update(job["env"])
    os.chdir(job["work"])

    import nbformat
    from jupyter_client.provisioning import local_provisioner
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    # The kernel: a fork of this process (torch, ipykernel already imported), made now, before
    # nbclient starts its event loop, and waiting for its connection file.
    zygote = _KernelZygote()
    local_provisioner.launch_kernel = zygote.launch
    t0 = time.monotonic()

    def log(what: str) -> None:
        print(f"[grader {time.monotonic() - t0:6.2f}s] {what}", flush=True)

    result: dict[str, Any] = {"cells": {}, "timeouts": [], "died_at": None, "error": None}
    state = {"current": None}
    budget = {"total": job["max_output_bytes"], "cells": {}}

    class Client(NotebookClient):
        async def async_start_new_kernel(self, **kw: Any) -> None:
            await super().async_start_new_kernel(**kw)
            log("kernel started")
            pid = self.km.provisioner.pid
            Path(job["kernel_pid"]).write_text(f"{pid} {start_time(pid)}")

        async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
            result["timeouts"].append(state["current"])
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs: list, msg: dict, display_id: Any, cell_index: int) -> Any:
            """Keep at most a quarter of --max-output per cell and the whole of it per notebook:
            a cut stream keeps its start, then one line saying it was cut."""
            used = budget["cells"].get(cell_index, 0)
            if used < 0:  # this cell was already cut
                return None
            room = min(budget["total"], job["max_output_bytes"] // 4 - used)
            size = len(json.dumps(msg.get("content", {})))
            if size <= room:
                budget["cells"][cell_index] = used + size
                budget["total"] -= size
                return super().output(outs, msg, display_id, cell_index)
            if msg.get("msg_type") == "stream" and room > 1000:
                cut = dict(msg, content=dict(msg["content"],
                                             text=msg["content"]["text"][: room - 500]))
                super().output(outs, cut, display_id, cell_index)
            budget["cells"][cell_index] = -1
            budget["total"] -= max(0, room)
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr", text="\n[td3-teach grade: output truncated here; the "
                f"grader keeps {job['max_output_bytes'] // 4} bytes per cell]\n"))
            return None

    def on_start(cell: Any, cell_index: int) -> None:
        state["current"] = cell_index
        log(f"cell {cell_index + 1}")

    def on_done(cell: Any, cell_index: int, execute_reply: dict | None) -> None:
        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error":
            result["cells"][cell_index] = {"ename": content.get("ename", ""),
                                          "evalue": str(content.get("evalue", ""))[:500]}

    nb = nbformat.read(job["notebook"], as_version=4)
    nb.metadata["kernelspec"] = {"name": "td3-grade", "display_name": "td3-teach grader",
                                 "language": "python"}
    client = Client(nb, timeout=job["timeout_cell"], kernel_name="td3-grade", allow_errors=True,
                    interrupt_on_timeout=True, startup_timeout=120, shutdown_kernel="immediate",
                    error_on_timeout={"ename": "CellTimeout", "evalue":
                                      f"the cell ran longer than {job['timeout_cell']} s",
                                      "traceback": []},
                    resources={"metadata": {"path": job["work"]}}, record_timing=False,
                    on_cell_start=on_start, on_cell_executed=on_done)
    log("executing")
    try:
        client.execute()
        log("executed")
    except DeadKernelError:
        result["died_at"] = state["current"]
    except MemoryError:
        result["error"] = "MemoryError in the grader's notebook runner (output too large?)"
    except Exception as e:  # kernel failed to start, a timeout nbclient would not interrupt...
        result["error"] = f"{type(e).__name__}: {str(e)[:500]}"
    try:
        nbformat.write(nb, job["executed"])
    except Exception as e:
        result["error"] = result["error"] or f"could not save the executed notebook: {e}"
    Path(job["result"]).write_text(json.dumps(result))
    log("saved")
    return 0


# =========================================================================== check (graded)
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
        for c in (torch.Tensor, getattr(torch._C, "TensorBase", None),
                  getattr(torch._C, "_TensorBase", None), torch.nn.Parameter, torch.nn.Module):
            if c is not None:
                self.classes.setdefault(c, dict(vars(c)))
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
        parts = [f.__code__, f.__defaults__, f.__kwdefaults__, f.__globals__]
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


class _CellTimeout(BaseException):
    """Raised by SIGALRM in the graded run: a cell or a check call ran past --timeout-cell."""


class _Shell:
    """Enough of ``get_ipython()`` for learner cells with magics: shell commands and line magics
    are skipped in the graded run; ``%%time``-like cell magics run their body."""

    RUN_BODY = {"time", "timeit", "capture", "prun"}

    def __init__(self, ns: dict) -> None:
        self.user_ns = ns

    def run_line_magic(self, name: str, line: str = "", *a: Any, **k: Any) -> None:
        """``%run [-i] file.py [args]`` runs the learner's file (their code, as a cell of theirs
        would); every other line magic is skipped."""
        if name != "run":
            return None
        import shlex
        words = shlex.split(line)
        shared = "-i" in words
        files = [w for w in words if not w.startswith("-")]
        if not files:
            return None
        path = files[0] if files[0].endswith((".py", ".ipy")) or os.path.exists(files[0]) \
            else files[0] + ".py"
        with open(path, encoding="utf-8") as f:
            src = f.read()
        name_ = f"{LEARNER_FILE} %run {path}>"
        linecache.cache[name_] = (len(src), None, src.splitlines(True), name_)
        code = compile(src, name_, "exec")
        if shared:
            exec(code, self.user_ns)
        else:  # like IPython: a fresh namespace, then its names join the notebook's
            ns = {"__name__": "__main__", "__file__": path, "__builtins__": builtins}
            old_argv = sys.argv
            sys.argv = [path] + files[1:]
            try:
                exec(code, ns)
            finally:
                sys.argv = old_argv
            self.user_ns.update({k: v for k, v in ns.items() if k != "__builtins__"})
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        if name in self.RUN_BODY:
            exec(compile(cell, "<learner cell magic>", "exec"), self.user_ns)

    def system(self, *a: Any, **k: Any) -> None:
        return None

    def getoutput(self, *a: Any, **k: Any) -> list:
        return []

    run_cell = system


class _RouteChecks(ast.NodeTransformer):
    """``checks.step08(fn)`` / ``step08(fn)`` -> ``__td3_grade__("step08", fn)`` for the check
    names given (an instructor's check cell), or -> ``__td3_skip__(...)`` (returns None) in a
    learner's cell: the grader runs its own checks at the check cells, and the rest of a learner
    cell that also calls a check runs as written."""

    def __init__(self, names: set[str], target: str = "__td3_grade__") -> None:
        self.names, self.target = names, target

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
                and f.value.id == "checks":
            name = f.attr
        elif isinstance(f, ast.Name):
            name = f.id
        else:
            return node
        if name in self.names:
            return ast.copy_location(ast.Call(func=ast.Name(self.target, ast.Load()),
                                              args=[ast.Constant(name), *node.args],
                                              keywords=node.keywords), node)
        return node


def run_checks(job: dict) -> int:
    """The graded run; see the module docstring."""
    limit_process(job["memory_mb"])
    sys.dont_write_bytecode = True
    fd = os.open(job["result"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    token = job["token"]
    dumps, write = json.dumps, os.write  # taken before learner code could replace them

    def emit(msg: dict) -> None:
        msg["token"] = token
        write(fd, (dumps(msg, default=str) + "\n").encode())

    checks = _import_checks()
    _settle_torch()
    from IPython.core.inputtransformer2 import TransformerManager

    from td3_teach import grading_hidden
    from td3_teach.checks import CheckFailed, CheckPassed

    hidden = {k: list(v) for k, v in grading_hidden.HIDDEN.items()}
    check_codes, learner_entry = check_code_objects()
    snapshot = Snapshot()
    transform = TransformerManager().transform_cell

    # the learner's world: clean environment, own folder, output to nowhere
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")
    os.environ.clear()
    os.environ.update(job["env"])
    os.chdir(job["work"])
    sys.path[:] = [p for p in sys.path if p not in ("", ".")] + [job["work"]]
    ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    main = types.ModuleType("__main__")
    main.__dict__.update(ns)
    ns = main.__dict__
    sys.modules["__main__"] = main
    ns["get_ipython"] = lambda: _Shell(ns)
    ns["display"] = lambda *a, **k: None
    ns["__td3_skip__"] = lambda *a, **k: None  # a learner cell's own check calls
    link = None
    if job.get("judge"):  # opened before any learner code runs (the judge waits on the other end)
        from .grading_judge import Link
        link = Link(job["judge"]["from_judge"], job["judge"]["to_judge"], reader_first=False)
    tracing = install_guard(job["guard"]["writable"], job["guard"]["unreadable"],
                            lambda v: emit({"type": "violation", **v}), strict=True)
    state = {"tampered": False}

    def on_alarm(signum: int, frame: Any) -> None:
        raise _CellTimeout()

    signal.signal(signal.SIGALRM, on_alarm)

    def timed(fn: Callable, *a: Any, **k: Any) -> Any:
        signal.setitimer(signal.ITIMER_REAL, job["timeout_cell"])
        try:
            return fn(*a, **k)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def check_integrity() -> bool:
        if state["tampered"]:
            return False
        changed = snapshot.changes()
        if changed:
            state["tampered"] = True
            emit({"type": "tampered", "what": changed})
            return False
        return True

    def run_cell(item: dict) -> None:
        learner = item["origin"] == "learner"
        src = item["source"]
        name = f"{LEARNER_FILE} {item['cell']}>" if learner else f"<instructor cell {item['cell']}>"
        try:
            if learner:
                src = transform(src)
                tree = _RouteChecks(set(checks), "__td3_skip__").visit(ast.parse(src))
                code = compile(ast.fix_missing_locations(tree), name, "exec")
            else:
                code = compile(src, name, "exec")
        except (SyntaxError, ValueError) as e:  # ValueError: a null byte in the source
            emit({"type": "cell", **_where(item), "error": f"SyntaxError: "
                  f"{getattr(e, 'msg', e)} (line {getattr(e, 'lineno', '?')})", "syntax": True})
            return
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        try:
            timed(exec, code, ns)
        except _CellTimeout:
            emit({"type": "cell", **_where(item), "error": "the cell ran longer than "
                  f"{job['timeout_cell']} s", "timeout": True})
        except BaseException as e:  # noqa: BLE001 - anything the learner's code raises
            emit({"type": "cell", **_where(item), "error": _describe(e)})

    def attempt(name: str, label: str, fn: Callable, args: tuple, kwargs: dict,
                ref: ReferenceCode | None) -> str | None:
        """Run one check call; None when it passed, else the message for the learner."""
        title = check_label(name)
        if not check_integrity():
            return "Not graded: the grader's checks or torch were modified before this check ran."
        snapshot.normalise()
        watch = Watch(ref, check_codes, learner_entry) if ref is not None else None
        verdict: str | None = None
        if watch is not None:
            tracing(True)
            watch.start(sys.setprofile)
            tracing(False)
        try:
            out = timed(fn, *args, **kwargs)
            if label == "visible" and not isinstance(out, CheckPassed):
                verdict = "The check did not confirm your code."
        except CheckFailed as e:
            verdict = e.text()
        except _CellTimeout:
            verdict = (f"{title}: your code ran longer than {job['timeout_cell']} s on the "
                       "check's input (an endless loop?).")
        except BaseException as e:  # noqa: BLE001
            verdict = f"{title}: the check could not run your code: {_describe(e)}"
        finally:
            if watch is not None:
                tracing(True)
                watch.stop(sys.setprofile)
                tracing(False)
        if not check_integrity():
            return "Not graded: the grader's checks or torch were modified while this check ran."
        if watch is not None and watch.hits:
            verdict = (f"{title} ✗ uses the package's reference: td3_teach's own "
                       f"`{watch.hits[0]}` did the step's work while the check ran your code."
                       "\nHint: the exercise is to write it yourself; the package's version is "
                       "there for the later notebooks.")
        return verdict

    def ask_judge(name: str, args: tuple, kwargs: dict, cell: int,
                  ref: ReferenceCode | None) -> None:
        """Probe, then judge (grading_judge): hand the check's arguments over and answer the
        judge's calls until it has its verdict. The verdict never comes back here."""
        import torch

        from .grading_judge import Unpackable, answer, describe, pack
        if not check_integrity():
            emit({"type": "step", "check": name, "passed": False, "message": "Not graded: the "
                  "grader's checks or torch were modified before this check ran."})
            return
        objs: dict[int, Any] = {}
        handles: dict[int, dict] = {}

        def wire(x: Any) -> Any:
            if callable(x) and not isinstance(x, (torch.Tensor, type)):
                objs[len(objs) + 1] = x
                handles[len(objs)] = describe(x)
                return {"__handle__": len(objs)}
            return pack(x)
        try:
            msg = {"type": "judge", "check": name, "cell": cell,
                   "args": [wire(a) for a in args],
                   "kwargs": {k: wire(v) for k, v in kwargs.items() if k != "seed"}}
        except Unpackable as e:
            emit({"type": "step", "check": name, "passed": False, "message":
                  f"{check_label(name)}: the check's arguments include {e}, which the grader "
                  "cannot hand to its judge. Pass what the check cell passes."})
            return
        msg["handles"] = handles
        link.send(msg)
        while True:
            req = link.recv(None)
            if req is None or req.get("type") == "judged":
                return
            if req.get("type") != "call":
                continue
            fn = objs.get(int(req.get("handle", 0)))
            watch = Watch(ref, check_codes, learner_entry) if ref is not None else None

            def invoke(fn: Callable, a: list, kw: dict) -> dict:
                if watch is not None:
                    tracing(True)
                    watch.start(sys.setprofile)
                    tracing(False)
                try:
                    return {"type": "return", "value": timed(fn, *a, **kw)}
                except _CellTimeout:
                    return {"type": "timeout"}
                except BaseException as e:  # noqa: BLE001 - the learner's exception, described
                    return _raised(e)
                finally:
                    if watch is not None:
                        tracing(True)
                        watch.stop(sys.setprofile)
                        tracing(False)
            reply = answer(req, fn, invoke, snapshot.normalise)
            reply["hits"] = watch.hits if watch is not None else []
            link.send(reply)

    def grade(name: str, *args: Any, **kwargs: Any) -> None:
        step = step_number(name)
        key = step if step is not None else name
        ref = ReferenceCode(key) if reference(key) is not None else None
        for a in list(args) + list(kwargs.values()):
            given = ref.handed_over(a) if ref is not None else None
            if given:
                emit({"type": "step", "check": name, "passed": False, "message":
                      f"{check_label(name)} ✗ is the package's own reference (td3_teach.{given}), "
                      "not your code."})
                return
        if link is not None and name in job["judge"]["remote"]:
            return ask_judge(name, args, kwargs, current["cell"], ref)
        check = checks.get(name)
        if check is None:
            emit({"type": "step", "check": name, "passed": False, "grader_error": True,
                  "message": f"td3_teach.checks has no {name}: the grader cannot grade it."})
            return
        kwargs.pop("seed", None)
        try:
            takes_seed = "seed" in inspect.signature(check).parameters
        except (TypeError, ValueError):
            takes_seed = False
        runs: list[tuple[str, Callable, dict]] = []
        for s in ([0] + [x for x in job["seeds"] if x != 0]) if takes_seed else [None]:
            extra = {} if s is None else {"seed": s}
            runs.append(("visible" if not s else f"hidden test, seed {s}", check,
                         {**kwargs, **extra}))
        for h in hidden.get(step if step is not None else name, []):
            runs.append((f"hidden test, {h.__name__}", h, dict(kwargs)))
        for label, fn, kw in runs:
            # A named check (the whole agent) runs the package's update beside the learner's
            # class; the watch tells the check's own calls from the learner's by the caller.
            verdict = attempt(name, "visible" if fn is check else label, fn, args, kw, ref)
            if verdict is not None:
                emit({"type": "step", "check": name, "passed": False, "which": label,
                      "message": verdict, "tampered": state["tampered"]})
                return
        emit({"type": "step", "check": name, "passed": True, "which": "all",
              "message": f"{len(runs)} checks passed"})

    current = {"cell": 0}
    for item in job["program"]:
        current["cell"] = item["cell"]
        if item["kind"] in ("setup", "exercise", "extra"):
            run_cell(item)
        elif item["kind"] == "missing":
            emit({"type": "missing", **item})
        elif item["kind"] == "check":
            tree = _RouteChecks(set(item["steps"])).visit(ast.parse(item["source"]))
            code = compile(ast.fix_missing_locations(tree), f"<instructor check {item['cell']}>",
                           "exec")
            ns["__td3_grade__"] = grade
            try:
                exec(code, ns)
            except BaseException as e:  # noqa: BLE001 - e.g. the exercise's name is undefined
                emit({"type": "check_error", "cell": item["cell"], "steps": item["steps"],
                      "error": _describe(e)})
            finally:  # later learner cells get no handle on the grader
                ns.pop("__td3_grade__", None)
    emit({"type": "done"})
    return 0


def _raised(e: BaseException) -> dict:
    """What the judge needs to raise the learner's exception again on its side."""
    reply: dict[str, Any] = {"type": "raise", "ename": type(e).__name__,
                             "not_implemented": isinstance(e, NotImplementedError),
                             "message": str(e)[:500]}
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith(LEARNER_FILE):
            reply.update(file=frame.filename, line=frame.lineno, text=(frame.line or "")[:300])
            break
    return reply


def _where(item: dict) -> dict:
    return {"cell": item["cell"], "origin": item["origin"], "kind": item["kind"]}


def _describe(e: BaseException) -> str:
    """``NameError: name 'x' is not defined (line 3 of your cell 4)``: the exception and where in
    the learner's code it came from."""
    text = f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith(LEARNER_FILE):
            cell = frame.filename[len(LEARNER_FILE):].strip(" >")
            return f"{text} (line {frame.lineno} of your cell {cell})"
    return text


def _run_judge(job: dict) -> int:
    from .grading_judge import run_judge
    return run_judge(job)


JOBS: dict[str, Callable[[dict], int]] = {"execute": run_execute, "check": run_checks,
                                          "judge": _run_judge}


# =========================================================================== parent side
class ForkServer:
    """The grader's handle on ``serve``: ``submit(kind, job)`` forks a job and returns a
    ``Job`` to wait on or kill. Thread-safe; one server per grading run."""

    def __init__(self, env: dict[str, str]) -> None:
        import subprocess
        import threading

        package_parent = str(Path(__file__).resolve().parents[1])
        code = (f"import sys; sys.path.insert(0, {package_parent!r}); "
                "from td3_teach.grading_worker import serve; serve()")
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", code], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self._lock = threading.Lock()
        self._jobs: dict[int, Job] = {}
        self._next = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            msg = json.loads(line)
            job = self._jobs.get(msg["id"])
            if job is None:
                continue
            if "pid" in msg:
                job.pid = msg["pid"]
                job.started.set()
            if "exit" in msg:
                job.exit = msg["exit"]
                job.done.set()
        for job in list(self._jobs.values()):  # the server died: nothing more will come
            job.started.set()
            job.done.set()

    isolated = False  # jobs share the host's namespaces (see BwrapRunner)

    def submit(self, kind: str, job: dict, walls: list[str] | None = None) -> "Job":
        with self._lock:
            self._next += 1
            handle = Job()
            self._jobs[self._next] = handle
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"id": self._next, "kind": kind, "job": job})
                                   + "\n").encode())
            self.proc.stdin.flush()
        return handle

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()


class Job:
    """One forked job: ``wait(seconds)`` -> exit code or None if still running; ``kill()``."""

    def __init__(self) -> None:
        import threading
        self.started, self.done = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.exit: int | None = None

    def wait(self, timeout: float) -> int | None:
        t0 = time.monotonic()
        self.started.wait(timeout)
        self.done.wait(max(0.0, timeout - (time.monotonic() - t0)))
        return self.exit if self.done.is_set() else None

    def kill(self) -> None:
        if self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass


# =========================================================================== bubblewrap
def run_one() -> None:
    """Inside bubblewrap (``BwrapRunner``): read one job (JSON) on stdin, fill the sandbox's
    tmpfs from its read-only copy, run the job, exit."""
    from .grading_sandbox import fill_box

    msg = json.loads(sys.stdin.buffer.read())
    try:
        if msg.get("fill_box"):
            fill_box(msg["fill_box"])
    except BaseException:
        Path(msg["job"]["crash_log"]).write_text(traceback.format_exc())
        os._exit(71)
    _child(msg)


class BwrapRunner:
    """``ForkServer``'s stand-in when bubblewrap works: every job is a fresh Python inside its
    own bubblewrap (``grading_sandbox.bwrap_command``). Slower to start (torch is imported per
    job) but nothing a learner starts survives the job, and nothing outside it is visible."""

    isolated = True

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._procs: list = []

    def submit(self, kind: str, job: dict, walls: list[str] | None = None) -> "PopenJob":
        import subprocess

        assert walls, "BwrapRunner needs the job's bubblewrap command"
        package_parent = str(Path(__file__).resolve().parents[1])
        code = (f"import sys; sys.path.insert(0, {package_parent!r}); "
                "from td3_teach.grading_worker import run_one; run_one()")
        root = walls[walls.index("--chdir") + 1]
        proc = subprocess.Popen(walls + ["--", sys.executable, "-I", "-c", code],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=self.env, start_new_session=True)
        self._procs.append(proc)
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"id": 0, "kind": kind, "job": job,
                                         "fill_box": root}).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        return PopenJob(proc)

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                PopenJob(proc).kill()
                proc.wait()


class PopenJob:
    """``Job`` for one bubblewrap process: killing it kills everything in its PID namespace."""

    def __init__(self, proc) -> None:
        self.proc = proc

    def wait(self, timeout: float) -> int | None:
        import subprocess
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
