"""TD3 steps 4 to 15 of 15: one small function per step, composed by ``train_step``.

Read ``train_step`` at the bottom first: it is Algorithm 1 of the paper (Fujimoto, van Hoof,
Meger, ICML 2018), one labelled line per step. Each step function is taught in the notebook of
the same number and tested in ``tests/test_step_NN_*.py``.

Names follow the paper: s, a, r, s_next, terminated, gamma, tau, q1, q2, y.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .config import TD3Config
from .networks import Actor, Critic
from .protocols import Networks
from .replay_buffer import Batch, ReplayBuffer


def step04_sample_batch(replay_buffer: ReplayBuffer, batch_size: int) -> Batch:
    """TD3 step 4 of 15: sample a minibatch of N transitions (s, a, r, s', terminated).

    Shapes: s, s_next (B, state_dim); a (B, action_dim); r, terminated (B, 1).
    Why (B, 1) and not (B,): Q-values are (B, 1), and ``(B,) + (B, 1)`` silently broadcasts to
    (B, B): every reward would be added to every Q-value and the critic would learn nonsense.
    """
    return replay_buffer.sample(batch_size)


def step05_target_action(actor_target: Actor, s_next: torch.Tensor) -> torch.Tensor:
    """TD3 step 5 of 15: the target actor plays a' = mu'(s').

    Shapes: s_next (B, state_dim) -> a_next (B, action_dim).
    Why the *target* actor: the Bellman target must move slowly; the online actor changes every
    delayed update and would chase its own tail.
    """
    return actor_target(s_next)


def step06_target_policy_noise(a_next: torch.Tensor, max_action: float, policy_noise: float = 0.2,
                               noise_clip: float = 0.5) -> torch.Tensor:
    """TD3 step 6 of 15: target policy smoothing, a~ = clip(a' + clip(eps, -c, c), -max, max).

    Equation: eps ~ N(0, sigma~^2), with sigma~ = policy_noise * max_action, c = noise_clip * max_action.
    Shapes: a_next (B, action_dim) -> a_tilde (B, action_dim); one independent draw per entry.
    Why (paper section 5.3): similar actions should have similar values; averaging the target over
    a small neighbourhood of a' stops the critic from fitting narrow, wrong peaks that the actor
    would exploit. The lecture drew noise of the wrong shape and forgot the max_action scaling.
    """
    eps = torch.randn_like(a_next) * (policy_noise * max_action)
    eps = eps.clamp(-noise_clip * max_action, noise_clip * max_action)
    return (a_next + eps).clamp(-max_action, max_action)


def step07_target_q(critic_target: Critic, s_next: torch.Tensor,
                    a_tilde: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TD3 step 7 of 15: the twin critic targets value (s', a~): Q1'(s', a~), Q2'(s', a~).

    Shapes: s_next (B, state_dim), a_tilde (B, action_dim) -> q1_next, q2_next (B, 1) each.
    """
    return critic_target(s_next, a_tilde)


def step08_min_target_q(q1_next: torch.Tensor, q2_next: torch.Tensor) -> torch.Tensor:
    """TD3 step 8 of 15: clipped double Q-learning, keep min(Q1', Q2') elementwise.

    Shapes: q1_next, q2_next (B, 1) -> (B, 1).
    Why (paper section 4.2): each critic's error is partly noise; taking the max over actions
    turns noise into a systematic overestimate. The smaller of two independent estimates is
    biased low instead, and underestimates do not get amplified by the policy.
    """
    return torch.min(q1_next, q2_next)


def step09_bellman_target(r: torch.Tensor, terminated: torch.Tensor, q_next_min: torch.Tensor,
                          gamma: float = 0.99) -> torch.Tensor:
    """TD3 step 9 of 15: the Bellman target.

    Equation: y = r + gamma * (1 - terminated) * min(Q1', Q2')(s', a~)
    Shapes:   r, terminated, q_next_min: (B, 1) -> y: (B, 1)
    Why: a terminal state has no future; a time-limit truncation does, so it is not masked.
    Computed under ``torch.no_grad()`` by ``train_step``: y is a fixed regression target.
    """
    return r + gamma * (1.0 - terminated) * q_next_min


def step10_current_q(critic: Critic, s: torch.Tensor,
                     a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """TD3 step 10 of 15: both online critics value the stored pair: Q1(s, a), Q2(s, a).

    Shapes: s (B, state_dim), a (B, action_dim) -> q1, q2 (B, 1) each, with gradients.
    """
    return critic(s, a)


def step11_critic_loss(q1: torch.Tensor, q2: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
    """TD3 step 11 of 15: critic loss = MSE(Q1(s, a), y) + MSE(Q2(s, a), y).

    Shapes: q1, q2, y (B, 1) -> scalar. Both critics regress to the SAME target y.
    ``q2=None`` trains Q1 alone (the single-critic DDPG baseline of the ablation).
    """
    loss = F.mse_loss(q1, y)
    return loss if q2 is None else loss + F.mse_loss(q2, y)


def step12_critic_update(critic_optimizer: torch.optim.Optimizer, critic_loss: torch.Tensor) -> None:
    """TD3 step 12 of 15: one gradient step on the critic loss (zero_grad, backward, step).

    zero_grad first: torch accumulates gradients, so without it each step adds the last one's.
    """
    critic_optimizer.zero_grad(set_to_none=True)
    critic_loss.backward()
    critic_optimizer.step()


@contextmanager
def frozen(net: nn.Module) -> Iterator[nn.Module]:
    """Inside the block, ``net``'s weights take no gradient (the graph still flows through them).
    Afterwards each weight requires a gradient again exactly if it did before."""
    flags = [(p, p.requires_grad) for p in net.parameters()]
    net.requires_grad_(False)
    try:
        yield net
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def step13_actor_update(actor: Actor, critic: Critic, actor_optimizer: torch.optim.Optimizer,
                        s: torch.Tensor) -> torch.Tensor:
    """TD3 step 13 of 15: deterministic policy gradient, ascent on Q1(s, mu(s)).

    Equation: actor loss = -mean(Q1(s, mu(s))); minimising it maximises Q1.
    Why Q1 only: the paper climbs one critic; the min of two is for targets, not for the policy.
    The minus sign is the whole point: without it (a bug in the lecture notes) the actor
    descends Q and learns the worst actions. The critic is frozen while the gradient flows
    through it, so its weights get no gradient (and no wasted work).
    Runs once every ``policy_freq`` iterations (the delay), called from ``train_step``.
    """
    with frozen(critic):
        actor_loss = -critic.Q1(s, actor(s)).mean()
        actor_optimizer.zero_grad(set_to_none=True)
        actor_loss.backward()
    actor_optimizer.step()
    return actor_loss.detach()


@torch.no_grad()
def polyak_update(net: nn.Module, target: nn.Module, tau: float) -> None:
    """theta' <- tau * theta + (1 - tau) * theta', for every parameter, in place.

    ``theta'.lerp_(theta, tau)`` is exactly that formula (``theta' + tau * (theta - theta')``), the
    lecture's per-parameter loop in one call per tensor (tests/test_step_14_update_actor_target.py
    checks it equals torch's fused multi-tensor lerp bit for bit). The lecture's
    ``target_param.data.copy_ = ...`` assigns instead of calling and changes nothing at all.
    A target that is not a copy of ``net`` (other tensors, other shapes) raises, updating nothing.
    """
    targets, params = list(target.parameters()), list(net.parameters())
    if [t.shape for t in targets] != [p.shape for p in params]:
        raise RuntimeError(f"Polyak averaging needs a target of the same architecture: its parameter "
                           f"shapes are {[tuple(t.shape) for t in targets]}, the network's "
                           f"{[tuple(p.shape) for p in params]}. Fix: build the target with make_target(net).")
    for theta_target, theta in zip(targets, params):
        theta_target.lerp_(theta, tau)


def step14_update_actor_target(actor: Actor, actor_target: Actor, tau: float = 0.005) -> None:
    """TD3 step 14 of 15: Polyak-average the actor target toward the actor (delayed iterations only)."""
    polyak_update(actor, actor_target, tau)


def step15_update_critic_target(critic: Critic, critic_target: Critic, tau: float = 0.005) -> None:
    """TD3 step 15 of 15: Polyak-average both critic targets toward the critics (delayed only)."""
    polyak_update(critic, critic_target, tau)


def train_step(agent: Networks, batch: Batch, iteration: int, cfg: TD3Config) -> dict[str, torch.Tensor]:
    """One iteration of Algorithm 1 (after step 4 sampled ``batch``). ``iteration`` counts from 1.

    Returns the critic loss, and the actor loss on delayed iterations, as 0-d tensors (no
    ``.item()`` here: on a GPU that would wait for the device every iteration).
    """
    # Steps 5-9: the target y, a constant for the regression (no gradient, no graph).
    with torch.no_grad():
        a_next = step05_target_action(agent.actor_target, batch.s_next)                   # Step 5
        if cfg.target_noise:
            a_next = step06_target_policy_noise(a_next, agent.max_action,                 # Step 6
                                                cfg.policy_noise, cfg.noise_clip)
        q1_next, q2_next = step07_target_q(agent.critic_target, batch.s_next, a_next)     # Step 7
        q_next = step08_min_target_q(q1_next, q2_next) if cfg.twin_critics else q1_next   # Step 8
        y = step09_bellman_target(batch.r, batch.terminated, q_next, cfg.discount)        # Step 9

    q1, q2 = step10_current_q(agent.critic, batch.s, batch.a)                             # Step 10
    critic_loss = step11_critic_loss(q1, q2 if cfg.twin_critics else None, y)             # Step 11
    step12_critic_update(agent.critic_optimizer, critic_loss)                             # Step 12
    losses = {"critic_loss": critic_loss.detach()}

    if iteration % cfg.policy_delay == 0:  # the delay d
        actor_loss = step13_actor_update(agent.actor, agent.critic,                       # Step 13
                                         agent.actor_optimizer, batch.s)
        step14_update_actor_target(agent.actor, agent.actor_target, cfg.tau)              # Step 14
        step15_update_critic_target(agent.critic, agent.critic_target, cfg.tau)           # Step 15
        losses["actor_loss"] = actor_loss
    return losses
