"""A run killed with kill -9 and resumed with --resume gives the same evaluations as one that
never stopped (Pendulum-v1, a few thousand steps on the CPU, one torch thread)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from td3_teach.envs import bullet_available
from td3_teach.trainer import train

torch.set_num_threads(1)

RUN = ["--env", "Pendulum-v1", "--steps", "2400", "--seed", "3", "--start-steps", "400",
       "--eval-every", "400", "--eval-episodes", "2", "--checkpoint-every", "800",
       "--batch-size", "64", "--threads", "1", "--no-progress", "--device", "cpu"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "td3_teach.cli", "train", *args]


def env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def returns(folder: Path) -> list[tuple[str, str, str]]:
    """(step, mean, std) of every evaluation row; wall time differs between runs, so it is left out."""
    with open(folder / "evaluations.csv", newline="") as f:
        return [(r["step"], r["mean_return"], r["std_return"]) for r in csv.DictReader(f)]


def test_resume_after_kill_9_gives_identical_evaluations(tmp_path: Path) -> None:
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    subprocess.run(cli(*RUN, "--out", str(whole)), check=True, env=env(), capture_output=True)
    expected = returns(whole)
    assert [r[0] for r in expected] == [str(s) for s in range(0, 2401, 400)]

    proc = subprocess.Popen(cli(*RUN, "--out", str(broken)), env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # Wait until a checkpoint exists AND the run has gone past it (an evaluation after
        # step 800), so the kill throws away work that the resumed run must redo.
        while time.monotonic() < deadline and proc.poll() is None:
            if (broken / "checkpoint.pt").exists() and (broken / "evaluations.csv").exists() \
                    and any(int(r[0]) > 800 for r in returns(broken)):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed; raise --steps"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    killed_at = max(int(r[0]) for r in returns(broken))
    assert killed_at < 2400, "the killed run must not have finished"

    subprocess.run([sys.executable, "-m", "td3_teach.cli", "train", "--resume", str(broken),
                    "--threads", "1", "--no-progress"], check=True, env=env(), capture_output=True)
    assert returns(broken) == expected


def test_stop_and_resume_in_process_matches_and_extends(tmp_path: Path) -> None:
    """Training in slices (stop_at at an episode boundary, then resume) equals one run; a
    finished run can be resumed with a larger step budget and goes on learning."""
    kw = dict(start_steps=200, eval_every=200, eval_episodes=1, checkpoint_every=200,
              progress=False, device="cpu")
    from td3_teach import TD3Config
    cfg = TD3Config(batch_size=32)
    whole = train("Pendulum-v1", 800, 5, tmp_path / "a", config=cfg, **kw)
    train("Pendulum-v1", 800, 5, tmp_path / "b", config=cfg, stop_at=400, **kw)
    assert [e.step for e in train("Pendulum-v1", None, 5, tmp_path / "b", resume=True,
                                  progress=False).evaluations] == [0, 200, 400, 600, 800]
    assert returns(tmp_path / "a") == returns(tmp_path / "b")
    assert [round(e.mean, 6) for e in whole.evaluations] == \
        [float(r[1]) for r in returns(tmp_path / "a")]

    longer = train("Pendulum-v1", 1000, 5, tmp_path / "b", resume=True, progress=False)
    assert longer.steps == 1000 and longer.evaluations[-1].step == 1000
    assert len(returns(tmp_path / "b")) == 6


def test_rerunning_a_resume_cell_continues_instead_of_starting_over(tmp_path: Path) -> None:
    """Notebook 18 trains with resume=True: the first run of the cell starts afresh (no
    checkpoint yet, no error); running the cell again after the run finished returns at once
    with the same evaluations, and the live curve is drawn from the saved history."""
    from td3_teach import TD3Config
    kw = dict(start_steps=200, eval_every=200, eval_episodes=1, config=TD3Config(batch_size=32),
              progress=False, device="cpu", resume=True)
    first = train("Pendulum-v1", 400, 6, tmp_path / "run", **kw)
    assert [e.step for e in first.evaluations] == [0, 200, 400]

    drawn = []
    again = train("Pendulum-v1", 400, 6, tmp_path / "run",
                  on_eval=lambda rec, hist: drawn.append((rec.step, [e.step for e in hist])), **kw)
    assert [(e.step, e.mean) for e in again.evaluations] == \
        [(e.step, e.mean) for e in first.evaluations]
    assert drawn == [(400, [0, 200, 400])], "the resumed run should draw the curve so far, once"
    assert len(returns(tmp_path / "run")) == 3, "nothing trained twice, no row written twice"


def test_resume_without_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "td3_teach.cli", "train", "--resume",
                          str(tmp_path / "nothing")], env=env(), capture_output=True, text=True)
    assert out.returncode != 0
    assert "no checkpoint.pt there" in out.stderr


@pytest.mark.parametrize("flag", ["--out"])
def test_new_run_refuses_to_overwrite_a_run(tmp_path: Path, flag: str) -> None:
    train("Pendulum-v1", 200, 0, tmp_path, start_steps=100, eval_every=200, eval_episodes=1,
          progress=False, device="cpu")
    before = (tmp_path / "checkpoint.pt").read_bytes()
    out = subprocess.run(cli("--env", "Pendulum-v1", "--steps", "300", flag, str(tmp_path)),
                         env=env(), capture_output=True, text=True)
    assert out.returncode != 0 and "--resume" in out.stderr
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


@pytest.mark.skipif(not bullet_available(), reason="needs pybullet (wheels for Python <= 3.11)")
def test_bullet_run_resumes_exactly(tmp_path: Path) -> None:
    """PyBullet's physics state is not saved: the resumed env restarts from a seeded reset at
    the episode boundary where the checkpoint was taken, and the run goes on identically."""
    from td3_teach import TD3Config
    kw = dict(start_steps=900, eval_every=1000, eval_episodes=1, checkpoint_every=1000,
              progress=False, device="cpu", config=TD3Config(batch_size=32))
    env_id = "HalfCheetahBulletEnv-v0"
    whole = train(env_id, 2000, 2, tmp_path / "a", **kw)
    train(env_id, 2000, 2, tmp_path / "b", stop_at=1000, **kw)
    resumed = train(env_id, None, 2, tmp_path / "b", resume=True, progress=False)
    assert [e.step for e in resumed.evaluations] == [0, 1000, 2000]
    assert [e.mean for e in resumed.evaluations] == [e.mean for e in whole.evaluations]
