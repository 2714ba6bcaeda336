"""Environments for TD3 (td3_teach.envs): PyBullet's HalfCheetah made quietly and checked, and a
clear EnvError for action spaces TD3 cannot act in."""

import importlib.util
import warnings

import gymnasium as gym
import numpy as np
import pytest

from td3_teach import TD3
from td3_teach.envs import check_box_actions, env_dims, make_env, quiet
from td3_teach.errors import EnvError

# find_spec, not importorskip: importing pybullet here would print its build banner.
needs_bullet = pytest.mark.skipif(importlib.util.find_spec("pybullet_envs_gymnasium") is None,
                                  reason="needs pybullet-envs-gymnasium (wheels for Python <= 3.11)")


@pytest.fixture
def cheetah():
    env = make_env("HalfCheetahBulletEnv-v0")
    yield env
    env.close()


@needs_bullet
def test_agent_env_make_halfcheetah_prints_no_argv_noise(capfd):
    capfd.readouterr()
    env = make_env("HalfCheetahBulletEnv-v0", seed=0)
    obs, _ = env.reset(seed=1)
    for _ in range(5):
        obs, r, terminated, truncated, _ = env.step(env.action_space.sample())
    env.close()
    out, err = capfd.readouterr()
    assert "argv[0]=" not in out + err, f"PyBullet noise reached the terminal: {(out + err)[:200]!r}"
    assert obs.shape == (26,)


@needs_bullet
def test_agent_env_halfcheetah_dims_are_26_6_1(cheetah):
    assert env_dims(cheetah) == (26, 6, 1.0)
    dims = env_dims(cheetah)
    assert all(type(x) is t for x, t in zip(dims, (int, int, float)))


@needs_bullet
def test_agent_env_halfcheetah_passes_gymnasium_check_env(cheetah):
    """gymnasium 1.x: ``check_env(env, warn=None, skip_render_check=False, skip_close_check=False)``,
    on the unwrapped env (wrappers would hide its API). Warnings about infinite observation
    bounds and the old ``seed`` method are PyBullet's and allowed; errors are not."""
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings(), quiet():
        warnings.simplefilter("ignore")
        check_env(cheetah.unwrapped, skip_render_check=True)


@needs_bullet
def test_agent_env_halfcheetah_steps_within_bounds_and_is_seeded(cheetah):
    a = np.full(6, 1.0, np.float32)
    obs1, _ = cheetah.reset(seed=3)
    obs2, _ = cheetah.reset(seed=3)
    np.testing.assert_array_equal(obs1, obs2)
    obs, r, terminated, truncated, info = cheetah.step(a)
    assert obs.dtype == np.float32 and np.isfinite(obs).all() and isinstance(float(r), float)
    agent = TD3(*env_dims(cheetah), device="cpu")
    assert agent.select_action(obs).shape == (6,)


def test_agent_env_discrete_action_space_is_an_env_error():
    with pytest.raises(EnvError, match=r"Box action space.*CartPole-v1.*Discrete"):
        make_env("CartPole-v1")


def test_agent_env_unbounded_or_asymmetric_boxes_are_env_errors():
    class Boxed(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)

        def __init__(self, low, high):
            self.action_space = gym.spaces.Box(np.float32(low), np.float32(high), (2,), np.float32)

    with pytest.raises(EnvError, match="finite action bounds"):
        check_box_actions(Boxed(-np.inf, np.inf))
    with pytest.raises(EnvError, match="RescaleAction"):
        check_box_actions(Boxed(0.0, 1.0))
    check_box_actions(Boxed(-2.0, 2.0))


@needs_bullet  # without pybullet the error says to install it instead
def test_agent_env_unknown_id_is_an_env_error_listing_the_bullet_envs():
    with pytest.raises(EnvError, match="HalfCheetahBulletEnv-v0"):
        make_env("NoSuchBulletEnv-v0")


def test_agent_env_pendulum_works_too():
    env = make_env("Pendulum-v1", seed=0)
    assert env_dims(env) == (3, 1, 2.0)
    env.close()
