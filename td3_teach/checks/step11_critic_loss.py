"""Check for TD3 step 11 of 15: the critic loss MSE(Q1(s, a), y) + MSE(Q2(s, a), y)."""

from __future__ import annotations

import warnings
from typing import Callable

import torch
import torch.nn.functional as F

from ._core import CheckFailed, CheckPassed, as_tensor, expect_close, require_callable
from ._seeded import input_generator, sizes
from ._update_helpers import call_update, close
from .. import update

STEP = 11
AFTER = ("the package computes y under `torch.no_grad()` (step 9) and its `step11_critic_loss` "
         "relies on that; the lecture `.detach()`ed the target instead. Your loss is safe on its "
         "own either way.")


def step11(step11_critic_loss: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step11_critic_loss(q1, q2, y) -> scalar``: the sum of both critics' mean squared
    errors against the same y, gradients into q1 and q2 and none into y. ``seed`` varies the batch."""
    fn = step11_critic_loss
    require_callable(STEP, fn, "step11_critic_loss", ["q1", "q2", "y"])
    B = sizes(seed).B
    g = input_generator(seed, STEP)
    y0 = torch.randn(B, 1, generator=g) * 3
    q1_0 = y0 + torch.randn(B, 1, generator=g)
    q2_0 = y0 + 2 * torch.randn(B, 1, generator=g)
    q1, q2 = q1_0.clone().requires_grad_(True), q2_0.clone().requires_grad_(True)
    # y with a graph, as it would be if step 9 had forgotten torch.no_grad() / .detach().
    y = y0.clone().requires_grad_(True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = call_update(STEP, "step11_critic_loss(q1, q2, y)", fn, q1, q2, y)
    broadcast_warning = any("different to the input size" in str(w.message) for w in caught)

    # Type and shape: one number with a graph.
    if isinstance(loss, float):
        raise CheckFailed(STEP, f"The loss is a Python float ({loss:.4g}); expected a 0-d tensor.",
                          why="`.item()` cuts the loss from the autograd graph: step 12's "
                          "backward() needs the tensor.", hint="Return the tensor itself.")
    loss = as_tensor(STEP, loss, "the loss")
    if loss.numel() != 1:
        raise CheckFailed(STEP, f"The loss has shape {tuple(loss.shape)}; expected a single number "
                          "(a 0-d tensor).", why="backward() starts from one scalar; the batch is "
                          "averaged inside each critic's loss.",
                          hint="Mean squared error: the MEAN over the batch.")
    if loss.dim() != 0:
        raise CheckFailed(STEP, f"The loss has shape {tuple(loss.shape)}; expected a 0-d tensor, "
                          "shape ().", hint="A mean over the batch gives shape () directly.")
    if not loss.requires_grad:
        raise CheckFailed(STEP, "The loss carries no gradient.",
                          why="Step 12 calls backward() on it: the gradient must reach the critics "
                          "through q1 and q2.", hint="Do not detach q1 or q2.")

    # Invariants: the gradient goes into both critics' predictions and never into y.
    gq1, gq2, gy = torch.autograd.grad(loss, [q1, q2, y], allow_unused=True)
    none = lambda t: t is None or not bool(t.abs().sum() > 0)  # noqa: E731
    if none(gq1) and none(gq2):
        raise CheckFailed(STEP, "No gradient reaches q1 or q2: the loss cannot train the critics.",
                          why="The critics learn by moving Q(s, a) toward y; the gradient must "
                          "flow into the predictions." + (" It flows into y instead: the roles of "
                          "prediction and target are reversed." if not none(gy) else ""),
                          hint="Detach the target, not the predictions.")
    for name, gq, other in (("q2", gq2, "Q1"), ("q1", gq1, "Q2")):
        if none(gq):
            raise CheckFailed(STEP, f"No gradient reaches {name}: only {other}'s loss is in the sum.",
                              why="TD3 trains BOTH critics toward the same y; a critic without a "
                              "loss keeps its random weights, and the minimum in step 8 would "
                              "then be taken against noise.",
                              hint="One mean squared error per critic, added together.")
    if not none(gy):
        raise CheckFailed(STEP, "The loss sends a gradient into y.",
                          why="y is the regression target: a constant. Here it came in with a graph "
                          "(as when step 9 forgets torch.no_grad()), and your loss differentiates "
                          "through it: backward() would also push the target critic, or, without "
                          "a target network, turn TD learning into a different algorithm "
                          "(residual gradients).",
                          hint="Treat y as a constant inside the loss (cut it from the graph).",
                          bug="the lecture's Step 9 `.detach()`, needed exactly for this")

    # Values, with the classic mistakes named.
    want = update.step11_critic_loss(q1_0, q2_0, y0)
    if not close(loss, want, atol=1e-4):
        flat1, flat2 = q1_0.view(-1), q2_0.view(-1)
        mse, l1 = F.mse_loss, F.l1_loss
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            broadcast = [mse(flat1, y0) + mse(flat2, y0),
                         mse(q1_0, y0.view(-1)) + mse(q2_0, y0.view(-1)),
                         ((flat1 - y0) ** 2).mean() + ((flat2 - y0) ** 2).mean()]
        q_min = torch.min(q1_0, q2_0)
        mistakes = [
            ([want * B], "The loss is B times too large: you SUMMED the squared errors over the "
             "batch.", "Then the gradient's size grows with the batch size; the mean keeps the "
             "loss (and the step) independent of B.", "Mean squared error: reduce by the mean."),
            ([want / 2], "The loss is half the expected value: you averaged the two critics' losses.",
             "TD3 ADDS them (the authors' code and the package): each critic gets its full "
             "gradient. With Adam the difference is small, but the logged loss differs.",
             "Add the two losses."),
            ([l1(q1_0, y0) + l1(q2_0, y0)], "This is an absolute (L1) error, not a squared one.",
             "TD3 regresses to y with the mean SQUARED error: the critic then estimates the mean "
             "of the targets (L1 would give their median).", "Square the errors."),
            ([F.smooth_l1_loss(q1_0, y0) + F.smooth_l1_loss(q2_0, y0)], "This is the Huber "
             "(smooth L1) loss, not the mean squared error.", "The paper and its code use MSE.",
             "Square the errors."),
            ([mse(q_min, y0), 2 * mse(q_min, y0)], "You regressed min(Q1, Q2) to y.",
             "The minimum belongs to the target (step 8). Each critic is regressed to y on its own; "
             "through a min only one of them learns on each transition.",
             "One loss per critic, each with its own prediction."),
        ]
        if broadcast_warning or any(close(loss, b, atol=1e-4) for b in broadcast):
            raise CheckFailed(STEP, f"The loss compares ({B},) with ({B}, 1): they broadcast to "
                              f"({B}, {B}) and every prediction was compared with every target."
                              + (" (torch warned: 'Using a target size ... different to the input "
                                 "size'.)" if broadcast_warning else ""),
                              why="The value is wrong, and the critic is pulled toward the average "
                              "target of the whole batch instead of its own.",
                              hint="Keep q1, q2 and y all (B, 1): no squeeze(), flatten() or "
                              "view(-1) on one side only.")
        for values, problem, why, hint in mistakes:
            if any(close(loss, v, atol=1e-4) for v in values):
                raise CheckFailed(STEP, problem, why=why, hint=hint)
        expect_close(STEP, loss, want, "The loss", atol=1e-4,
                     hint="Mean squared error of each critic against y, added.")
    # Gradients: d loss / d q_i = 2 (q_i - y) / B.
    expect_close(STEP, gq1, 2 * (q1_0 - y0) / B, "The gradient into q1",
                 hint="A mean squared error between q1 and y.")
    expect_close(STEP, gq2, 2 * (q2_0 - y0) / B, "The gradient into q2",
                 hint="A mean squared error between q2 and y.")
    return CheckPassed(STEP, f"critic loss: MSE(q1, y) + MSE(q2, y) on a batch of {B}, a 0-d tensor; "
                       "gradients into both critics, none into y.",
                       after=AFTER)
