"""Running one learner notebook: its two runs, each in a fresh copy of the learner's files.

1. ``kernel_run``: the whole notebook, as the learner would run it, in a fresh Jupyter kernel
   (``kernel``); it gives the notebook's status and its executed copy, no points.
2. ``graded_run``: the instructor's program in a fresh process (``probe``), with a judge
   outside the sandbox for the checks of ``judge.REMOTE``; its records become each step's
   points and message.

``grade_submission`` runs both in one ``Sandbox``; ``start`` starts one job there (a fork of the
grader's server, or a fresh bubblewrap) and enforces ``--timeout-notebook`` from outside.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .discovery import Submission, printable
from .judge import REMOTE
from .launcher import BwrapRunner, ForkServer
from .messages import (CellError, CheckError, CheckJob, Done, ExecuteJob, JudgeJob, JudgeLink,
                       KernelResult, Record, Step, Tampered, Violation, from_wire)
from .options import Points
from .plan import InstructorNotebook, build_program, check_cells, check_label
from .results import NotebookResult, StepResult
from .sandbox import SANDBOX_FILE_BYTES, Sandbox, bwrap_command, kill_group
from .status import Status

OOM_TEXT = re.compile(r"MemoryError|can't allocate memory|Cannot allocate memory|std::bad_alloc")


@dataclass
class Context:
    server: ForkServer | BwrapRunner  # runs the learner's jobs
    out: Path
    points: Points
    timeout_cell: float
    timeout_notebook: float
    memory_mb: int
    max_output_bytes: int
    unreadable: list[str]
    mpl_seed: Path | None
    base: Path  # holds every sandbox of this run; unreadable from the others
    names: dict[str, tuple[str, str]]  # raw learner name -> (shown, file name)
    disk_mb: int = 1024  # the sandbox's tmpfs (bubblewrap only)
    judges: ForkServer | None = None  # the fork server the judges run in (never learner code)


STARTUP = """\
# td3-teach grade: the guard of td3_teach/grading/guard.py, installed before any cell runs.
def _td3_grade_guard():
    import sys
    sys.path.insert(0, {pkg!r})
    try:
        from td3_teach.grading.guard import file_recorder, install_guard
    finally:
        sys.path.remove({pkg!r})
    install_guard({writable!r}, {unreadable!r}, file_recorder({log!r}))
