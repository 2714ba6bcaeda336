"""Calling and watching the learner's update code (steps 9-15, the agent check).

``call_update`` runs the learner's function and names the errors update code typically raises
(the lecture's typos, a second ``backward()``, an in-place write into a parameter that takes
gradients); ``snapshot`` and ``changed`` tell which parameters an update moved; ``close``
compares results. Sizes and seeds are in ``_seeded``, reading the learner's code in
``_code_facts``.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable

import torch
from torch import nn

from ._core import LearnerCodeError, call_learner


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter, by name."""
    return {k: p.detach().clone() for k, p in net.named_parameters()}


def changed(net: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of the parameters whose values differ from ``before``."""
    return [k for k, p in net.named_parameters() if not torch.equal(p.detach(), before[k])]


TYPOS = {
    "zero": ("the lecture's `self.critic_optimizer.zero.grad()`",
             "An optimizer has no attribute `zero`; the method is one word with an underscore."),
    "grad_zero": ("the lecture's `self.actor_optimizer.grad_zero()`",
                  "The words are the other way round in torch."),
    "steo": ("the lecture's `self.actor_optimizer.steo()`",
             "A one-letter typo in the optimizer's update method."),
}
REAL_METHODS = ["zero_grad", "step", "backward", "detach", "mean", "parameters", "Q1", "copy_",
                "lerp_", "mul_", "add_", "named_parameters"]


def call_update(step: int, what: str, fn: Callable, *args: Any, hint: str = "") -> Any:
    """``call_learner``, plus names for the errors the update steps typically raise: the
    lecture's typos, a second ``backward()`` on one graph, an in-place write into a parameter
    that takes gradients."""
    try:
        return call_learner(step, what, fn, *args, hint=hint)
    except LearnerCodeError as e:
        text = e.problem
        m = re.search(r"AttributeError.*has no attribute '(\w+)'", text)
        if m:
            attr = m.group(1)
            if attr in TYPOS:
                bug, why = TYPOS[attr]
                raise LearnerCodeError(step, text, why=why, hint="Look up the method's name in "
                                       "the torch docs (torch.optim.Optimizer).", bug=bug) from None
            if attr == "Q2":
                raise LearnerCodeError(step, text, hint="The critic has `forward(s, a)` returning "
                                       "(q1, q2) and a `Q1(s, a)` method; there is no Q2 method.") \
                    from None
            close = difflib.get_close_matches(attr, REAL_METHODS, n=1)
            if close:
                raise LearnerCodeError(step, text, hint=f"Did you mean `{close[0]}`?") from None
        if "backward through the graph a second time" in text:
            raise LearnerCodeError(step, text + " (backward() ran twice on the same loss)",
                                   why="One loss, one backward: a second backward would add the "
                                   "same gradient again (and torch has already freed the graph).",
                                   hint="Call backward() exactly once per update.") from None
        if step in (12, 13) and "modified by an inplace operation" in text:
            raise LearnerCodeError(step, text.split(" Hint: enable anomaly")[0] + " (the weights "
                                   "changed between the loss and its backward())",
                                   why="The loss was computed with the old weights; step() changed "
                                   "them in place before backward() could use them. That happens "
                                   "when step() runs before backward().",
                                   hint="Order: clear the old gradients, backward, then step.") \
                from None
        if step in (14, 15) and "leaf Variable that requires grad is being used in an in-place" \
                in text:
            raise LearnerCodeError(step, text + " (in-place write into a parameter that takes "
                                   "gradients)",
                                   why="Writing into a network's weights is not a step autograd "
                                   "should record; outside of no-grad mode torch refuses it for "
                                   "parameters that require grad.",
                                   hint="Do the update inside `with torch.no_grad():` (or on "
                                   "`.data`).") from None
        raise


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    """Same shape and equal within ``atol`` (and a relative 1e-4), compared on the CPU in float32."""
    a, b = a.detach().cpu().float(), b.detach().cpu().float()
    return a.shape == b.shape and torch.allclose(a, b, atol=atol, rtol=1e-4)
