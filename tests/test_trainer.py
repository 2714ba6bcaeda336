"""The training loop does what the authors' main.py does: warm-up, noisy actions, terminated-only
storage, one update per step, evaluations on schedule; and the learner's pieces plug in."""

from __future__ import annotations

import csv
from pathlib import Path

import gymnasium as gym
import matplotlib
import matplotlib.axes
import numpy as np
import pytest
import torch

from td3_teach import TD3Config
from td3_teach.networks import Actor
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.trainer import (EvalRecord, episode_seed, exploration_action, live_learning_curve,
                               read_evaluations, train)

matplotlib.use("Agg")
torch.set_num_threads(1)
SMALL = dict(start_steps=100, eval_every=100, eval_episodes=1, progress=False, device="cpu",
             config=TD3Config(batch_size=32))


class Terminates(gym.Env):
    """A toy env that terminates (falls) after 7 steps from seed-dependent starts, so the
    trainer's terminated-vs-truncated handling can be seen; a TimeLimit of 5 truncates some."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.limit = int(self.np_random.integers(3, 9))  # terminal at step 3..8
        return np.zeros(2, np.float32), {}

    def step(self, a):
        self.t += 1
        return (np.array([self.t / 10, float(a[0])], np.float32), 1.0, self.t >= self.limit, False,
                {})


gym.register("TerminatesToy-v0", entry_point=Terminates, max_episode_steps=5)


class RecordingBuffer(ReplayBuffer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list[tuple] = []

    def add(self, transition):
        self.log.append(transition)
        super().add(transition)


RECORDED: dict = {}


@pytest.fixture(autouse=True)
def _capture(monkeypatch):
    original = RecordingBuffer.__init__

    def init(self, *a, **k):
        original(self, *a, **k)
        RECORDED["log"] = self.log
    monkeypatch.setattr(RecordingBuffer, "__init__", init)


def test_terminal_flag_matches_the_env_exactly() -> None:
    """Replay the run's episodes: with seeds from episode_seed, each episode's terminal step is
    known; every stored flag must equal the env's terminated (0 at time-limit truncations)."""
    train("TerminatesToy-v0", 200, 4, None, buffer_cls=RecordingBuffer, **SMALL)
    log = RECORDED["log"]
    env = gym.make("TerminatesToy-v0")
    i, episode, truncations = 0, 0, 0
    while i < len(log):
        env.reset(seed=episode_seed(4, episode))
        limit = env.unwrapped.limit
        for t in range(1, 6):
            if i >= len(log):
                break
            assert float(log[i][4]) == float(t >= limit), (episode, t, limit)
            i += 1
            if t >= limit:
                break
        else:
            truncations += 1  # ran into the 5-step limit without terminating: stored 0
        episode += 1
    assert truncations > 0 and episode > 20


def test_one_update_per_step_after_the_warm_up_and_evaluations_on_schedule(tmp_path: Path) -> None:
    seen: list[EvalRecord] = []
    result = train("Pendulum-v1", 350, 0, tmp_path, on_eval=lambda rec, hist: seen.append(rec),
                   **SMALL)
    assert result.agent.total_it == 350 - 100  # none during the warm-up, then one per step
    assert [e.step for e in result.evaluations] == [0, 100, 200, 300, 350]
    assert seen == result.evaluations
    # During the warm-up the policy never changes, so its evaluations are identical.
    assert result.evaluations[0].mean == result.evaluations[1].mean
    with open(tmp_path / "evaluations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["step", "mean_return", "std_return", "wall_time_s"]
    assert [e.step for e in read_evaluations(tmp_path)] == [0, 100, 200, 300, 350]
    assert {p.name for p in tmp_path.iterdir()} >= {"checkpoint.pt", "evaluations.csv",
                                                     "best_actor.pt", "final_actor.pt"}


def test_warm_up_actions_are_uniform_random_then_noisy_policy_actions() -> None:
    calls: list[np.ndarray] = []

    def explore(mu_s, max_action, expl_noise, rng):
        calls.append(mu_s)
        return exploration_action(mu_s, max_action, expl_noise, rng)
    train("Pendulum-v1", 150, 0, None, buffer_cls=RecordingBuffer, explore=explore, **SMALL)
    actions = np.array([np.asarray(t[2]).ravel()[0] for t in RECORDED["log"]])
    assert len(calls) == 50  # the learner's explore() was used after the 100 warm-up steps
    warm = actions[:100]
    assert warm.min() < -1.5 and warm.max() > 1.5  # uniform over Pendulum's [-2, 2]
    assert np.all(np.abs(actions) <= 2.0)


def test_exploration_action_is_scaled_clipped_gaussian_noise() -> None:
    rng = np.random.default_rng(0)
    mu = np.zeros((20_000, 1))
    a = exploration_action(mu, 2.0, 0.1, rng)
    assert abs(a.std() - 0.2) < 0.01  # std = expl_noise * max_action
    a = exploration_action(np.full((1000, 2), 1.95), 2.0, 0.5, rng)
    assert a.max() <= 2.0 and (a == 2.0).any()  # clipped to the action bound


def test_learners_pieces_plug_in() -> None:
    class MyActor(Actor):
        pass
    result = train("Pendulum-v1", 140, 0, None, actor_cls=MyActor, buffer_cls=RecordingBuffer,
                   **SMALL)
    assert type(result.agent.actor) is MyActor and type(result.agent.actor_target) is MyActor
    assert result.agent.actor_optimizer.param_groups[0]["params"][0] is \
        next(result.agent.actor.parameters())
    assert len(RECORDED["log"]) == 140


def test_same_seed_same_run_other_seed_other_run() -> None:
    kw = dict(SMALL, eval_every=200)
    a = train("Pendulum-v1", 200, 0, None, **kw).evaluations[-1].mean
    b = train("Pendulum-v1", 200, 0, None, **kw).evaluations[-1].mean
    c = train("Pendulum-v1", 200, 1, None, **kw).evaluations[-1].mean
    assert a == b and a != c


def test_live_learning_curve_draws_each_evaluation() -> None:
    on_eval = live_learning_curve(random_return=-1200)
    hist = [EvalRecord(0, -1200.0, 50.0, 0.0), EvalRecord(100, -800.0, 40.0, 1.0)]
    on_eval(hist[0], hist[:1])
    on_eval(hist[1], hist)
    ax = next(c.cell_contents for c in on_eval.__closure__
              if isinstance(c.cell_contents, matplotlib.axes.Axes))
    assert list(ax.lines[0].get_xdata()) == [0, 100] and "-800.0 at 100" in ax.get_title()


def test_cli_lists_the_environments(capsys) -> None:
    from td3_teach.cli import main
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for env_id in ("HalfCheetahBulletEnv-v0", "HopperBulletEnv-v0", "Walker2DBulletEnv-v0",
                   "AntBulletEnv-v0", "Pendulum-v1", "--resume"):
        assert env_id in text
