"""The guard around every check: torch's global state set, restored, and watched.

A notebook can change torch's global settings at any time (``torch.set_default_dtype(
torch.float64)``, ``torch.set_grad_enabled(False)``, a default device). A check must not blame
correct code for that, and must not let a learner's function that flips such a setting pass
while it breaks whatever runs next. So ``guarded(step)``:

1. sets the state every check is written for (``EXPECTED``: float32, gradients on, CPU, no
   anomaly detection), whatever the notebook set;
2. runs the check; an unexpected exception from the check's own code (after the learner's code
   turned a network to float64, say) becomes a ``CheckFailed`` that says so, never a traceback
   from inside td3_teach;
3. if the state is not as it set it when the check ends, the learner's code changed it: the
   check fails and says which setting, and how to leave it alone;
4. puts the notebook's own settings back, in every case.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from ._core import CheckFailed, Step


def _device() -> str:
    get = getattr(torch, "get_default_device", None)
    return str(get()) if get is not None else "cpu"


def _set_device(device: str) -> None:
    setter = getattr(torch, "set_default_device", None)
    if setter is not None:
        setter(None if device == "cpu" else device)


# setting -> (read it, set it, the value checks expect, how a learner's code changes it)
SETTINGS: dict[str, tuple[Callable[[], Any], Callable[[Any], object], Any, str]] = {
    "default dtype": (torch.get_default_dtype, torch.set_default_dtype, torch.float32,
                      "torch.set_default_dtype(...)"),
    "gradient mode": (torch.is_grad_enabled, torch.set_grad_enabled, True,
                      "torch.set_grad_enabled(False) or a torch.no_grad() that is never exited"),
    "default device": (_device, _set_device, "cpu", "torch.set_default_device(...)"),
    "anomaly detection": (torch.is_anomaly_enabled, torch.set_anomaly_enabled, False,
                          "torch.autograd.set_detect_anomaly(True)"),
}


def torch_state() -> dict[str, Any]:
    """The current value of every setting in ``SETTINGS``."""
    return {name: get() for name, (get, _, _, _) in SETTINGS.items()}


def set_torch_state(state: dict[str, Any]) -> None:
    for name, value in state.items():
        SETTINGS[name][1](value)


EXPECTED = {name: want for name, (_, _, want, _) in SETTINGS.items()}


def guarded(step: Step) -> Callable[[Callable], Callable]:
    """Decorator for a check (see the module docstring); applying it twice is applying it once."""
    def wrap(check: Callable) -> Callable:
        if getattr(check, "__td3_guarded__", False):
            return check

        @functools.wraps(check)
        def guarded_check(*args: Any, **kwargs: Any) -> Any:
            notebook = torch_state()
            set_torch_state(EXPECTED)
            try:
                try:
                    result = check(*args, **kwargs)
                except CheckFailed:
                    raise
                except Exception as e:  # noqa: BLE001 - turned into a message for the learner
                    detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
                    raise CheckFailed(step, "The check could not evaluate your result: "
                                      f"{type(e).__name__}: {detail}",
                                      why="Your code seems to have changed the networks or "
                                      "tensors it was given (their dtype, device or shape) or "
                                      "returned something unusual.", hint="Leave the arguments as "
                                      "they are (no .double(), .to(...), in-place reshapes) and "
                                      "return what the exercise asks.") from None
                changed = [name for name, value in torch_state().items() if value != EXPECTED[name]]
                if changed:
                    name = changed[0]
                    raise CheckFailed(step, f"Your code changed torch's global {name} (to "
                                      f"{torch_state()[name]}) and left it changed.",
                                      why="A global setting changes every later cell and check: "
                                      "the rest of TD3 expects float32 tensors with gradients "
                                      "on.", hint=f"Do not call {SETTINGS[name][3]} inside the "
                                      "exercise; use a `with` block (e.g. `with torch.no_grad():`) "
                                      "that puts it back.")
                return result
            finally:
                set_torch_state(notebook)

        guarded_check.__td3_guarded__ = True  # type: ignore[attr-defined]
        return guarded_check
    return wrap
