"""Prediction questions that a check verifies, for the steps whose code is one line (5, 7, 8, 9, 10).

A notebook asks the learner to predict something before running anything and to write the answer
as a small function, ``stepNN_prediction()``, in the exercise. The check calls it (an unfinished
one says "not implemented yet", as any exercise does) and compares the answer with what the
step really does, which the same check has just verified on the learner's code. A wrong answer
fails like wrong code: what is off, why it matters, and a hint in two tiers that never states the
answer.
"""

from __future__ import annotations

from typing import Any, Callable

from ._core import CheckFailed, call_learner

INPUTS = ("s", "a", "r", "s_next", "terminated", "a_tilde", "actor", "actor_target", "critic",
          "critic_target")


def check_inputs(step: int, prediction: Callable, what: str, right: dict[str, str],
                 wrong: dict[str, str]) -> str:
    """``prediction()`` must return the set of names from INPUTS that change ``what``.

    ``right``: each input that does change it -> why; ``wrong``: the tempting inputs that do not
    -> why not. Returns the pass line's addition."""
    got = call_learner(step, "your prediction", prediction)
    if isinstance(got, str) or not hasattr(got, "__iter__"):
        raise CheckFailed(step, f"Your prediction returned {type(got).__name__} {got!r}; expected a "
                          f"set of input names, e.g. {{'s', 'critic'}}.",
                          hint=f"The names to choose from: {', '.join(INPUTS)}.")
    got = {str(x) for x in got}
    unknown = sorted(got - set(INPUTS))
    if unknown:
        raise CheckFailed(step, f"Your prediction names {', '.join(map(repr, unknown))}, which is "
                          "not one of the inputs.", hint=f"Choose from: {', '.join(INPUTS)}.")
    extra = sorted(got - set(right))
    missing = sorted(set(right) - got)
    if extra or missing:
        parts = []
        if extra:
            parts.append(f"{len(extra)} of your choices do{'es' if len(extra) == 1 else ''} not "
                         f"change {what}")
        if missing:
            parts.append(f"{len(missing)} input{'s' if len(missing) > 1 else ''} that do"
                         f"{'es' if len(missing) == 1 else ''} change it "
                         f"{'are' if len(missing) > 1 else 'is'} missing")
        first = extra[0] if extra else missing[0]
        reason = wrong.get(first) or right.get(first) or ""
        raise CheckFailed(step, f"Your prediction is not right yet: {' and '.join(parts)}.",
                          why="Each input you name is one you claim this step reads. The wrong "
                          "ones are exactly the mistakes the check looks for in code.",
                          hint=(f"For each input, ask: if only it were different, would {what} "
                                "be different?", f"Look again at {first!r}: {reason}"))
    return f"; prediction right: {what} depends on {', '.join(sorted(right))} only"


def check_value(step: int, prediction: Callable, what: str, want: Any, why: str,
                hint: tuple[str, str], tolerance: float = 1e-3) -> str:
    """``prediction()`` must return ``want`` (a number, a string, or a tuple of them)."""
    got = call_learner(step, "your prediction", prediction)
    want_t = want if isinstance(want, tuple) else (want,)
    got_t = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    if len(got_t) != len(want_t):
        raise CheckFailed(step, f"Your prediction returned {got!r}; expected {len(want_t)} "
                          f"value{'s' if len(want_t) > 1 else ''} ({what}).",
                          hint="Return exactly what the question asks for: "
                          + ("one value." if len(want_t) == 1 else f"a tuple of {len(want_t)}."))

    def same(g: Any, w: Any) -> bool:
        if isinstance(w, str):
            return str(g).strip().lower() == w.lower()
        try:
            return abs(float(g) - float(w)) <= tolerance * max(1.0, abs(float(w)))
        except (TypeError, ValueError):
            return False

    off = [i for i, (g, w) in enumerate(zip(got_t, want_t)) if not same(g, w)]
    if off:
        which = "" if len(want_t) == 1 else f" (value {off[0] + 1} of {len(want_t)})"
        raise CheckFailed(step, f"Your prediction of {what} is not right{which}: you gave "
                          f"{got_t[off[0]]!r}.", why=why, hint=hint)
    return f"; prediction right: {what}"
