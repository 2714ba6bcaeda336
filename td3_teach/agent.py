"""The TD3 agent: networks, targets and optimisers, with the lecture's public shape.

``TD3(state_dim, action_dim, max_action)``, ``agent.select_action(state)``,
``agent.train(replay_buffer, iterations, ...)``, ``agent.save(path)`` / ``agent.load(path)``.
The update itself lives in ``td3_teach.update``, one function per step (``train_step``); on a
CPU ``train`` runs the same update with hand-derived gradients (``td3_teach.fast_update``, proven
equal to ``train_step`` by its tests) where it applies.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .atomic import atomic_save
from .config import TD3Config
from .device import pick_device
from .errors import CheckpointError, InputError
from .fast_update import for_agent as fast_update_for
from .fast_update import mode as fast_update_mode
from .networks import Actor, Critic, make_target
from .onednn import attach as attach_onednn
from .replay_buffer import Batch, ReplayBuffer
from .update import step04_sample_batch, train_step

NETWORKS = ("actor", "actor_target", "critic", "critic_target")
OPTIMIZERS = ("actor_optimizer", "critic_optimizer")


def make_adam(params, lr: float) -> torch.optim.Adam:
    """Adam with its fused kernel (one call for all parameters; the lecture's default Adam loops)."""
    return torch.optim.Adam(params, lr=lr, fused=True)


class TD3:
    """Twin Delayed DDPG (Fujimoto, van Hoof, Meger, ICML 2018).

    Args:
        state_dim: size of an observation (26 for HalfCheetahBulletEnv-v0).
        action_dim: size of an action (6 for HalfCheetahBulletEnv-v0).
        max_action: the action bound; every action lies in [-max_action, max_action].
        config: hyperparameters (``TD3Config()``: the paper's defaults).
        device: "cpu", "cuda" or None for automatic (cuda when available).
    """

    def __init__(self, state_dim: int, action_dim: int, max_action: float,
                 config: TD3Config | None = None, device: str | torch.device | None = None) -> None:
        self.state_dim, self.action_dim = int(state_dim), int(action_dim)
        self.max_action = float(max_action)
        self.config = config or TD3Config()
        self.device = pick_device(device)
        # Step 2: actor and actor target (an exact copy).
        self.actor = Actor(state_dim, action_dim, max_action).to(self.device)
        self.actor_target = make_target(self.actor)
        self.actor_optimizer = make_adam(self.actor.parameters(), self.config.actor_lr)
        # Step 3: twin critics and critic targets (exact copies).
        self.critic = Critic(state_dim, action_dim).to(self.device)
        self.critic_target = make_target(self.critic)
        self.critic_optimizer = make_adam(self.critic.parameters(), self.config.critic_lr)
        if self.device.type == "cpu":  # the same products, by a faster library where it is one
            attach_onednn(self.actor, self.actor_target, self.critic, self.critic_target)
        self.total_it = 0  # training iterations so far; the delay counts these
        fast_update_mode()  # a wrong TD3_TEACH_UPDATE says so now, not after the warm-up

    # ----------------------------------------------------------------------------- acting
    def select_action(self, state) -> np.ndarray:
        """The deterministic action mu(s) for one state ``(state_dim,)``, as ``(action_dim,)``.

        A batch ``(B, state_dim)`` gives ``(B, action_dim)``. Exploration noise is the trainer's
        job, not this method's. (The lecture's ``state.reshape(-1, 1)`` made a column of
        state_dim one-feature states: a known bug; the right shape is ``(1, -1)``.)
        """
        s = torch.as_tensor(state, dtype=torch.float32, device=self.device)
        if s.ndim not in (1, 2) or s.shape[-1] != self.state_dim:
            raise InputError(f"select_action got a state of shape {tuple(s.shape)}; expected "
                             f"({self.state_dim},) or (batch, {self.state_dim}). Pass the "
                             "observation from env.reset()/env.step() as it is.")
        with torch.no_grad():
            a = self.actor(s.reshape(-1, self.state_dim))
        a = a.cpu().numpy()
        return a[0] if s.ndim == 1 else a

    # ----------------------------------------------------------------------------- learning
    def train(self, replay_buffer: ReplayBuffer, iterations: int, batch_size: int | None = None,
              discount: float | None = None, tau: float | None = None,
              policy_noise: float | None = None, noise_clip: float | None = None,
              policy_freq: int | None = None) -> dict[str, float]:
        """Run ``iterations`` TD3 updates (steps 4 to 15 each); returns the last losses.

        Keyword arguments left at None take ``self.config`` (the paper's defaults: batch 256,
        discount 0.99, tau 0.005, policy_noise 0.2, noise_clip 0.5, policy_freq 2). The lecture's
        signature is kept so its calls still work; the lecture's batch_size=100 is the paper's
        original value, 256 the authors' later one.
        """
        given: dict[str, Any] = dict(batch_size=batch_size, discount=discount, tau=tau, policy_noise=policy_noise,
                     noise_clip=noise_clip, policy_freq=policy_freq)
        cfg = replace(self.config, **{k: v for k, v in given.items() if v is not None})
        losses: dict[str, torch.Tensor] = {}
        fast = fast_update_for(self, cfg)  # None: train_step (fast_update.why_not says why)
        for _ in range(int(iterations)):
            self.total_it += 1
            batch = step04_sample_batch(replay_buffer, cfg.batch_size)                  # Step 4
            if batch.s.device != self.device:  # a buffer made for another device
                batch = Batch(*(t.to(self.device) for t in batch))
            if fast is None:
                losses.update(train_step(self, batch, self.total_it, cfg))              # Steps 5-15
            else:  # the same steps with hand-derived gradients (fast_update.py; equal, tested)
                losses.update(fast.step(batch, self.total_it, cfg))                     # Steps 5-15
        return {k: float(v) for k, v in losses.items()}

    # ----------------------------------------------------------------------------- save / load
    def state_dict(self) -> dict:
        """Networks, targets and optimisers as plain state dicts, plus the sizes and config."""
        d = {name: getattr(self, name).state_dict() for name in NETWORKS + OPTIMIZERS}
        d["meta"] = {"state_dim": self.state_dim, "action_dim": self.action_dim,
                     "max_action": self.max_action, "total_it": self.total_it,
                     "config": self.config.to_dict()}
        return d

    def load_state_dict(self, d: dict, source: str = "checkpoint") -> None:
        """Load what ``state_dict`` produced; a mismatch names the network and both shapes."""
        for name in NETWORKS:
            if name not in d:
                raise CheckpointError(f"{source} has no '{name}' entry; it was not written by "
                                      "TD3.save (keys found: " + ", ".join(map(str, d)) + ").")
            _check_shapes(getattr(self, name), d[name], name, source)
        saved_max = d.get("meta", {}).get("max_action", self.max_action)
        if float(saved_max) != self.max_action:
            raise CheckpointError(f"{source} was trained with max_action {saved_max}; this agent "
                                  f"has max_action {self.max_action}. The actor's tanh is scaled "
                                  "by it: load the checkpoint into an agent made for that env.")
        for name in NETWORKS:
            getattr(self, name).load_state_dict(d[name])
        for name in OPTIMIZERS:
            if name in d:
                getattr(self, name).load_state_dict(d[name])
        self.total_it = int(d.get("meta", {}).get("total_it", 0))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the agent to one file with ``torch.save`` (state dicts only: no pickled code).

        Written atomically (``atomic.atomic_save``), so a crash never leaves half a file.
        """
        return atomic_save(self.state_dict(), path)

    def load(self, path: str | os.PathLike) -> "TD3":
        """Load a file written by ``save``; ``weights_only=True``, so a file can never run code."""
        self.load_state_dict(read_checkpoint(path, self.device), source=str(path))
        return self

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike,
                        device: str | torch.device | None = None) -> "TD3":
        """A new agent built with the sizes and config stored in the file, then loaded from it."""
        d = read_checkpoint(path, pick_device(device))
        meta = d.get("meta")
        if not isinstance(meta, dict):
            raise CheckpointError(f"{path} has no 'meta' entry; it was not written by TD3.save.")
        agent = cls(meta["state_dim"], meta["action_dim"], meta["max_action"],
                    TD3Config.from_dict(meta.get("config", {})), device=device)
        agent.load_state_dict(d, source=str(path))
        return agent


def read_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> dict:
    """``torch.load(weights_only=True)`` with errors that name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No checkpoint at {path}.")
    try:
        d = torch.load(path, map_location=device, weights_only=True)
    except Exception as e:  # truncated, corrupt, or holding something other than tensors
        raise CheckpointError(f"{path} cannot be read as a td3_teach checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}). It may be truncated "
                              "or corrupt; it is loaded with weights_only=True, so it can hold "
                              "only tensors and plain containers.") from None
    if not isinstance(d, dict):
        raise CheckpointError(f"{path} holds a {type(d).__name__}, not a td3_teach checkpoint.")
    return d


def _check_shapes(net: torch.nn.Module, saved: dict, name: str, source: str) -> None:
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in saved.items()}
    if expected.keys() != found.keys():
        raise CheckpointError(f"{source}: network '{name}' has parameters {sorted(found)}; "
                              f"expected {sorted(expected)}.")
    for k, shape in expected.items():
        if found[k] != shape:
            raise CheckpointError(
                f"{source}: network '{name}', parameter '{k}' has shape {found[k]}; this agent "
                f"expects {shape}. The checkpoint was trained on an environment with other "
                "observation/action sizes; load it into an agent made for that environment.")
