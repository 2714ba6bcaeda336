"""What every check shares: the failure it raises, the pass it shows, and safe calls into learner code.

A check runs in a fixed order (signature -> types and shapes -> invariants -> values against the
package's reference on a fixed seed) and stops at the first problem. A failure is a
``CheckFailed`` whose message says what is wrong (expected vs got), why it matters for TD3, and a
hint that does not give the answer away. Hints come in tiers: ``hint=("the idea", "a more concrete
pointer")`` shows the idea the first time a learner meets that failure and the concrete pointer
when the same failure comes back; no tier ever holds a line of the solution's code (a test runs
every message the mutation tests produce through a detector, ``tests/solution_code.py``). A pass
is a ``CheckPassed``; its ``after`` text (how it is done, the lecture's bug) is shown only then.
In Jupyter a failure renders as a short red box (the cell still counts as failed, for nbval and
for graders), through IPython's ``_render_traceback_`` hook; elsewhere it is plain text.
"""

from __future__ import annotations

import html
import inspect
import linecache
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import TD3TeachError

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


# A check's label: the step's number (1-15), or a name for the checks that are no one step
# ("Your TD3", "Bug hunt", "Notebook 18").
Step = int | str

_seen_failures: dict[tuple, int] = {}


def _failure_key(step: Step, kind: str, problem: str) -> tuple:
    """The same failure, whatever sizes or values the seed put into its message."""
    return step, kind, re.sub(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", "#", problem)


def reset_hint_tiers() -> None:
    """Forget which failures were seen: the next failure of each kind shows its first tier again."""
    _seen_failures.clear()


_checked: dict[Step, set[int]] = {}    # step -> ids of the learner's callables its running check took
_passed_on: dict[Step, set[int]] = {}  # step -> ids of those its last passing check took


class CheckFailed(TD3TeachError, AssertionError):
    """A learner's step does not do what TD3 needs. Carries the step, problem, why, hint, and the
    name of the lecture-notes bug it matches, if any.

    ``hint`` is one string, or a pair ``(idea, concrete)``: the first time this failure (same
    step, same problem up to its numbers) is raised in a session the box shows the idea, and from
    the second time on the concrete hint. ``hints`` keeps both tiers; ``tier`` says which is shown.
    """

    def __init__(self, step: Step, problem: str, why: str = "", hint: str | Sequence[str] = "",
                 bug: str | None = None) -> None:
        if isinstance(hint, (tuple, list)):
            if len(hint) != 2:
                raise ValueError("hint must be a string or a pair (idea, concrete hint)")
            self.hints: tuple[str, ...] = (str(hint[0]), str(hint[1]))
        else:
            self.hints = (str(hint),) if hint else ()
        key = _failure_key(step, type(self).__name__, problem)
        seen = _seen_failures.get(key, 0)
        _seen_failures[key] = seen + 1
        self.tier = min(seen, len(self.hints) - 1) if self.hints else 0
        self.repeated = seen > 0
        self.step, self.problem, self.why, self.bug = step, problem, why, bug
        _checked.pop(step, None)
        self.hint = self.hints[self.tier] if self.hints else ""
        super().__init__(self.text())

    @property
    def title(self) -> str:
        return f"{_label(self.step)} ✗ {type(self).label}"

    label = "not yet right"
    bug_id: str | None = None  # the whole-agent check's id of the lecture bug (``_lecture_bugs.BUGS``)

    def lines(self) -> list[tuple[str, str]]:
        rows = [("", self.problem)]
        if self.bug:
            rows.append(("Known bug", self.bug))
        if self.why:
            rows.append(("Why it matters", self.why))
        if self.hint:
            if len(self.hints) > 1 and self.tier == 0:
                rows.append(("Hint", f"{self.hint} (The same failure again gives a more concrete "
                             "hint.)"))
            elif len(self.hints) > 1:
                rows.append(("Hint, more concrete", self.hint))
            else:
                rows.append(("Hint", self.hint))
        return rows

    def all_texts(self) -> list[str]:
        """Every text of the check's own that this failure can show, all hint tiers included (for
        the test that no message holds solution code); the learner's own quoted line is left out."""
        problem = re.sub(r"of your code \(`.*?`\)", "of your code", self.problem)
        return [problem, self.why, self.bug or "", *self.hints]

    def text(self) -> str:
        body = "\n".join(f"{k}: {v}" if k else v for k, v in self.lines())
        return f"{self.title}\n{body}"

    def _repr_html_(self) -> str:
        return _box(self.title, self.lines(), ok=False)


class NotImplementedYet(CheckFailed):
    """The exercise still raises the NotImplementedError it was handed out with."""

    label = "not implemented yet"


class LearnerCodeError(CheckFailed):
    """The learner's code raised an exception of its own while the check ran it."""

    label = "your code raised an error"


@dataclass
class CheckPassed:
    """A passing check: one short line saying what was verified, then ``after``: what the
    notebook kept back until now (how it is done, the lecture's bug), shown only on a pass."""

    step: Step
    verified: str
    after: str = ""

    def __post_init__(self) -> None:
        _passed_on[self.step] = _checked.pop(self.step, set())  # for checks.for_the_picture

    def text(self) -> str:
        line = f"{_label(self.step)} ✓ {self.verified}"
        return f"{line}\nNow that it passes: {self.after}" if self.after else line

    __str__ = text

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        rows = [("", self.verified)]
        if self.after:
            rows.append(("Now that it passes", self.after))
        return _box(f"{_label(self.step)} ✓ passed", rows, ok=True)

    def __bool__(self) -> bool:
        return True


def _label(step: Step) -> str:
    """``Step 8`` for a TD3 step; a whole-agent check passes its own label (``Your TD3``)."""
    return f"Step {step}" if isinstance(step, int) else str(step)


def _box(title: str, rows: list[tuple[str, str]], ok: bool) -> str:
    colour, bg = ("#1a7f37", "#e6f4ea") if ok else ("#b3261e", "#fdecea")
    body = "".join(f"<div style='margin-top:4px'>{'<b>' + html.escape(k) + ':</b> ' if k else ''}"
                   f"{html.escape(v)}</div>" for k, v in rows)
    return (f"<div style='border-left:6px solid {colour};background:{bg};padding:8px 12px;"
            f"border-radius:4px;font-family:sans-serif;font-size:14px'>"
            f"<b style='color:{colour}'>{html.escape(title)}</b>{body}</div>")


# --------------------------------------------------------------------------- calling learner code
def _learner_frame(tb) -> traceback.FrameSummary | None:
    """The innermost traceback frame that is the learner's code (not td3_teach, torch or numpy)."""
    mine = None
    for frame in traceback.extract_tb(tb):
        f = frame.filename
        if f.startswith(_PACKAGE_DIR) or "site-packages" in f or f.startswith(sys.prefix) \
                or f.startswith(sys.base_prefix):
            continue
        mine = frame
    return mine


_checking = 0


def checking() -> bool:
    """Is a check running learner code right now? (Pictures' stand-ins refuse to run then.)"""
    return _checking > 0


def call_learner(step: int, what: str, fn: Callable, *args: Any, hint: str = "", **kwargs: Any) -> Any:
    """Call ``fn`` (the learner's code) and turn any exception into a CheckFailed that points at
    the line of the learner's cell that raised it. ``what`` names the call in messages."""
    global _checking
    _checking += 1
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError as e:
        raise NotImplementedYet(step, f"{what} still raises NotImplementedError"
                                f"{': ' + str(e).rstrip('.') if str(e) else ''}.",
                                hint="Replace the `raise NotImplementedError(...)` line with your "
                                "code, run that cell again, then this one.") from None
    except Exception as e:  # the learner's own bug: report it, not a torch traceback
        frame = _learner_frame(e.__traceback__)
        where = ""
        if frame is not None:
            line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
            where = f" at line {frame.lineno} of your code" + (f" (`{line}`)" if line else "")
        raise LearnerCodeError(step, f"{what} raised {type(e).__name__}{where}: "
                               f"{_first_line(str(e))}", hint=hint) from None
    finally:
        _checking -= 1


def _first_line(s: str, limit: int = 300) -> str:
    s = s.strip().splitlines()[0] if s.strip() else ""
    return s if len(s) <= limit else s[:limit] + "..."


def require_callable(step: int, obj: Any, name: str, params: list[str] | None = None) -> None:
    """``obj`` must be a function or class; with ``params``, its signature must take exactly those
    (after ``self``). Catches a cell not run yet (None) and a changed signature."""
    if obj is None:
        raise CheckFailed(step, f"{name} is None. Did you run the exercise cell above?")
    _checked.setdefault(step, set()).add(id(obj))
    if not callable(obj):
        raise CheckFailed(step, f"{name} should be a function or class; got "
                          f"{type(obj).__name__}.", hint="Pass the function itself, without calling it.")
    if params is None:
        return
    try:
        target = obj.__init__ if inspect.isclass(obj) else obj
        got = [p for p in inspect.signature(target).parameters if p != "self"]
    except (TypeError, ValueError):
        return
    if got != params:
        raise CheckFailed(step, f"{name} takes ({', '.join(got)}); the exercise's signature is "
                          f"({', '.join(params)}).",
                          hint="Keep the signature from the exercise cell: the rest of TD3 calls it "
                          "that way.")


# --------------------------------------------------------------------------- values
def as_tensor(step: int, x: Any, name: str) -> torch.Tensor:
    """``x`` must be a float32 torch tensor; anything else fails with what it is and what to do."""
    if x is None:
        raise CheckFailed(step, f"{name[:1].upper()}{name[1:]} is None: your function returned nothing.",
                          hint="Did you forget the `return` statement?")
    if isinstance(x, np.ndarray):
        raise CheckFailed(step, f"{name[:1].upper()}{name[1:]} is a numpy array of shape {x.shape}; "
                          "expected a torch.Tensor.",
                          why="The update runs in torch: numpy breaks the gradient graph and the "
                          "device (CPU/GPU) handling.", hint="Use torch operations (torch.min, "
                          "torch.randn_like, ...) instead of numpy ones.")
    if isinstance(x, (tuple, list)):
        raise CheckFailed(step, f"{name} is a {type(x).__name__} of {len(x)} items; expected one "
                          "torch.Tensor.")
    if not isinstance(x, torch.Tensor):
        raise CheckFailed(step, f"{name} is a {type(x).__name__}; expected a torch.Tensor.")
    if x.dtype != torch.float32:
        raise CheckFailed(step, f"{name} has dtype {x.dtype}; expected torch.float32.",
                          why="The networks' weights are float32; mixing dtypes fails or silently "
                          "costs precision and speed.", hint="Check for float64 (numpy's default) "
                          "or integer tensors.")
    return x


def expect_shape(step: int, x: torch.Tensor, shape: tuple[int, ...], name: str,
                 why: str = "", hint: str = "", bug: str | None = None) -> None:
    if tuple(x.shape) != tuple(shape):
        raise CheckFailed(step, f"{name} has shape {tuple(x.shape)}; expected {tuple(shape)}.",
                          why=why, hint=hint, bug=bug)


def expect_close(step: int, got: torch.Tensor, want: torch.Tensor, name: str, why: str = "",
                 hint: str | tuple[str, str] = "", atol: float = 1e-5, bug: str | None = None) -> None:
    """Values must match the reference; the message shows where, not the whole answer."""
    got, want = got.detach().cpu().float(), want.detach().cpu().float()
    if torch.allclose(got, want, atol=atol, rtol=1e-4):
        return
    diff = (got - want).abs()
    i = int(diff.argmax())
    raise CheckFailed(step, f"{name} has the right shape but wrong values: at flat index {i} it is "
                      f"{got.flatten()[i].item():.4g} where {want.flatten()[i].item():.4g} was "
                      f"expected (largest error {diff.max().item():.3g}).", why=why, hint=hint,
                      bug=bug)


# --------------------------------------------------------------------------- display in Jupyter
class _Rendered:
    """A failure as display() shows it: the box in a browser, the same text in plain output."""

    def __init__(self, failure: CheckFailed) -> None:
        self.failure = failure

    def __repr__(self) -> str:
        return self.failure.text()

    def _repr_html_(self) -> str:
        return self.failure._repr_html_()


def _render_traceback_(self: CheckFailed) -> list[str]:
    """IPython's hook for how an exception is shown: the box (or its text), then one short line
    instead of a traceback. The cell still ends in an error, so Run All, nbval and graders see
    it fail. (The line cannot go: with an empty traceback JupyterLab prints the whole message a
    second time, as "ename: evalue", in its place.)"""
    try:
        from IPython.display import display
        if not getattr(self, "_shown", False):  # IPython may ask twice for one error
            display(_Rendered(self))
            setattr(self, "_shown", True)
    except Exception:  # not in IPython after all: plain text
        return [self.text()]
    return [f"CheckFailed: {self.title} (see the message above)"]


setattr(CheckFailed, "_render_traceback_", _render_traceback_)
