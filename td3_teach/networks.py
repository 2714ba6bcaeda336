"""TD3 steps 2 and 3 of 15: the actor and the twin critics (and, as exact copies, their targets).

Taught in ``notebooks/02_actor.ipynb`` and ``notebooks/03_twin_critics.ipynb``.
Layer names follow the lecture (``layer_1`` ... ``layer_6``) so learners recognise them.
"""

from __future__ import annotations

import copy
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

M = TypeVar("M", bound=nn.Module)


class Actor(nn.Module):
    """TD3 step 2 of 15: the deterministic policy mu(s), 400-300 ReLU, ``max_action * tanh``.

    Shapes: s (B, state_dim) -> a (B, action_dim), every entry in [-max_action, max_action].
    Why tanh last: it squashes to (-1, 1), and scaling by max_action fits the env's bounds.
    The lecture's ``layer_3(x) * tanh(max_action)`` multiplies by a constant (tanh(1) = 0.76)
    and leaves the action unbounded: a known bug.
    """

    def __init__(self, state_dim: int, action_dim: int, max_action: float) -> None:
        super().__init__()
        self.layer_1 = nn.Linear(state_dim, 400)
        self.layer_2 = nn.Linear(400, 300)
        self.layer_3 = nn.Linear(300, action_dim)
        self.max_action = float(max_action)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.layer_1(s))
        x = F.relu(self.layer_2(x))
        return self.max_action * torch.tanh(self.layer_3(x))


class Critic(nn.Module):
    """TD3 step 3 of 15: two independent Q-networks Q1(s, a) and Q2(s, a) in one module.

    Each head is 400-300 ReLU and ends in ONE output: a Q-value is a scalar per (s, a) pair.
    Shapes: s (B, state_dim), a (B, action_dim) -> q1 (B, 1), q2 (B, 1).
    The lecture's ``nn.Linear(300, action_dim)`` gives action_dim "Q-values" per pair: a known bug.
    """

    def __init__(self, state_dim: int, action_dim: int) -> None:
        super().__init__()
        self.layer_1 = nn.Linear(state_dim + action_dim, 400)  # head 1
        self.layer_2 = nn.Linear(400, 300)
        self.layer_3 = nn.Linear(300, 1)
        self.layer_4 = nn.Linear(state_dim + action_dim, 400)  # head 2
        self.layer_5 = nn.Linear(400, 300)
        self.layer_6 = nn.Linear(300, 1)

    def forward(self, s: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sa = torch.cat([s, a], dim=1)  # (B, state_dim + action_dim)
        q1 = self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa)))))
        q2 = self.layer_6(F.relu(self.layer_5(F.relu(self.layer_4(sa)))))
        return q1, q2

    def Q1(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:  # noqa: N802 (the paper's name)
        """Q1 alone: the actor climbs this head only (step 13), as in the paper."""
        sa = torch.cat([s, a], dim=1)
        return self.layer_3(F.relu(self.layer_2(F.relu(self.layer_1(sa)))))


def make_target(net: M) -> M:
    """A target network: an exact, independent copy of ``net`` that takes no gradient.

    The lecture wrote ``target.load_state_dict(net.state_dict)`` (without the call): that passes
    the method itself and fails. ``copy.deepcopy`` gives the same result in one step.
    """
    target = copy.deepcopy(net)
    target.requires_grad_(False)  # targets move only by Polyak averaging (steps 14/15)
    return target
