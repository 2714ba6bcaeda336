"""The authors' learning curves shipped as course data: the CSV gives the figures quoted from the
authors' files, the std is over seeds with ddof=0, and the plot draws a run over the band."""

from __future__ import annotations

import numpy as np
import pytest

from td3_teach.authors_curves import (authors_task, load_authors_curve, plot_against_authors,
                                      summarise, write_csv)
from td3_teach.trainer import EvalRecord

# (task, step) -> (mean, std) as quoted in issue 17 from the authors' .npy files
QUOTED = {("HalfCheetah-v5", 50_000): (3352, 851), ("HalfCheetah-v5", 100_000): (5514, 554),
          ("HalfCheetah-v5", 300_000): (7697, 727), ("HalfCheetah-v5", 1_000_000): (9567, 833),
          ("Hopper-v5", 100_000): (659, 752), ("Hopper-v5", 300_000): (2410, 900)}


@pytest.mark.parametrize("key", list(QUOTED))
def test_authors_curves_give_the_quoted_figures(key):
    env_id, step = key
    mean, std = load_authors_curve(env_id).at(step)
    assert (round(mean), round(std)) == QUOTED[key]


def test_authors_curves_cover_seven_tasks_with_ten_seeds_every_5000_steps():
    for env_id in ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Reacher-v5",
                   "InvertedPendulum-v5", "InvertedDoublePendulum-v5"):
        c = load_authors_curve(env_id)
        assert c.n_seeds == 10 and c.task == env_id.replace("-v5", "-v1")
        np.testing.assert_array_equal(c.step, np.arange(0, 1_000_001, 5_000))
        assert (c.std >= 0).all() and np.isfinite(c.mean).all()


def test_authors_curves_have_no_bullet_counterpart_and_steps_must_be_on_the_grid():
    assert authors_task("HalfCheetahBulletEnv-v0") is None and authors_task("Pendulum-v1") is None
    assert authors_task("Hopper-v1") == "Hopper-v1"
    with pytest.raises(ValueError, match="PyBullet tasks have other physics"):
        load_authors_curve("HalfCheetahBulletEnv-v0")
    with pytest.raises(ValueError, match="every 5,000 steps"):
        load_authors_curve("Hopper-v5").at(12_345)


def test_summarise_takes_mean_and_population_std_over_seeds_in_seed_order(tmp_path):
    folder = tmp_path / "Hopper"
    folder.mkdir()
    for seed in range(11):  # 11 files: every one must count, seed 10 too
        np.save(folder / f"TD3_Hopper-v1_{seed}.npy", np.array([0.0, 2.0 * (seed % 2), seed]))
    rows = summarise(tmp_path)
    assert [r["step"] for r in rows] == [0, 5_000, 10_000]
    assert {r["n_seeds"] for r in rows} == {11} and {r["task"] for r in rows} == {"Hopper-v1"}
    odd = np.array([2.0 * (s % 2) for s in range(11)])
    assert float(rows[1]["mean_return"]) == pytest.approx(odd.mean(), abs=0.01)
    assert float(rows[1]["std_return"]) == pytest.approx(odd.std(ddof=0), abs=0.01)
    assert float(rows[1]["std_return"]) != pytest.approx(odd.std(ddof=1), abs=0.01)
    out = write_csv(rows, tmp_path / "c.csv")
    assert out.read_text().splitlines()[0] == "task,step,mean_return,std_return,n_seeds"
    with pytest.raises(FileNotFoundError, match="learning_curves"):
        summarise(tmp_path / "empty")


def test_plot_draws_the_run_over_the_band_only_for_mujoco_tasks():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    run = [EvalRecord(s, 10.0 * s / 1000, 1.0, 0.0) for s in range(0, 60_001, 5_000)]
    ax = plot_against_authors(run, "HalfCheetah-v5")
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    assert bands[0].get_paths()[0].vertices[:, 0].max() == 60_000  # cut at the run's last step
    assert [line.get_label() for line in ax.get_lines()][-1] == "this run"
    ax2 = plot_against_authors({"seed 0": run}, "HalfCheetahBulletEnv-v0")
    assert not [c for c in ax2.collections if isinstance(c, PolyCollection)]
    assert "no band" in ax2.get_title()
    plt.close("all")


def test_learning_benchmark_compares_stored_runs_with_the_band(tmp_path):
    """benchmarks/learning.py --runs-from: no training; the summary holds one row per 50k steps
    with the run's return and its distance from the authors' mean in their stds."""
    import importlib.util
    from pathlib import Path

    from td3_teach.trainer import _write_csv

    spec = importlib.util.spec_from_file_location(
        "bench_learning", Path(__file__).resolve().parents[1] / "benchmarks" / "learning.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    run = tmp_path / "run_s3"
    run.mkdir()
    _write_csv(run / "evaluations.csv",
               [EvalRecord(s, 3352.19 + 851.37 if s == 50_000 else 0.0, 1.0, s / 100)
                for s in range(0, 120_001, 5_000)])
    assert bench.main(["--env", "HalfCheetah-v5", "--runs-from", str(tmp_path / "run_s{seed}"),
                       "--seeds", "3", "--results", str(tmp_path / "res")]) == 0
    md = (tmp_path / "res" / "learning_HalfCheetah-v5.md").read_text()
    assert "| 50,000 | 3352 ± 851 | 4204 (+1.0 std) |" in md
    assert "| 100,000 | 5514 ± 554 | 0 (-10.0 std) |" in md and "150,000" not in md
    assert (tmp_path / "res" / "learning_HalfCheetah-v5.png").stat().st_size > 0
    with pytest.raises(SystemExit, match="no evaluations.csv"):
        bench.main(["--env", "HalfCheetah-v5", "--runs-from", str(tmp_path / "nope{seed}"),
                    "--seeds", "0", "--results", str(tmp_path / "res")])
