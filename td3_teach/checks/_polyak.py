"""What the checks of steps 14 and 15 share: one Polyak update checked on a network and its
target, and the delayed block (steps 13-15 only every ``policy_freq`` iterations)."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Callable

import torch
from torch import nn

from ._core import CheckFailed, expect_close, require_callable
from ._code_facts import assigns_attribute
from ._seeded import input_generator, seeded, sizes
from ._update_helpers import call_update, changed, close, snapshot
from ..networks import Actor, Critic, make_target

COPY_BUG = ("the lecture's `target_param.data.copy_ = tau * param.data + (1 - tau) * "
            "target_param.data`")
EVERY_ITERATION_BUG = ("the lecture's loop: steps 14 and 15 sat outside `if it % policy_freq == 0:`, "
                       "so the targets moved at every iteration")


def draw_tau(seed: int, step: int) -> float:
    """A tau far from 0.5 (so swapping tau and 1 - tau shows) and from the default 0.005."""
    g = input_generator(seed, step)
    return round(0.05 + 0.3 * float(torch.rand(1, generator=g)), 3)


def _perturb(net: nn.Module, g: torch.Generator) -> None:
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)


def lerp(target: dict[str, torch.Tensor], online: dict[str, torch.Tensor], tau: float) -> dict:
    return {k: target[k] + tau * (online[k] - target[k]) for k in target}


def check_polyak(step: int, fn: Callable, fn_name: str, args: list[str], net_cls: type,
                 seed: int) -> float:
    """Run ``fn(net, target, tau)`` on a network of class ``net_cls`` (Actor or Critic) and a target
    that differs from it, twice: once with the package's targets (``make_target``: no gradients)
    and once with the lecture's (plain copies whose parameters require grad). Returns tau."""
    require_callable(step, fn, fn_name, args)
    sz = sizes(seed)
    tau = draw_tau(seed, step)
    g = input_generator(seed, 100 + step)
    online_name, target_name = args[0], args[1]
    for style in ("package", "lecture"):
        with seeded(seed):
            net = Actor(sz.state_dim, sz.action_dim, sz.max_action) if net_cls is Actor \
                else Critic(sz.state_dim, sz.action_dim)
        target = make_target(net) if style == "package" else copy.deepcopy(net)
        _perturb(target, g)
        net0, tgt0 = snapshot(net), snapshot(target)
        grad0 = {k: p.requires_grad for k, p in target.named_parameters()}
        what = f"{fn_name}({online_name}, {target_name}, tau={tau})"
        if style == "lecture":
            what += f" with a {target_name} whose parameters require grad (as in the lecture)"
        call_update(step, what, fn, net, target, tau)

        # The online network must not move.
        moved = changed(net, net0)
        if moved:
            now = snapshot(net)
            if all(close(now[k], v) for k, v in lerp(net0, tgt0, tau).items()):
                raise CheckFailed(step, f"You updated `{online_name}` toward `{target_name}`: the "
                                  "wrong network moved.", why="The TARGET trails the online network; "
                                  "pulling the online network back toward its old copy undoes "
                                  "what the optimizer just learned.",
                                  hint="Write into the target's parameters only.")
            raise CheckFailed(step, f"Your function changed `{online_name}` ({', '.join(moved[:3])}"
                              f"{', ...' if len(moved) > 3 else ''}).",
                              why="Only the target moves in a Polyak update; the online network is "
                              "trained by its optimizer alone.",
                              hint="Read the online parameters, write into the target's.")
        # The target must stay outside the autograd graph.
        for k, p in target.named_parameters():
            if p.grad_fn is not None or p.requires_grad != grad0[k]:
                raise CheckFailed(step, f"After your update the target's `{k}` is part of the "
                                  "autograd graph (it has a grad_fn / its requires_grad changed).",
                                  why="A Polyak update is bookkeeping, not a computation to "
                                  "differentiate: recorded, it builds a graph that grows with every "
                                  "iteration (memory) and lets later losses send gradients into the "
                                  "target.", hint="Do the update with autograd switched off "
                                  "(`with torch.no_grad():`) or on `.data`.")
        _compare(step, fn, target, tgt0, net0, tau, target_name, online_name)
    return tau


