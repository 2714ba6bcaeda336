"""The authors' own TD3 learning curves (the paper's Figure 3 data), as course data to hold a run against.

Source: github.com/sfujim/TD3, ``learning_curves/<Env>/TD3_<Env>-v1_<seed>.npy`` (commit 34770cc;
the files date from the camera-ready commit bc98e62, 2018-06-09), MIT License, Copyright (c) 2020
Scott Fujimoto (the notice is in ``td3_teach/data/README.md``). Each file is one seed: 201
evaluations, each the mean return of 10 episodes of the deterministic policy, the first of the
untrained actor, then one about every 5,000 steps up to 1,000,000. Ten seeds per task.

``td3_teach/data/authors_td3_curves.csv`` keeps, per task and evaluation, the **mean over the
10 seeds and their population standard deviation** (numpy's default, ``ddof=0``). These give the
figures quoted in issue 17 (HalfCheetah-v1: 3,352 ± 851 at 50k steps, 5,514 ± 554 at 100k,
7,697 ± 727 at 300k, 9,567 ± 833 at 1M; Hopper-v1: 659 ± 752 at 100k, 2,410 ± 900 at 300k). The
sample standard deviation (``ddof=1``) is sqrt(10/9) = 1.054 times larger (897 at 50k).

**How our runs differ from theirs** (read before comparing; ``benchmarks/results/`` says where our
curve falls):

* *The task version.* The paper ran gym's ``-v1`` tasks on mujoco-py older than 1.50 (MuJoCo
  1.31; gym moved to mujoco-py >= 1.50 only with v2). We run gymnasium's ``-v5`` on MuJoCo >= 2.3.3 (4.0.0 here):
  the same robot models, rewards (HalfCheetah: forward velocity - 0.1 ||a||^2), observation sizes
  (17, 11, 17) and 1,000-step limit, but another physics engine version, so returns are
  comparable in scale, not equal. Hopper-, Walker2d- and Ant-v5 also stopped paying the healthy
  reward on the step that ends an unhealthy episode (1 per episode), and Ant-v5 observes 105
  numbers (v1: 111, the always-zero contact forces of the world body dropped).
* *The settings.* The paper's code (bc98e62) used batch 100, Adam's default learning rate 1e-3,
  10,000 random warm-up steps for HalfCheetah and Ant and 1,000 for Hopper and Walker2d, and ran
  an episode's updates in one burst at its end. td3_teach follows the authors' current
  ``main.py``: batch 256, learning rate 3e-4, 25,000 warm-up steps for every task, one update per
  step. The longer warm-up alone puts an early curve below the band: at 50k steps our policy
  has acted for 25,000 steps after 25,000 updates; theirs (HalfCheetah) for 40,000 steps, after
  about 50,000 updates (their code also trained at the end of every warm-up episode).

Command line (rebuilds the CSV from a checkout of the authors' repository):
``python -m td3_teach.authors_curves PATH/TO/TD3/learning_curves``.
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "authors_td3_curves.csv"
EVAL_EVERY = 5_000
"""Steps between two of the authors' evaluations (their ``eval_freq``)."""
TASKS = {"HalfCheetah": "HalfCheetah-v1", "Hopper": "Hopper-v1", "Walker": "Walker2d-v1",
         "Ant": "Ant-v1", "Reacher": "Reacher-v1", "InvertedPendulum": "InvertedPendulum-v1",
         "InvertedDoublePendulum": "InvertedDoublePendulum-v1"}
"""Folder in the authors' ``learning_curves/`` -> the gym id in their file names."""
AUTHORS_TASK = {"HalfCheetah-v5": "HalfCheetah-v1", "Hopper-v5": "Hopper-v1",
                "Walker2d-v5": "Walker2d-v1", "Ant-v5": "Ant-v1", "Reacher-v5": "Reacher-v1",
                "InvertedPendulum-v5": "InvertedPendulum-v1",
                "InvertedDoublePendulum-v5": "InvertedDoublePendulum-v1"}
"""A MuJoCo task we run -> the authors' task it is held against. PyBullet tasks have none: other
physics, other rewards, other return scales."""


@dataclass
class AuthorsCurve:
    """The authors' TD3 on one task: per evaluation, mean and population std over ``n_seeds``.

    Shapes: ``step``, ``mean``, ``std``: (201,) for 0, 5,000, ..., 1,000,000 steps.
    """

    task: str
    step: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    n_seeds: int

    def at(self, step: int) -> tuple[float, float]:
        """(mean, std) of the evaluation at ``step``, a multiple of 5,000 up to 1,000,000."""
        hits = np.flatnonzero(self.step == int(step))
        if len(hits) == 0:
            raise ValueError(f"The authors evaluated every {EVAL_EVERY:,} steps from 0 to "
                             f"{int(self.step[-1]):,}; {step:,} is not one of those steps.")
        return float(self.mean[hits[0]]), float(self.std[hits[0]])


