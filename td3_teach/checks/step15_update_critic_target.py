"""Check for TD3 step 15 of 15: Polyak averaging of the critic targets, and the delayed block."""

from __future__ import annotations

from typing import Callable

from ._core import CheckPassed
from ._polyak import check_delayed, check_polyak
from ..networks import Critic

STEP = 15
AFTER = ("the lecture's listing put steps 14 and 15 OUTSIDE the `if` on the policy delay, although "
         "its comments say \"still once every two iterations\": the targets moved at every "
         "iteration. In the package, `train_step` keeps steps 13-15 under one `if` on the "
         "iteration counter.")


def step15(step15_update_critic_target: Callable, delayed_updates: Callable | None = None,
           seed: int = 0) -> CheckPassed:
    """Check ``step15_update_critic_target(critic, critic_target, tau)`` like step 14 (both heads'
    targets), and, when given, ``delayed_updates(agent, s, iteration, policy_freq, tau)``: steps
    13-15 run only on delayed iterations, actor first. ``seed`` varies sizes, networks, tau and d."""
    tau = check_polyak(STEP, step15_update_critic_target, "step15_update_critic_target",
                       ["critic", "critic_target", "tau"], Critic, seed)
    delayed = check_delayed(STEP, delayed_updates, seed) if delayed_updates is not None else ""
    return CheckPassed(STEP, f"critic targets: every parameter of both heads moved tau={tau} of "
                       f"the way to the critic's; the critic untouched{delayed}.",
                       after=AFTER)
