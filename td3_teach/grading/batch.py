"""Grading a whole class (``grade``): every learner's notebooks matched to the instructor's,
each graded in its own sandbox (``runs.grade_submission``, ``--jobs`` at once), the results of
the learners whose files could not be graded filled in, then the reports written and
published (``report``). One learner's failure is that learner's "grader error"; a failure of
the run itself still writes the gradebook."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .discovery import Submission, discover, learner_names, printable
from .options import Points, validate_options
from .plan import (InstructorNotebook, Unreadable, current_name, load_instructor, match_notebook,
                   read_learner)
from .report import atomic_write, prepare_out, publish, write_reports
from .results import NotebookResult, StepResult
from .runs import Context, grade_submission
from .sandbox import bwrap, git_dirs, sandbox_description
from .status import Status

PACKAGE_SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


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
                per_learner[learner].append(NotebookResult(learner, "?", "", [Status.GRADER_ERROR], notes=[
                    f"The grader failed on your files: {type(e).__name__}: {e}"]))
        graded = [inb for inb in instructors if any(k[1] == inb.name for k in chosen)]
        todo = _readable(chosen, instructors, points, per_learner)
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
    _fill_in(per_learner, chosen, graded, instructors, points, stopped)
    steps = [s for inb in graded for s in inb.steps]
    summary = write_reports(staging, graded, steps, per_learner, learner_notes, points, names)
    summary["seconds"] = round(time.monotonic() - t0, 1)
    summary["warnings"] = warnings
    summary["sandbox"] = sandbox_description()
    atomic_write(staging / "summary.json", json.dumps(summary, indent=2) + "\n")
    publish(staging, out)
    return summary


def _readable(chosen: dict[tuple[str, str], tuple[Submission, object]],
              instructors: list[InstructorNotebook], points: Points,
              per_learner: dict[str, list[NotebookResult]]) -> list[tuple]:
    """The chosen files to grade, ``(submission, instructor notebook, learner notebook)``; an
    unreadable file's result (not JSON, not a notebook) goes straight to ``per_learner``."""
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
    return todo


def _fill_in(per_learner: dict[str, list[NotebookResult]],
             chosen: dict[tuple[str, str], tuple[Submission, object]],
             graded: list[InstructorNotebook], instructors: list[InstructorNotebook],
             points: Points, stopped: str) -> None:
    """Every learner gets a result for every graded notebook: "grader error" for a chosen file
    the run stopped before, "missing" for one not submitted; then in the course's order."""
    for (learner, name), (sub, _) in chosen.items():
        if not any(r.notebook == name for r in per_learner[learner]):
            per_learner[learner].append(NotebookResult(learner, name, printable(sub.path.name),
                                                       [Status.GRADER_ERROR], notes=[
                f"Not graded: the grading run stopped before this notebook ({stopped})."]))
    for learner in per_learner:
        have = {r.notebook for r in per_learner[learner]}
        for inb in graded:
            if inb.name not in have:
                r = NotebookResult(learner, inb.name, "", [Status.MISSING],
                                   notes=[f"You did not submit {inb.name}."])
                for s in inb.steps:
                    r.steps[s] = StepResult(s, 0.0, points.of(s), False, "Not submitted.")
                per_learner[learner].append(r)
        order = {inb.name: i for i, inb in enumerate(instructors)}
        per_learner[learner].sort(key=lambda r: order.get(r.notebook, len(order)))


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
            nb = e  # type: ignore[assignment]  # the file's result: Unreadable
        inb = match_notebook(sub.name, None if isinstance(nb, Unreadable) else nb, instructors)
        if inb is None and sub.name in ungraded:
            learner_notes[learner].append(f"{shown} has no checks: not graded.")
            continue
        if inb is None:
            per_learner[learner].append(NotebookResult(learner, printable(sub.name), shown,
                                                       [Status.UNKNOWN_NOTEBOOK], notes=[
                f"{shown} matches none of the course's graded notebooks."]))
            continue
        key = (learner, inb.name)
        if key in chosen:
            old = chosen[key][0]
            exact = lambda s: current_name(s.name) == inb.name  # noqa: E731  (an old name counts)
            keep_new = exact(sub) or (not exact(old) and
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
    from .launcher import BwrapRunner, ForkServer

    if not todo:
        return
    base = Path(tempfile.mkdtemp(prefix="td3-grade-run-"))
    for course in {PACKAGE_SOLUTIONS.parent, *(p.resolve().parent for p in hidden[:1])}:
        hidden = hidden + git_dirs(course)
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
                                       [Status.GRADER_ERROR], notes=[f"{type(e).__name__}: {e}"])
                per_learner[sub.learner].append(r)
                bar.set_postfix_str(f"{names[sub.learner][0]}: {r.status}")
                bar.update()
    finally:
        server.close()
        if judges is not server:
            judges.close()
        shutil.rmtree(base, ignore_errors=True)


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
