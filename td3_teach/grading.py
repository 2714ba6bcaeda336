"""``td3-teach grade``: grade a folder of learners' notebooks into a gradebook.

    td3-teach grade SUBMISSIONS/ --out RESULTS/ [--solutions solutions/] [--points points.toml]
                    [--jobs N] [--timeout-cell S] [--timeout-notebook S] [--memory-mb M]

Layouts accepted in SUBMISSIONS/ (one learner per folder or per file-name prefix):

* ``SUBMISSIONS/<learner>/<notebook>.ipynb``: a folder per learner; the learner's other files
  in that folder (helper modules, data) are copied along. Sub-folders are searched too, so
  nbgrader's ``submitted/<learner>/<assignment>/<notebook>.ipynb`` works as it is.
* ``SUBMISSIONS/<learner>__<notebook>.ipynb``: flat files, learner and notebook joined by two
  underscores (what an LMS export usually gives once renamed).
* a ``.ipynb`` without ``__`` at the top level is graded as the learner named by its stem.

A submission is matched to the instructor's notebook by file name, then by its nbgrader
``grade_id`` cells, then by its leading number (``08_...``, so ``08_..-Copy1.ipynb`` works),
then by the checks it calls and the functions it defines. When a learner sent two files for one
notebook, the one with the exact name wins, else the newest. Only the instructor notebooks that
some learner submitted are graded (one gradebook column per step they check).

For each submission, each run in a fresh copy of the learner's files:

1. **the kernel run**: the whole notebook, as the learner would run it, in a fresh Jupyter kernel
   (nbclient, errors allowed, ``--timeout-cell`` per cell: the cell is interrupted and the run
   goes on; ``--timeout-notebook`` in all; ``--memory-mb`` address space). Outputs are capped.
   It gives the notebook's status and ``RESULTS/executed/<learner>/<notebook>``; no points.
2. **the graded run**, in a separate fresh process where the instructor's checks (and torch)
   were imported and snapshotted before any learner code: the instructor's setup cells, the
   learner's exercise cells (matched by nbgrader ``grade_id``, else by the names they define)
   and any cells the learner added (their own check calls skipped, ``%run [-i] file.py`` run),
   then, at each check cell, the instructor's check on seed 0 and the hidden seeds of the points
   file, then the hidden checks of ``td3_teach/grading_hidden.py``. For the checks of
   ``grading_judge.REMOTE`` (steps 4 to 15 and ``exploration``) this is *probe, then judge*: the
   check runs in a judge process outside the sandbox, on stand-ins that ask the learner's
   process to call the learner's code (networks, optimizers and the checks' agents cross as
   data, rebuilt from the package's classes); the check, its expected values and the hidden
   seeds never enter the learner's process. The other checks (steps 1-3, ``agent``,
   ``bug_hunt``: they take the learner's classes) run beside the learner's code, guarded by
   the snapshot: any change to it makes the notebook "tampered" and the checks after it score 0. Reference use is what
   runs (``grading_reference``): the package's code for the step, or its helpers, doing the
   step's work on the learner's behalf, however it was wrapped, scores 0.

**The sandbox** (``grading_sandbox``). Where bubblewrap works, every run is a fresh process in
its own mount, PID, network, IPC and UTS namespaces that sees only the system libraries, Python
and the td3_teach package folder (read-only) and the submission's copy on a ``--disk-mb`` tmpfs;
the solutions, the course's ``.git``, the points file and the other learners are not there, and
everything started inside dies with the run. Without bubblewrap (the summary says which), the
second layer alone: a clean environment, process groups killed at the deadline, and an audit
hook that refuses, and reports, opening the solutions, the course's ``.git``, the submissions or
results folders, writing anywhere outside the sandbox, and starting processes; the graded run
also refuses ctypes and reaching into the grader (``gc``, ``sys.settrace``). A refusal in the
graded run scores the notebook 0.

**Containment.** One learner's files never stop the others: malformed nbgrader metadata counts
as lost metadata, nbformat 3 is converted, any bytes in a folder name give a distinct, valid
gradebook name and feedback file. Results are written to a staging folder beside ``--out``
that replaces it whole at the end; ``--out`` may be new, empty, or an earlier run's results.

Results: ``RESULTS/gradebook.csv`` (one row per learner: a column of points per step, ``total``,
``status``), ``RESULTS/feedback/<learner>.md`` (each notebook's status, each step's points, and
for each failed step the check's message and hint), ``RESULTS/executed/`` and
``RESULTS/summary.json``. Points per step come from ``td3_teach/grading_points.toml``
(``--points`` overrides it key by key).

Statuses, most severe first (a notebook shows the first that applies; feedback lists all):
``grader error``, ``not JSON``, ``not a notebook``, ``tampered``, ``forbidden file access``,
``forbidden system access``, ``out of memory``, ``notebook timeout``, ``crashed`` (the graded run
died: ``os._exit``, a segfault), ``kernel died``, ``cell timeout``, ``syntax error``,
``cell errors`` (an exception outside the check cells), ``edited locked cells``, ``ok``; and per
learner ``missing`` (a graded notebook not submitted) and ``unknown notebook``.

nbgrader: the solution notebooks already carry nbgrader's cell metadata (``build-notebooks``
writes it), so an nbgrader course can use them as source notebooks unchanged: copy
``solutions/NN_*.ipynb`` into ``source/<assignment>/`` and run ``nbgrader generate_assignment
<assignment>``; the ``### BEGIN SOLUTION`` regions become nbgrader's stubs and each
``checks.stepNN(...)`` cell is an autograder test cell (``grade: true``, ``locked``,
``points``). ``nbgrader autograde`` then runs the visible checks only; ``td3-teach grade`` on
nbgrader's ``submitted/`` folder adds the hidden checks and the tamper and sandbox protections.

Limits (README's "Limits" says the same).

* Checks outside ``grading_judge.REMOTE`` (steps 1-3, ``agent``, ``bug_hunt``: the check builds
  and inspects the learner's own objects; see grading_judge) run in the learner's process, with
  the hidden seeds: code there can walk ``sys._getframe()`` to the grader's frames, or set a
  closure cell, and forge a result; the snapshot compares identities, not the inside of mutable
  objects.
* A judged check sees a result's autograd graph only as the gradient of its sum with respect
  to what crossed (what the checks differentiate), and the learner's code only as the names it
  uses.
* What the probe reports is the learner's process speaking; the reference-use watch runs there
  too (and does not follow threads the learner starts), so a determined learner can hide it.
* Without bubblewrap: C code (``torch.save``, ``numpy.fromfile``) bypasses the audit hook, the
  network is open, and processes started without an audit event (``multiprocessing``,
  ``_posixsubprocess.fork_exec``) are neither refused nor killed with the run.
* The hidden checks ship with the package (learners may read them); keep seeds private with
  ``--points``. The solutions are public in an open course: copying them is not detected.
* The per-cell timeout inside the graded run is a SIGALRM the learner's code could disable;
  the per-notebook deadline (a SIGKILL from outside) still holds.
* Linux (bubblewrap, fork, ``RLIMIT_AS``); macOS does not enforce the memory limit; not Windows.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TD3TeachError
from .grading_judge import REMOTE
from .grading_plan import (InstructorNotebook, Unreadable, build_program, check_cells,
                           check_label, load_instructor, match_notebook, read_learner, step_number)
from .grading_sandbox import (FORBIDDEN_FILE, FORBIDDEN_SYSTEM, SANDBOX_FILE_BYTES, Sandbox, _git_dirs, bwrap,
                              bwrap_command, kill_group, sandbox_description)

SEVERITY = ["grader error", "not JSON", "not a notebook", "tampered", FORBIDDEN_FILE,
            FORBIDDEN_SYSTEM, "out of memory", "notebook timeout", "crashed", "kernel died",
            "cell timeout", "syntax error", "cell errors", "edited locked cells", "ok"]
DEFAULT_POINTS = Path(__file__).with_name("grading_points.toml")
PACKAGE_SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
MIN_MEMORY_MB = 1024  # torch's import alone reserves several hundred MiB of address space
RESULT_ENTRIES = frozenset({"gradebook.csv", "summary.json", "feedback", "executed"})
OOM_TEXT = re.compile(r"MemoryError|can't allocate memory|Cannot allocate memory|std::bad_alloc")


# =========================================================================== configuration
class GradingError(TD3TeachError):
    """A problem with the grading command itself (an option, the points file, --out): the whole
    run cannot start. The CLI prints it as one line."""


@dataclass
class Points:
    """Points per check and the hidden seeds, from grading_points.toml and --points."""

    per_step: dict[str, float]
    default: float | None
    seeds: list[int]

    @classmethod
    def load(cls, override: Path | None = None) -> "Points":
        data = _read_toml(DEFAULT_POINTS)
        if override is not None:
            for section, values in _read_toml(Path(override)).items():
                if not isinstance(values, dict):
                    raise GradingError(f"--points {override}: `{section} = ...` is outside a "
                                       "section. Fix: put it under [points] or [hidden], as in "
                                       f"{DEFAULT_POINTS}.")
                data.setdefault(section, {}).update(values)
        pts = dict(data.get("points", {}))
        for key, value in pts.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or value != value or value == float("inf"):
                raise GradingError(f"--points: [points] {key} = {value!r} is not a number of "
                                   "points. Fix: a number >= 0, e.g. `step08 = 1`.")
        seeds = data.get("hidden", {}).get("seeds", [])
        if not isinstance(seeds, list) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                  and x >= 0 for x in seeds):
            raise GradingError(f"--points: [hidden] seeds = {seeds!r} is not a list of seeds. "
                               "Fix: integers >= 0, e.g. `seeds = [11, 12, 13]`.")
        default = pts.pop("default", None)
        return cls({k: float(v) for k, v in pts.items()},
                   None if default is None else float(default), [int(x) for x in seeds])

    def of(self, check: str | int, fallback: float = 1.0) -> float:
        """Points of a check: ``of("step08")`` (``of(8)`` works too), ``of("agent")``."""
        key = f"step{check:02d}" if isinstance(check, int) else check
        if key in self.per_step:
            return self.per_step[key]
        return self.default if self.default is not None else fallback


def _parse_toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the small subset grading_points.toml uses
        out: dict = {}
        section = out
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("["):
                section = out.setdefault(line.strip("[]").strip(), {})
                continue
            key, eq, value = (p.strip() for p in line.partition("="))
            try:
                if not eq:
                    raise ValueError("no `=`")
                section[key] = json.loads(value)
            except ValueError as e:
                raise ValueError(f"line {n}: {e}") from None
        return out
    return tomllib.loads(text)


def _read_toml(path: Path) -> dict:
    try:
        return _parse_toml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradingError(f"--points {path}: no such file. Fix: check the path (the format is "
                           f"that of {DEFAULT_POINTS}).") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GradingError(f"--points {path}: cannot be read ({e}). Fix: pass a readable UTF-8 "
                           "TOML file.") from None
    except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
        raise GradingError(f"--points {path}: not valid TOML ({e}). Fix: the format is that of "
                           f"{DEFAULT_POINTS}, e.g. `[points]` then `step08 = 2`.") from None


def validate_options(timeout_cell: float, timeout_notebook: float, memory_mb: int, jobs: int,
                     max_output_kb: int) -> None:
    """Refuse option values that would grade everyone wrongly (a negative timeout fails every
    cell; 0 would switch the timeout off; 1 MiB of memory cannot even start Python)."""
    def finite(x: float) -> bool:
        return x == x and abs(x) != float("inf")
    if not (finite(timeout_cell) and timeout_cell > 0):
        raise GradingError(f"--timeout-cell {timeout_cell:g}: must be a number of seconds > 0. "
                           "Fix: e.g. --timeout-cell 120 (the default).")
    if not (finite(timeout_notebook) and timeout_notebook > 0):
        raise GradingError(f"--timeout-notebook {timeout_notebook:g}: must be a number of seconds "
                           "> 0. Fix: e.g. --timeout-notebook 900 (the default).")
    if timeout_notebook < timeout_cell:
        raise GradingError(f"--timeout-notebook {timeout_notebook:g} is shorter than "
                           f"--timeout-cell {timeout_cell:g}. Fix: give the notebook at least "
                           "one cell's time.")
    if memory_mb < MIN_MEMORY_MB:
        raise GradingError(f"--memory-mb {memory_mb}: torch and Jupyter need at least "
                           f"{MIN_MEMORY_MB} MiB of address space. Fix: e.g. --memory-mb 4096 "
                           "(the default).")
    if jobs < 1:
        raise GradingError(f"--jobs {jobs}: must be at least 1. Fix: e.g. --jobs 2.")
    if max_output_kb < 1:
        raise GradingError(f"--max-output-kb {max_output_kb}: must be at least 1. Fix: e.g. "
                           "--max-output-kb 1024 (the default).")


# =========================================================================== submissions
@dataclass
class Submission:
    learner: str  # the folder's or file's name as the file system gives it (may hold surrogates)
    path: Path
    name: str  # the notebook's name without the learner's prefix
    files: list[tuple[Path, Path]]  # (file, path relative to the sandbox's work/)
    rel: Path  # the notebook's path relative to work/


def discover(root: Path) -> tuple[dict[str, list[Submission]], list[str]]:
    """Learners and their notebooks in ``root`` (see the module docstring for the layouts)."""
    learners: dict[str, list[Submission]] = {}
    warnings: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        shown = printable(entry.name)
        if entry.is_dir() and not entry.is_symlink():
            files = [(f, f.relative_to(entry)) for f in sorted(entry.rglob("*"))
                     if f.is_file() and not f.is_symlink() and len(f.relative_to(entry).parts) <= 4
                     and not any(p.startswith(".") for p in f.relative_to(entry).parts)]
            nbs = [rel for _, rel in files if rel.suffix == ".ipynb"]
            learners.setdefault(entry.name, []).extend(
                Submission(entry.name, entry / rel, rel.name, files, rel) for rel in nbs)
        elif entry.suffix == ".ipynb" and entry.is_file() and not entry.is_symlink():
            learner, sep, name = entry.name.partition("__")
            if not sep:
                learner, name = entry.stem, entry.name
                warnings.append(f"{shown}: no `<learner>__` prefix; graded as learner "
                                f"'{printable(learner)}'.")
            learners.setdefault(learner, []).append(
                Submission(learner, entry, name, [(entry, Path(name))], Path(name)))
        else:
            warnings.append(f"{shown}: not a learner folder or a .ipynb file; ignored.")
    return learners, warnings


def printable(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 are written ``\\xe9``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def learner_names(raw: list[str]) -> dict[str, tuple[str, str]]:
    """``raw name -> (name shown in the gradebook, file name of the feedback)``, distinct for
    distinct raw names whatever their bytes: a name that is not already a plain file name
    (``a b``, ``caf\\xe9``) gets a short hash of its bytes, so ``a b`` and ``a_b`` stay apart."""
    out: dict[str, tuple[str, str]] = {}
    shown_count: dict[str, int] = {}
    for name in raw:
        shown_count[printable(name)] = shown_count.get(printable(name), 0) + 1
    for name in raw:
        shown = printable(name)
        digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", shown).lstrip(".")[:80]
        if safe != name:
            safe = f"{safe or 'learner'}-{digest}"
        if shown_count[shown] > 1:
            shown = f"{shown} ({digest})"
        out[name] = (shown, safe)
    return out


# =========================================================================== results
@dataclass
class StepResult:
    step: str  # the check's name: "step08", "agent"
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    learner: str
    notebook: str  # the instructor's notebook name (or the submitted name if unmatched)
    submitted: str = ""
    statuses: list[str] = field(default_factory=list)
    steps: dict[str, StepResult] = field(default_factory=dict)  # check name -> result
    notes: list[str] = field(default_factory=list)
    executed: str = ""
    seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        known = [s for s in SEVERITY if s in self.statuses]
        others = [s for s in self.statuses if s not in SEVERITY]
        return (others + known + ["ok"])[0]


# =========================================================================== one submission
@dataclass
class Context:
    server: object
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
    judges: object = None  # the fork server the judges run in (never learner code)


STARTUP = """\
# td3-teach grade: the guard of td3_teach/grading_sandbox.py, installed before any cell runs.
def _td3_grade_guard():
    import sys
    sys.path.insert(0, {pkg!r})
    try:
        from td3_teach.grading_sandbox import file_recorder, install_guard
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


