"""Reading a learner's function without running it: the names it uses, where it first uses
one, how often, what it assigns.

The checks use it to tell, after they have seen something go wrong, *which* mistake it was, and
to refuse a name an exercise must not use before running the code (``fail_if_uses``). The graded
run's judge reads the same facts from a learner's function that stays in the learner's process
(``CodeFacts``), so every helper here answers the same from either.
"""

from __future__ import annotations

import dis
from types import CodeType, SimpleNamespace
from typing import Any, Callable, Iterator

from ._core import CheckFailed

NAME_OPS = ("LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL", "STORE_ATTR")


class CodeFacts:
    """What the helpers below read from a function's code, as data: the names it uses
    (``co_names``), its instructions that load or store a name (opname, name, offset) and its
    nested code. The graded run's judge (``td3_teach.grading.judge``) gets a learner's function
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


def fail_if_uses(step: int, fn: Callable, name: str, forbidden: dict[str, tuple[str, str]]) -> None:
    """Fail when the learner's function refers to a global or attribute it must not use
    (``forbidden``: name -> (why, hint)). Checked before running it: such a name may well exist
    in the notebook, with other sizes, and fail in a confusing way."""
    used = names_used(fn)
    for bad, (why, hint) in forbidden.items():
        if bad in used:
            raise CheckFailed(step, f"{name} uses `{bad}`.", why=why, hint=hint)