_td3_grade_guard()
del _td3_grade_guard
"""


def _read_jsonl(path: Path, limit: int = 4 << 20) -> list[dict]:
    if not path.exists():
        return []
    out = []
    with open(path, "rb") as f:
        for line in f.read(limit).splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _run(ctx: Context, job: ExecuteJob | CheckJob, sandbox: Sandbox) -> tuple[int | None, bool]:
    """Start the job (a fork of the server, or a fresh bubblewrap), wait at most
    --timeout-notebook, kill it (and its kernel) after that."""
    walls = None
    if ctx.server.isolated:
        walls = bwrap_command(sandbox.root, ctx.unreadable + [str(ctx.base)], ctx.disk_mb)
    handle = ctx.server.submit(job, walls)
    code = handle.wait(ctx.timeout_notebook)
    timed_out = code is None
    if timed_out:
        handle.kill()
        handle.wait(10)
    if ctx.server.isolated:  # the PID namespace died with the job, kernel included
        return code, timed_out
    pid_file = sandbox.private / "kernel.pid"
    if pid_file.exists():  # the kernel lives in its own session: kill it too
        pid, _, started = pid_file.read_text().partition(" ")
        if pid.isdigit():
            kill_group(int(pid), started=started.strip())
    return code, timed_out


def grade_submission(ctx: Context, sub: Submission, inb: InstructorNotebook,
                     nb) -> NotebookResult:
    """Both runs of one learner notebook, in its own sandbox."""
    t0 = time.monotonic()
    res = NotebookResult(sub.learner, inb.name, sub.path.name)
    for s in inb.steps:
        res.steps[s] = StepResult(s, 0.0, ctx.points.of(s), False, "Not graded.")
    sandbox = Sandbox.create(sub.files, base=ctx.base, mpl_seed=ctx.mpl_seed)
    for rel, size in sandbox.skipped:
        res.notes.append(f"{printable(str(rel))} ({size >> 20} MiB) was not copied: the grader "
                         f"copies up to {SANDBOX_FILE_BYTES >> 20} MiB of your files in all, so "
                         "code that reads it fails in the graded runs. Leave large data out of "
                         "the submission (the notebook should download or make it).")
    try:
        work = sandbox.work / sub.rel.parent
        unreadable = ctx.unreadable + [str(sandbox.private), str(ctx.base)]
        env = sandbox.env()
        kernel_env = {k: v for k, v in env.items() if k != "MPLBACKEND"}  # figures inline
        _kernel_run(ctx, sub, inb, nb, sandbox, work, kernel_env, unreadable, res)
        res.timing["kernel run"] = round(time.monotonic() - t0, 1)
        _graded_run(ctx, inb, nb, sandbox, work, env, unreadable, res)
        res.timing["graded run"] = round(time.monotonic() - t0 - res.timing["kernel run"], 1)
    except Exception as e:  # the grader's own failure: say so, never stop the run
        res.statuses.append(Status.GRADER_ERROR)
        res.notes.append(f"The grader failed on this notebook: {type(e).__name__}: {e}")
    finally:
        if os.environ.get("TD3_GRADE_KEEP_SANDBOX"):  # debugging the grader itself
            res.notes.append(f"Sandbox kept: {sandbox.root}")
        else:
            sandbox.remove()
    res.seconds = time.monotonic() - t0
    return res


def _kernel_run(ctx: Context, sub: Submission, inb: InstructorNotebook, nb, sandbox: Sandbox,
                work: Path, env: dict, unreadable: list[str], res: NotebookResult) -> None:
    private = sandbox.private
    spec = private / "jupyter" / "kernels" / "td3-grade"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "td3-teach grader", "language": "python"}))
    startup = sandbox.home / ".ipython" / "profile_default" / "startup" / "00-td3-grade-guard.py"
    startup.write_text(STARTUP.format(pkg=str(Path(__file__).resolve().parents[2]),
                                      writable=[str(sandbox.box)], unreadable=unreadable,
                                      log=str(private / "kernel_violations.jsonl")))
    kenv = dict(env, JUPYTER_PATH=str(private / "jupyter"),
                JUPYTER_RUNTIME_DIR=str(private / "runtime"),
                JUPYTER_CONFIG_DIR=str(private / "config"),
                JUPYTER_DATA_DIR=str(private / "jupyter"))
    job = ExecuteJob(memory_mb=ctx.memory_mb, timeout_cell=ctx.timeout_cell,
                     max_output_bytes=ctx.max_output_bytes, work=str(work),
                     notebook=str(sandbox.work / sub.rel), env=kenv, log=str(private / "kernel.log"),
                     kernel_pid=str(private / "kernel.pid"), result=str(private / "kernel.json"),
                     executed=str(private / "executed.ipynb"),
                     crash_log=str(private / "kernel.crash"))
    code, timed_out = _run(ctx, job, sandbox)
    result = None
    if (private / "kernel.json").exists():
        result = KernelResult.from_wire(json.loads((private / "kernel.json").read_text()))
    if timed_out:
        res.statuses.append(Status.NOTEBOOK_TIMEOUT)
        res.notes.append(f"Kernel run: the notebook ran longer than {ctx.timeout_notebook:g} s "
                         "and was stopped.")
    elif result is None:
        crash = (private / "kernel.crash").read_text()[-2000:] if (private / "kernel.crash").exists() else ""
        if OOM_TEXT.search(crash):
            res.statuses.append(Status.OUT_OF_MEMORY)
            res.notes.append("Kernel run: the notebook ran out of memory.")
        else:
            res.statuses.append(Status.GRADER_ERROR)
            res.notes.append(f"Kernel run: the notebook runner stopped (exit {code}). "
                             f"{crash.strip().splitlines()[-1] if crash.strip() else ''}")
    _kernel_statuses(ctx, result or KernelResult(), check_cells(inb, nb), res)
    for v in _read_jsonl(private / "kernel_violations.jsonl"):
        refusal = from_wire({**v, "type": Violation.TYPE}) if isinstance(v, dict) else None
        if isinstance(refusal, Violation):
            res.statuses.append(refusal.kind)
            res.notes.append(f"Kernel run: refused {refusal.what}.")
    if (private / "executed.ipynb").exists():
        dest = ctx.out / "executed" / ctx.names[sub.learner][1] / inb.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(private / "executed.ipynb", dest)
        res.executed = str(dest.relative_to(ctx.out))


def _kernel_statuses(ctx: Context, result: KernelResult, checks_at: set[int],
                     res: NotebookResult) -> None:
    """The kernel run's statuses and notes: a dead kernel, the runner's own error, cells
    interrupted at --timeout-cell, and each cell that raised (outside the check cells: "cell
    errors")."""
    errors = result.cells
    timeouts = result.timeouts
    if result.died_at is not None:
        res.statuses.append(Status.KERNEL_DIED)
        res.notes.append(f"Kernel run: the kernel died while running cell {result.died_at + 1} "
                         "(os._exit, a crash in C code, or memory); the cells after it did not run.")
    if result.error:
        status = Status.OUT_OF_MEMORY if OOM_TEXT.search(result.error) else Status.GRADER_ERROR
        res.statuses.append(status)
        res.notes.append(f"Kernel run: {result.error}")
    if timeouts:
        res.statuses.append(Status.CELL_TIMEOUT)
        res.notes.append("Kernel run: cell(s) " + ", ".join(str(t + 1) for t in sorted(set(timeouts)))
                         + f" ran longer than {ctx.timeout_cell:g} s and were interrupted.")
    for j, (ename, evalue) in sorted(errors.items()):
        if j in timeouts or ename == "CellTimeout":
            continue
        if ename in ("SyntaxError", "IndentationError", "TabError"):
            res.statuses.append(Status.SYNTAX_ERROR)
        elif OOM_TEXT.search(ename + evalue):
            res.statuses.append(Status.OUT_OF_MEMORY)
        elif j not in checks_at:
            res.statuses.append(Status.CELL_ERRORS)
        where = "check cell" if j in checks_at else "cell"
        res.notes.append(f"Kernel run: {where} {j + 1} raised {ename}: "
                         f"{evalue.strip().splitlines()[0][:300] if evalue.strip() else ''}")


def _graded_run(ctx: Context, inb: InstructorNotebook, nb, sandbox: Sandbox, work: Path,
                env: dict, unreadable: list[str], res: NotebookResult) -> None:
    """The graded run: the program in the sandbox, the judge beside it; then each step's
    points and message from their records."""
    private = sandbox.private
    program = build_program(inb, nb)
    res.notes += program.notes
    if program.edited_locked:
        res.statuses.append(Status.EDITED_LOCKED)
    token = secrets.token_hex(16)
    called = {c for item in program.items if item["kind"] == "check" for c in item["steps"]}
    remote = sorted(called & REMOTE)
    in_probe = called - REMOTE  # checks that still run beside the learner's code
    job = CheckJob(memory_mb=ctx.memory_mb, timeout_cell=ctx.timeout_cell, work=str(work),
                   env=env, program=program.items, token=token,
                   seeds=ctx.points.seeds if in_probe else [],  # hidden seeds only where needed
                   writable=[str(sandbox.box)], unreadable=unreadable,
                   result=str(private / "checks.jsonl"), crash_log=str(private / "checks.crash"))
    verdicts = sandbox.root / "judge.jsonl"  # outside box/ and private/: never visible inside
    judge = _start_judge(ctx, sandbox, verdicts, job, remote) if remote else None
    try:
        code, timed_out = _run(ctx, job, sandbox)
    finally:
        if judge is not None:
            if judge.wait(30) is None:  # the probe is gone, so the judge reads EOF and ends
                judge.kill()
    records = _graded_records(private / "checks.jsonl", verdicts, token)
    stop_reason = _stopped(ctx, records, code, timed_out, private, res)
    results, violations = _read_records(records, res)
    _score(res, results, violations, stop_reason)


def _start_judge(ctx: Context, sandbox: Sandbox, verdicts: Path, job: CheckJob, remote: list[str]):
    """The judge of one graded run, outside the sandbox, linked to the probe by two FIFOs in
    ``private/``; ``job`` learns their names and the checks it hands over."""
    private = sandbox.private
    for end in ("to_judge", "from_judge"):
        os.mkfifo(private / end, 0o600)
    assert ctx.judges is not None
    judge = ctx.judges.submit(JudgeJob(
        from_probe=str(private / "to_judge"), to_probe=str(private / "from_judge"),
        result=str(verdicts), seeds=ctx.points.seeds, timeout_cell=ctx.timeout_cell,
        crash_log=str(sandbox.root / "judge.crash")))
    job.judge = JudgeLink(to_judge=str(private / "to_judge"),
                          from_judge=str(private / "from_judge"), remote=remote)
    return judge


def _graded_records(checks: Path, verdicts: Path, token: str) -> list[Record]:
    """The probe's records that carry this run's token, and the judge's verdicts: a check
    judged outside counts only by the judge's verdict (the probe may still say "failed")."""
    probe = [from_wire(m) for m in _read_jsonl(checks) if isinstance(m, dict) and m.get("token") == token]
    records = [r for r in probe if r is not None and not (isinstance(r, Step) and r.check in REMOTE
                                                          and r.passed)]
    judged = [from_wire(m) for m in _read_jsonl(verdicts)]
    return records + [r for r in judged if isinstance(r, Step)]


def _stopped(ctx: Context, records: list[Record], code: int | None, timed_out: bool,
             private: Path, res: NotebookResult) -> str:
    """Why the graded run stopped before its end ("" when it reached it), with its status."""
    done = any(isinstance(r, Done) for r in records)
    stop_reason = ""
    if timed_out:
        res.statuses.append(Status.NOTEBOOK_TIMEOUT)
        stop_reason = f"the graded run took longer than {ctx.timeout_notebook:g} s"
    elif not done:
        crash = (private / "checks.crash").read_text()[-2000:] if (private / "checks.crash").exists() else ""
        if crash:
            res.statuses.append(Status.OUT_OF_MEMORY if OOM_TEXT.search(crash) else Status.GRADER_ERROR)
            stop_reason = f"the grader failed: {crash.strip().splitlines()[-1]}"
        else:
            res.statuses.append(Status.CRASHED)
            stop_reason = (f"the graded run's process died (exit code {code}: os._exit, a crash in "
                           "C code, or memory)")
        res.notes.append(f"Graded run: {stop_reason}.")
    return stop_reason


def _read_records(records: list[Record], res: NotebookResult) -> tuple[dict[str, list[Step]],
                                                                       list[Violation]]:
    """The records' statuses and notes into ``res``; returns each check's results and the
    refusals."""
    results: dict[str, list[Step]] = {}
    violations = []
    for r in records:
        if isinstance(r, Step):
            results.setdefault(r.check, []).append(r)
            if r.grader_error:
                res.statuses.append(Status.GRADER_ERROR)
        elif isinstance(r, CellError):
            who = "your cell" if r.origin == "learner" else "the notebook's cell"
            res.notes.append(f"Graded run: {who} {r.cell} raised {r.error}")
            if r.syntax:
                res.statuses.append(Status.SYNTAX_ERROR)
            elif r.timeout:
                res.statuses.append(Status.CELL_TIMEOUT)
            elif OOM_TEXT.search(r.error):
                res.statuses.append(Status.OUT_OF_MEMORY)
        elif isinstance(r, Tampered):
            res.statuses.append(Status.TAMPERED)
            res.notes.append("Graded run: the grader's checks or torch were changed by the "
                             "notebook's code (" + "; ".join(r.what) + "). The checks after "
                             "that score 0.")
        elif isinstance(r, Violation):
            violations.append(r)
            res.statuses.append(r.kind)
            res.notes.append(f"Graded run: refused {r.what}.")
        elif isinstance(r, CheckError):
            for s in r.steps:
                results.setdefault(s, []).append(Step(
                    s, False, f"{check_label(s)} ✗ the check could not start: {r.error}."
                    "\nHint: the check cell uses the name your exercise cell defines; did that cell "
                    "run without errors, and keep the exercise's name?"))
    return results, violations


def _score(res: NotebookResult, results: dict[str, list[Step]], violations: list[Violation],
           stop_reason: str) -> None:
    """Each step's points and message: full points when every run of its check passed and the
    graded run tried nothing forbidden."""
    for s, sr in res.steps.items():
        got = results.get(s, [])
        if got and all(g.passed for g in got) and not violations:
            sr.passed, sr.points, sr.message = True, sr.max_points, ""
        elif got and not all(g.passed for g in got):
            first = next(g for g in got if not g.passed)
            sr.message = first.message + (f"\n({first.which})" if first.which.startswith("hidden")
                                          else "")
        elif got:
            sr.message = ("0 points: the graded run tried a forbidden access (see the status "
                          "below).")
        else:
            sr.message = f"Not graded: {stop_reason or 'the check did not run'}."
