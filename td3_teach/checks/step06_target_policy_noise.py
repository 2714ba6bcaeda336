"""Check for TD3 step 6 of 15: target policy smoothing, a~ = clip(a' + clip(eps, -c, c), -max, max).

The noise is tested by its statistics (shape, freshness, spread, clip bounds, in units of
max_action, with max_action never 1) and then, number for number, against the package's reference
under the same torch seed.
"""

from __future__ import annotations

from typing import Callable

import torch

from .. import update
from ._core import CheckFailed, CheckPassed, LearnerCodeError, as_tensor, call_learner, \
    expect_close, expect_shape, require_callable
from ._seeded import randint, seeded, size_generator

STEP = 6
AFTER = ("the lecture's version has all the classic slips: `normal_0` (a typo for `normal_`), "
         "noise without the max_action scaling, a `self.min_action` that does not exist; its "
         "handwritten notes draw `torch.randn(1, policy_noise_std)`, one number (in fact a size) "
         "for the whole batch.")
MAX_ACTIONS = (1.5, 2.0, 2.5, 3.0)  # never 1: the max_action scaling must show
EPS = 1e-5


def _call(fn: Callable, a_next: torch.Tensor, m: float, sigma: float, c: float) -> torch.Tensor:
    what = (f"step06_target_policy_noise(a_next, max_action={m:g}, policy_noise={sigma:g}, "
            f"noise_clip={c:g})")
    given = a_next.clone()
    try:
        out = call_learner(STEP, what, fn, given, m, sigma, c)
    except LearnerCodeError as e:
        if "normal_0" in e.problem:
            raise LearnerCodeError(STEP, e.problem, bug="the lecture's `.normal_0(0, policy_noise)` "
                                   "typo: the in-place normal sampler is `normal_`",
                                   hint="Draw standard normal noise shaped like a_next.") from None
        if "randn" in e.problem and "float" in e.problem:
            raise LearnerCodeError(STEP, e.problem, bug="the lecture notes' `torch.randn(1, "
                                   "policy_noise_std)`: randn's arguments are a SIZE, not a mean "
                                   "and a standard deviation",
                                   hint="Draw standard normal noise of a_next's shape, then scale "
                                   "it by the standard deviation.") from None
        raise
    if not torch.equal(given, a_next):
        raise CheckFailed(STEP, f"{what} changed a_next in place.",
                          why="The caller's a' is overwritten: any later use of it (a plot, a "
                          "comparison, a second noise draw) sees the noisy action instead.",
                          hint="Build a new tensor (a_next + noise) instead of adding into a_next.")
    out = as_tensor(STEP, out, "the result a~")
    expect_shape(STEP, out, tuple(a_next.shape), "a~", why="One noisy action per next action: the "
                 "same shape as a_next.",
                 hint="Noise of a_next's shape, added elementwise.")
    return out.detach()


def _per_sample(noise: torch.Tensor, B: int, A: int) -> None:
    if torch.all(noise.abs() < EPS):
        raise CheckFailed(STEP, "a~ equals a_next: no noise was added.",
                          why="Target policy smoothing IS the noise: averaging the target over "
                          "nearby actions (paper, Section 5.3).",
                          hint="Add clipped Gaussian noise to a_next.")
    if torch.allclose(noise, noise.flatten()[0].expand_as(noise), atol=EPS):
        raise CheckFailed(STEP, f"Every entry of a~ - a_next is the same number "
                          f"({noise.flatten()[0].item():.3g}): one noise value for the whole batch.",
                          bug="the lecture notes' `noise = torch.randn(1, ...)`: noise of the wrong "
                          "shape, one number broadcast to every action",
                          why="Each transition's target must be smoothed by its own draw; one shared "
                          "number shifts the whole batch together and smooths nothing.",
                          hint="Draw noise of a_next's full shape, (B, action_dim).")
    if B > 1 and torch.allclose(noise, noise[:1].expand_as(noise), atol=EPS):
        raise CheckFailed(STEP, f"Every row of a~ - a_next is the same: noise of shape (1, {A}) "
                          "shared by the whole batch.",
                          why="Each transition's target must be smoothed by its own draw.",
                          hint="Draw noise of a_next's full shape, (B, action_dim).")
    if A > 1 and torch.allclose(noise, noise[:, :1].expand_as(noise), atol=EPS):
        raise CheckFailed(STEP, f"Within each row, a~ - a_next is the same for every action "
                          f"dimension: noise of shape ({B}, 1).",
                          why="Each joint's torque gets its own independent noise.",
                          hint="Draw noise of a_next's full shape, (B, action_dim).")