def _run(ctx: Context, kind: str, job: dict, sandbox: Sandbox) -> tuple[int | None, bool]:
    """Start the job (a fork of the server, or a fresh bubblewrap), wait at most
    --timeout-notebook, kill it (and its kernel) after that."""
    walls = None
    if ctx.server.isolated:
        walls = bwrap_command(sandbox.root, ctx.unreadable + [str(ctx.base)], ctx.disk_mb)
    handle = ctx.server.submit(kind, job, walls)
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
        res.statuses.append("grader error")
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
    startup.write_text(STARTUP.format(pkg=str(Path(__file__).resolve().parents[1]),
                                      writable=[str(sandbox.box)], unreadable=unreadable,
                                      log=str(private / "kernel_violations.jsonl")))
    kenv = dict(env, JUPYTER_PATH=str(private / "jupyter"),
                JUPYTER_RUNTIME_DIR=str(private / "runtime"),
                JUPYTER_CONFIG_DIR=str(private / "config"),
                JUPYTER_DATA_DIR=str(private / "jupyter"))
    job = {"memory_mb": ctx.memory_mb, "timeout_cell": ctx.timeout_cell,
           "max_output_bytes": ctx.max_output_bytes, "work": str(work),
           "notebook": str(sandbox.work / sub.rel), "env": kenv, "log": str(private / "kernel.log"),
           "kernel_pid": str(private / "kernel.pid"), "result": str(private / "kernel.json"),
           "executed": str(private / "executed.ipynb"), "crash_log": str(private / "kernel.crash")}
    code, timed_out = _run(ctx, "execute", job, sandbox)
    result = {}
    if (private / "kernel.json").exists():
        result = json.loads((private / "kernel.json").read_text())
    if timed_out:
        res.statuses.append("notebook timeout")
        res.notes.append(f"Kernel run: the notebook ran longer than {ctx.timeout_notebook:g} s "
                         "and was stopped.")
    elif not result:
        crash = (private / "kernel.crash").read_text()[-2000:] if (private / "kernel.crash").exists() else ""
        if OOM_TEXT.search(crash):
            res.statuses.append("out of memory")
            res.notes.append("Kernel run: the notebook ran out of memory.")
        else:
            res.statuses.append("grader error")
            res.notes.append(f"Kernel run: the notebook runner stopped (exit {code}). "
                             f"{crash.strip().splitlines()[-1] if crash.strip() else ''}")
    checks_at = check_cells(inb, nb)
    errors = {int(k): v for k, v in result.get("cells", {}).items()}
    timeouts = [t for t in result.get("timeouts", []) if t is not None]
    if result.get("died_at") is not None:
        res.statuses.append("kernel died")
        res.notes.append(f"Kernel run: the kernel died while running cell {result['died_at'] + 1} "
                         "(os._exit, a crash in C code, or memory); the cells after it did not run.")
    if result.get("error"):
        status = "out of memory" if OOM_TEXT.search(result["error"]) else "grader error"
        res.statuses.append(status)
        res.notes.append(f"Kernel run: {result['error']}")
    if timeouts:
        res.statuses.append("cell timeout")
        res.notes.append("Kernel run: cell(s) " + ", ".join(str(t + 1) for t in sorted(set(timeouts)))
                         + f" ran longer than {ctx.timeout_cell:g} s and were interrupted.")
    for j, err in sorted(errors.items()):
        if j in timeouts or err["ename"] == "CellTimeout":
            continue
        if err["ename"] in ("SyntaxError", "IndentationError", "TabError"):
            res.statuses.append("syntax error")
        elif OOM_TEXT.search(err["ename"] + err["evalue"]):
            res.statuses.append("out of memory")
        elif j not in checks_at:
            res.statuses.append("cell errors")
        where = "check cell" if j in checks_at else "cell"
        res.notes.append(f"Kernel run: {where} {j + 1} raised {err['ename']}: "
                         f"{err['evalue'].strip().splitlines()[0][:300] if err['evalue'].strip() else ''}")
    for v in _read_jsonl(private / "kernel_violations.jsonl"):
        res.statuses.append(v.get("kind", FORBIDDEN_FILE))
        res.notes.append(f"Kernel run: refused {v.get('what', '?')}.")
    if (private / "executed.ipynb").exists():
        dest = ctx.out / "executed" / ctx.names[sub.learner][1] / inb.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(private / "executed.ipynb", dest)
        res.executed = str(dest.relative_to(ctx.out))


