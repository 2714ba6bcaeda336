"""What the checks of steps 9 to 15 (the TD3 update) share beyond ``_core``.

Seeded sizes and networks (so a hard-coded answer fails under another seed), the lecture's
typos recognised in an ``AttributeError``, and the names a learner's function uses (to tell,
after a check has seen something go wrong, *which* mistake it was).
"""

from __future__ import annotations

import contextlib
import difflib
import dis
import re
from dataclasses import dataclass
from types import CodeType, SimpleNamespace
from typing import Any, Callable, Iterator

import torch
from torch import nn

from ._core import CheckFailed, LearnerCodeError, call_learner
from ._guard import guarded  # noqa: F401 - the checks of steps 9-15 import it from here


@dataclass(frozen=True)
class Sizes:
    """Batch and network sizes of one check run, drawn from its seed."""

    B: int
    state_dim: int
    action_dim: int
    max_action: float


def sizes(seed: int) -> Sizes:
    """Small sizes that differ from seed to seed; state_dim != action_dim, so swapping s and a
    changes which weights meet which input."""
    g = torch.Generator().manual_seed(9_000 + int(seed))

    def draw(low: int, high: int) -> int:
        return low + int(torch.randint(0, high - low + 1, (1,), generator=g))

    B, state_dim, action_dim = draw(6, 40), draw(2, 9), draw(1, 4)
    if state_dim == action_dim:
        state_dim += 1
    return Sizes(B, state_dim, action_dim, (0.5, 1.0, 2.0)[draw(0, 2)])


def generator(seed: int, step: int) -> torch.Generator:
    """A generator for one step's check inputs (independent of torch's global RNG)."""
    return torch.Generator().manual_seed(1000 * step + int(seed))


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Build networks from a fixed seed without touching the learner's global RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


def snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter, by name."""
    return {k: p.detach().clone() for k, p in net.named_parameters()}


def changed(net: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of the parameters whose values differ from ``before``."""
    return [k for k, p in net.named_parameters() if not torch.equal(p.detach(), before[k])]


# --------------------------------------------------------------------------- the learner's code
NAME_OPS = ("LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL", "STORE_ATTR")


class CodeFacts:
    """What the helpers below read from a function's code, as data: the names it uses
    (``co_names``), its instructions that load or store a name (opname, name, offset) and its
    nested code. The graded run's judge (``td3_teach.grading_judge``) gets a learner's function
    as a stand-in whose ``__code__`` is one of these, since the code itself stays in the
    learner's process; the helpers answer the same from either."""

    def __init__(self, names: list[str], instructions: list[tuple[str, str, int]],
                 nested: list["CodeFacts"]) -> None:
        self.co_names = tuple(str(n) for n in names)
        self.instructions = [SimpleNamespace(opname=str(o), argval=str(a), offset=int(off))
                             for o, a, off in instructions]
        self.co_consts = tuple(nested)

    @classmethod
    def of(cls, code: CodeType, depth: int = 0) -> "CodeFacts":
        ins = [(i.opname, i.argval, i.offset) for i in dis.get_instructions(code)
               if i.opname in NAME_OPS and isinstance(i.argval, str)]
        nested = [cls.of(c, depth + 1) for c in code.co_consts
                  if isinstance(c, CodeType) and depth < 8]
        return cls(list(code.co_names), ins, nested)

    def to_data(self) -> dict:
        return {"names": [n[:200] for n in self.co_names[:2000]],
                "ins": [[i.opname, i.argval[:200], i.offset] for i in self.instructions[:5000]],
                "nested": [c.to_data() for c in self.co_consts[:200]]}

    @classmethod
    def from_data(cls, d: Any, depth: int = 0) -> "CodeFacts":
        if not isinstance(d, dict) or depth > 8:
            raise ValueError("not code facts")
        ins = [(str(o), str(a), int(off)) for o, a, off in list(d.get("ins", []))[:5000]
               if str(o) in NAME_OPS]
        return cls([str(n) for n in list(d.get("names", []))[:2000]], ins,
                   [cls.from_data(c, depth + 1) for c in list(d.get("nested", []))[:200]])


def _code_objects(code: CodeType | CodeFacts) -> Iterator[CodeType | CodeFacts]:
    yield code
    for c in code.co_consts:
        if isinstance(c, (CodeType, CodeFacts)):
            yield from _code_objects(c)


def _instructions(code: CodeType | CodeFacts) -> Iterator[Any]:
    return iter(code.instructions) if isinstance(code, CodeFacts) else dis.get_instructions(code)


def _code_of(fn: Any) -> CodeType | CodeFacts | None:
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    return code if isinstance(code, (CodeType, CodeFacts)) else None


def names_used(fn: Any) -> list[str]:
    """Global and attribute names the function uses (``co_names``), in order of first use,
    nested functions included. Local variables are not in it."""
    code = _code_of(fn)
    if code is None:
        return []
    out: list[str] = []
    for c in _code_objects(code):
        out += [n for n in c.co_names if n not in out]
    return out


def first_use(fn: Any, name: str) -> float:
    """Offset (in bytecode order) of the first instruction that loads the attribute or global
    ``name``; infinity when it is never used."""
    code = _code_of(fn)
    if code is None:
        return float("inf")
    for ins in _instructions(code):
        if ins.argval == name and ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL"):
            return ins.offset
    return float("inf")


def count_uses(fn: Any, name: str) -> int:
    """How many instructions load the attribute or global ``name`` (e.g. calls of ``.backward``)."""
    code = _code_of(fn)
    if code is None:
        return 0
    return sum(1 for c in _code_objects(code) for ins in _instructions(c)
               if ins.argval == name and ins.opname in ("LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL"))


def assigns_attribute(fn: Any, attr: str) -> bool:
    """True when the function *assigns* ``x.attr = ...`` (e.g. the lecture's ``.copy_ = ...``)."""
    code = _code_of(fn)
    if code is None:
        return False
    return any(ins.opname == "STORE_ATTR" and ins.argval == attr
               for c in _code_objects(code) for ins in _instructions(c))


# --------------------------------------------------------------------------- calling it
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


def fail_if_uses(step: int, fn: Callable, name: str, forbidden: dict[str, tuple[str, str]]) -> None:
    """Fail when the learner's function refers to a global or attribute it must not use
    (``forbidden``: name -> (why, hint)). Checked before running it: such a name may well exist
    in the notebook, with other sizes, and fail in a confusing way."""
    used = names_used(fn)
    for bad, (why, hint) in forbidden.items():
        if bad in used:
            raise CheckFailed(step, f"{name} uses `{bad}`.", why=why, hint=hint)


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    a, b = a.detach().cpu().float(), b.detach().cpu().float()
    return a.shape == b.shape and torch.allclose(a, b, atol=atol, rtol=1e-4)
