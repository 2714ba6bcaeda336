"""The graded run (the job kind "check"), inside the sandbox: the probe.

The instructor's checks are imported and snapshotted (``snapshot``: module dicts, function
code, class dicts of td3_teach, torch, numpy and builtins) before any learner code runs; then
the program (``plan.build_program``) runs cell by cell: the instructor's setup cells (their
original text), the learner's exercise cells and the cells the learner added, and at each check
cell the instructor's check, called directly (the learner's ``checks`` name, module or check
cell text play no part) on seed 0 and the hidden seeds, then the hidden checks of ``hidden``.
Before and after every call the snapshot is compared: any change is "tampered" and no later
check counts. Results go, one JSON line each with a per-job token, to a file the learner's code
cannot open. For the checks of ``judge.REMOTE`` this process is only the *probe*: it hands the
learner's functions to the judge and answers its calls (``GradedRun.ask_judge``); the verdict
is the judge's.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import linecache
import os
import signal
import sys
import traceback
import types
from typing import Any, Callable

from .guard import install_guard
from .messages import (CellError, CheckError, CheckJob, Done, Missing, Record, Step, Tampered,
                       Violation, to_wire)
from .plan import check_label, step_number
from .reference import ReferenceCode, Watch, check_code_objects, reference
from .sandbox import limit_process
from .snapshot import Snapshot, _import_checks, _settle_torch

LEARNER_FILE = "<learner cell"  # filename prefix of compiled learner code


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


class GradedRun:
    """One graded run (``run_checks``): the learner's world set up, then the program run cell by
    cell, the instructor's checks called at the check cells. Its pieces, in the order they run:
    ``__init__`` (checks imported and snapshotted, then the learner's namespace, the guard and
    the link to the judge), ``run`` (the program), ``run_cell`` (one cell), ``run_check_cell``
    (an instructor's check cell, its check calls routed to ``grade``), ``grade`` (one check call:
    here, ``attempt`` per seed and hidden check, or ``ask_judge``)."""

    def __init__(self, job: CheckJob) -> None:
        self.job = job
        self.fd = os.open(job.result, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.token = job.token
        # taken before learner code could replace them
        self.dumps, self.write, self.to_wire = json.dumps, os.write, to_wire
        self.checks = _import_checks()
        _settle_torch()
        from IPython.core.inputtransformer2 import TransformerManager

        from ..checks import CheckFailed, CheckPassed
        from . import hidden as grading_hidden
        self.failed, self.passed = CheckFailed, CheckPassed
        self.hidden = {k: list(v) for k, v in grading_hidden.HIDDEN.items()}
        self.check_codes, self.learner_entry = check_code_objects()
        self.snapshot = Snapshot()
        self.transform = TransformerManager().transform_cell
        self.ns = self._learner_world()
        self.link = None
        if job.judge is not None:  # opened before any learner code runs (the judge waits on the other end)
            from .judge import Link
            self.link = Link(job.judge.from_judge, job.judge.to_judge, reader_first=False)
        self.tracing = install_guard(job.writable, job.unreadable,
                                     lambda v: self.emit(Violation(v["kind"], v["what"])), strict=True)
        self.tampered = False
        self.cell = 0
        signal.signal(signal.SIGALRM, _on_alarm)

    def _learner_world(self) -> dict[str, Any]:
        """The learner's world: clean environment, own folder, output to nowhere, a fresh
        ``__main__`` whose namespace the cells run in."""
        job = self.job
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        sys.stdout = sys.stderr = open(os.devnull, "w")
        os.environ.clear()
        os.environ.update(job.env)
        os.chdir(job.work)
        sys.path[:] = [p for p in sys.path if p not in ("", ".")] + [job.work]
        main = types.ModuleType("__main__")
        main.__dict__.update({"__name__": "__main__", "__builtins__": builtins})
        ns = main.__dict__
        sys.modules["__main__"] = main
        ns["get_ipython"] = lambda: _Shell(ns)
        ns["display"] = lambda *a, **k: None
        ns["__td3_skip__"] = lambda *a, **k: None  # a learner cell's own check calls
        return ns

    # ----------------------------------------------------------------------- bookkeeping
    def emit(self, record: Record) -> None:
        """One record (``messages``) for the grader, with this run's token."""
        msg = self.to_wire(record)
        msg["token"] = self.token
        self.write(self.fd, (self.dumps(msg, default=str) + "\n").encode())

    def timed(self, fn: Callable, *a: Any, **k: Any) -> Any:
        signal.setitimer(signal.ITIMER_REAL, self.job.timeout_cell)
        try:
            return fn(*a, **k)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def check_integrity(self) -> bool:
        if self.tampered:
            return False
        changed = self.snapshot.changes()
        if changed:
            self.tampered = True
            self.emit(Tampered(changed))
            return False
        return True

    def watch(self, ref: ReferenceCode | None) -> Watch | None:
        return Watch(ref, self.check_codes, self.learner_entry) if ref is not None else None

    def watching(self, watch: Watch | None, on: bool) -> None:
        """Start or stop the reference-use watch (its profile hook: the guard lets only the
        grader set one)."""
        if watch is None:
            return
        self.tracing(True)
        if on:
            watch.start(sys.setprofile)
        else:
            watch.stop(sys.setprofile)
        self.tracing(False)

    # ----------------------------------------------------------------------- the program
    def run(self) -> int:
        for item in self.job.program:
            self.cell = item["cell"]
            if item["kind"] in ("setup", "exercise", "extra"):
                self.run_cell(item)
            elif item["kind"] == "missing":
                self.emit(Missing(item["cell"], list(item.get("names", []))))
            elif item["kind"] == "check":
                self.run_check_cell(item)
        self.emit(Done())
        return 0

    def run_cell(self, item: dict) -> None:
        learner = item["origin"] == "learner"
        src = item["source"]
        name = f"{LEARNER_FILE} {item['cell']}>" if learner else f"<instructor cell {item['cell']}>"
        try:
            if learner:
                src = self.transform(src)
                tree = _RouteChecks(set(self.checks), "__td3_skip__").visit(ast.parse(src))
                code = compile(ast.fix_missing_locations(tree), name, "exec")
            else:
                code = compile(src, name, "exec")
        except (SyntaxError, ValueError) as e:  # ValueError: a null byte in the source
            self.emit(CellError(**_where(item), error=f"SyntaxError: "
                                f"{getattr(e, 'msg', e)} (line {getattr(e, 'lineno', '?')})", syntax=True))
            return
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        try:
            self.timed(exec, code, self.ns)
        except _CellTimeout:
            self.emit(CellError(**_where(item), error="the cell ran longer than "
                                f"{self.job.timeout_cell} s", timeout=True))
        except BaseException as e:  # noqa: BLE001 - anything the learner's code raises
            self.emit(CellError(**_where(item), error=_describe(e)))

    def run_check_cell(self, item: dict) -> None:
        """The instructor's check cell, its check calls routed to ``grade``."""
        tree = _RouteChecks(set(item["steps"])).visit(ast.parse(item["source"]))
        code = compile(ast.fix_missing_locations(tree), f"<instructor check {item['cell']}>", "exec")
        self.ns["__td3_grade__"] = self.grade
        try:
            exec(code, self.ns)
        except BaseException as e:  # noqa: BLE001 - e.g. the exercise's name is undefined
            self.emit(CheckError(item["cell"], list(item["steps"]), _describe(e)))
        finally:  # later learner cells get no handle on the grader
            self.ns.pop("__td3_grade__", None)

    # ----------------------------------------------------------------------- one check call
    def grade(self, name: str, *args: Any, **kwargs: Any) -> None:
        step = step_number(name)
        key = step if step is not None else name
        ref = ReferenceCode(key) if reference(key) is not None else None
        for a in list(args) + list(kwargs.values()):
            given = ref.handed_over(a) if ref is not None else None
            if given:
                self.emit(Step(name, False, f"{check_label(name)} ✗ is the package's own reference "
                               f"(td3_teach.{given}), not your code."))
                return
        if self.link is not None and self.job.judge is not None and name in self.job.judge.remote:
            return self.ask_judge(name, args, kwargs, self.cell, ref)
        check = self.checks.get(name)
        if check is None:
            self.emit(Step(name, False, f"td3_teach.checks has no {name}: the grader cannot grade "
                           "it.", grader_error=True))
            return
        kwargs.pop("seed", None)
        runs = self.runs(check, key, kwargs)
        for label, fn, kw in runs:
            # A named check (the whole agent) runs the package's update beside the learner's
            # class; the watch tells the check's own calls from the learner's by the caller.
            verdict = self.attempt(name, "visible" if fn is check else label, fn, args, kw, ref)
            if verdict is not None:
                self.emit(Step(name, False, verdict, which=label, tampered=self.tampered))
                return
        self.emit(Step(name, True, f"{len(runs)} checks passed", which="all"))

    def runs(self, check: Callable, key: int | str, kwargs: dict) -> list[tuple[str, Callable, dict]]:
        """Every run of one check here: seed 0, the hidden seeds (for a check that takes a
        seed), then the hidden checks of ``key``."""
        try:
            takes_seed = "seed" in inspect.signature(check).parameters
        except (TypeError, ValueError):
            takes_seed = False
        runs: list[tuple[str, Callable, dict]] = []
        for s in ([0] + [x for x in self.job.seeds if x != 0]) if takes_seed else [None]:
            extra = {} if s is None else {"seed": s}
            runs.append(("visible" if not s else f"hidden test, seed {s}", check,
                         {**kwargs, **extra}))
        for h in self.hidden.get(key, []):
            runs.append((f"hidden test, {h.__name__}", h, dict(kwargs)))
        return runs

    def attempt(self, name: str, label: str, fn: Callable, args: tuple, kwargs: dict,
                ref: ReferenceCode | None) -> str | None:
        """Run one check call; None when it passed, else the message for the learner."""
        title = check_label(name)
        if not self.check_integrity():
            return "Not graded: the grader's checks or torch were modified before this check ran."
        self.snapshot.normalise()
        watch = self.watch(ref)
        verdict: str | None = None
        self.watching(watch, True)
        try:
            out = self.timed(fn, *args, **kwargs)
            if label == "visible" and not isinstance(out, self.passed):
                verdict = "The check did not confirm your code."
        except self.failed as e:
            verdict = e.text()
        except _CellTimeout:
            verdict = (f"{title}: your code ran longer than {self.job.timeout_cell} s on the "
                       "check's input (an endless loop?).")
        except BaseException as e:  # noqa: BLE001
            verdict = f"{title}: the check could not run your code: {_describe(e)}"
        finally:
            self.watching(watch, False)
        if not self.check_integrity():
            return "Not graded: the grader's checks or torch were modified while this check ran."
        if watch is not None and watch.hits:
            verdict = (f"{title} ✗ uses the package's reference: td3_teach's own "
                       f"`{watch.hits[0]}` did the step's work while the check ran your code."
                       "\nHint: the exercise is to write it yourself; the package's version is "
                       "there for the later notebooks.")
        return verdict

    def ask_judge(self, name: str, args: tuple, kwargs: dict, cell: int,
                  ref: ReferenceCode | None) -> None:
        """Probe, then judge (``judge``): hand the check's arguments over and answer the
        judge's calls until it has its verdict. The verdict never comes back here."""
        import torch

        from .wire import Handles, Unpackable, answer, describe, pack
        if not self.check_integrity():
            self.emit(Step(name, False, "Not graded: the grader's checks or torch were modified "
                           "before this check ran."))
            return
        from .judge import AGENT_CHECKS
        objs = Handles()  # the learner's functions, classes and objects, by handle
        handles: dict[int, dict] = {}
        agent_probe = None

        def wire(x: Any) -> Any:
            """A learner's function, class or object (anything that is not data) crosses as a
            handle; data is packed."""
            if not callable(x) or isinstance(x, torch.Tensor):
                try:
                    return pack(x)
                except Unpackable:
                    if isinstance(x, torch.Tensor):
                        raise
            h = objs.add(x)
            handles[h] = describe(x)
            return {"__handle__": h}
        try:
            if name in AGENT_CHECKS:  # the learner's classes stay here; the judge asks AgentProbe
                from ..checks._agent_probe import AgentProbe
                agent_probe = AgentProbe(*args[:2])
                msg = {"type": "judge", "check": name, "cell": cell, "args": [], "kwargs": {}}
            else:
                msg = {"type": "judge", "check": name, "cell": cell,
                       "args": [wire(a) for a in args],
                       "kwargs": {k: wire(v) for k, v in kwargs.items() if k != "seed"}}
        except Unpackable as e:
            self.emit(Step(name, False, f"{check_label(name)}: the check's arguments include {e}, "
                           "which the grader cannot hand to its judge. Pass what the check cell "
                           "passes."))
            return
        msg["handles"] = handles
        assert self.link is not None
        self.link.send(msg)
        while True:
            req = self.link.recv(None)
            if req is None or req.get("type") == "judged":
                return
            if req.get("type") == "agent" and agent_probe is not None:
                self.link.send(self.agent_answer(agent_probe, req, ref))
                continue
            if req.get("type") != "call":
                continue
            fn: Any = objs.target(req)  # None: answer() says it raised
            watch = self.watch(ref)
            reply = answer(req, fn, lambda f, a, kw: self.invoke(watch, f, a, kw),
                           self.snapshot.normalise, objs)
            reply["hits"] = watch.hits if watch is not None else []
            self.link.send(reply)

    def agent_answer(self, agent_probe: Any, req: dict, ref: ReferenceCode | None) -> dict:
        """One operation of the whole-agent checks' judge (``checks._agent_probe.AgentProbe``):
        the learner's class run on the judge's inputs, watched for reference use; the record
        goes back as data."""
        from .wire import Unpackable, pack, set_torch_state, torch_state, unpack
        try:
            data = unpack(req.get("data"))
            if not isinstance(data, dict):
                raise Unpackable("an operation without its inputs")
        except (Unpackable, KeyError, TypeError, ValueError) as e:
            return {"type": "agent", "value": pack({"oops": "Unpackable", "message": str(e)[:300]})}
        set_torch_state(req.get("torch"))
        self.snapshot.normalise()
        watch = self.watch(ref)
        reply: dict[str, Any]
        self.watching(watch, True)
        try:
            rec = self.timed(agent_probe.handle, str(req.get("op", "")), data)
        except _CellTimeout:
            rec = None
        except BaseException as e:  # noqa: BLE001 - the probe's own failure, described
            rec = {"oops": type(e).__name__, "message": str(e)[:300]}
        finally:
            self.watching(watch, False)
        try:
            reply = {"type": "timeout"} if rec is None else {"type": "agent", "value": pack(rec)}
        except Unpackable as e:
            reply = {"type": "agent", "value": pack({"oops": "Unpackable", "message": str(e)[:300]})}
        reply["torch"] = torch_state()  # as the learner's code left it, for the judge's guard
        self.snapshot.normalise()
        reply["hits"] = watch.hits if watch is not None else []
        return reply

    def invoke(self, watch: Watch | None, fn: Callable, a: list, kw: dict) -> dict:
        """One call of the learner's function for the judge, watched for reference use."""
        self.watching(watch, True)
        try:
            return {"type": "return", "value": self.timed(fn, *a, **kw)}
        except _CellTimeout:
            return {"type": "timeout"}
        except BaseException as e:  # noqa: BLE001 - the learner's exception, described
            return _raised(e)
        finally:
            self.watching(watch, False)


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CellTimeout()


def run_checks(job: CheckJob) -> int:
    """The graded run (the job kind "check"); see the module docstring."""
    limit_process(job.memory_mb)
    sys.dont_write_bytecode = True
    return GradedRun(job).run()


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
