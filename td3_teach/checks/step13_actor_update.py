"""Check for TD3 step 13 of 15: the (delayed) actor update, gradient ascent on Q1(s, mu(s))."""

from __future__ import annotations

import copy
from typing import Callable

import torch

from ._core import CheckFailed, CheckPassed, as_tensor, expect_close, require_callable
from ._code_facts import fail_if_uses, names_used
from ._seeded import input_generator, seeded, sizes
from ._update_helpers import call_update, changed, close, snapshot
from .. import update
from ..networks import Actor, Critic

STEP = 13
AFTER = ("the lecture notes wrote `actor_loss = self.critic.Q1(state, self.actor(state)).mean()`, "
         "without the minus sign: an actor trained that way descends Q1 and learns the worst "
         "actions it can find (the picture below draws both). Their other typos: "
         "`self.actor_optimizer.grad_zero()` and `self.actor_optimizer.steo()`.")
LR = 1e-3
MINUS_BUG = ("the lecture notes' `actor_loss = self.critic.Q1(state, self.actor(state)).mean()`, "
             "without the minus sign")
_TARGET = ("Step 13 trains the online actor against the online critic; the targets only move by "
           "Polyak averaging (steps 14-15).", "Use the arguments you are given.")
FORBIDDEN = {"actor_target": _TARGET, "critic_target": _TARGET,
             "critic_optimizer": ("The actor's loss must change the actor only; the critic is "
                                  "trained on its own loss in step 12.",
                                  "Step only the actor's optimizer.")}


