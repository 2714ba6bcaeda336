"""td3_teach: TD3 (Twin Delayed DDPG, Fujimoto, van Hoof, Meger, ICML 2018), step by step.

The 15 steps are listed in ``td3_teach.steps.STEPS``; each lives in the module that names it:
step 1 ``replay_buffer``, steps 2-3 ``networks``, steps 4-15 ``update``.
"""

import os

# OpenMP threads that finish early spin, waiting for the others. When another process holds a
# core (a second notebook, a browser, a test run), the spinning threads fight it: on a 2-core
# machine with one core busy, 2-thread TD3 updates ran at 2 it/s instead of 85. Passive waiting
# avoids that. It only takes effect if set before torch is first imported (as the CLI does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .agent import TD3  # noqa: E402
from .config import TD3Config  # noqa: E402
from .device import pick_device  # noqa: E402
from .networks import Actor, Critic  # noqa: E402
from .replay_buffer import Batch, ReplayBuffer  # noqa: E402
from .seeding import seed_everything  # noqa: E402
from .steps import STEPS  # noqa: E402

__all__ = ["TD3", "TD3Config", "Actor", "Critic", "ReplayBuffer", "Batch", "STEPS",
           "seed_everything", "pick_device"]
__version__ = "0.1.0"