def _graded_run(ctx: Context, inb: InstructorNotebook, nb, sandbox: Sandbox, work: Path,
                env: dict, unreadable: list[str], res: NotebookResult) -> None:
    private = sandbox.private
    program = build_program(inb, nb)
    res.notes += program.notes
    if program.edited_locked:
        res.statuses.append("edited locked cells")
    token = secrets.token_hex(16)
    called = {c for item in program.items if item["kind"] == "check" for c in item["steps"]}
    remote = sorted(called & REMOTE)
    in_probe = called - REMOTE  # checks that still run beside the learner's code
    job = {"memory_mb": ctx.memory_mb, "timeout_cell": ctx.timeout_cell, "work": str(work),
           "env": env, "program": program.items, "token": token,
           "seeds": ctx.points.seeds if in_probe else [],  # hidden seeds only where needed
           "guard": {"writable": [str(sandbox.box)], "unreadable": unreadable},
           "result": str(private / "checks.jsonl"), "crash_log": str(private / "checks.crash")}
    judge = None
    verdicts = sandbox.root / "judge.jsonl"  # outside box/ and private/: never visible inside
    if remote:
        for end in ("to_judge", "from_judge"):
            os.mkfifo(private / end, 0o600)
        judge = ctx.judges.submit("judge", {
            "from_probe": str(private / "to_judge"), "to_probe": str(private / "from_judge"),
            "result": str(verdicts), "seeds": ctx.points.seeds, "timeout_cell": ctx.timeout_cell,
            "crash_log": str(sandbox.root / "judge.crash")})
        job["judge"] = {"to_judge": str(private / "to_judge"),
                        "from_judge": str(private / "from_judge"), "remote": remote}
    try:
        code, timed_out = _run(ctx, "check", job, sandbox)
    finally:
        if judge is not None:
            if judge.wait(30) is None:  # the probe is gone, so the judge reads EOF and ends
                judge.kill()
    lines = [m for m in _read_jsonl(private / "checks.jsonl") if m.get("token") == token]
    # a check judged outside: only the judge's verdict counts (the probe may still say "failed")
    lines = [m for m in lines if not (m.get("type") == "step" and m.get("check") in REMOTE
                                      and m.get("passed"))]
    lines += [m for m in _read_jsonl(verdicts) if m.get("type") == "step"]
    done = any(m["type"] == "done" for m in lines)
    stop_reason = ""
    if timed_out:
        res.statuses.append("notebook timeout")
        stop_reason = f"the graded run took longer than {ctx.timeout_notebook:g} s"
    elif not done:
        crash = (private / "checks.crash").read_text()[-2000:] if (private / "checks.crash").exists() else ""
        if crash:
            res.statuses.append("out of memory" if OOM_TEXT.search(crash) else "grader error")
            stop_reason = f"the grader failed: {crash.strip().splitlines()[-1]}"
        else:
            res.statuses.append("crashed")
            stop_reason = (f"the graded run's process died (exit code {code}: os._exit, a crash in "
                           "C code, or memory)")
        res.notes.append(f"Graded run: {stop_reason}.")
    results: dict[int, list[dict]] = {}
    violations = []
    for m in lines:
        t = m["type"]
        if t == "step":
            results.setdefault(m["check"], []).append(m)
            if m.get("grader_error"):
                res.statuses.append("grader error")
        elif t == "cell":
            who = "your cell" if m["origin"] == "learner" else "the notebook's cell"
            res.notes.append(f"Graded run: {who} {m['cell']} raised {m['error']}")
            if m.get("syntax"):
                res.statuses.append("syntax error")
            elif m.get("timeout"):
                res.statuses.append("cell timeout")
            elif OOM_TEXT.search(m["error"]):
                res.statuses.append("out of memory")
        elif t == "tampered":
            res.statuses.append("tampered")
            res.notes.append("Graded run: the grader's checks or torch were changed by the "
                             "notebook's code (" + "; ".join(m["what"]) + "). The checks after "
                             "that score 0.")
        elif t == "violation":
            violations.append(m)
            res.statuses.append(m.get("kind", FORBIDDEN_FILE))
            res.notes.append(f"Graded run: refused {m.get('what', '?')}.")
        elif t == "check_error":
            for s in m["steps"]:
                results.setdefault(s, []).append({
                    "passed": False, "message": f"{check_label(s)} ✗ the check could not start: "
                    f"{m['error']}."
                    "\nHint: the check cell uses the name your exercise cell defines; did that cell "
                    "run without errors, and keep the exercise's name?"})
    for s, sr in res.steps.items():
        got = results.get(s, [])
        if got and all(g["passed"] for g in got) and not violations:
            sr.passed, sr.points, sr.message = True, sr.max_points, ""
        elif got and not all(g["passed"] for g in got):
            first = next(g for g in got if not g["passed"])
            which = first.get("which", "")
            sr.message = first["message"] + (f"\n({which})" if which.startswith("hidden") else "")
        elif got:
            sr.message = ("0 points: the graded run tried a forbidden access (see the status "
                          "below).")
        else:
            sr.message = f"Not graded: {stop_reason or 'the check did not run'}."


