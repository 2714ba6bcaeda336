"""td3_teach: TD3 (Twin Delayed DDPG, Fujimoto, van Hoof, Meger, ICML 2018), step by step.

The 15 steps are listed in ``td3_teach.steps.STEPS``; each lives in the module that names it:
step 1 ``replay_buffer``, steps 2-3 ``networks``, steps 4-15 ``update``.

Importing the package is light and changes nothing: the names below are imported on first use
(PEP 562), so ``import td3_teach`` and ``td3-teach --help`` do not load torch. To give torch
half the cores and make its idle threads spin only briefly, call ``td3_teach.steady_threads()``
before torch is imported (``td3_teach/openmp.py`` says why).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the submodule that defines it, imported when the name is first used
_EXPORTS = {
    "TD3": "agent",
    "TD3Config": "config",
    "pick_device": "device",
    "Actor": "networks",
    "Critic": "networks",
    "Batch": "replay_buffer",
    "ReplayBuffer": "replay_buffer",
    "seed_everything": "seeding",
    "STEPS": "steps",
    "short_spin": "openmp",
    "steady_threads": "openmp",
}

if TYPE_CHECKING:  # what type checkers and editors see
    from .agent import TD3
    from .config import TD3Config
    from .device import pick_device
    from .networks import Actor, Critic
    from .openmp import short_spin, steady_threads
    from .replay_buffer import Batch, ReplayBuffer
    from .seeding import seed_everything
    from .steps import STEPS

__all__ = ["TD3", "TD3Config", "Actor", "Critic", "ReplayBuffer", "Batch", "STEPS",
           "seed_everything", "pick_device", "short_spin", "steady_threads"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``td3_teach.TD3`` and the other exports: import their module on first use, then cache."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'td3_teach' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
