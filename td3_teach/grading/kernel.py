"""The kernel run (the job kind "execute"): the learner's whole notebook, as they would run it,
in a fresh Jupyter kernel.

nbclient runs it with ``allow_errors``, a per-cell timeout that interrupts the cell and goes on,
and outputs capped, with the guard of ``guard`` installed in the kernel by an IPython startup
file (``runs.STARTUP``). The kernel is a ``_KernelZygote``: a fork of the job's process, made
before nbclient starts, so it never ran learner code and does not import torch again. This run
gives the notebook's status and the executed copy; it earns no points.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .messages import ExecuteJob, KernelResult
from .sandbox import die_with_parent, limit_process, start_time


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
                raise subprocess.TimeoutExpired("kernel", float(timeout or 0))
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def run_execute(job: ExecuteJob) -> int:
    """Run the learner's notebook in a fresh kernel; write ``job.result`` (a
    ``messages.KernelResult``, as JSON) and the
    executed notebook ``job.executed``."""
    limit_process(job.memory_mb)
    log_fd = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.environ.clear()
    os.environ.update(job.env)
    os.chdir(job.work)

    import nbformat
    from jupyter_client.provisioning import local_provisioner
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    # The kernel: a fork of this process (torch, ipykernel already imported), made now, before
    # nbclient starts its event loop, and waiting for its connection file.
    zygote = _KernelZygote()
    setattr(local_provisioner, "launch_kernel", zygote.launch)  # jupyter_client starts our fork
    t0 = time.monotonic()

    def log(what: str) -> None:
        print(f"[grader {time.monotonic() - t0:6.2f}s] {what}", flush=True)

    result = KernelResult()
    state: dict[str, int | None] = {"current": None}
    budget: dict[str, Any] = {"total": job.max_output_bytes, "cells": {}}

    class Client(NotebookClient):
        async def async_start_new_kernel(self, **kw: Any) -> None:
            await super().async_start_new_kernel(**kw)
            log("kernel started")
            assert self.km is not None  # started just above
            pid = getattr(self.km.provisioner, "pid")  # a LocalProvisioner's: the kernel process
            Path(job.kernel_pid).write_text(f"{pid} {start_time(pid)}")

        async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
            if state["current"] is not None:
                result.timeouts.append(state["current"])
            return await super()._async_handle_timeout(timeout, cell)

        def output(self, outs: list, msg: dict, display_id: Any, cell_index: int) -> Any:
            """Keep at most a quarter of --max-output per cell and the whole of it per notebook:
            a cut stream keeps its start, then one line saying it was cut."""
            used = budget["cells"].get(cell_index, 0)
            if used < 0:  # this cell was already cut
                return None
            room = min(budget["total"], job.max_output_bytes // 4 - used)
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
                f"grader keeps {job.max_output_bytes // 4} bytes per cell]\n"))
            return None

    def on_start(cell: Any, cell_index: int) -> None:
        state["current"] = cell_index
        log(f"cell {cell_index + 1}")

    def on_done(cell: Any, cell_index: int, execute_reply: dict | None) -> None:
        content = (execute_reply or {}).get("content", {})
        if content.get("status") == "error":
            result.cells[cell_index] = (str(content.get("ename", "")),
                                        str(content.get("evalue", ""))[:500])

    nb = nbformat.read(job.notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": "td3-grade", "display_name": "td3-teach grader",
                                 "language": "python"}
    client = Client(nb, timeout=job.timeout_cell, kernel_name="td3-grade", allow_errors=True,
                    interrupt_on_timeout=True, startup_timeout=120, shutdown_kernel="immediate",
                    error_on_timeout={"ename": "CellTimeout", "evalue":
                                      f"the cell ran longer than {job.timeout_cell} s",
                                      "traceback": []},
                    resources={"metadata": {"path": job.work}}, record_timing=False,
                    on_cell_start=on_start, on_cell_executed=on_done)
    log("executing")
    try:
        client.execute()
        log("executed")
    except DeadKernelError:
        result.died_at = state["current"]
    except MemoryError:
        result.error = "MemoryError in the grader's notebook runner (output too large?)"
    except Exception as e:  # kernel failed to start, a timeout nbclient would not interrupt...
        result.error = f"{type(e).__name__}: {str(e)[:500]}"
    try:
        nbformat.write(nb, job.executed)
    except Exception as e:
        result.error = result.error or f"could not save the executed notebook: {e}"
    Path(job.result).write_text(json.dumps(result.to_wire()))
    log("saved")
    return 0