# =========================================================================== the whole run
def _mpl_seed(base: Path) -> Path | None:
    """matplotlib's font cache, built once and copied into each sandbox (saves ~1 s a kernel)."""
    seed = base / "mpl"
    seed.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], timeout=120,
                       env=dict(os.environ, MPLCONFIGDIR=str(seed)), capture_output=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return seed


def _server_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "TZ")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}


def prepare_out(out: Path) -> Path:
    """A fresh staging folder beside ``out``, where this run writes everything; ``publish``
    then replaces ``out`` with it whole. Refuses an ``out`` that holds anything but an earlier
    run's results (so a typo never deletes the instructor's files)."""
    out = Path(os.path.abspath(out))
    if out.exists() and not out.is_dir():
        raise GradingError(f"--out {out} is a file. Fix: pass a folder (new, empty, or an earlier "
                           "run's results).")
    if out.is_dir():
        try:
            extra = sorted(e.name for e in out.iterdir())
        except OSError as e:
            raise GradingError(f"--out {out} cannot be read ({e.strerror}). Fix: pick another "
                               "folder.") from None
        extra = [e for e in extra if e not in RESULT_ENTRIES]
        if extra:
            raise GradingError(f"--out {out} holds files that are not grading results "
                               f"({', '.join(printable(e) for e in extra[:3])}). Fix: pass a new "
                               "or empty folder, or an earlier run's results folder (it is "
                               "replaced whole).")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.grading-", dir=out.parent))
        for sub in ("feedback", "executed"):
            (staging / sub).mkdir()
    except OSError as e:
        raise GradingError(f"--out {out}: cannot write in {out.parent} ({e.strerror}). Fix: pick "
                           "a folder you may write to.") from None
    return staging