def _compare(step: int, fn: Callable, target: nn.Module, tgt0: dict, net0: dict, tau: float,
             target_name: str, online_name: str) -> None:
    now = snapshot(target)
    want = lerp(tgt0, net0, tau)
    wrong = [k for k in now if not close(now[k], want[k])]
    if not wrong:
        return
    def every(candidate: dict) -> bool:  # noqa: E306
        return all(close(now[k], candidate[k]) for k in now)
    if every(tgt0):
        if assigns_attribute(fn, "copy_"):
            raise CheckFailed(step, f"`{target_name}` did not change at all: `.copy_ = ...` ASSIGNS "
                              "an attribute on a temporary tensor instead of calling the method.",
                              why="The targets would keep their initial, random weights forever, "
                              "and so would every y computed from them.",
                              hint=("copy_ is a method, not an attribute to assign to.", "Call "
                                    "copy_ with the new values in parentheses; `=` only replaces "
                                    "the method on that one tensor."), bug=COPY_BUG)
        raise CheckFailed(step, f"`{target_name}` did not change at all.",
                          why="Assigning a new tensor to a name (e.g. the loop variable) does not "
                          "write into the network's parameter; the targets would stay at their "
                          "initial weights forever.",
                          hint="Write the new values INTO each target parameter (in place).")
    if every(net0):
        raise CheckFailed(step, f"`{target_name}` became an exact copy of `{online_name}`: a hard "
                          f"copy (tau = 1), not a soft update with tau = {tau}.",
                          why="The point of the target is to move slowly, so that y does not chase "
                          "the critic's every step (paper, Section 5.2).",
                          hint="Move only a fraction tau of the way toward the online parameters.")
    if every(lerp(tgt0, net0, 1 - tau)):
        raise CheckFailed(step, f"tau and 1 - tau are swapped: `{target_name}` moved {1 - tau:.3g} "
                          f"of the way to `{online_name}` instead of {tau:.3g}.",
                          why="With tau = 0.005 that makes the target jump 99.5 % of the way at "
                          "each update: no slow-moving target any more.",
                          hint="tau multiplies the ONLINE parameter.")
    if every(lerp(tgt0, net0, 0.005)):
        raise CheckFailed(step, f"tau is hard-coded to 0.005; the check passed tau={tau}.",
                          why="tau is a hyperparameter (TD3Config.tau).",
                          hint="Use the tau argument.")
    unchanged = [k for k in wrong if close(now[k], tgt0[k])]
    if unchanged and len(unchanged) == len(wrong):
        raise CheckFailed(step, f"Only some parameters were updated: {', '.join(unchanged)} "
                          f"did not move ({len(unchanged)} of {len(now)}).",
                          why="Every weight and bias of the target must trail the online network; "
                          "a half-updated target is a different, inconsistent network.",
                          hint="Loop over ALL parameters of both networks, in the same order.")
    k = wrong[0]
    expect_close(step, now[k], want[k], f"The target's `{k}`",
                 why="theta' <- tau * theta + (1 - tau) * theta', for every parameter.",
                 hint=("A target moves a fraction tau of the way toward its online network.",
                       "tau times the online parameter plus (1 - tau) times the target's own."))


