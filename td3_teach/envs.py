"""Gymnasium environments for TD3: PyBullet locomotion and classic control, made quietly.

PyBullet's locomotion envs (HalfCheetahBulletEnv-v0 and friends) are registered for gymnasium by
``pybullet_envs_gymnasium``. (The ``pybullet_envs`` module bundled with pybullet, which the
lecture imported, targets the old ``gym`` and fails under gymnasium.) PyBullet's C code prints
build noise (``argv[0]=`` ...) straight to the process's stdout; ``quiet()`` hides it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

import gymnasium as gym
import numpy as np

from .errors import EnvError

BULLET_ENVS = ("HalfCheetahBulletEnv-v0", "HopperBulletEnv-v0", "Walker2DBulletEnv-v0",
               "AntBulletEnv-v0", "InvertedPendulumBulletEnv-v0")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence output written by C code to file descriptors 1 and 2 (Python's own too)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = []
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(devnull, fd)
            except OSError:
                pass
        yield
    finally:
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def register_bullet_envs() -> None:
    """Register the PyBullet envs with gymnasium (idempotent, silent)."""
    if "HalfCheetahBulletEnv-v0" in gym.registry:
        return
    try:
        with quiet():
            import pybullet_envs_gymnasium  # noqa: F401  (registers the envs on import)
    except ImportError as e:
        raise EnvError("The PyBullet environments need the packages 'pybullet' and "
                       "'pybullet-envs-gymnasium' (pip install pybullet pybullet-envs-gymnasium; "
                       "wheels exist for Python up to 3.11).") from e


def make_env(env_id: str = "HalfCheetahBulletEnv-v0", render_mode: str | None = None,
             seed: int | None = None) -> gym.Env:
    """``gym.make(env_id)``, registering Bullet envs first, checked to fit TD3 (Box actions)."""
    if "Bullet" in env_id:
        register_bullet_envs()
    try:
        with quiet():
            env = gym.make(env_id, render_mode=render_mode)
    except gym.error.Error as e:
        raise EnvError(f"Cannot make environment '{env_id}': {e}. Bullet envs known here: "
                       f"{', '.join(BULLET_ENVS)}; gymnasium ones such as Pendulum-v1 also work.") from None
    try:
        check_box_actions(env)
    except EnvError:
        env.close()
        raise
    env = QuietReset(env)
    if seed is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
    return env


class QuietReset(gym.Wrapper):
    """Bullet envs connect to the physics server on their first reset, and print while doing so."""

    def reset(self, **kwargs):
        with quiet():
            return self.env.reset(**kwargs)


def check_box_actions(env: gym.Env) -> None:
    """TD3 acts in a continuous box; a Discrete (or other) action space gets a clear error."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Box):
        raise EnvError(f"TD3 needs a continuous Box action space; {env.spec.id if env.spec else env} "
                       f"has {space}. For discrete actions use DQN-style methods instead.")
    if not (np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
        raise EnvError(f"TD3 needs finite action bounds; got low={space.low}, high={space.high}.")
    if not np.allclose(space.low, -space.high):
        raise EnvError(f"TD3 here assumes symmetric action bounds [-max, max]; got "
                       f"low={space.low}, high={space.high}. Wrap the env with "
                       "gymnasium.wrappers.RescaleAction(env, -1, 1).")


def env_dims(env: gym.Env) -> tuple[int, int, float]:
    """(state_dim, action_dim, max_action) of an env, the three numbers TD3's constructor takes."""
    check_box_actions(env)
    obs_shape = env.observation_space.shape
    if obs_shape is None or len(obs_shape) != 1:
        raise EnvError(f"TD3's networks take flat observations; got shape {obs_shape}.")
    return int(obs_shape[0]), int(env.action_space.shape[0]), float(env.action_space.high[0])