def publish(staging: Path, out: Path) -> None:
    """Replace ``out`` (an earlier run's results, or nothing) by ``staging``: two renames on
    one file system, so ``out`` is never a mix of two runs."""
    out = Path(os.path.abspath(out))
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / "results")
    os.rename(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def grade(submissions: Path, out: Path, solutions: Path, points: Points, jobs: int,
          timeout_cell: float, timeout_notebook: float, memory_mb: int,
          max_output_bytes: int = 1 << 20, progress: bool = True,
          points_file: Path | None = None, disk_mb: int = 1024) -> dict:
    """Grade every submission; write the gradebook, feedback and summary; return the summary.

    Everything is written into a staging folder that replaces ``out`` at the end. A failure
    on one learner's files is that learner's "grader error"; a failure of the run itself still
    writes the gradebook, with every learner not yet graded marked so."""
    from tqdm import tqdm

    t0 = time.monotonic()
    validate_options(timeout_cell, timeout_notebook, memory_mb, jobs, max(1, max_output_bytes >> 10))
    instructors = load_instructor(solutions)
    ungraded = {i.name for i in load_instructor(solutions, graded_only=False)} - \
        {i.name for i in instructors}
    learners, warnings = discover(submissions)
    names = learner_names(list(learners))
    staging = prepare_out(out)
    per_learner: dict[str, list[NotebookResult]] = {name: [] for name in learners}
    learner_notes: dict[str, list[str]] = {name: [] for name in learners}
    chosen: dict[tuple[str, str], tuple[Submission, object]] = {}
    graded: list[InstructorNotebook] = []
    stopped = ""
    try:
        for learner, subs in learners.items():
            try:
                _choose(learner, subs, instructors, ungraded, chosen, per_learner, learner_notes)
            except Exception as e:  # one learner's odd file never stops the others
                per_learner[learner].append(NotebookResult(learner, "?", "", ["grader error"], notes=[
                    f"The grader failed on your files: {type(e).__name__}: {e}"]))
        graded = [inb for inb in instructors if any(k[1] == inb.name for k in chosen)]
        todo = []
        for (learner, name), (sub, nb) in chosen.items():
            inb = next(i for i in instructors if i.name == name)
            if isinstance(nb, Unreadable):
                r = NotebookResult(learner, inb.name, printable(sub.path.name), [nb.status],
                                   notes=[nb.detail])
                for s in inb.steps:
                    r.steps[s] = StepResult(s, 0.0, points.of(s), False,
                                            f"Not graded: the file is {nb.status} ({nb.detail}).")
                per_learner[learner].append(r)
            else:
                todo.append((sub, inb, nb))
        hidden = [solutions, PACKAGE_SOLUTIONS, PACKAGE_SOLUTIONS.parent / ".git",
                  solutions.resolve().parent / ".git", submissions, out, staging]
        if points_file is not None:
            hidden.append(points_file)
        _grade_all(todo, staging, names, points, hidden, jobs, timeout_cell, timeout_notebook,
                   memory_mb, max_output_bytes, progress, per_learner, tqdm, disk_mb)
    except Exception as e:  # the run itself failed: still write what is known
        stopped = f"{type(e).__name__}: {e}"
        warnings.append(f"the grading run stopped early ({stopped}); learners not graded yet are "
                        "marked 'grader error'.")
    except BaseException:  # Ctrl-C: keep the earlier results as they were
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for (learner, name), (sub, _) in chosen.items():
        if not any(r.notebook == name for r in per_learner[learner]):
            per_learner[learner].append(NotebookResult(learner, name, printable(sub.path.name),
                                                       ["grader error"], notes=[
                f"Not graded: the grading run stopped before this notebook ({stopped})."]))
    for learner in per_learner:
        have = {r.notebook for r in per_learner[learner]}
        for inb in graded:
            if inb.name not in have:
                r = NotebookResult(learner, inb.name, "", ["missing"],
                                   notes=[f"You did not submit {inb.name}."])
                for s in inb.steps:
                    r.steps[s] = StepResult(s, 0.0, points.of(s), False, "Not submitted.")
                per_learner[learner].append(r)
        order = {inb.name: i for i, inb in enumerate(instructors)}
        per_learner[learner].sort(key=lambda r: order.get(r.notebook, len(order)))
    steps = [s for inb in graded for s in inb.steps]
    summary = _write_reports(staging, graded, steps, per_learner, learner_notes, points, names)
    summary["seconds"] = round(time.monotonic() - t0, 1)
    summary["warnings"] = warnings
    summary["sandbox"] = sandbox_description()
    _atomic_write(staging / "summary.json", json.dumps(summary, indent=2) + "\n")
    publish(staging, out)
    return summary


def _choose(learner: str, subs: list[Submission], instructors: list[InstructorNotebook],
            ungraded: set[str], chosen: dict, per_learner: dict, learner_notes: dict) -> None:
    """Match one learner's files to the instructor's notebooks; keep one per notebook."""
    if not subs:
        learner_notes[learner].append("No .ipynb file was found in your folder.")
    for sub in subs:
        shown = printable(sub.path.name)
        try:
            nb = read_learner(sub.path)
        except Unreadable as e:
            nb = e
        inb = match_notebook(sub.name, None if isinstance(nb, Unreadable) else nb, instructors)
        if inb is None and sub.name in ungraded:
            learner_notes[learner].append(f"{shown} has no checks: not graded.")
            continue
        if inb is None:
            per_learner[learner].append(NotebookResult(learner, printable(sub.name), shown,
                                                       ["unknown notebook"], notes=[
                f"{shown} matches none of the course's graded notebooks."]))
            continue
        key = (learner, inb.name)
        if key in chosen:
            old = chosen[key][0]
            keep_new = sub.name == inb.name or (old.name != inb.name and
                                                sub.path.stat().st_mtime > old.path.stat().st_mtime)
            dropped = old if keep_new else sub
            learner_notes[learner].append(f"{printable(dropped.path.name)} was not graded: "
                                          f"another file of yours is also {inb.name}.")
            if not keep_new:
                continue
        chosen[key] = (sub, nb)


def _grade_all(todo: list, staging: Path, names: dict, points: Points, hidden: list[Path],
               jobs: int, timeout_cell: float, timeout_notebook: float, memory_mb: int,
               max_output_bytes: int, progress: bool, per_learner: dict, tqdm,
               disk_mb: int = 1024) -> None:
    from .grading_worker import BwrapRunner, ForkServer

    if not todo:
        return
    base = Path(tempfile.mkdtemp(prefix="td3-grade-run-"))
    for course in {PACKAGE_SOLUTIONS.parent, *(p.resolve().parent for p in hidden[:1])}:
        hidden = hidden + _git_dirs(course)
    unreadable = sorted({str(p.resolve()) for p in hidden if p.exists()})
    judges = ForkServer(_server_env())
    server = BwrapRunner(_server_env()) if bwrap() else judges
    ctx = Context(server, staging.resolve(), points, timeout_cell, timeout_notebook, memory_mb,
                  max_output_bytes, unreadable, _mpl_seed(base / "seed"), base.resolve(), names,
                  disk_mb, judges)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
                tqdm(total=len(todo), desc="grading", unit="notebook", disable=not progress,
                     file=sys.stderr) as bar:
            futures = {pool.submit(grade_submission, ctx, *t): t for t in todo}
            for fut in as_completed(futures):
                sub, inb, _ = futures[fut]
                try:
                    r = fut.result()
                except Exception as e:  # never lose a learner to a grader bug
                    r = NotebookResult(sub.learner, inb.name, printable(sub.path.name),
                                       ["grader error"], notes=[f"{type(e).__name__}: {e}"])
                per_learner[sub.learner].append(r)
                bar.set_postfix_str(f"{names[sub.learner][0]}: {r.status}")
                bar.update()
    finally:
        server.close()
        if judges is not server:
            judges.close()
        shutil.rmtree(base, ignore_errors=True)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _learner_status(results: list[NotebookResult], single: bool) -> str:
    bad = [r for r in results if r.status != "ok"]
    if not bad:
        return "ok"
    if single and len(results) == 1:
        return bad[0].status
    return "; ".join(f"{_label(r.notebook)}: {r.status}" for r in bad)


def _label(name: str) -> str:
    m = re.match(r"^(\d\d(?:_\d\d)*)_", name)
    return m.group(1) if m else name


def _write_reports(out: Path, graded: list[InstructorNotebook], steps: list[str],
                   per_learner: dict[str, list[NotebookResult]], learner_notes: dict[str, list[str]],
                   points: Points, names: dict[str, tuple[str, str]]) -> dict:
    """gradebook.csv and feedback/, written into ``out`` (the staging folder)."""
    import io

    max_total = sum(points.of(s) for s in steps)
    totals, failed = {}, {s: 0 for s in steps}
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["learner"] + steps + ["total", "status"])
    for learner in sorted(per_learner, key=lambda n: names[n][0]):
        shown, file_name = names[learner]
        results = per_learner[learner]
        by_step = {s: sr for r in results for s, sr in r.steps.items()}
        total = sum(sr.points for sr in by_step.values())
        totals[learner] = total
        for s in steps:
            if s in by_step and not by_step[s].passed:
                failed[s] += 1
        status = _learner_status(results, single=len(graded) == 1)
        w.writerow([shown] + [_fmt(by_step[s].points) if s in by_step else "0" for s in steps]
                   + [_fmt(total), status])
        try:
            text = _feedback(shown, results, learner_notes.get(learner, []), total, max_total)
        except Exception as e:  # a report bug never loses the gradebook
            text = f"# Feedback for {shown}\n\nThe grader could not write your feedback: {e}\n"
        _atomic_write(out / "feedback" / f"{file_name}.md", text)
    _atomic_write(out / "gradebook.csv", buf.getvalue())
    n = len(per_learner)
    worst = max(steps, key=lambda s: failed[s], default=None)
    return {"learners": n, "notebooks": [inb.name for inb in graded],
            "max_points": max_total,
            "mean_score": round(sum(totals.values()) / n, 3) if n else 0.0,
            "most_failed_step": (step_number(worst) or worst)
            if worst is not None and failed[worst] else None,
            "most_failed_check": worst if worst is not None and failed[worst] else None,
            "failed_by_step": {s: failed[s] for s in steps},
            "statuses": _count([r.status for rs in per_learner.values() for r in rs]),
            "timing": {f"{names[r.learner][0]}/{r.notebook}": r.timing
                       for rs in per_learner.values() for r in rs if r.timing}}


