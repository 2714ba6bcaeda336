"""td3_teach: TD3 (Twin Delayed DDPG, Fujimoto, van Hoof, Meger, ICML 2018), step by step.

The 15 steps are listed in ``td3_teach.steps.STEPS``; each lives in the module that names it:
step 1 ``replay_buffer``, steps 2-3 ``networks``, steps 4-15 ``update``.
"""

import os

# torch's CPU threads (OpenMP; libgomp in the Linux wheels) spin between operations, waiting for
# the next one. Alone on the machine that is fastest; when something else wants the cores (a
# browser, a second notebook, a second run) the spinning threads fight it and TD3 slows to a
# crawl. Sleeping at once (PASSIVE) is steady, but waking the threads costs so much that on a
# 2-core machine 2 threads then run slower than 1, even when nothing else runs. A short spin
# keeps most of the quiet speed and avoids the collapse (PASSIVE still wins on a busy core).
# ``python benchmarks/threads.py``, 2 cores, 2 threads, batch 256, updates/s over two runs
# (quiet / one core busy / two trainings at once; benchmarks/results/speed.md):
#   libgomp's default spin    145-162 / 37-43 / 16-33
#   sleep at once (PASSIVE)    82-86  / 78-81 / 71-76
#   GOMP_SPINCOUNT=1000       122-139 / 54-61 / 56-58   <- the default set here
#   (1 thread                  92-96  / 88-99 / 90-94)
# Only when the user chose nothing, and only in effect if set before torch is first imported
# (the CLI does that; notebooks import td3_teach first).
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

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
