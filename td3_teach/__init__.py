"""td3_teach: TD3 (Twin Delayed DDPG, Fujimoto, van Hoof, Meger, ICML 2018), step by step.

The 15 steps are listed in ``td3_teach.steps.STEPS``; each lives in the module that names it:
step 1 ``replay_buffer``, steps 2-3 ``networks``, steps 4-15 ``update``.
"""

from .agent import TD3
from .config import TD3Config
from .device import pick_device
from .networks import Actor, Critic
from .replay_buffer import Batch, ReplayBuffer
from .seeding import seed_everything
from .steps import STEPS

__all__ = ["TD3", "TD3Config", "Actor", "Critic", "ReplayBuffer", "Batch", "STEPS",
           "seed_everything", "pick_device"]
__version__ = "0.1.0"
