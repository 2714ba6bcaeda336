"""The parent side of the processes ``td3-teach grade`` runs a learner's code in (the child
side is ``server``): ``submit(job)`` starts a job (``messages.ExecuteJob``, ``CheckJob``,
``JudgeJob``) and returns a handle to wait on or kill.

``ForkServer``
    one long-lived ``server.serve`` per grading run; each job is a fork of it.
``BwrapRunner``
    its stand-in where bubblewrap works: each job a fresh Python inside its own bubblewrap
    (``sandbox.bwrap_command``), killed with everything in its PID namespace.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

from . import messages

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])  # the folder that holds td3_teach/


class ForkServer:
    """The grader's handle on ``serve``: ``submit(job)`` forks a job and returns a
    ``Job`` to wait on or kill. Thread-safe; one server per grading run."""

    def __init__(self, env: dict[str, str]) -> None:
        import subprocess
        import threading

        code = (f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); "
                "from td3_teach.grading.server import serve; serve()")
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

    def submit(self, job: messages.Job, walls: list[str] | None = None) -> "Job":
        with self._lock:
            self._next += 1
            handle = Job()
            self._jobs[self._next] = handle
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps({"id": self._next, "kind": job.KIND,
                                               "job": messages.job_to_wire(job)}) + "\n").encode())
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


class BwrapRunner:
    """``ForkServer``'s stand-in when bubblewrap works: every job is a fresh Python inside its
    own bubblewrap (``sandbox.bwrap_command``). Slower to start (torch is imported per
    job) but nothing a learner starts survives the job, and nothing outside it is visible."""

    isolated = True

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self._procs: list = []

    def submit(self, job: messages.Job, walls: list[str] | None = None) -> "PopenJob":
        import subprocess

        assert walls, "BwrapRunner needs the job's bubblewrap command"
        code = (f"import sys; sys.path.insert(0, {PACKAGE_PARENT!r}); "
                "from td3_teach.grading.server import run_one; run_one()")
        root = walls[walls.index("--chdir") + 1]
        proc = subprocess.Popen(walls + ["--", sys.executable, "-I", "-c", code],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=self.env, start_new_session=True)
        self._procs.append(proc)
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps({"id": 0, "kind": job.KIND, "job": messages.job_to_wire(job),
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
