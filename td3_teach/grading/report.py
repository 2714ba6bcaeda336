"""What a grading run writes: ``gradebook.csv`` (one row per learner), ``feedback/<learner>.md``
and the summary, into a staging folder beside ``--out`` (``prepare_out``) that replaces it whole
at the end (``publish``), every file written atomically."""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
from pathlib import Path

from .discovery import printable
from .options import GradingError, Points
from .plan import InstructorNotebook, check_label, step_number
from .results import NotebookResult
from .status import Status

RESULT_ENTRIES = frozenset({"gradebook.csv", "summary.json", "feedback", "executed"})


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


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _learner_status(results: list[NotebookResult], single: bool) -> str:
    bad = [r for r in results if r.status != Status.OK]
    if not bad:
        return Status.OK
    if single and len(results) == 1:
        return bad[0].status
    return "; ".join(f"{_label(r.notebook)}: {r.status}" for r in bad)


def _label(name: str) -> str:
    m = re.match(r"^(\d\d(?:_\d\d)*)_", name)
    return m.group(1) if m else name


def write_reports(out: Path, graded: list[InstructorNotebook], steps: list[str],
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
        w.writerow([shown] + [fmt(by_step[s].points) if s in by_step else "0" for s in steps]
                   + [fmt(total), status])
        try:
            text = _feedback(shown, results, learner_notes.get(learner, []), total, max_total)
        except Exception as e:  # a report bug never loses the gradebook
            text = f"# Feedback for {shown}\n\nThe grader could not write your feedback: {e}\n"
        atomic_write(out / "feedback" / f"{file_name}.md", text)
    atomic_write(out / "gradebook.csv", buf.getvalue())
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
             f"**Total: {fmt(total)} / {fmt(max_total)} points**", "",
             "| notebook | file | status | points |", "|---|---|---|---|"]
    for r in results:
        got = sum(s.points for s in r.steps.values())
        of = sum(s.max_points for s in r.steps.values())
        lines.append(f"| {r.notebook} | {r.submitted or '-'} | {r.status} | {fmt(got)} / {fmt(of)} |")
    lines += [f"- {n}" for n in notes]
    for r in results:
        lines += ["", f"## {r.notebook}: {r.status}", ""]
        for s, sr in r.steps.items():
            mark = "✓" if sr.passed else "✗"
            lines.append(f"### {check_label(s)} {mark} {fmt(sr.points)} / {fmt(sr.max_points)}")
            if not sr.passed and sr.message:
                lines += ["", "```text", sr.message.strip(), "```"]
            lines.append("")
        if r.statuses and r.status != Status.OK or r.notes:
            lines.append(f"Status: {', '.join(dict.fromkeys(r.statuses)) or 'ok'}.")
            lines += [f"- {n}" for n in r.notes]
        if r.executed:
            lines.append(f"\nYour notebook as the grader ran it: `{r.executed}`.")
    return "\n".join(lines).rstrip() + "\n"
