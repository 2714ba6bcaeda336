"""Interrupting training (Ctrl-C, Jupyter's stop button: a SIGINT) ends with a short message and
a checkpoint taken where it stopped, mid-episode included; resuming says what it restored and
gives the same results as a run that never stopped."""

from __future__ import annotations

import csv
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from td3_teach import TD3Config
from td3_teach.trainer import TrainingInterrupted, exploration_action, train

torch.set_num_threads(1)

KW = dict(start_steps=200, eval_every=200, eval_episodes=1, checkpoint_every=400,
          progress=False, device="cpu", config=TD3Config(batch_size=32))


def sigint_at(step: int):
    """An exploration function that sends this process a SIGINT when called for the step-th
    time after the warm-up, as Jupyter's stop button would, and otherwise explores as usual."""
    calls = [0]

    def explore(mu_s, max_action, expl_noise, rng):
        calls[0] += 1
        if calls[0] == step:
            os.kill(os.getpid(), signal.SIGINT)
        return exploration_action(mu_s, max_action, expl_noise, rng)
    return explore


def returns(folder: Path) -> list[tuple[str, str, str]]:
    with open(folder / "evaluations.csv", newline="") as f:
        return [(r["step"], r["mean_return"], r["std_return"]) for r in csv.DictReader(f)]


def test_sigint_mid_episode_checkpoints_there_and_resume_is_identical(tmp_path, capsys):
    whole = train("Pendulum-v1", 1000, 4, tmp_path / "whole", **KW)
    before = signal.getsignal(signal.SIGINT)  # Python's default_int_handler, or SIG_IGN under nohup
    with pytest.raises(TrainingInterrupted) as stop:
        train("Pendulum-v1", 1000, 4, tmp_path / "cut", explore=sigint_at(337), **KW)
    message = str(stop.value)
    # 200 warm-up steps + 337 explored ones: step 537 is 137 steps into Pendulum's 4th episode
    assert message.splitlines()[0].startswith("Training interrupted at step 537 of 1,000")
    assert "Checkpoint written at step 537" in message and "nothing is lost" in message
    assert f"train --resume {(tmp_path / 'cut').resolve()}" in message
    assert len(message.splitlines()) <= 4, "a short message, not a traceback"
    assert stop.value._render_traceback_() == message.splitlines()
    assert signal.getsignal(signal.SIGINT) is before, "handler put back"

    capsys.readouterr()
    resumed = train("Pendulum-v1", None, 4, tmp_path / "cut", resume=True, progress=False)
    said = capsys.readouterr().out
    assert "Resumed from step 537 of 1,000" in said and "137 steps into episode replayed" in said
    assert returns(tmp_path / "cut") == returns(tmp_path / "whole")
    assert resumed.episode_returns == whole.episode_returns


def test_an_interrupt_that_cannot_wait_says_exactly_what_is_redone(tmp_path):
    """A KeyboardInterrupt raised in the middle of a step (a second Ctrl-C) cannot be saved
    consistently: the message names the last checkpoint and the steps a resume redoes."""
    def explode_at_600(mu_s, max_action, expl_noise, rng, calls=[0]):
        calls[0] += 1
        if calls[0] == 400:  # step 600; checkpoints at the episode boundaries 400 and 600
            raise KeyboardInterrupt
        return exploration_action(mu_s, max_action, expl_noise, rng)

    with pytest.raises(TrainingInterrupted) as stop:
        train("Pendulum-v1", 1000, 4, tmp_path / "cut", explore=explode_at_600, **{
            **KW, "checkpoint_every": 400})
    message = str(stop.value)
    assert "Training interrupted at step 599 of 1,000" in message
    assert "checkpoint of step 400 and redoes steps 401 to 599" in message


def test_bullet_env_is_replayed_to_the_interrupted_state(tmp_path):
    """Bullet's physics state cannot be saved: resuming replays the episode's actions from its
    seeded reset. Random warm-up actions only (cheap); the training episodes' returns would
    differ from the whole run's if the replayed state were not the same."""
    kw = dict(start_steps=3000, eval_every=3000, eval_episodes=1, progress=False, device="cpu")
    env_id = "HalfCheetahBulletEnv-v0"
    whole = train(env_id, 3000, 2, tmp_path / "whole", **kw)
    train(env_id, 3000, 2, tmp_path / "cut", stop_at=1500, **kw)  # mid-episode, as an interrupt
    resumed = train(env_id, None, 2, tmp_path / "cut", resume=True, progress=False)
    assert len(whole.episode_returns) == 3
    assert resumed.episode_returns == whole.episode_returns


def test_ctrl_c_on_the_command_line_prints_the_message_and_exits_130(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "td3_teach.cli", "train", "--env", "Pendulum-v1", "--steps",
           "20000", "--seed", "1", "--start-steps", "300", "--eval-every", "10000",
           "--eval-episodes", "1", "--batch-size", "32", "--threads", "1", "--no-progress",
           "--device", "cpu", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out / "evaluations.csv").exists():
        time.sleep(0.05)
    time.sleep(1.5)  # into the update phase
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[1].startswith("Training interrupted at step "), stderr
    assert "Checkpoint written" in lines[2] and len(lines) == 4
    resume = shlex.split(lines[3].split("from a terminal: ", 1)[1])
    assert resume[1:] == ["train", "--resume", str(out.resolve())]
    assert Path(resume[0]).name == "td3-teach" or resume[:2] == [sys.executable, "-m"]
    assert (out / "checkpoint.pt").exists()
