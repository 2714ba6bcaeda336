"""What the checks of steps 2 and 3 (the actor and the twin critics) share: is the learner's
class a real ``nn.Module`` with the methods TD3 calls, and which ``nn.Linear`` layers does it hold."""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from ._core import CheckFailed, LearnerCodeError, call_learner, require_callable


def require_module_class(step: int, cls: Any, name: str, params: list[str],
                         methods: tuple[str, ...] = ("forward",)) -> None:
    """``cls`` must be a subclass of nn.Module taking ``params`` and defining ``methods``."""
    if isinstance(cls, nn.Module):
        raise CheckFailed(step, f"{name} is a network (an instance); the check needs the class "
                          "itself, to build networks of its own sizes.",
                          hint=f"Pass `{name}`, not `{name}(...)`.")
    require_callable(step, cls, name, params)
    if not inspect.isclass(cls):
        raise CheckFailed(step, f"{name} should be a class; got a {type(cls).__name__}.",
                          hint=f"Keep the `class {name}(nn.Module):` from the exercise cell.")
    if not issubclass(cls, nn.Module):
        raise CheckFailed(step, f"{name} does not subclass nn.Module.",
                          why="Only an nn.Module registers its layers' parameters, so that the "
                          "optimiser can train them, .to(device) can move them and state_dict() "
                          "can copy them into a target network.",
                          hint=f"class {name}(nn.Module): ... and call super().__init__() first.")
    for method in methods:
        own = getattr(cls, method, None)
        if own is None or own is getattr(nn.Module, method, None):
            nested = _nested(cls, method)
            raise CheckFailed(
                step, f"{name} has no {method} method.",
                why=f"TD3 calls {name.lower()}.{method}(...); nn.Module's default {method} only "
                "raises an error.",
                bug="the lecture notes' Critic, whose `def forward` is indented inside __init__: "
                "a local function, not a method" if nested else None,
                hint=f"`def {method}(self, ...)` at the same indentation as `def __init__`.")


def _nested(cls: type, method: str) -> bool:
    """Whether some method of ``cls`` defines a local function called ``method``."""
    for f in vars(cls).values():
        code = getattr(f, "__code__", None)
        if code is not None and any(getattr(c, "co_name", None) == method for c in code.co_consts):
            return True
    return False


def build(step: int, cls: type, name: str, *args: Any) -> nn.Module:
    """``cls(*args)``, with a hint when nn.Module.__init__ was not called first."""
    shown = ", ".join(f"{a:g}" if isinstance(a, float) else str(a) for a in args)
    try:
        net = call_learner(step, f"{name}({shown})", cls, *args)
    except LearnerCodeError as e:
        if "Module.__init__() call" in e.problem:
            raise LearnerCodeError(step, e.problem, hint="Call super().__init__() first in "
                                   "__init__, before creating any layer.") from None
        raise
    if not isinstance(net, nn.Module):  # __new__ tricks: very unlikely, but say what it is
        raise CheckFailed(step, f"{name}({shown}) is a {type(net).__name__}, not an nn.Module.")
    return net


def linears(net: nn.Module) -> list[nn.Linear]:
    """The network's nn.Linear layers, in the order they were registered (each once)."""
    return [m for m in net.modules() if isinstance(m, nn.Linear)]


def require_linears(step: int, net: nn.Module, name: str) -> list[nn.Linear]:
    layers = linears(net)
    if not layers:
        raise CheckFailed(step, f"{name} holds no registered nn.Linear layer.",
                          why="Layers kept in a plain Python list or dict are invisible to "
                          "nn.Module: no parameters() for the optimiser, no state_dict() for "
                          "the target network.",
                          hint="Assign each layer to an attribute (self.layer_1 = nn.Linear(...)) "
                          "or keep them in nn.ModuleList / nn.Sequential.")
    return layers


def grads_of(net: nn.Module, value: torch.Tensor) -> set[int]:
    """ids of the parameters of ``net`` that ``value.sum()`` sends a nonzero gradient to."""
    params = [p for p in net.parameters() if p.requires_grad]
    if not value.requires_grad or not params:
        return set()
    grads = torch.autograd.grad(value.sum(), params, allow_unused=True, retain_graph=True)
    return {id(p) for p, g in zip(params, grads) if g is not None and bool(g.abs().sum() > 0)}
