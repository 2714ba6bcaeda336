"""The overestimation measurement (td3_teach.overestimation): the true value is the discounted
Monte Carlo return from the measured states, time-limit truncation does not cut it short, the
estimate is the critic's Q1(s, pi(s)), and measuring leaves training unchanged."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from td3_teach import TD3, TD3Config
from td3_teach.overestimation import (OverestimationRecord, default_extra_steps,
                                      discounted_returns, measure, run, variant_config)

torch.set_num_threads(1)


class ConstantRewardEnv(gym.Env):
    """Reward -1 on every step, never terminates; 1-d state = the step count, 1-d action."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([self.t], np.float32), -1.0, False, False, {}


gym.register("ConstantReward-v0", entry_point=ConstantRewardEnv, max_episode_steps=10)


class ConstantCritic(nn.Module):
    """Q1(s, a) = c everywhere: the estimate must come out as exactly c."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(float(c)))

    def Q1(self, s, a):  # noqa: N802
        return self.c.expand(s.shape[0], 1)


def agent_for(env_id: str, q: float = 5.0, gamma: float = 0.99) -> TD3:
    env = gym.make(env_id)
    s_dim, a_dim = env.observation_space.shape[0], env.action_space.shape[0]
    torch.manual_seed(0)
    agent = TD3(s_dim, a_dim, float(env.action_space.high[0]), TD3Config(discount=gamma), "cpu")
    agent.critic = ConstantCritic(q)
    return agent


def test_discounted_returns_match_the_definition() -> None:
    r, gamma = [1.0, -2.0, 3.0, 0.5], 0.9
    expected = [sum(gamma ** (k - t) * r[k] for k in range(t, 4)) for t in range(4)]
    np.testing.assert_allclose(discounted_returns(r, gamma), expected)
    np.testing.assert_allclose(discounted_returns(r, 0.0), r)


def test_default_extra_steps_leaves_at_most_one_percent() -> None:
    k = default_extra_steps(0.99)
    assert k == 459 and 0.99 ** k <= 0.01 < 0.99 ** (k - 1)
    assert default_extra_steps(0.0) == 0


def test_truncation_does_not_cut_the_true_value_short() -> None:
    """Every step pays -1 and the time limit is 10. The critic's target counts the future past the
    limit (truncation is not masked), so every measured state's true value is about
    -1/(1-gamma) = -100; cut at the limit, the last state would be worth only -1."""
    rec = measure(agent_for("ConstantReward-v0"), "ConstantReward-v0", episodes=2, seed=0)
    assert rec.n_states == 2 * 10, "only the states inside the env's own time limit are measured"
    extra = default_extra_steps(0.99)
    exact = np.mean([-(1 - 0.99 ** (10 - t + extra)) / 0.01 for t in range(10)])
    assert rec.true == pytest.approx(exact, rel=1e-9)
    assert -100 <= rec.true <= -99 and abs(rec.true + 100) <= rec.tail_bound
    cut_at_limit = np.mean(discounted_returns([-1.0] * 10, 0.99))
    assert rec.true < cut_at_limit - 40


def test_estimate_is_q1_of_the_policy_and_bias_its_difference() -> None:
    rec = measure(agent_for("ConstantReward-v0", q=5.0), "ConstantReward-v0", episodes=1)
    assert rec.estimate == pytest.approx(5.0)
    assert rec.bias == pytest.approx(rec.estimate - rec.true) and rec.bias > 100


def test_true_value_on_pendulum_matches_a_hand_rollout() -> None:
    agent, gamma = agent_for("Pendulum-v1"), 0.99
    rec = measure(agent, "Pendulum-v1", episodes=1, seed=7, extra_steps=50)
    env = gym.make("Pendulum-v1", max_episode_steps=250)
    obs, _ = env.reset(seed=7)
    rewards = []
    for _ in range(250):
        with torch.no_grad():
            a = agent.actor(torch.as_tensor(obs).reshape(1, -1))[0].numpy()
        obs, r, *_ = env.step(a)
        rewards.append(r)
    g = [sum(gamma ** (k - t) * rewards[k] for k in range(t, 250)) for t in range(200)]
    assert rec.n_states == 200
    assert rec.true == pytest.approx(float(np.mean(g)), rel=1e-6)


def test_run_measures_at_every_evaluation_and_leaves_training_unchanged() -> None:
    """Same seed, same records; and the evaluation curve equals that of a plain trainer run."""
    from td3_teach.seeding import seed_everything
    from td3_teach.trainer import make_agent, train

    kw = dict(steps=240, seed=3, measure_every=80, start_steps=80, eval_episodes=1,
              measure_episodes=1)
    cfg = TD3Config.ddpg(batch_size=16)
    a = run("Pendulum-v1", cfg, **kw)
    b = run("Pendulum-v1", cfg, **kw)
    assert [r.step for r in a.records] == [0, 80, 160, 240]
    assert [r.as_row() | {"wall_time": 0} for r in a.records] == \
           [r.as_row() | {"wall_time": 0} for r in b.records]
    assert all(isinstance(r, OverestimationRecord) and r.n_states == 200 for r in a.records)

    seed_everything(3)
    agent = make_agent(3, 1, 2.0, cfg, "cpu")
    plain = train("Pendulum-v1", 240, 3, None, agent=agent, config=cfg, start_steps=80,
                  eval_every=80, eval_episodes=1, device="cpu", progress=False)
    assert [e.mean for e in plain.evaluations] == [r.eval_return for r in a.records]


def test_variant_configs_switch_off_what_they_name() -> None:
    assert variant_config("TD3") == TD3Config()
    assert variant_config("TD3-CDQ").twin_critics is False
    assert variant_config("TD3-TPS").target_noise is False
    assert variant_config("TD3-DP").delayed_updates is False
    assert variant_config("DDPG-style", batch_size=100) == TD3Config.ddpg(batch_size=100)
    with pytest.raises(ValueError, match="known"):
        variant_config("TD4")
    assert math.isfinite(default_extra_steps(0.5))


def test_a_stopped_run_resumes_to_the_same_measurements(tmp_path) -> None:
    """Issue 19's long runs: a run stopped at 160 steps and run again to 400 in the same folder
    gives the records of one uninterrupted 400-step run (the trainer's exact resume, and the
    measurements taken after the checkpoint dropped and taken again from the same seeds)."""
    import csv

    kw = dict(seed=1, measure_every=80, start_steps=60, eval_episodes=1, measure_episodes=1)
    cfg = TD3Config(batch_size=16)
    whole = run("Pendulum-v1", cfg, steps=400, **kw)
    run("Pendulum-v1", cfg, steps=160, out_dir=tmp_path, checkpoint_every=100, **kw)
    with open(tmp_path / "overestimation.csv", newline="") as f:
        assert [int(float(r["step"])) for r in csv.DictReader(f)] == [0, 80, 160]
    resumed = run("Pendulum-v1", cfg, steps=400, out_dir=tmp_path, checkpoint_every=100, **kw)
    strip = lambda recs: [r.as_row() | {"wall_time": 0} for r in recs]  # noqa: E731
    assert [r.step for r in resumed.records] == [0, 80, 160, 240, 320, 400]
    assert strip(resumed.records) == strip(whole.records)


def test_the_figure_1_variant_is_ddpg_style_plus_clipped_double_q() -> None:
    cdq = variant_config("CDQ")
    assert cdq.twin_critics and not cdq.target_noise and not cdq.delayed_updates


def test_a_runs_first_steps_do_not_depend_on_its_length() -> None:
    """benchmarks/first_steps_of.py stores the first N steps of a longer run as the N-step run:
    true only if nothing before step N depends on the total (memory size, schedules)."""
    kw = dict(seed=2, measure_every=80, start_steps=60, eval_episodes=1, measure_episodes=1)
    cfg = TD3Config(batch_size=16)
    long, short = run("Pendulum-v1", cfg, steps=400, **kw), run("Pendulum-v1", cfg, steps=240, **kw)
    strip = lambda recs: [r.as_row() | {"wall_time": 0} for r in recs]  # noqa: E731
    assert strip(long.records)[:4] == strip(short.records) and len(short.records) == 4
