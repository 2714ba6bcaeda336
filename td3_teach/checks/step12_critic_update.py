"""Check for TD3 step 12 of 15: one gradient step on the critic loss (zero_grad, backward, step)."""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ._core import CheckFailed, CheckPassed, require_callable
from ._code_facts import count_uses, first_use, names_used
from ._seeded import input_generator, seeded, sizes
from ._update_helpers import call_update, changed, close, snapshot
from .. import update
from ..networks import Actor, Critic

STEP = 12
AFTER = ("the three calls are `critic_optimizer.zero_grad()`, `critic_loss.backward()`, "
         "`critic_optimizer.step()`, in that order. zero_grad comes FIRST, not last, because "
         "something else touches the critic's gradients between two critic updates: the actor's "
         "loss of step 13 is computed through the critic, so its backward() leaves gradients on "
         "the critic's weights too; clearing right before backward() makes the step use this "
         "loss's gradient and nothing else. The lecture had the right idea with a typo: "
         "`self.critic_optimizer.zero.grad()` raises AttributeError: 'Adam' object has no "
         "attribute 'zero'.")
LR = 0.05  # plain SGD in the check: a step is exactly lr * gradient, so each mistake has a signature


def _loss(critic: Critic, s: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    q1, q2 = critic(s, a)
    return F.mse_loss(q1, y) + F.mse_loss(q2, y)


def step12(step12_critic_update: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step12_critic_update(critic_optimizer, critic_loss)``: after the call the critic has
    moved by exactly one optimizer step on this loss's gradient, whatever gradients were lying on
    the critic before (the actor's loss in step 13 flows through the critic and leaves some).
    Two updates in a row, compared with the package's reference. ``seed`` varies sizes and data."""
    fn = step12_critic_update
    require_callable(STEP, fn, "step12_critic_update", ["critic_optimizer", "critic_loss"])
    sz = sizes(seed)
    with seeded(seed):
        critic, actor = Critic(sz.state_dim, sz.action_dim), Actor(sz.state_dim, sz.action_dim,
                                                                   sz.max_action)
    reference = copy.deepcopy(critic)
    opt = torch.optim.SGD(critic.parameters(), lr=LR)
    opt_ref = torch.optim.SGD(reference.parameters(), lr=LR)
    g = input_generator(seed, STEP)

    # Leftover gradients on the critic, as the actor's loss of the last delayed iteration leaves
    # them when the critic is not frozen (the lecture's code, and the authors').
    s0 = torch.randn(sz.B, sz.state_dim, generator=g)
    for net in (critic, reference):
        (-net.Q1(s0, actor(s0).detach()).mean() * 50).backward()

    for it in (1, 2):
        s = torch.randn(sz.B, sz.state_dim, generator=g)
        a = (torch.rand(sz.B, sz.action_dim, generator=g) * 2 - 1) * sz.max_action
        y = torch.randn(sz.B, 1, generator=g)
        loss = _loss(critic, s, a, y)
        fresh = torch.autograd.grad(loss, list(critic.parameters()), retain_graph=True)
        stale = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                 for p in critic.parameters()]
        before = snapshot(critic)
        call_update(STEP, f"step12_critic_update(critic_optimizer, critic_loss) (update {it} of 2)",
                    fn, opt, loss)
        update.step12_critic_update(opt_ref, _loss(reference, s, a, y))
        _diagnose(fn, critic, before, fresh, stale, it)
        for (name, p), p_ref in zip(critic.named_parameters(), reference.parameters()):
            if not close(p, p_ref, atol=1e-6):
                raise CheckFailed(STEP, f"After update {it}, the critic's `{name}` differs from one "
                                  "SGD step on this loss.", why="Step 12 is exactly one optimizer "
                                  "step on the gradient of this critic loss.",
                                  hint="zero_grad, then backward, then step: once each.")
    return CheckPassed(STEP, "critic update: each call moves the critic by exactly one optimizer "
                       "step on its own loss's gradient (leftover gradients cleared first), twice "
                       "in a row.",
                       after=AFTER)


def _diagnose(fn: Callable, critic: Critic, before: dict, fresh: Sequence[torch.Tensor],
              stale: Sequence[torch.Tensor], it: int) -> None:
    """Compare the step the learner's call took with the step each classic mistake would take."""
    params = list(critic.named_parameters())
    if not changed(critic, before):
        names = names_used(fn)
        has_grads = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for _, p in params)
        if "step" not in names:
            raise CheckFailed(STEP, f"The critic's weights did not change during update {it}: "
                              "`step()` is never called.",
                              why="backward() only computes gradients; the optimizer's step() is "
                              "what moves the weights.", hint="Finish with the optimizer's update.")
        if "backward" in names and first_use(fn, "step") < first_use(fn, "backward"):
            raise CheckFailed(STEP, f"The critic's weights did not change during update {it}: "
                              "`step()` runs before `backward()`.",
                              why="step() uses the gradients that are there when it runs; after "
                              "zero_grad and before backward there are none.",
                              hint="Order: clear the old gradients, compute the new ones, step.")
        raise CheckFailed(STEP, f"The critic's weights did not change during update {it}"
                          + (", although gradients were computed." if has_grads else
                             ": no gradient was computed (is backward() called on critic_loss?)."),
                          why="Step 12 must move the critics toward y.",
                          hint="zero_grad, then backward, then step.")
    taken = [(before[name] - p.detach()) / LR for name, p in params]  # the gradient SGD used
    if all(close(t, f, atol=1e-5) for t, f in zip(taken, fresh)):
        return
    if all(close(t, f + s, atol=1e-5) for t, f, s in zip(taken, fresh, stale)):
        names = names_used(fn)
        if "zero_grad" in names and first_use(fn, "zero_grad") > first_use(fn, "backward"):
            raise CheckFailed(STEP, "The update used this loss's gradient PLUS the gradients that "
                              "were already on the critic: zero_grad() runs after backward().",
                              why="torch adds every backward() into .grad. Clearing at the end is "
                              "not enough: the actor's loss in step 13 flows back through the "
                              "critic and leaves gradients there before the next critic update.",
                              hint="Clear the gradients right before backward().")
        raise CheckFailed(STEP, "The update used this loss's gradient PLUS the gradients that were "
                          "already on the critic: the gradients accumulate (no zero_grad()).",
                          why="torch adds every backward() into .grad; without clearing, each step "
                          "also replays old gradients (the last update's, and the actor loss's from "
                          "step 13), so the critic runs off in stale directions.",
                          hint=("Old gradients must be forgotten before new ones are computed.",
                                "The optimizer has a method that sets every .grad of its "
                                "parameters to zero: call it first, before backward()."))
    if all(close(t, s_, atol=1e-5) for t, s_ in zip(taken, stale)):
        raise CheckFailed(STEP, "The update used only the gradients that were already on the critic, "
                          "not this loss's: step() runs before backward().",
                          why="step() uses whatever is in .grad when it runs; this loss's gradient "
                          "arrives only with backward().",
                          hint="Order: clear the old gradients, compute the new ones, step.")
    for k in (2, 3):
        if all(close(t, k * f, atol=1e-5) for t, f in zip(taken, fresh)) or \
                all(close(t, k * f + s_, atol=1e-5) for t, f, s_ in zip(taken, fresh, stale)):
            if count_uses(fn, "step") > 1 and count_uses(fn, "backward") <= 1:
                raise CheckFailed(STEP, f"The critic moved {k} optimizer steps: step() is called "
                                  "more than once.", why="One update is one step; two steps on one "
                                  "gradient double the learning rate behind your back.",
                                  hint="Call step() once per update.")
            raise CheckFailed(STEP, f"The update used {k} times this loss's gradient: backward() "
                              f"ran {k} times.", why="Each backward() adds the gradient into .grad "
                              "once more (retain_graph=True lets it run again without an error).",
                              hint="Call backward() once per update.")