def _q1_of_policy(actor: Actor, critic: Critic, s: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return critic.Q1(s, actor(s)).mean()


def step13(step13_actor_update: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step13_actor_update(actor, critic, actor_optimizer, s) -> actor loss``: the loss is
    -mean Q1(s, actor(s)), the actor takes one optimizer step on it (leftover gradients cleared),
    the critic's weights do not change, and Q1 of the actor's actions goes UP. Three updates,
    compared with the package's reference. ``seed`` varies sizes, networks and states."""
    fn = step13_actor_update
    require_callable(STEP, fn, "step13_actor_update", ["actor", "critic", "actor_optimizer", "s"])
    fail_if_uses(STEP, fn, "step13_actor_update", FORBIDDEN)
    sz = sizes(seed)
    with seeded(seed):
        actor = Actor(sz.state_dim, sz.action_dim, sz.max_action)
        critic = Critic(sz.state_dim, sz.action_dim)
    actor_ref, critic_ref = copy.deepcopy(actor), copy.deepcopy(critic)
    opt = torch.optim.Adam(actor.parameters(), lr=LR)
    opt_ref = torch.optim.Adam(actor_ref.parameters(), lr=LR)
    g = input_generator(seed, STEP)
    s = torch.randn(sz.B, sz.state_dim, generator=g)
    # Leftover gradients on the actor, from some earlier backward (e.g. the last actor update
    # when the optimizer does not clear them with set_to_none).
    for net in (actor, actor_ref):
        for p in net.parameters():
            p.grad = torch.randn(p.shape, generator=g) * 10
    critic_before = snapshot(critic)
    q_start = _q1_of_policy(actor, critic, s)

    for it in (1, 2, 3):
        actor_before = snapshot(actor)
        with torch.no_grad():
            a_now = actor(s)
            q1_now, q2_now = critic(s, a_now)
        what = f"step13_actor_update(actor, critic, actor_optimizer, s) (update {it} of 3)"
        loss = call_update(STEP, what, fn, actor, critic, opt, s.clone())
        loss_ref = update.step13_actor_update(actor_ref, critic_ref, opt_ref, s.clone())

        # The returned loss: a 0-d tensor whose value says which objective was used.
        if loss is None:
            raise CheckFailed(STEP, "Your function returned None; expected the actor loss.",
                              hint="Return the loss you called backward() on (detached if you like).")
        if isinstance(loss, float):
            raise CheckFailed(STEP, f"Your function returned a Python float ({loss:.4g}); expected "
                              "the loss as a 0-d tensor.", why="`.item()` waits for the GPU at every "
                              "update; the trainer converts when it logs.",
                              hint="Return the tensor (`.detach()` it if you like).")
        loss = as_tensor(STEP, loss, "the actor loss")
        if loss.numel() != 1:
            raise CheckFailed(STEP, f"The actor loss has shape {tuple(loss.shape)}; expected a "
                              "single number.", why="One objective for the whole batch: the mean "
                              "over the states of s.", hint="Average over the batch.")
        if it == 1:
            _diagnose_objective(loss.detach().reshape(()), q1_now, q2_now, sz.B)
        expect_close(STEP, loss.detach().reshape(()), loss_ref, f"The actor loss (update {it})",
                     atol=1e-5, hint="minus the mean of Q1 at the actor's own actions.")

        # Invariants: the critic is untouched, the actor moved.
        moved = changed(critic, critic_before)
        if moved:
            raise CheckFailed(STEP, f"The critic's weights changed during the actor update "
                              f"({', '.join(moved[:3])}{', ...' if len(moved) > 3 else ''}).",
                              why="The actor's loss flows THROUGH the critic, so the critic's "
                              "weights get gradients too; but only the actor may move here. A "
                              "critic pushed toward higher Q for the actor's actions overestimates, "
                              "exactly what TD3 is built to prevent.",
                              hint="Step only the actor's optimizer.")
        frozen = [k for k, p in critic.named_parameters() if not p.requires_grad]
        if frozen:
            more = ", ..." if len(frozen) > 3 else ""
            raise CheckFailed(STEP, "After the actor update the critic's parameters no longer "
                              f"require grad ({', '.join(frozen[:3])}{more}).",
                              why="Freezing the critic during the actor update is a good idea, "
                              "but it must be unfrozen afterwards: step 12 of the next iteration "
                              "trains it.", hint="Switch requires_grad back on when you are done "
                              "(the package's `update.frozen` context manager does both).")
        if not changed(actor, actor_before):
            _diagnose_actor_unchanged(fn, actor, it)
        for (name, p), p_ref in zip(actor.named_parameters(), actor_ref.parameters()):
            if not close(p, p_ref, atol=1e-6):
                q_after = _q1_of_policy(actor, critic, s)
                q_after_ref = _q1_of_policy(actor_ref, critic_ref, s)
                if q_after < q1_now.mean() < q_after_ref:
                    raise CheckFailed(STEP, f"Q1 of the actor's actions went DOWN in update {it} "
                                      f"({q1_now.mean():.4g} -> {q_after:.4g}): the actor stepped "
                                      "downhill.", why="The actor must climb the critic: gradient "
                                      "ASCENT on Q1.", hint="The gradient you step on must be the "
                                      "gradient of -Q1.", bug=MINUS_BUG)
                if "zero_grad" not in names_used(fn):
                    raise CheckFailed(STEP, "The actor took a step on this loss's gradient PLUS "
                                      "gradients that were already there: zero_grad() is missing.",
                                      why="torch adds every backward() into .grad: stale gradients "
                                      "(the last actor update's) would steer this step.",
                                      hint="Clear the actor optimizer's gradients before backward().")
                raise CheckFailed(STEP, f"After update {it}, the actor's `{name}` differs from one "
                                  "optimizer step on -mean Q1(s, actor(s)).",
                                  why="Step 13 is exactly one step of the actor's optimizer on "
                                  "this loss.", hint="zero_grad, backward, step: once each, "
                                  "on the actor's optimizer.")

    q_end = _q1_of_policy(actor, critic, s)
    if not q_end > q_start:
        raise CheckFailed(STEP, f"Q1 of the actor's actions went DOWN ({q_start:.4g} -> "
                          f"{q_end:.4g}) over three updates.",
                          why="The actor must climb the critic: gradient ASCENT on Q1.",
                          hint=("Minimising the loss must maximise Q1.", "Optimizers go DOWN the "
                                "loss; for Q1 to go up, the loss must be Q1's mean with the "
                                "opposite sign."), bug=MINUS_BUG)
    return CheckPassed(STEP, f"actor update: loss = -mean Q1(s, actor(s)); three updates match the "
                       f"reference, Q1 of the actor's actions rose ({q_start:.4g} -> {q_end:.4g}), "
                       "critic weights untouched.",
                       after=AFTER)


def _diagnose_objective(loss: torch.Tensor, q1: torch.Tensor, q2: torch.Tensor, B: int) -> None:
    """Name the objective the learner used, from the loss value on the first update."""
    want = -q1.mean()
    if close(loss, want, atol=1e-6):
        return
    candidates = [
        (q1.mean(), "The actor loss is +mean Q1: the minus sign is missing.",
         "The optimizer MINIMISES the loss. Without the minus the actor descends Q1 and learns "
         "the worst actions it can find.", "Gradient ascent on Q1 = descent on -Q1.", MINUS_BUG),
        (-q2.mean(), "The actor loss uses Q2, the second critic.",
         "TD3 climbs Q1 only (paper, Algorithm 1: the deterministic policy gradient of Q_theta1); "
         "Q2 is for the target's minimum.", "The critic has a method for the first head alone.",
         None),
        (-torch.min(q1, q2).mean(), "The actor loss uses min(Q1, Q2).",
         "The minimum is for the TARGET (step 8), against overestimation of y. The actor climbs "
         "Q1 alone, as in the paper.", "The critic has a method for the first head alone.", None),
        (-((q1 + q2) / 2).mean(), "The actor loss averages Q1 and Q2.",
         "TD3 climbs Q1 alone (paper, Algorithm 1).", "The critic has a method for the first head "
         "alone.", None),
        (-q1.sum(), "The actor loss SUMS Q1 over the batch.",
         "The step size would grow with the batch size; the objective is the mean.",
         "Average over the batch.", None),
        (q1.sum(), "The actor loss is +sum Q1: the minus sign is missing (and it sums over the "
         "batch).", "The optimizer minimises: without the minus the actor descends Q1.",
         "Gradient ascent on Q1 = descent on -Q1; average over the batch.", MINUS_BUG),
    ]
    for value, problem, why, hint, bug in candidates:
        if close(loss, value, atol=1e-6):
            raise CheckFailed(STEP, problem, why=why, hint=hint, bug=bug)


def _diagnose_actor_unchanged(fn: Callable, actor: Actor, it: int) -> None:
    names = names_used(fn)
    got_grad = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in actor.parameters())
    if "step" not in names:
        raise CheckFailed(STEP, f"The actor's weights did not change during update {it}: `step()` "
                          "is never called.", why="backward() only computes gradients; the "
                          "optimizer's step() moves the weights.", hint="Finish with the actor "
                          "optimizer's update.")
    if "backward" not in names:
        raise CheckFailed(STEP, f"The actor's weights did not change during update {it}: "
                          "`backward()` is never called, so the actor has no gradient to step on.",
                          why="The optimizer only applies gradients; backward() computes them from "
                          "the actor loss.", hint="Backpropagate the actor loss before the step.",
                          bug="the lecture notes' Step 13, which clears the gradients and "
                          "steps the optimizer but never backpropagates the loss")
    if not got_grad:
        raise CheckFailed(STEP, f"The actor's weights did not change during update {it}: no "
                          "gradient reached the actor.",
                          why="The gradient must flow from Q1 through the action back into the "
                          "actor (the deterministic policy gradient): Q1 has to be evaluated at "
                          "actor(s), the actor's own action with its graph, not at the stored "
                          "action a or a detached copy.",
                          hint="Call the actor on s inside the loss, and do not detach its output.")
    raise CheckFailed(STEP, f"The actor's weights did not change during update {it}, although "
                      "gradients were computed: does step() run before backward()?",
                      hint="Order: zero_grad, backward, step.")