def check_delayed(step: int, fn: Callable, seed: int) -> str:
    """Check ``delayed_updates(agent, s, iteration, policy_freq, tau)``: actor and both targets
    change only when ``iteration % policy_freq == 0`` (iteration counts from 1, as in
    ``train_step``), actor first, then the targets toward the NEW actor; the critic never."""
    require_callable(step, fn, "delayed_updates", ["agent", "s", "iteration", "policy_freq", "tau"])
    sz = sizes(seed)
    g = input_generator(seed, 200 + step)
    policy_freq = 2 + int(torch.randint(0, 2, (1,), generator=g))
    tau = draw_tau(seed + 1, step)
    with seeded(seed):
        actor = Actor(sz.state_dim, sz.action_dim, sz.max_action)
        critic = Critic(sz.state_dim, sz.action_dim)
    agent = SimpleNamespace(actor=actor, critic=critic, actor_target=make_target(actor),
                            critic_target=make_target(critic), max_action=sz.max_action,
                            actor_optimizer=torch.optim.Adam(actor.parameters(), lr=1e-3),
                            critic_optimizer=torch.optim.Adam(critic.parameters(), lr=1e-3))
    _perturb(agent.actor_target, g)
    _perturb(agent.critic_target, g)
    s = torch.randn(sz.B, sz.state_dim, generator=g)
    for it in range(1, 2 * policy_freq + 2):
        a0, at0 = snapshot(agent.actor), snapshot(agent.actor_target)
        c0, ct0 = snapshot(agent.critic), snapshot(agent.critic_target)
        call_update(step, f"delayed_updates(agent, s, iteration={it}, policy_freq={policy_freq}, "
                    f"tau={tau})", fn, agent, s.clone(), it, policy_freq, tau)
        due = it % policy_freq == 0
        if changed(agent.critic, c0):
            raise CheckFailed(step, f"The critic changed in delayed_updates (iteration {it}).",
                              why="The critics are trained at every iteration by steps 10-12, "
                              "outside this block; here they are only read.",
                              hint="Steps 13, 14, 15 only.")
        moved_targets = [name for name, net, before in (("actor_target", agent.actor_target, at0),
                                                        ("critic_target", agent.critic_target, ct0))
                         if changed(net, before)]
        if not due:
            if changed(agent.actor, a0):
                items = ["the actor"] + moved_targets
                moved = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
                raise CheckFailed(step, f"{moved[:1].upper()}{moved[1:]} moved at iteration {it}, "
                                  f"which is not a delayed one (policy_freq = {policy_freq}).",
                                  why="The delay is the point: the actor climbs a critic that has "
                                  "had policy_freq updates to settle, and the targets follow the "
                                  "actor's schedule (paper, Section 5.2).",
                                  hint="Iterations count from 1, as in train_step; the delayed ones "
                                  "are the multiples of policy_freq.")
            if moved_targets:
                raise CheckFailed(step, f"{' and '.join(moved_targets)} moved at iteration {it}, "
                                  f"which is not a delayed one (policy_freq = {policy_freq}); the "
                                  "actor, rightly, did not.",
                                  why="Targets follow the delayed schedule of the actor (paper, "
                                  "Section 5.2 and Algorithm 1): moving them every iteration makes "
                                  "y drift d times faster than TD3 intends.",
                                  hint="Put steps 14 and 15 under the same condition as step 13.",
                                  bug=EVERY_ITERATION_BUG)
            continue
        if not changed(agent.actor, a0):
            raise CheckFailed(step, f"The actor was not updated at iteration {it}, a delayed one "
                              f"(policy_freq = {policy_freq}).",
                              hint="Iterations count from 1, as in train_step; update when "
                              "iteration is a multiple of policy_freq.")
        a1, at1, ct1 = snapshot(agent.actor), snapshot(agent.actor_target), \
            snapshot(agent.critic_target)
        for name, now, before, toward, old in (("actor_target", at1, at0, a1, a0),
                                               ("critic_target", ct1, ct0, c0, c0)):
            want = lerp(before, toward, tau)
            if all(close(now[k], want[k]) for k in now):
                continue
            if all(close(now[k], before[k]) for k in now):
                raise CheckFailed(step, f"{name} did not move at iteration {it}, a delayed one.",
                                  why="On a delayed iteration BOTH targets are Polyak-updated: step "
                                  "14 for the actor target, step 15 for the critic target.",
                                  hint=f"Call the step {14 if name == 'actor_target' else 15} "
                                  "function there too.")
            toward_old = lerp(before, old, tau)
            if name == "actor_target" and all(close(now[k], toward_old[k]) for k in now):
                raise CheckFailed(step, f"actor_target moved toward the actor as it was BEFORE this "
                                  f"iteration's actor update (iteration {it}).",
                                  why="Algorithm 1 updates the actor first (step 13), then moves the "
                                  "targets toward the new weights (steps 14-15).",
                                  hint="Order: step 13, then 14 and 15.")
            raise CheckFailed(step, f"{name} at iteration {it} is not tau * online + (1 - tau) * "
                              f"target with tau={tau}.", hint="Use the tau argument, once per "
                              "delayed iteration.")
    return f"; delayed block: actor and targets move only at multiples of policy_freq={policy_freq}"
