"""Pretrained TD3 actors shipped with the course, so learners can watch a trained agent at once.

Each ``<env_id>_actor.pt`` is an actor file (``checkpoint.save_actor``: the actor's weights and
a small dict of facts: env id, training steps, evaluation return), loaded with
``weights_only=True``. How each was trained is written in ``README.md`` beside it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import load_actor
from ..errors import CheckpointError
from ..networks import Actor

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    """Env ids that have a pretrained actor here."""
    return sorted(p.name[: -len("_actor.pt")] for p in HERE.glob("*_actor.pt"))


def pretrained_path(env_id: str = "HalfCheetahBulletEnv-v0") -> Path:
    """The actor file for ``env_id``; an error lists the env ids that have one."""
    path = HERE / f"{env_id}_actor.pt"
    if not path.is_file():
        raise CheckpointError(f"No pretrained actor for {env_id!r}; available: "
                              f"{', '.join(available()) or 'none'}. Train one with "
                              f"`td3-teach train --env {env_id}`.")
    return path


def load_pretrained(env_id: str = "HalfCheetahBulletEnv-v0",
                    device: str | torch.device = "cpu") -> Actor:
    """The pretrained actor mu(s) for ``env_id``, in eval mode, ready for ``evaluate`` or
    ``record_video``. Its facts (training steps, evaluation return) are in ``actor.info``."""
    actor, meta = load_actor(pretrained_path(env_id), device)
    setattr(actor, "info", meta)  # a plain dict beside the layers (nn.Module's typing wants tensors)
    return actor
