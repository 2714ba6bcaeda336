"""Check for TD3 step 9 of 15: the Bellman target y = r + gamma (1 - terminated) min Q'."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._core import CheckFailed, CheckPassed, as_tensor, expect_close, expect_shape, require_callable
from ._seeded import input_generator, sizes
from ._update_helpers import call_update, close
from ._predictions import check_value
from .. import update

STEP = 9
AFTER = ("the lecture cut the target from the graph with `.detach()` \"to avoid graph\"; the "
         "package computes steps 5 to 9 under `torch.no_grad()` (see `train_step`), which never "
         "builds the graph in the first place.")
DETACH_BUG = ("the lecture's Step 9 remark: `.detach()` 'to avoid graph' (a target that keeps "
              "its graph)")
DONE_BUG = ("the lecture's `done`: gym's old single flag, which also said 'done' at the time limit;"
            " merging gymnasium's two flags into one repeats it")


def step09(step09_bellman_target: Callable, terminal_flag: Callable | None = None,
           step09_prediction: Callable | None = None, seed: int = 0) -> CheckPassed:
    """Check ``step09_bellman_target(r, terminated, q_next_min, gamma) -> y (B, 1)`` and, when
    given, ``terminal_flag(terminated, truncated) -> float`` (what the replay buffer stores).
    ``seed`` varies the batch size and gamma (graders use other seeds). With
    ``step09_prediction() -> (y_time_limit, y_fell)``, also the notebook's prediction: the target
    of the last step of an episode cut by the time limit, and of one where the robot fell."""
    fn = step09_bellman_target
    require_callable(STEP, fn, "step09_bellman_target", ["r", "terminated", "q_next_min", "gamma"])
    if terminal_flag is not None:
        require_callable(STEP, terminal_flag, "terminal_flag", ["terminated", "truncated"])
    B = sizes(seed).B
    g = input_generator(seed, STEP)
    gamma = round(0.8 + 0.15 * float(torch.rand(1, generator=g)), 3)  # never the default 0.99
    r = torch.randn(B, 1, generator=g) * 2
    terminated = (torch.rand(B, 1, generator=g) < 0.3).float()
    terminated[0], terminated[1] = 1.0, 0.0  # both kinds of rows, always
    q = torch.randn(B, 1, generator=g) * 3 + 10  # away from 0, so a missing factor shows
    r_in, t_in = r.clone(), terminated.clone()
    q_in = q.clone().requires_grad_(True)  # as if the target critic's output kept its graph

    y = call_update(STEP, f"step09_bellman_target(r, terminated, q_next_min, gamma={gamma})", fn,
                    r_in, t_in, q_in, gamma)
    y = as_tensor(STEP, y, "y")

    # Shapes.
    if y.numel() == 1:
        raise CheckFailed(STEP, f"y is a single number ({y.item():.4g}); expected one target per "
                          f"transition, shape ({B}, 1).",
                          why="Each transition has its own target; step 11 compares them row by "
                          "row with Q(s, a).", hint="No mean or sum over the batch here.")
    if tuple(y.shape) == (B, B):
        raise CheckFailed(STEP, f"y has shape ({B}, {B}); expected ({B}, 1). A ({B},) tensor met a "
                          f"({B}, 1) tensor and broadcast: every reward was added to every next "
                          "value.", why="The critic would regress each Q(s, a) toward B mixed-up "
                          "targets and learn nonsense, without any error message.",
                          hint="Keep every tensor (B, 1) as given: no squeeze(), flatten() or "
                          "view(-1) here.")
    expect_shape(STEP, y, (B, 1), "y", why="y lines up with Q1(s, a) and Q2(s, a), both (B, 1).",
                 hint="r, terminated and q_next_min are all (B, 1); keep that shape.")

    # Invariants: inputs untouched, y a constant.
    for name, got, want in (("r", r_in, r), ("terminated", t_in, terminated),
                            ("q_next_min", q_in.detach(), q)):
        if not torch.equal(got, want):
            raise CheckFailed(STEP, f"Your function changed its input `{name}` in place.",
                              why="Those tensors belong to the caller (the sampled batch); "
                              "editing them in place changes data other code may still read, a "
                              "classic source of silent bugs.",
                              hint="Build y from new tensors; avoid `+=`, `*=` and methods ending "
                              "in `_` on the inputs.")
    if y.requires_grad:
        raise CheckFailed(STEP, "y carries a gradient: q_next_min came in with requires_grad=True "
                          "and y kept the autograd graph.",
                          why="y is a fixed regression target: the critic moves Q(s, a) toward y, "
                          "never y toward Q(s, a) (semi-gradient TD). A y with a graph also lets "
                          "step 12's backward() reach the target critic.",
                          hint="Cut y from the graph before returning it, or compute it with "
                          "autograd switched off.", bug=DETACH_BUG)

    # Values, with the classic mistakes named.
    mask = 1.0 - terminated
    want = update.step09_bellman_target(r, terminated, q, gamma)
    if not close(y, want):
        mistakes = [
            (r + gamma * q, "Terminal transitions still bootstrap: the done mask is missing.",
             "A terminal state has no future: after the robot falls there are no more rewards, so "
             "the target is the last reward alone.", ("Where the episode ended, the future counts "
             "for nothing.", "Multiply the future part by a 0/1 factor that is 0 where terminated "
             "is 1.")),
            (r + gamma * terminated * q, "The done mask is inverted: you bootstrap only where the "
             "episode ENDED and drop the future everywhere else.",
             "terminated is 1.0 at a terminal transition; the future must count where it is 0.",
             ("The future must count where terminated is 0.", "Which expression of "
              "terminated is 1 where terminated is 0, and 0 where it is 1?")),
            (mask * (r + gamma * q), "The done mask also wipes out the reward of terminal "
             "transitions.", "The last reward was really received; only the FUTURE after a "
             "terminal state is zero.", "Apply the mask to the future term only."),
            (r + mask * q, "gamma is missing: the future is not discounted.",
             "Without gamma < 1 values can grow without bound; gamma says how much a reward one "
             "step later is worth.", "Use the gamma argument."),
            (r + 0.99 * mask * q, f"gamma is hard-coded to 0.99; the check passed gamma={gamma}.",
             "The discount is a hyperparameter (TD3Config.discount); the function must use the "
             "one it is given.", "Use the gamma argument."),
            (gamma * (r + mask * q), "gamma also multiplies the reward.",
             "The reward r is received now; only the next state's value is one step away.",
             "Discount the future term only."),
        ]
        for wrong, problem, why, hint in mistakes:
            if close(y, wrong):
                raise CheckFailed(STEP, problem, why=why, hint=hint)
        expect_close(STEP, y, want, "y", hint="y = reward now + discounted value of the next "
                     "state, where that next state has a future.")

    flags = ""
    if terminal_flag is not None:
        _check_terminal_flag(terminal_flag)
        flags = "; stored flag = terminated only, time-limit truncations still bootstrap"
    if step09_prediction is not None:
        flags += check_value(
            STEP, step09_prediction, "(y at the time limit, y when the robot fell)", (100.0, 1.0),
            why="r = 1, gamma = 0.99, and the target critics already know that every state is "
            "worth 100 (the true value of a reward of 1 forever: 1 / (1 - 0.99)). Which of the "
            "two last steps has a future?",
            hint=("Only one of the two episodes really ended; the other was cut by a clock.",
                  "Put each case into the equation of step 9 with the flag your terminal_flag "
                  "stores for it."))
    return CheckPassed(STEP, f"Bellman target: shape ({B}, 1), y = r + gamma (1 - terminated) "
                       f"min Q' with gamma={gamma}, no gradient into y{flags}.",
                       after=AFTER)


def _check_terminal_flag(fn: Callable) -> None:
    """What goes into the replay buffer's ``terminated`` slot for gymnasium's two flags."""
    for terminated, truncated in ((False, False), (True, False), (False, True), (True, True)):
        what = f"terminal_flag(terminated={terminated}, truncated={truncated})"
        got = call_update(STEP, what, fn, terminated, truncated)
        if got is None:
            raise CheckFailed(STEP, f"{what} returned None.", hint="Did you forget `return`?")
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (bool, int, float, np.bool_, np.integer, np.floating)):
            raise CheckFailed(STEP, f"{what} returned a {type(got).__name__}; expected a number "
                              "(0.0 or 1.0).")
        got, want = float(got), float(terminated)
        if got == want:
            continue
        if truncated and not terminated:
            raise CheckFailed(STEP, f"{what} returned {got:g}: a time-limit truncation is stored as "
                              "terminal.", why="When the time limit stops an episode the robot is "
                              "still running: its next state has a future. Masking it teaches the "
                              "critic that the last states of every episode are worth almost "
                              "nothing (see the picture below).",
                              hint="Only one of gymnasium's two flags means 'no future'.",
                              bug=DONE_BUG)
        raise CheckFailed(STEP, f"{what} returned {got:g}; expected {want:g}.",
                          why="The stored flag is 1.0 exactly when the task really ended "
                          "(terminated), whatever the time limit says.",
                          hint="Which flag says the next state has no future?")
