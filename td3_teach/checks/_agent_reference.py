"""The reference iteration the whole-agent check compares a learner's ``train`` with, and the
classic assembly mistakes as switchable variants of it (so a check can say WHICH mistake a wrong
result is, by finding the variant that gives the learner's numbers).

``iteration`` with the default ``Variant()`` is ``td3_teach.update.train_step`` (the authors'
TD3): built from the same step functions, in the same order. ``tests/test_agent_check.py`` pins
the two to each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch

from .. import update
from ..replay_buffer import Batch

NETS = ("critic", "actor", "critic_target", "actor_target")
OPTIMIZERS = ("actor_optimizer", "critic_optimizer")


@dataclass(frozen=True)
class Hyper:
    """The hyperparameters one check run passes to ``train`` (never the defaults)."""

    batch_size: int
    discount: float
    tau: float
    policy_noise: float
    noise_clip: float
    policy_freq: int
    max_action: float

    def train_kwargs(self) -> dict:
        return dict(batch_size=self.batch_size, discount=self.discount, tau=self.tau,
                    policy_noise=self.policy_noise, noise_clip=self.noise_clip,
                    policy_freq=self.policy_freq)


@dataclass(frozen=True)
class Variant:
    """One way of assembling the update; the defaults are TD3's."""

    target_actor: str = "actor_target"      # step 5: which actor plays a'
    next_state: str = "s_next"              # steps 5/7: which state the target looks at
    noise: str = "ok"                       # step 6: "ok", "off", "unscaled"
    target_critic: str = "critic_target"    # step 7: which critic values (s', a~)
    q_next: str = "min"                     # step 8: "min", "q1", "max", "mean"
    mask: str = "ok"                        # step 9: "ok", "none", "inverted"
    gamma: float | None = None              # step 9: a hard-coded discount
    critic_loss: str = "both"               # step 11: "both", "q1"
    critic_zero_grad: bool = True           # step 12
    actor_objective: str = "-q1"            # step 13: "-q1", "+q1", "-q2", "-min", "-q1_target"
    actor_zero_grad: bool = True            # step 13
    delay: str = "ok"                       # "ok", "never", "every" (13-15 every iteration)
    polyak: str = "ok"                      # 14-15: "ok", "swapped", "copy", "default_tau", "none",
                                            #        "before_actor", "every_iteration"


def iteration(ag: SimpleNamespace, batch: Batch, it: int, hp: Hyper, v: Variant = Variant(),
              a_tilde: torch.Tensor | None = None) -> torch.Tensor:
    """One TD3 iteration (steps 5-15) on ``ag``'s networks and optimisers, ``it`` counting from 1.
    ``a_tilde`` replaces step 6's own draw (a learner's noise, already checked statistically).
    Returns the a~ that was used."""
    s_next = batch.s_next if v.next_state == "s_next" else batch.s
    with torch.no_grad():
        a_next = update.step05_target_action(getattr(ag, v.target_actor), s_next)           # Step 5
        if a_tilde is None:
            if v.noise == "ok":
                a_tilde = update.step06_target_policy_noise(a_next, hp.max_action,           # Step 6
                                                            hp.policy_noise, hp.noise_clip)
            elif v.noise == "unscaled":
                eps = (torch.randn_like(a_next) * hp.policy_noise).clamp(-hp.noise_clip,
                                                                         hp.noise_clip)
                a_tilde = (a_next + eps).clamp(-hp.max_action, hp.max_action)
            else:
                a_tilde = a_next
        q1_next, q2_next = update.step07_target_q(getattr(ag, v.target_critic), s_next,       # Step 7
                                                  a_tilde)
        q_next = {"min": lambda: update.step08_min_target_q(q1_next, q2_next),               # Step 8
                  "q1": lambda: q1_next, "max": lambda: torch.max(q1_next, q2_next),
                  "mean": lambda: (q1_next + q2_next) / 2}[v.q_next]()
        gamma = hp.discount if v.gamma is None else v.gamma
        terminated = {"ok": batch.terminated, "none": torch.zeros_like(batch.terminated),
                      "inverted": 1.0 - batch.terminated}[v.mask]
        y = update.step09_bellman_target(batch.r, terminated, q_next, gamma)                  # Step 9

    q1, q2 = update.step10_current_q(ag.critic, batch.s, batch.a)                             # Step 10
    critic_loss = update.step11_critic_loss(q1, q2 if v.critic_loss == "both" else None, y)   # Step 11
    if v.critic_zero_grad:                                                                    # Step 12
        update.step12_critic_update(ag.critic_optimizer, critic_loss)
    else:
        critic_loss.backward()
        ag.critic_optimizer.step()

    delayed = {"ok": it % hp.policy_freq == 0, "never": False, "every": True}[v.delay]
    if v.polyak == "every_iteration" and not delayed:
        _polyak(ag, hp, v)
    if delayed:
        if v.polyak == "before_actor":
            _polyak(ag, hp, v)
        if v.actor_objective == "-q1" and v.actor_zero_grad:
            update.step13_actor_update(ag.actor, ag.critic, ag.actor_optimizer, batch.s)      # Step 13
        else:
            _actor_variant(ag, batch.s, v)
        if v.polyak != "before_actor":
            _polyak(ag, hp, v)                                                                # Steps 14-15
    return a_tilde


def _actor_variant(ag: SimpleNamespace, s: torch.Tensor, v: Variant) -> None:
    with update.frozen(ag.critic):
        q1, q2 = ag.critic(s, ag.actor(s))
        q = {"-q1": -q1, "+q1": q1, "-q2": -q2, "-min": -torch.min(q1, q2),
             "-q1_target": None}[v.actor_objective]
        if q is None:
            q = -ag.critic_target(s, ag.actor(s))[0]
        loss = q.mean()
        if v.actor_zero_grad:
            ag.actor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
    ag.actor_optimizer.step()


def _polyak(ag: SimpleNamespace, hp: Hyper, v: Variant) -> None:
    if v.polyak == "none":
        return
    tau = {"swapped": 1.0 - hp.tau, "copy": 1.0, "default_tau": 0.005}.get(v.polyak, hp.tau)
    update.step14_update_actor_target(ag.actor, ag.actor_target, tau)                         # Step 14
    update.step15_update_critic_target(ag.critic, ag.critic_target, tau)                      # Step 15
