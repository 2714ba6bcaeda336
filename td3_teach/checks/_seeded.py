"""The checks' random numbers: seeded global RNGs, the sizes of a check run, and generators.

A check that draws random numbers (or lets learner code draw them) does it inside
``seeded(seed)``: torch, numpy and ``random`` are seeded there, so a check is repeatable for a
given ``seed``, and afterwards the learner's own random states are put back, so running a check
never changes what the rest of the notebook draws.

Sizes and inputs come from generators of their own (never torch's global RNG), so another seed
gives other sizes and values and a hard-coded answer fails:

- ``sizes(seed)``: the batch and network sizes the checks of the update (steps 9-15) share;
- ``size_generator(seed, salt)`` with ``randint``: for a check that draws sizes in ranges of its
  own (steps 1-8), distinct per step via ``salt``;
- ``input_generator(seed, step)``: for one step's input tensors.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch (CPU), numpy's global RNG and ``random`` for the block; restore them after."""
    seed = int(seed)
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


def size_generator(seed: int, salt: int = 0) -> torch.Generator:
    """A generator for a check's own sizes (B, state_dim, ...), distinct per step via ``salt``;
    draw from it with ``randint``."""
    return torch.Generator().manual_seed(1_000_003 * salt + seed)


def input_generator(seed: int, step: int) -> torch.Generator:
    """A generator for one step's check inputs (independent of torch's global RNG)."""
    return torch.Generator().manual_seed(1000 * step + int(seed))


def randint(g: torch.Generator, low: int, high: int) -> int:
    """One integer in [low, high] (both ends included) from ``g``."""
    return low + int(torch.randint(0, high - low + 1, (1,), generator=g))


@dataclass(frozen=True)
class Sizes:
    """Batch and network sizes of one check run, drawn from its seed."""

    B: int
    state_dim: int
    action_dim: int
    max_action: float


def sizes(seed: int) -> Sizes:
    """The sizes the update's checks (steps 9-15) share: small, different from seed to seed;
    state_dim != action_dim, so swapping s and a changes which weights meet which input."""
    g = torch.Generator().manual_seed(9_000 + int(seed))
    B, state_dim, action_dim = randint(g, 6, 40), randint(g, 2, 9), randint(g, 1, 4)
    if state_dim == action_dim:
        state_dim += 1
    return Sizes(B, state_dim, action_dim, (0.5, 1.0, 2.0)[randint(g, 0, 2)])