def _count(items: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def _feedback(learner: str, results: list[NotebookResult], notes: list[str], total: float,
              max_total: float) -> str:
    lines = [f"# Feedback for {learner}", "",
             f"**Total: {_fmt(total)} / {_fmt(max_total)} points**", "",
             "| notebook | file | status | points |", "|---|---|---|---|"]
    for r in results:
        got = sum(s.points for s in r.steps.values())
        of = sum(s.max_points for s in r.steps.values())
        lines.append(f"| {r.notebook} | {r.submitted or '-'} | {r.status} | {_fmt(got)} / {_fmt(of)} |")
    lines += [f"- {n}" for n in notes]
    for r in results:
        lines += ["", f"## {r.notebook}: {r.status}", ""]
        for s, sr in r.steps.items():
            mark = "✓" if sr.passed else "✗"
            lines.append(f"### {check_label(s)} {mark} {_fmt(sr.points)} / {_fmt(sr.max_points)}")
            if not sr.passed and sr.message:
                lines += ["", "```text", sr.message.strip(), "```"]
            lines.append("")
        if r.statuses and r.status != "ok" or r.notes:
            lines.append(f"Status: {', '.join(dict.fromkeys(r.statuses)) or 'ok'}.")
            lines += [f"- {n}" for n in r.notes]
        if r.executed:
            lines.append(f"\nYour notebook as the grader ran it: `{r.executed}`.")
    return "\n".join(lines).rstrip() + "\n"


# =========================================================================== command line
def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Grade a folder of learners' notebooks into a gradebook. Layouts, statuses "
                          "and limits: python -m pydoc td3_teach.grading")
    parser.add_argument("submissions", type=Path,
                        help="folder of submissions: <learner>/*.ipynb or <learner>__<notebook>.ipynb")
    parser.add_argument("--out", type=Path, required=True,
                        help="results folder: gradebook.csv, feedback/, executed/, summary.json")
    parser.add_argument("--solutions", type=Path, default=None,
                        help="the instructor's solution notebooks (default: solutions/ here, else "
                        "the course's)")
    parser.add_argument("--points", type=Path, default=None,
                        help="TOML overriding td3_teach/grading_points.toml (points, hidden seeds)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: the CPU count)")
    parser.add_argument("--timeout-cell", type=float, default=120.0,
                        help="seconds one cell (or one check call) may run (default 120)")
    parser.add_argument("--timeout-notebook", type=float, default=900.0,
                        help="seconds each run of one notebook may take in all (default 900)")
    parser.add_argument("--memory-mb", type=int, default=4096,
                        help="address-space limit per process, MiB (default 4096)")
    parser.add_argument("--disk-mb", type=int, default=1024,
                        help="disk space of each run's sandbox (a tmpfs), MiB (default 1024; "
                        "with bubblewrap)")
    parser.add_argument("--max-output-kb", type=int, default=1024,
                        help="notebook output kept per notebook, KiB (default 1024)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    solutions = args.solutions or (Path("solutions") if Path("solutions").is_dir()
                                   else PACKAGE_SOLUTIONS)
    validate_options(args.timeout_cell, args.timeout_notebook, args.memory_mb, args.jobs,
                     args.max_output_kb)
    if args.disk_mb < 16:
        raise GradingError(f"--disk-mb {args.disk_mb}: must be at least 16. Fix: e.g. --disk-mb "
                           "1024 (the default).")
    if not args.submissions.is_dir():
        raise GradingError(f"no folder {args.submissions}/. Fix: pass the folder that holds the "
                           "learners' notebooks.")
    if not solutions.is_dir() or not load_instructor(solutions):
        raise GradingError(f"no solution notebooks with checks in {solutions}/. Fix: pass "
                           "--solutions FOLDER.")
    points = Points.load(args.points)
    summary = grade(args.submissions, args.out, solutions, points, args.jobs, args.timeout_cell,
                    args.timeout_notebook, args.memory_mb, args.max_output_kb << 10,
                    progress=not args.quiet, points_file=args.points, disk_mb=args.disk_mb)
    for w in summary["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    worst = summary["most_failed_check"]
    failed = summary["failed_by_step"].get(worst, 0) if worst else 0
    print(f"Graded {summary['learners']} learner(s) on {', '.join(summary['notebooks']) or '-'} "
          f"in {summary['seconds']:g} s.")
    print(f"Sandbox: {summary['sandbox']}.")
    print(f"Mean score: {summary['mean_score']:g} / {_fmt(summary['max_points'])}.")
    print("Most-failed step: " + (f"{check_label(worst).lower()} ({failed} of "
                                   f"{summary['learners']} learners)" if worst else "none"))
    print("Statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["statuses"].items())))
    print(f"Gradebook: {args.out / 'gradebook.csv'}; feedback: {args.out / 'feedback'}/")
    return 0
