"""``td3-teach grade``'s command line: its arguments (``configure``), their checks and one-line
errors (``GradingError``), and the run with its short report on the terminal (``run``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .batch import PACKAGE_SOLUTIONS, grade
from .options import GradingError, Points, validate_options
from .plan import check_label, load_instructor
from .report import fmt


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
                        help="TOML overriding td3_teach/grading/points.toml (points, hidden seeds)")
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
    print(f"Mean score: {summary['mean_score']:g} / {fmt(summary['max_points'])}.")
    print("Most-failed step: " + (f"{check_label(worst).lower()} ({failed} of "
                                   f"{summary['learners']} learners)" if worst else "none"))
    print("Statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(summary["statuses"].items())))
    print(f"Gradebook: {args.out / 'gradebook.csv'}; feedback: {args.out / 'feedback'}/")
    return 0
