"""What a run is: its settings, its evaluations, what ``train`` returns, and where its files go."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


from ..config import FromDict
from ..envs import BULLET_ENVS, MUJOCO_ENVS
from ..errors import InputError


EVAL_CSV = "evaluations.csv"
BEST_ACTOR = "best_actor.pt"
FINAL_ACTOR = "final_actor.pt"
RUNS = "runs"


def runs_dir() -> Path:
    """The one folder for runs: ``runs/`` in the course's top folder, whether you are there (a
    terminal, README's commands) or in ``notebooks/`` (a notebook's working folder)."""
    here = Path.cwd()
    return (here.parent if here.name in ("notebooks", "solutions") else here) / RUNS


def cli_command(*args: str) -> str:
    """A ``td3-teach`` command that works from any terminal, JupyterLab's included, where the
    course's virtual environment is not active: the script next to this Python, with full paths."""
    script = Path(sys.executable).parent / "td3-teach"
    exe = str(script) if script.exists() else f"{sys.executable} -m td3_teach.cli"
    return " ".join([exe, *args])


ENV_CHOICES = (*BULLET_ENVS, *MUJOCO_ENVS[:4], "Pendulum-v1")
"""Named in ``--help``; any gymnasium Box-action env works (MuJoCo ones need the [mujoco] extra)."""


@dataclass
class RunSettings(FromDict):
    """What defines a run besides the TD3 update (stored in every checkpoint).

    The defaults are the authors' (main.py): 25,000 random warm-up steps, exploration noise 0.1,
    an evaluation of 10 episodes every 5,000 steps, a replay memory of a million transitions.
    """

    env_id: str = "HalfCheetahBulletEnv-v0"
    steps: int = 300_000
    seed: int = 0
    start_steps: int = 25_000
    """Uniform random actions before the first update (the authors' start_timesteps)."""
    expl_noise: float = 0.1
    """Std of the Gaussian exploration noise, in units of max_action (the paper's sigma)."""
    eval_every: int = 5_000
    eval_episodes: int = 10
    checkpoint_every: int = 10_000
    """Checkpoint at the first episode boundary after every multiple of this many steps."""
    buffer_size: int = 1_000_000
    """Replay memory size; no larger than ``steps`` is ever needed, so that much is allocated."""

    def __post_init__(self) -> None:
        for name in ("steps", "eval_every", "eval_episodes", "checkpoint_every", "buffer_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be at least 1; got {getattr(self, name)}. Fix: "
                                 f"pass a positive number (--{name.replace('_', '-')} N).")
        for name in ("start_steps", "expl_noise"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0; got {getattr(self, name)}. Fix: pass 0 "
                                 f"or more (--{name.replace('_', '-')}).")

    def with_overrides(self, **overrides: Any) -> RunSettings:
        """A copy with each override that is not None, converted to its field's type (and
        checked: ``steps=0`` raises)."""
        kinds = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(overrides) - set(kinds))
        if unknown:
            raise TypeError(f"RunSettings has no field {', '.join(unknown)}.")
        cast = {"int": int, "float": float, "str": str}
        given = {k: cast[str(kinds[k])](v) for k, v in overrides.items() if v is not None}
        return replace(self, **given)



@dataclass
class EvalRecord:
    """One evaluation: after ``step`` env steps, ``mean`` +/- ``std`` of the episode returns."""

    step: int
    mean: float
    std: float
    wall_time: float
    """Seconds of training so far (summed over resumed sessions)."""


@dataclass
class TrainResult:
    """What ``train`` returns: the trained agent, the evaluation curve, and where files went."""

    agent: Any
    evaluations: list[EvalRecord]
    steps: int
    wall_time: float
    out_dir: Path | None
    episode_returns: list[float] = field(default_factory=list)

    @property
    def last(self) -> EvalRecord | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def best(self) -> EvalRecord | None:
        return max(self.evaluations, key=lambda e: e.mean) if self.evaluations else None