def authors_task(env_id: str) -> str | None:
    """The authors' task for ``env_id`` (HalfCheetah-v5 -> HalfCheetah-v1; a -v1 id is itself),
    or None where there is none (PyBullet, Pendulum)."""
    if env_id in TASKS.values():
        return env_id
    return AUTHORS_TASK.get(env_id)


def load_authors_curve(env_id: str = "HalfCheetah-v5") -> AuthorsCurve:
    """The authors' curve for ``env_id`` (a v5 MuJoCo id, or the authors' own v1 id)."""
    task = authors_task(env_id)
    if task is None:
        raise ValueError(f"The authors' curves are for MuJoCo tasks ({', '.join(AUTHORS_TASK)}); "
                         f"{env_id!r} has none: PyBullet tasks have other physics and rewards.")
    rows = [r for r in _rows() if r["task"] == task]
    return AuthorsCurve(task, np.array([int(r["step"]) for r in rows]),
                        np.array([float(r["mean_return"]) for r in rows]),
                        np.array([float(r["std_return"]) for r in rows]), int(rows[0]["n_seeds"]))


def _rows() -> list[dict]:
    with open(DATA, newline="") as f:
        return list(csv.DictReader(f))


# --------------------------------------------------------------------------------- plotting
def plot_against_authors(evaluations, env_id: str, ax=None, label: str = "this run",
                         max_step: int | None = None):
    """Draw a run's evaluation curve over the authors' 10-seed band (mean ± std) on ``ax``.

    ``evaluations``: ``EvalRecord``s (``TrainResult.evaluations``), a run folder, or its
    ``evaluations.csv``; or a dict ``{label: records}`` for several seeds. Where ``env_id`` has no
    authors' counterpart (PyBullet) only the run is drawn and the title says why. The band is
    cut at ``max_step`` (default: the run's last step, at least 50,000). Returns ``ax``.
    """
    import matplotlib.pyplot as plt

    from .trainer import read_evaluations

    runs = evaluations if isinstance(evaluations, dict) else {label: evaluations}
    runs = {k: read_evaluations(v) if isinstance(v, (str, Path)) else list(v) for k, v in runs.items()}
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    last = max((r[-1].step for r in runs.values() if r), default=0)
    task = authors_task(env_id)
    if task is not None:
        curve = load_authors_curve(task)
        keep = curve.step <= (max_step or max(last, 50_000))
        x, m, s = curve.step[keep], curve.mean[keep], curve.std[keep]
        ax.fill_between(x, m - s, m + s, color="grey", alpha=0.25,
                        label=f"authors' TD3, {task}: mean ± std of {curve.n_seeds} seeds")
        ax.plot(x, m, color="grey", lw=1)
        title = f"TD3 on {env_id} against the authors' {task} (the paper's curves)"
    else:
        title = f"TD3 on {env_id} (the authors' curves are MuJoCo tasks: no band to compare)"
    for name, recs in runs.items():
        xs = [r.step for r in recs]
        ms = np.array([r.mean for r in recs])
        ax.plot(xs, ms, marker="o", ms=2, label=name)
    ax.set(xlabel="env steps", ylabel="evaluation return (10 episodes)", title=title)
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return ax


# --------------------------------------------------------------------------------- building the CSV
def summarise(folder: str | Path) -> list[dict]:
    """Rows of the CSV from the authors' ``learning_curves`` folder: every task found, every
    evaluation, mean and population std over the seeds (the files ``TD3_<task>_<seed>.npy``)."""
    folder = Path(folder)
    rows = []
    for sub, task in TASKS.items():
        files = sorted((folder / sub).glob(f"TD3_{task}_*.npy"),
                       key=lambda p: int(p.stem.rsplit("_", 1)[1]))
        if not files:
            continue
        runs = np.stack([np.load(p) for p in files])  # (seeds, 201)
        for i, (m, s) in enumerate(zip(runs.mean(axis=0), runs.std(axis=0))):
            rows.append({"task": task, "step": i * EVAL_EVERY, "mean_return": f"{m:.2f}",
                         "std_return": f"{s:.2f}", "n_seeds": len(files)})
    if not rows:
        raise FileNotFoundError(f"No TD3_<task>-v1_<seed>.npy files under {folder}/<task>/; pass "
                                "the learning_curves folder of github.com/sfujim/TD3.")
    return rows


def write_csv(rows: Iterable[dict], path: str | Path = DATA) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, ["task", "step", "mean_return", "std_return", "n_seeds"])
        w.writeheader()
        w.writerows(rows)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m td3_teach.authors_curves PATH/TO/TD3/learning_curves")
    print(f"wrote {write_csv(summarise(sys.argv[1]))}")
