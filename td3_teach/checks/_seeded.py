"""Checks that draw random numbers (or let learner code draw them) do it inside ``seeded(seed)``.

Inside the block torch, numpy and ``random`` are seeded, so a check is repeatable for a given
``seed``; afterwards the learner's own random states are put back, so running a check never
changes what the rest of the notebook draws.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch (CPU), numpy's global RNG and ``random`` for the block; restore them after."""
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


def sizes(seed: int, salt: int = 0) -> torch.Generator:
    """A generator for the check's sizes (B, state_dim, ...), distinct per step via ``salt``."""
    return torch.Generator().manual_seed(1_000_003 * salt + seed)


def randint(g: torch.Generator, low: int, high: int) -> int:
    """One integer in [low, high] (both ends included) from ``g``."""
    return low + int(torch.randint(0, high - low + 1, (1,), generator=g))