def _spread(fn: Callable, A: int, m: float, sigma: float) -> None:
    """No clipping in play (noise_clip large): the noise must be N(0, (sigma * max_action)^2)."""
    zeros = torch.zeros(1000, A)
    noise = _call(fn, zeros, m, sigma, 100.0)
    std, mean, want = noise.std().item(), noise.mean().item(), sigma * m
    if abs(std / want - 1) > 0.1:
        unscaled = abs(std / sigma - 1) < 0.1
        raise CheckFailed(
            STEP, f"With max_action = {m:g} and policy_noise = {sigma:g}, the noise has standard "
            f"deviation {std:.3g}; expected policy_noise * max_action = {want:.3g}."
            + (" It is not scaled by max_action." if unscaled else ""),
            why="policy_noise is in units of max_action (paper: sigma~ = 0.2 for actions in [-1, 1]); "
            "for an environment with larger actions the noise must grow with them.",
            bug="the lecture's `normal_(0, policy_noise)`, without the max_action scaling"
            if unscaled else None,
            hint="Standard normal noise times policy_noise times max_action.")
    if abs(mean) > 6 * want / (noise.numel() ** 0.5):
        raise CheckFailed(STEP, f"The noise has mean {mean:.3g}; expected 0.",
                          why="Smoothing must not shift the target action in one direction.",
                          hint="Zero-mean Gaussian noise: torch.randn draws N(0, 1).")


def _clips(fn: Callable, A: int, m: float) -> None:
    sigma, c = 0.2, 0.1  # the noise often passes its clip bound c * max_action
    zeros = torch.zeros(400, A)
    got = _call(fn, zeros, m, sigma, c).abs().max().item()
    if abs(got - c) < EPS:
        raise CheckFailed(STEP, f"With noise_clip = {c:g} and max_action = {m:g}, the noise is "
                          f"clipped at ±{c:g}; expected ±noise_clip * max_action = ±{c * m:g}.",
                          why="noise_clip is in units of max_action, like policy_noise.",
                          hint="Clip the noise to [-noise_clip * max_action, noise_clip * max_action].")
    if got > c * m + EPS:
        raise CheckFailed(STEP, f"With noise_clip = {c:g} and max_action = {m:g}, the noise reaches "
                          f"{got:.3g}, beyond noise_clip * max_action = {c * m:g}: it is not clipped.",
                          why="Clipping keeps a~ near a' (paper, Eq. 14): an unbounded Gaussian tail "
                          "would sometimes value an action far from what the target policy does.",
                          hint="Clip the noise itself, before adding it to a_next.")
    if abs(got - c * m) > EPS:
        raise CheckFailed(STEP, f"With noise_clip = {c:g} and max_action = {m:g}, the noise never "
                          f"reaches its bound {c * m:g} (largest {got:.3g}).",
                          hint="Clip the noise to [-noise_clip * max_action, noise_clip * max_action].")
    middle = torch.full((400, A), 0.6 * m)
    out = _call(fn, middle, m, sigma, c)
    if out.max().item() <= c * m + EPS:
        raise CheckFailed(STEP, f"For a' = {0.6 * m:g}, a~ stays within ±noise_clip * max_action = "
                          f"±{c * m:g}: the SUM a' + noise was clipped to the noise bound.",
                          why="The noise is what gets clipped, before it is added; a' itself can be "
                          "anywhere in [-max_action, max_action].",
                          hint="clip(noise), then a' + clipped noise, then clip to the action bounds.")
    if (out - middle).abs().max().item() > c * m + EPS:
        raise CheckFailed(STEP, f"For a' = {0.6 * m:g}, a~ moves {(out - middle).abs().max().item():.3g} "
                          f"away from a'; the clipped noise allows at most {c * m:g}.",
                          hint="Clip the noise before adding it.")


