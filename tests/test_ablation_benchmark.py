"""benchmarks/ablation.py and benchmarks/overestimation.py on a tiny budget: they write their
CSV, Markdown and PNG files, the summary is the mean/std over seeds of the per-run numbers, and a
second benchmark reuses (does not retrain) runs stored by the first."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)
BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
TINY = ["--steps", "60", "--start-steps", "40", "--measure-every", "30", "--eval-episodes", "1",
        "--measure-episodes", "1", "--batch-size", "8", "--seeds", "0", "1"]


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("bench")
    runs, results = tmp / "runs", tmp / "results"
    args = TINY + ["--runs", str(runs), "--results", str(results)]
    load("ablation").main(args + ["--variants", "TD3", "TD3-CDQ", "DDPG-style"])
    stamp = {p: p.stat().st_mtime_ns for p in runs.rglob("*.csv")}
    load("overestimation").main(args)
    reused = all(p.stat().st_mtime_ns == t for p, t in stamp.items())
    return runs, results, "reused" if reused else "retrained"


def test_ablation_writes_table_curves_and_plot(outputs) -> None:
    runs, results, _ = outputs
    for name in ("ablation_Pendulum-v1.csv", "ablation_Pendulum-v1_runs.csv",
                 "ablation_Pendulum-v1.md", "ablation_Pendulum-v1.png"):
        assert (results / name).stat().st_size > 0, name
    summary = {r["variant"]: r for r in rows(results / "ablation_Pendulum-v1.csv")}
    assert list(summary) == ["TD3", "TD3-CDQ", "DDPG-style"]
    curves = rows(results / "ablation_Pendulum-v1_runs.csv")
    for v, s in summary.items():
        finals = [float(r["eval_return"]) for r in curves if r["variant"] == v and r["step"] == "60"]
        assert len(finals) == 2, "one final evaluation per seed"
        assert float(s["final_return_mean"]) == pytest.approx(np.mean(finals), abs=0.01)
        assert float(s["final_return_std"]) == pytest.approx(np.std(finals, ddof=1), abs=0.01)
    md = (results / "ablation_Pendulum-v1.md").read_text()
    assert "| TD3-CDQ |" in md and "+/-" in md and "python" in md


def test_overestimation_reuses_the_ablation_runs_and_writes_its_files(outputs) -> None:
    runs, results, reused = outputs
    assert reused == "reused", "TD3 and DDPG-style were trained by the ablation already"
    data = rows(results / "overestimation_Pendulum-v1.csv")
    assert {r["method"] for r in data} == {"DDPG-style", "TD3"}
    assert sorted({int(r["step"]) for r in data}) == [0, 30, 60]
    for r in data:
        assert float(r["bias"]) == pytest.approx(float(r["estimate"]) - float(r["true"]), abs=2e-3)
    assert (results / "overestimation_Pendulum-v1.png").stat().st_size > 0
    assert "estimate" in (results / "overestimation_Pendulum-v1.md").read_text()
