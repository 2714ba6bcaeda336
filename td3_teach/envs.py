"""Gymnasium environments for TD3: PyBullet and MuJoCo locomotion, classic control, made quietly.

Two physics engines run the course's locomotion tasks:

* **PyBullet** (the course's default; wheels for Python up to 3.11 only): HalfCheetahBulletEnv-v0
  and friends, registered for gymnasium by ``pybullet_envs_gymnasium``. (The ``pybullet_envs``
  module bundled with pybullet, which the lecture imported, targets the old ``gym`` and fails
  under gymnasium.) PyBullet's C code prints build noise (``argv[0]=`` ...) straight to the
  process's stdout; ``quiet()`` hides it.
* **MuJoCo** (the paper's own engine; ``pip install -e ".[mujoco]"``, wheels for every Python
  torch supports): HalfCheetah-v5, Hopper-v5, Walker2d-v5, Ant-v5 and gymnasium's other MuJoCo
  tasks, registered by gymnasium itself. The paper used their v1 versions (see
  ``td3_teach.authors_curves`` for how v5 differs).

``course_env()`` picks the engine for the notebooks: PyBullet where it is installed, MuJoCo where
it is not (Python 3.12 and later), or the one named by ``TD3_TEACH_ENGINE=bullet|mujoco``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from importlib.util import find_spec
from typing import Any, Iterator, cast

import gymnasium as gym
import numpy as np

from .errors import EnvError

BULLET_ENVS = ("HalfCheetahBulletEnv-v0", "HopperBulletEnv-v0", "Walker2DBulletEnv-v0",
               "AntBulletEnv-v0", "InvertedPendulumBulletEnv-v0")
MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5", "Ant-v5", "Humanoid-v5",
               "HumanoidStandup-v5", "InvertedPendulum-v5", "InvertedDoublePendulum-v5",
               "Reacher-v5", "Swimmer-v5", "Pusher-v5")
"""gymnasium's MuJoCo tasks (all with Box actions); the paper's are the first four."""
MUJOCO_TWIN = {"HalfCheetahBulletEnv-v0": "HalfCheetah-v5", "HopperBulletEnv-v0": "Hopper-v5",
               "Walker2DBulletEnv-v0": "Walker2d-v5", "AntBulletEnv-v0": "Ant-v5",
               "InvertedPendulumBulletEnv-v0": "InvertedPendulum-v5"}
"""Each Bullet task's MuJoCo counterpart (the same robot, other physics, other rewards)."""
MUJOCO_TRACKED = ("HalfCheetah", "Hopper", "Walker2d", "Ant", "Humanoid", "HumanoidStandup", "Swimmer")
"""MuJoCo robots whose model has a "track" camera: videos follow them (the default free camera
stays put, and a running cheetah leaves the picture within a few seconds)."""
ENGINE_VARIABLE = "TD3_TEACH_ENGINE"
MUJOCO_INSTALL = 'pip install -e ".[mujoco]" (or pip install "gymnasium[mujoco]")'


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


def bullet_available() -> bool:
    """Whether the PyBullet envs can be made here (found without importing pybullet)."""
    return find_spec("pybullet") is not None and find_spec("pybullet_envs_gymnasium") is not None


def mujoco_available() -> bool:
    """Whether gymnasium's MuJoCo envs can be made here (the ``mujoco`` package is installed)."""
    return find_spec("mujoco") is not None


def is_mujoco(env_id: str) -> bool:
    """True for a gymnasium MuJoCo task such as HalfCheetah-v5 (read from gymnasium's registry)."""
    spec = gym.registry.get(env_id)
    entry = getattr(spec, "entry_point", None)
    return isinstance(entry, str) and entry.startswith("gymnasium.envs.mujoco")


