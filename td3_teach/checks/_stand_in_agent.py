"""An agent and a batch for the checks of steps 5 and 7, where the learner picks the network and
the input: online or target, s or s_next, a or a~. Every choice gives different numbers here.

The stand-in has ``td3_teach.TD3``'s attribute names but no optimisers (building fused Adam costs
seconds the first time). Its online networks are nudged away from their targets, as after some
training, and its targets still require gradients, as a target made with ``load_state_dict`` does:
a step that forgets ``torch.no_grad()`` then shows it.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import networks
from ..replay_buffer import Batch


class StandInAgent:
    """What the steps read from a TD3 agent: actor, actor_target, critic, critic_target, max_action."""

    def __init__(self, state_dim: int, action_dim: int, max_action: float) -> None:
        self.state_dim, self.action_dim, self.max_action = state_dim, action_dim, float(max_action)
        self.actor = networks.Actor(state_dim, action_dim, max_action)
        self.actor_target = networks.make_target(self.actor)
        self.critic = networks.Critic(state_dim, action_dim)
        self.critic_target = networks.make_target(self.critic)
        with torch.no_grad():  # online networks a few updates ahead of their targets
            for p in list(self.actor.parameters()) + list(self.critic.parameters()):
                p.add_(0.05 * torch.randn_like(p))
        self.actor_target.requires_grad_(True)
        self.critic_target.requires_grad_(True)
        self.device = torch.device("cpu")

    def select_action(self, state) -> np.ndarray:
        """Like TD3.select_action: the online actor's action, as numpy."""
        s = torch.as_tensor(np.asarray(state, dtype=np.float32))
        with torch.no_grad():
            a = self.actor(s.reshape(-1, self.state_dim)).numpy()
        return a[0] if s.ndim == 1 else a

    def snapshot(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: {k: v.clone() for k, v in getattr(self, name).state_dict().items()}
                for name in ("actor", "actor_target", "critic", "critic_target")}

    def changed(self, before: dict) -> str | None:
        """The first network whose weights differ from ``before``, if any."""
        for name, sd in before.items():
            if any(not torch.equal(v, sd[k]) for k, v in getattr(self, name).state_dict().items()):
                return name
        return None

    def __repr__(self) -> str:
        return f"agent (state_dim {self.state_dim}, action_dim {self.action_dim})"


def stand_in_batch(B: int, state_dim: int, action_dim: int, max_action: float) -> Batch:
    """A batch whose s, s_next and a are all different (uses torch's global RNG: call it seeded)."""
    return Batch(torch.randn(B, state_dim), torch.randn(B, state_dim),
                 (torch.rand(B, action_dim) * 2 - 1) * max_action, torch.randn(B, 1),
                 (torch.rand(B, 1) < 0.2).float())
