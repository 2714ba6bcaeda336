"""Check for notebook 18's exercise: the exploration action of the training loop (not one of the
15 update steps: it makes the data the update learns from)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._core import CheckFailed, CheckPassed, call_learner, require_callable

STEP = 0  # not an update step: the boxes say "Exploration" instead of a step number


class ExplorationFailed(CheckFailed):
    @property
    def title(self) -> str:
        return f"Exploration ✗ {type(self).label}"


class ExplorationPassed(CheckPassed):
    def text(self) -> str:
        return f"Exploration ✓ {self.verified}"

    __str__ = text

    def _repr_html_(self) -> str:
        from ._core import _box
        return _box("Exploration ✓ passed", [("", self.verified)], ok=True)


def _fail(problem: str, why: str = "", hint: str = "") -> ExplorationFailed:
    return ExplorationFailed(STEP, problem, why=why, hint=hint)


def exploration(my_exploration_action: Callable, seed: int = 0) -> CheckPassed:
    """Check ``my_exploration_action(mu_s, max_action, expl_noise, rng)``: centred Gaussian noise
    of std ``expl_noise * max_action``, one draw per entry, from ``rng``, clipped to the range."""
    fn = my_exploration_action
    require_callable(STEP, fn, "my_exploration_action", ["mu_s", "max_action", "expl_noise", "rng"])

    def call(mu_s, max_action, expl_noise, rng):
        try:
            out = call_learner(STEP, "my_exploration_action(mu_s, max_action, expl_noise, rng)",
                               fn, mu_s, max_action, expl_noise, rng)
        except CheckFailed as e:
            raise _fail(e.problem, e.why, e.hint) from None
        return np.asarray(out)

    a = call(np.zeros((20_000, 1)), 2.0, 0.1, np.random.default_rng(seed))
    if a.shape != (20_000, 1):
        raise _fail(f"For mu_s of shape (20000, 1) the action has shape {a.shape}.",
                    why="Each entry of mu(s) gets its own noise draw; the env needs an action of "
                    "the actor's shape.", hint="Give the noise the shape of mu_s.")
    if abs(a.mean()) > 0.01:
        raise _fail(f"The noise has mean {a.mean():.3f}; expected 0.",
                    why="Exploration noise is centred on mu(s): it tries actions around the "
                    "policy's, not shifted ones.")
    if abs(a.std() - 0.2) > 0.01:
        raise _fail(f"The noise has std {a.std():.3f} for expl_noise 0.1 and max_action 2.0; "
                    "expected 0.2.", why="The paper's sigma = 0.1 is a fraction of the action "
                    "range: unscaled, it is too timid on wide ranges.",
                    hint="Which two numbers set the noise's standard deviation?")
    again = call(np.zeros((20_000, 1)), 2.0, 0.1, np.random.default_rng(seed))
    if not np.array_equal(a, again):
        raise _fail("Two calls with equally seeded rng gave different actions.",
                    why="A run can be repeated and resumed exactly only when all its randomness "
                    "comes from the seeded generators.", hint="Draw the noise from `rng`.")
    b = call(np.full((1000, 6), 0.99), 1.0, 0.5, np.random.default_rng(seed + 1))
    if b.max() > 1.0 or b.min() < -1.0:
        raise _fail(f"Actions reach {b.min():.2f} to {b.max():.2f}, outside [-1, 1] "
                    "(max_action 1.0).", why="The env accepts only legal actions.",
                    hint="Bound the result to [-max_action, max_action].")
    if not (b == 1.0).any():
        raise _fail("No action sits on the bound max_action although mu(s) is 0.99 and the "
                    "noise is large.", why="Squashing or rescaling changes the noise's shape; "
                    "clipping keeps it Gaussian inside the range.",
                    hint="Clip, do not squash or rescale.")
    return ExplorationPassed(STEP, "centred Gaussian noise, std = expl_noise * max_action, "
                             "drawn from rng, clipped to [-max_action, max_action].")
