"""Which function a notebook's picture draws with: the learner's, once its check passed.

``checks.for_the_picture(5, step05_target_action)`` gives back the learner's own function when
``checks.step05`` passed on exactly that function (the same object, not an edited copy), and
otherwise a stand-in for the package's reference, printing a visible note that says so. The
learner's notebook never imports the reference: it stays inside the package, and the stand-in
refuses to run while a check is running, so handing it to a check (or calling it from an
exercise) earns nothing.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

from . import _core
from ._core import CheckFailed

def _reference(step: int) -> Callable:
    """The package's reference for ``step``, with the signature the notebook's exercise has."""
    update = importlib.import_module("td3_teach.update")
    if step == 1:
        return importlib.import_module("td3_teach.replay_buffer").ReplayBuffer
    if step == 3:
        return importlib.import_module("td3_teach.networks").Critic
    if step == 5:  # the exercise takes the whole agent and batch
        return lambda agent, batch: update.step05_target_action(agent.actor_target, batch.s_next)
    names = {6: "step06_target_policy_noise", 9: "step09_bellman_target",
             12: "step12_critic_update", 13: "step13_actor_update", 14: "step14_update_actor_target",
             15: "step15_update_critic_target"}
    if step not in names:
        raise ValueError(f"No picture draws with step {step}; steps with one: 1, 3, 5, 6, 9, 12-15.")
    return getattr(update, names[step])


class _StandIn:
    """The package's step, for pictures only. Inside a check it refuses to run."""

    def __init__(self, step: int) -> None:
        self._step = step
        self.__signature__ = inspect.signature(_reference(step))  # the exercise's, for checks

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _core.checking():
            raise CheckFailed(self._step, "The check ran the picture's stand-in for the package's "
                              "reference, not your own code.",
                              hint="Write the exercise yourself; the picture switches to your "
                              "function once its check passes.")
        return _reference(self._step)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<the package's step {self._step}, standing in for the picture>"


def for_the_picture(step: int, mine: Callable | None) -> Callable:
    """Your function if ``checks.stepNN`` passed on it; otherwise the package's (with a note)."""
    if mine is not None and id(mine) in _core._passed_on.get(step, set()):
        print(f"Drawn with your code (step {step}'s check passed on it).")
        return mine
    print(f"Note: drawn with the package's reference for step {step}, because step {step}'s check "
          "has not passed on your code yet. Run your exercise and its check, then this cell again, "
          "to see your own code at work.")
    return _StandIn(step)
