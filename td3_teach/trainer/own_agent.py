"""Training an agent you wrote: your networks plugged into TD3 (``make_agent``), or notebook
16's lecture-shaped ``MyTD3`` (its hyperparameters passed to its ``train``, its six attributes
checkpointed)."""

from __future__ import annotations

from typing import Any

import torch

from ..agent import NETWORKS, OPTIMIZERS, TD3, make_adam
from ..config import TD3Config
from ..errors import CheckpointError
from ..networks import Actor, Critic, make_target


def make_agent(state_dim: int, action_dim: int, max_action: float, config: TD3Config | None = None,
               device: str | torch.device | None = None, actor_cls: type | None = None,
               critic_cls: type | None = None) -> TD3:
    """A TD3 agent, optionally with your own actor and/or critic classes plugged in.

    ``actor_cls(state_dim, action_dim, max_action)`` and ``critic_cls(state_dim, action_dim)``
    must take the same arguments and give the same outputs as ``networks.Actor`` / ``Critic``
    (the critic returns ``(q1, q2)`` and has ``Q1``). Targets and optimisers are rebuilt for them.
    """
    agent = TD3(state_dim, action_dim, max_action, config, device)
    if actor_cls is not None and actor_cls is not Actor:
        agent.actor = actor_cls(state_dim, action_dim, max_action).to(agent.device)
        agent.actor_target = make_target(agent.actor)
        agent.actor_optimizer = make_adam(agent.actor.parameters(), agent.config.actor_lr)
    if critic_cls is not None and critic_cls is not Critic:
        agent.critic = critic_cls(state_dim, action_dim).to(agent.device)
        agent.critic_target = make_target(agent.critic)
        agent.critic_optimizer = make_adam(agent.critic.parameters(), agent.config.critic_lr)
    return agent


# ------------------------------------------------------------------- an agent you wrote (notebook 16)
def lecture_shaped(agent: Any) -> bool:
    """An agent written in the lecture's shape (notebook 16's ``MyTD3``), not a ``TD3``: it has
    the six attributes (actor, actor_target, critic, critic_target and their optimisers) but no
    ``TD3Config`` of its own, so the trainer passes the hyperparameters to its ``train``."""
    return not isinstance(agent, TD3) and getattr(agent, "config", None) is None \
        and all(hasattr(agent, n) for n in NETWORKS + OPTIMIZERS)


def lecture_train_kwargs(cfg: TD3Config) -> dict:
    """``train``'s keyword arguments in the lecture's signature, from a TD3Config."""
    if not cfg.twin_critics:
        raise ValueError("twin_critics=False switches off a part of the package's TD3; a train "
                         "in the lecture's signature has no switch for it. Train td3_teach.TD3 "
                         "for that ablation (target_noise and delayed_updates work with yours).")
    noise = (cfg.policy_noise, cfg.noise_clip) if cfg.target_noise else (0.0, 0.0)
    return dict(batch_size=cfg.batch_size, discount=cfg.discount, tau=cfg.tau,
                policy_noise=noise[0], noise_clip=noise[1], policy_freq=cfg.policy_delay)


def lecture_state_dict(agent: Any, dims: tuple, cfg: TD3Config) -> dict:
    """What ``TD3.state_dict`` holds, read from a lecture-shaped agent's six attributes (and its
    ``total_it``, the delay's counter, when it keeps one)."""
    d = {name: getattr(agent, name).state_dict() for name in NETWORKS + OPTIMIZERS}
    d["meta"] = {"state_dim": int(dims[0]), "action_dim": int(dims[1]),
                 "max_action": float(dims[2]), "total_it": int(getattr(agent, "total_it", 0)),
                 "config": cfg.to_dict()}
    return d


def load_lecture_state_dict(agent: Any, d: dict, source) -> None:
    for name in NETWORKS + OPTIMIZERS:
        if name not in d:
            raise CheckpointError(f"{source} has no '{name}' entry; it is not a checkpoint of "
                                  "this agent.")
        try:
            getattr(agent, name).load_state_dict(d[name])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{source}: '{name}' does not fit this agent ("
                                  f"{str(e).splitlines()[0]}). Resume with the class that wrote "
                                  "the checkpoint.") from None
    if hasattr(agent, "total_it"):
        agent.total_it = int(d.get("meta", {}).get("total_it", 0))


def _actor_view(agent: Any, dims: tuple) -> Any:
    """What ``save_actor`` reads (the actor and the sizes), for any agent."""
    from types import SimpleNamespace
    return SimpleNamespace(actor=agent.actor, state_dim=int(dims[0]), action_dim=int(dims[1]),
                           max_action=float(dims[2]))
