"""Evaluation: deterministic, repeatable, on fixed reset seeds, with mean and std of the returns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from td3_teach import TD3
from td3_teach.envs import bullet_available, make_env
from td3_teach.evaluate import as_policy, evaluate, run_episode

torch.set_num_threads(1)


def test_mean_std_of_the_episode_returns_and_repeatable() -> None:
    torch.manual_seed(0)
    agent = TD3(3, 1, 2.0, device="cpu")
    mean, std, returns = evaluate(agent, "Pendulum-v1", episodes=3, seed=7)
    assert len(returns) == 3 and mean == pytest.approx(np.mean(returns))
    assert std == pytest.approx(np.std(returns))
    assert evaluate(agent, "Pendulum-v1", episodes=3, seed=7) == (mean, std, returns)
    assert evaluate(agent, "Pendulum-v1", episodes=3, seed=8)[2] != returns
    # An env instance is reused with the same seeds: same numbers whatever it did before.
    env = make_env("Pendulum-v1")
    env.reset(seed=123)
    env.step(env.action_space.sample())
    assert evaluate(agent, env, episodes=3, seed=7) == (mean, std, returns)


@pytest.mark.skipif(not bullet_available(), reason="needs pybullet (wheels for Python <= 3.11)")
def test_bullet_env_episodes_do_not_depend_on_history() -> None:
    """PyBullet's physics cannot be saved; after the first reset (make_env(seed=...) does one),
    reset(seed) must give the same episode on a used env as on a fresh one: the trainer's exact
    resume and the equality of evaluate() with the trainer's evaluations rely on it."""
    agent = TD3(26, 6, 1.0, device="cpu")
    used = make_env("HalfCheetahBulletEnv-v0", seed=0)
    for _ in range(30):
        used.step(used.action_space.sample())
    fresh = make_env("HalfCheetahBulletEnv-v0", seed=1)
    results = []
    for env in (used, fresh):
        steps = []
        obs, _ = env.reset(seed=5)
        steps.append(obs.tolist())
        for _ in range(50):
            obs, r, *_ = env.step(agent.select_action(obs))
            steps.append((r, obs.tolist()))
        results.append(steps)
    assert results[0] == results[1]
    assert run_episode(agent.select_action, fresh, 3)[1] == 1000  # ends by truncation at 1000


def test_accepts_an_actor_or_a_function_and_refuses_other_things() -> None:
    agent = TD3(3, 1, 2.0, device="cpu")
    s = np.ones(3, np.float32)
    np.testing.assert_array_equal(as_policy(agent.actor)(s), agent.select_action(s))
    assert evaluate(lambda s: np.zeros(1, np.float32), "Pendulum-v1", 1, 0)[0] < 0
    with pytest.raises(TypeError, match="Cannot act with a int"):
        as_policy(3)
    with pytest.raises(ValueError, match="trained on another environment"):
        evaluate(TD3(5, 1, 2.0, device="cpu"), "Pendulum-v1", 1, 0)


def test_evaluate_command(tmp_path: Path) -> None:
    TD3(3, 1, 2.0, device="cpu").save(tmp_path / "a.pt")
    out = subprocess.run([sys.executable, "-m", "td3_teach.cli", "evaluate", str(tmp_path / "a.pt"),
                          "--env", "Pendulum-v1", "--episodes", "2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "mean return" in out.stdout and "over 2 episodes" in out.stdout
    out = subprocess.run([sys.executable, "-m", "td3_teach.cli", "evaluate", str(tmp_path / "a.pt")],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "--env" in out.stderr
