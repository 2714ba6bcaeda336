"""Check for TD3 step 14 of 15: Polyak averaging of the actor target,
theta' <- tau theta + (1 - tau) theta'."""

from __future__ import annotations

from typing import Callable

from ._core import CheckPassed
from ._polyak import check_polyak
from ..networks import Actor

STEP = 14
AFTER = ("the lecture's notes wrote `target_param.data.copy_ = tau * param.data + (1 - tau) * "
         "target_param.data`: that ASSIGNS an attribute instead of calling the method. No error, "
         "and the targets never move: y comes from random, frozen networks. An update that "
         "autograd records (no torch.no_grad(), no .data) either fails (a parameter that requires "
         "grad cannot be written in place) or links the target into a graph that grows every "
         "iteration.")


def step14(step14_update_actor_target: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step14_update_actor_target(actor, actor_target, tau)``: every parameter of the
    target moves tau of the way toward the actor's, the actor does not move, and nothing is
    recorded by autograd; with the package's targets and with the lecture's (which require grad).
    ``seed`` varies the sizes, the networks and tau."""
    tau = check_polyak(STEP, step14_update_actor_target, "step14_update_actor_target",
                       ["actor", "actor_target", "tau"], Actor, seed)
    return CheckPassed(STEP, f"actor target: every parameter moved tau={tau} of the way to the "
                       "actor's (in place, outside autograd); the actor untouched.",
                       after=AFTER)
