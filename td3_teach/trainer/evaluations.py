"""The evaluation curve on disk: ``evaluations.csv`` of a run folder, written atomically."""

from __future__ import annotations

import csv
import os
from pathlib import Path


from ..atomic import atomic_file
from .settings import EVAL_CSV, EvalRecord


def _write_csv(path: Path, history: list[EvalRecord]) -> None:
    with atomic_file(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "mean_return", "std_return", "wall_time_s"])
        for rec in history:
            w.writerow(_csv_row(rec))


def _append_csv(path: Path, rec: EvalRecord) -> None:
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(_csv_row(rec))


def _csv_row(rec: EvalRecord) -> list:
    return [rec.step, f"{rec.mean:.6f}", f"{rec.std:.6f}", f"{rec.wall_time:.1f}"]


def read_evaluations(path: str | os.PathLike) -> list[EvalRecord]:
    """The evaluation records of a run folder (or of its ``evaluations.csv``)."""
    path = Path(path)
    path = path / EVAL_CSV if path.is_dir() else path
    with open(path, newline="") as f:
        return [EvalRecord(int(r["step"]), float(r["mean_return"]), float(r["std_return"]),
                           float(r["wall_time_s"])) for r in csv.DictReader(f)]