def course_env(bullet_id: str = "HalfCheetahBulletEnv-v0", verbose: bool = True) -> str:
    """The env id the notebooks use for ``bullet_id``'s task: PyBullet where it is installed,
    its MuJoCo twin (``MUJOCO_TWIN``) where it is not; ``TD3_TEACH_ENGINE=mujoco`` (or
    ``bullet``) chooses. With ``verbose`` it prints which engine it picked and why.

    ``course_env()`` is "HalfCheetahBulletEnv-v0" on Python 3.11 with the default install and
    "HalfCheetah-v5" on Python 3.12+ (no PyBullet wheels there; MuJoCo comes with the install).
    """
    if bullet_id not in MUJOCO_TWIN:
        raise EnvError(f"course_env({bullet_id!r}): expected one of {', '.join(MUJOCO_TWIN)}.")
    twin = MUJOCO_TWIN[bullet_id]
    wanted = os.environ.get(ENGINE_VARIABLE, "").strip().lower()
    if wanted not in ("", "bullet", "pybullet", "mujoco"):
        raise EnvError(f"{ENGINE_VARIABLE}={wanted!r}: expected 'bullet' or 'mujoco' (or unset: "
                       "PyBullet where installed, else MuJoCo).")
    if wanted == "mujoco" or (wanted == "" and not bullet_available()):
        if not mujoco_available():
            raise EnvError(f"Neither engine is ready for {twin}: MuJoCo is not installed "
                           f"({MUJOCO_INSTALL}); PyBullet has wheels for Python <= 3.11 only.")
        why = (f"{ENGINE_VARIABLE}=mujoco" if wanted else
               f"PyBullet is not installed (wheels exist for Python <= 3.11; this is "
               f"{sys.version_info.major}.{sys.version_info.minor})")
        chosen, engine = twin, "MuJoCo"
    else:
        if not bullet_available():
            raise EnvError(f"{ENGINE_VARIABLE}=bullet, but PyBullet is not installed here (pip "
                           "install pybullet pybullet-envs-gymnasium; Python <= 3.11).")
        why = f"{ENGINE_VARIABLE}=bullet" if wanted else "PyBullet is installed, the course's default"
        chosen, engine = bullet_id, "PyBullet"
    if verbose:
        print(f"environment: {chosen} ({engine}; {why})")
    return chosen


def make_env(env_id: str = "HalfCheetahBulletEnv-v0", render_mode: str | None = None,
             seed: int | None = None, width: int | None = None,
             height: int | None = None) -> gym.Env:
    """``gym.make(env_id)``, registering Bullet envs first, checked to fit TD3 (Box actions).

    ``width`` and ``height`` set a MuJoCo env's rendered frame size (PyBullet's is set on the
    env after making it, see ``video.record_episode``). MuJoCo envs get an off-screen OpenGL
    backend first where there is no display (``video.headless_mujoco_gl``).
    """
    kwargs: dict[str, Any] = {}
    if "Bullet" in env_id:
        register_bullet_envs()
    elif is_mujoco(env_id):
        if not mujoco_available():
            raise EnvError(f"{env_id} is a MuJoCo task and MuJoCo is not installed here: "
                           f"{MUJOCO_INSTALL}.")
        from .video import headless_mujoco_gl
        headless_mujoco_gl()  # before mujoco is first imported: it reads MUJOCO_GL once
        if render_mode is not None:
            kwargs = {k: int(v) for k, v in (("width", width), ("height", height)) if v}
            if env_id.split("-")[0] in MUJOCO_TRACKED:
                kwargs["camera_name"] = "track"
    try:
        with quiet():
            env = gym.make(env_id, render_mode=render_mode, **kwargs)
    except gym.error.Error as e:
        raise EnvError(f"Cannot make environment '{env_id}': {e}. Known here: PyBullet "
                       f"{', '.join(BULLET_ENVS)}; MuJoCo {', '.join(MUJOCO_ENVS[:4])} and the "
                       "other -v5 tasks; gymnasium ones such as Pendulum-v1.") from None
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
    actions = cast(gym.spaces.Box, env.action_space)  # check_box_actions: a Box
    return int(obs_shape[0]), int(actions.shape[0]), float(actions.high[0])