def _action_bounds(fn: Callable, A: int, m: float) -> None:
    edge = torch.cat([torch.full((200, A), 0.95 * m), torch.full((200, A), -0.95 * m)])
    out = _call(fn, edge, m, 0.3, 0.5)
    top, bottom = out.max().item(), out.min().item()
    if top <= 1 + EPS and bottom >= -1 - EPS:
        raise CheckFailed(STEP, f"With max_action = {m:g}, a~ is clipped to [-1, 1].",
                          why="Actions live in [-max_action, max_action].",
                          hint="Clip a' + noise to [-max_action, max_action].")
    if top > m + EPS or bottom < -m - EPS:
        raise CheckFailed(STEP, f"For a' near ±max_action = ±{m:g}, a~ reaches "
                          f"{top if top > m else bottom:.3g}: the result is not clipped to the action "
                          "bounds.",
                          why="The target critics must value actions the environment can take; "
                          "outside [-max_action, max_action] they extrapolate.",
                          hint="Clip a' + noise to [-max_action, max_action].")
    if top < m - EPS or bottom > -m + EPS:
        raise CheckFailed(STEP, f"For a' near ±max_action = ±{m:g}, a~ never reaches the bounds "
                          f"(it stays in [{bottom:.3g}, {top:.3g}]).",
                          hint="Clip a' + noise to exactly [-max_action, max_action].")


def step06(step06_target_policy_noise: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step06_target_policy_noise(a_next, max_action, policy_noise, noise_clip) -> a~``:
    per-entry Gaussian noise N(0, (policy_noise * max_action)^2), fresh every call, clipped to
    ±noise_clip * max_action BEFORE it is added, the result clipped to ±max_action; numbers equal
    to the reference under the same torch seed. ``seed`` varies sizes and hyperparameters."""
    fn = step06_target_policy_noise
    require_callable(STEP, fn, "step06_target_policy_noise",
                     ["a_next", "max_action", "policy_noise", "noise_clip"])
    g = size_generator(seed, salt=STEP)
    B, A = randint(g, 4, 20), randint(g, 2, 5)
    m = MAX_ACTIONS[randint(g, 0, len(MAX_ACTIONS) - 1)]
    sigma, c = (0.1, 0.2, 0.3)[randint(g, 0, 2)], (0.4, 0.5, 0.6)[randint(g, 0, 2)]
    with seeded(seed):
        a_next = (torch.rand(B, A) * 2 - 1) * 0.5 * m
        first = _call(fn, a_next, m, sigma, c)
        _per_sample(first - a_next, B, A)
        if torch.equal(_call(fn, a_next, m, sigma, c), first):
            raise CheckFailed(STEP, "Two calls with the same a_next gave the same a~: the noise is "
                              "not drawn afresh.",
                              why="Every update needs new noise: smoothing works by averaging the "
                              "target over many draws, iteration after iteration.",
                              hint="Draw the noise inside the function on every call (and do not "
                              "reseed there).")
        _spread(fn, A, m, sigma)
        _clips(fn, A, m)
        _action_bounds(fn, A, m)
        state = torch.get_rng_state()
        got = _call(fn, a_next, m, sigma, c)
        torch.set_rng_state(state)
        want = update.step06_target_policy_noise(a_next, m, sigma, c)
        expect_close(STEP, got, want, "a~",
                     why="With the same torch seed, your noise should be the reference's, number "
                     "for number.",
                     hint="Draw the noise with torch, in ONE call shaped like a_next (not numpy, "
                     "not one draw per row), scale it, clip it, add it, clip the sum.")
    return CheckPassed(STEP, f"target policy noise: per-entry N(0, ({sigma:g} * {m:g})^2), fresh each "
                       f"call, clipped to ±{c:g} * {m:g} before adding, a~ in ±{m:g}, equal to the "
                       "reference under the same seed.",
                       after=AFTER)
