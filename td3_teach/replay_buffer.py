"""TD3 step 1 of 15: the replay memory.

Taught in ``notebooks/01_replay_buffer.ipynb``; tested in ``tests/test_step_01_replay_buffer.py``.

The lecture kept a Python list of tuples and rebuilt numpy arrays on every ``sample``. Here the
memory is five preallocated float32 tensors: ``add`` writes one row (O(1)), ``sample`` is one
random index draw and five ``index_select`` calls, and the whole buffer costs its raw float32 size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .device import pick_device
from .errors import InputError, ReplayBufferError


class Batch(NamedTuple):
    """A minibatch of transitions, every field a float32 tensor with B rows.

    ``s`` (B, state_dim), ``s_next`` (B, state_dim), ``a`` (B, action_dim),
    ``r`` (B, 1), ``terminated`` (B, 1): 1.0 where s_next is terminal, else 0.0.
    """

    s: torch.Tensor
    s_next: torch.Tensor
    a: torch.Tensor
    r: torch.Tensor
    terminated: torch.Tensor


class ReplayBuffer:
    """TD3 step 1 of 15: a fixed-size memory of transitions (s, s', a, r, terminated).

    Once full, the oldest transition is overwritten (a ring buffer). ``sample`` draws uniformly
    with replacement, as in the paper.

    About ``done``: the lecture predates gymnasium's split of ``done`` into ``terminated`` (the
    task really ended: the robot fell) and ``truncated`` (a time limit stopped the episode). Store
    ``terminated`` only. A truncated state still has a future, and masking it would teach the
    critic that the last state of every HalfCheetah episode is worth nothing.
    """

    def __init__(self, state_dim: int, action_dim: int, max_size: int = 1_000_000,
                 device: str | torch.device | None = None) -> None:
        if int(max_size) < 1:
            raise ValueError(f"max_size must be at least 1; got {max_size}.")
        self.state_dim, self.action_dim = int(state_dim), int(action_dim)
        self.max_size = int(max_size)
        self.device = pick_device(device)
        self.ptr = 0  # where the next transition goes
        self.size = 0  # how many transitions are stored
        zeros = lambda width: torch.zeros((self.max_size, width), dtype=torch.float32)  # noqa: E731
        # Stored on the CPU (RAM is plentiful there); batches move to self.device when sampled.
        self.s, self.s_next = zeros(self.state_dim), zeros(self.state_dim)
        self.a, self.r, self.terminated = zeros(self.action_dim), zeros(1), zeros(1)

    def __len__(self) -> int:
        return self.size

    def add(self, transition) -> None:
        """Store one transition ``(s, s_next, a, r, terminated)``, the lecture's order.

        ``terminated`` is gymnasium's *terminated* flag, not ``terminated or truncated``.
        """
        try:
            s, s_next, a, r, terminated = transition
        except (TypeError, ValueError):
            raise InputError("add() takes one tuple (s, s_next, a, r, terminated); got "
                             f"{type(transition).__name__} of length "
                             f"{len(transition) if hasattr(transition, '__len__') else '?'}.") from None
        # Check every field before writing any: a refused transition leaves the buffer as it was.
        rows = (self._row(s, self.state_dim, "s"), self._row(s_next, self.state_dim, "s_next"),
                self._row(a, self.action_dim, "a"), self._row(r, 1, "r"),
                self._row(float(terminated), 1, "terminated"))
        i = self.ptr
        for storage, row in zip((self.s, self.s_next, self.a, self.r, self.terminated), rows):
            storage[i] = row
        self.ptr = (self.ptr + 1) % self.max_size
        self.size = min(self.size + 1, self.max_size)

    @staticmethod
    def _row(x, width: int, name: str) -> torch.Tensor:
        arr = np.asarray(x.detach().cpu() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
        if arr.size != width:
            raise InputError(f"Transition field '{name}' has shape {arr.shape}; expected "
                             f"({width},). Check the order: (s, s_next, a, r, terminated).")
        if not np.isfinite(arr).all():
            raise InputError(f"Transition field '{name}' contains NaN or inf: {arr.ravel()[:6]}. "
                             "A non-finite value would poison every Q-value it touches; "
                             "find where the environment or the agent produced it.")
        return torch.from_numpy(arr.reshape(width))

    def sample(self, batch_size: int) -> Batch:
        """Step 4's source: ``batch_size`` transitions drawn uniformly, as float32 tensors on
        ``self.device``; ``r`` and ``terminated`` shaped (B, 1) so they line up with Q (B, 1)."""
        if self.size == 0:
            raise ReplayBufferError("Cannot sample from an empty replay buffer: add transitions "
                                    "first (TD3 starts with random-action warm-up steps).")
        if batch_size > self.size:
            raise ReplayBufferError(f"Asked for a batch of {batch_size} but the buffer holds "
                                    f"only {self.size} transitions; add more or ask for fewer.")
        idx = torch.randint(0, self.size, (batch_size,))
        take = lambda t: t.index_select(0, idx).to(self.device, non_blocking=True)  # noqa: E731
        return Batch(take(self.s), take(self.s_next), take(self.a), take(self.r),
                     take(self.terminated))

    def nbytes(self) -> int:
        """Bytes held by the five storage tensors (the raw float32 size of max_size rows)."""
        return sum(t.element_size() * t.nelement()
                   for t in (self.s, self.s_next, self.a, self.r, self.terminated))

    def state_dict(self) -> dict:
        """The stored transitions and the write position, for checkpoints (only the filled rows)."""
        n = self.size
        return {"max_size": self.max_size, "ptr": self.ptr, "size": n,
                "s": self.s[:n].clone(), "s_next": self.s_next[:n].clone(), "a": self.a[:n].clone(),
                "r": self.r[:n].clone(), "terminated": self.terminated[:n].clone()}

    def load_state_dict(self, d: dict) -> None:
        n = int(d["size"])
        if int(d["max_size"]) != self.max_size or d["s"].shape[1:] != self.s.shape[1:] \
                or d["a"].shape[1:] != self.a.shape[1:]:
            raise ReplayBufferError(
                f"Saved replay buffer (max_size {d['max_size']}, state {tuple(d['s'].shape[1:])}, "
                f"action {tuple(d['a'].shape[1:])}) does not fit this one (max_size {self.max_size},"
                f" state ({self.state_dim},), action ({self.action_dim},)).")
        for name in ("s", "s_next", "a", "r", "terminated"):
            getattr(self, name)[:n] = d[name]
        self.ptr, self.size = int(d["ptr"]), n
