"""One call seeds every source of randomness TD3 uses, so a run can be repeated exactly."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int, env=None) -> None:
    """Seed python's ``random``, numpy, torch (CPU and CUDA) and, if given, a gymnasium env.

    The env is seeded through ``env.reset(seed=...)`` and its action space through
    ``env.action_space.seed(...)`` (used by the random warm-up actions).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if env is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
