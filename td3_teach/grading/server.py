"""The child side of the processes ``td3-teach grade`` runs a learner's code in.

A fork server (``serve``) imports torch, the checks and nbclient once; every job is a fresh
``fork`` of it, so each submission gets a new process that has never run learner code, without
paying torch's import each time. With bubblewrap, each job is instead a fresh Python inside its
own bubblewrap (``run_one``). The kinds of job (``JOBS``):

``execute``
    the kernel run (``kernel.run_execute``): the whole notebook in a fresh Jupyter kernel; the
    notebook's status and the executed copy, no points.
``check``
    the graded run (``probe.run_checks``): the instructor's checks at the check cells, guarded
    by the tamper snapshot; for the checks of ``judge.REMOTE`` only the probe.
``judge``
    ``judge.serve``: the other half of probe-then-judge, forked from a server that never runs
    learner code, outside the sandbox.

The parent side (the grader's handles on these processes) is ``launcher``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

from .kernel import run_execute
from .messages import JudgeJob, job_from_wire
from .probe import run_checks
from .snapshot import _import_checks, _settle_torch


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
        code = JOBS[msg["kind"]](job_from_wire(msg["kind"], msg["job"])) or 0
    except BaseException:  # the grader's own bug: leave a trace for the instructor
        try:
            Path(msg["job"]["crash_log"]).write_text(traceback.format_exc())
        except Exception:
            pass
    finally:
        os._exit(code)


def _run_judge(job: JudgeJob) -> int:
    from .judge import run_judge
    return run_judge(job)


JOBS: dict[str, Callable[[Any], int]] = {"execute": run_execute, "check": run_checks,
                                          "judge": _run_judge}


def run_one() -> None:
    """Inside bubblewrap (``BwrapRunner``): read one job (JSON) on stdin, fill the sandbox's
    tmpfs from its read-only copy, run the job, exit."""
    from .sandbox import fill_box

    msg = json.loads(sys.stdin.buffer.read())
    try:
        if msg.get("fill_box"):
            fill_box(msg["fill_box"])
    except BaseException:
        Path(msg["job"]["crash_log"]).write_text(traceback.format_exc())
        os._exit(71)
    _child(msg)
