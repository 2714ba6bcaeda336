"""Check for TD3 step 1 of 15: the replay memory (a ring buffer) and what goes into it.

The check fills the learner's buffer with transitions it can recognise (transition ``i`` has
reward ``i + 0.5`` and every other field derived from ``i``), so each sampled row tells which
transition it came from: rows that were never written, rows whose fields do not belong together,
old rows that should have been overwritten, and non-uniform sampling all show up by name.
"""

from __future__ import annotations

import inspect
import math
from collections import Counter
from typing import Any, Callable

import numpy as np
import torch

from ._core import CheckFailed, CheckPassed, LearnerCodeError, call_learner, require_callable
from ._seeded import randint, seeded, size_generator

STEP = 1
NAMES = ("s", "s_next", "a", "r", "terminated")
MEANS = {"s": "s (the state)", "s_next": "s_next (the next state)", "a": "a (the action)",
         "r": "r (the reward)"}
POISON = 999.0  # written into a caller's array after add(): a stored copy must not change


# --------------------------------------------------------------------------- recognisable data
def _transition(i: int, S: int, A: int) -> tuple:
    """Transition number ``i``, in the types an environment loop hands over: float64 observations
    (gymnasium's default), a float32 action, a python float reward and a python bool."""
    s = i + np.arange(S, dtype=np.float64) / 8
    return s, s + 0.25, -(i / 64 + np.arange(A, dtype=np.float32) / 1024), i + 0.5, i % 3 == 1


def _expected(ids: np.ndarray, S: int, A: int) -> dict[str, np.ndarray]:
    ids = ids.astype(np.float64)[:, None]
    s = ids + np.arange(S) / 8
    return {"s": s, "s_next": s + 0.25, "a": -(ids / 64 + np.arange(A) / 1024),
            "r": ids + 0.5, "terminated": (ids % 3 == 1).astype(np.float64)}


# --------------------------------------------------------------------------- the class itself
def _require_class(cls: Any) -> None:
    if cls is not None and not inspect.isclass(cls) and hasattr(cls, "add"):
        raise CheckFailed(STEP, f"ReplayBuffer is an instance ({type(cls).__name__} object); the "
                          "check needs the class itself, to build buffers of its own sizes.",
                          hint="Pass `ReplayBuffer`, not `ReplayBuffer(...)`.")
    require_callable(STEP, cls, "ReplayBuffer", ["state_dim", "action_dim", "max_size"])
    if not inspect.isclass(cls):
        raise CheckFailed(STEP, f"ReplayBuffer should be a class; got a {type(cls).__name__}.",
                          hint="Keep the `class ReplayBuffer:` from the exercise cell.")
    for name, does in (("add", "store one transition"), ("sample", "draw a batch"),
                       ("__len__", "say how many transitions are stored")):
        if not callable(getattr(cls, name, None)):
            raise CheckFailed(STEP, f"ReplayBuffer has no method {name}() (to {does}).",
                              hint="If you wrote it, check its indentation: a `def` indented inside "
                              "another method is a local function, not a method of the class.")


def _length(buf: Any, expected: int, after: str) -> None:
    n = call_learner(STEP, "len(buffer)", len, buf)
    if n == expected:
        return
    if "full" in after and n > expected:
        raise CheckFailed(STEP, f"len(buffer) is {n} {after}; expected {expected}: the buffer grows "
                          "past max_size.",
                          why="The memory must stay max_size rows: once full, each new transition "
                          "overwrites the oldest one (a ring buffer), so the buffer keeps the most "
                          "recent experience and a fixed amount of memory.",
                          hint="Count stored transitions up to max_size and no further.")
    raise CheckFailed(STEP, f"len(buffer) is {n} {after}; expected {expected}.",
                      hint="__len__ returns how many transitions are stored (at most max_size), "
                      "not max_size and not the write position.")


def _add(buf: Any, t: tuple, i: int, max_size: int) -> None:
    try:
        call_learner(STEP, f"buffer.add(transition) (transition number {i + 1})", buf.add, t)
    except LearnerCodeError as e:
        if i < max_size:
            raise
        raise LearnerCodeError(
            STEP, f"{e.problem.rstrip('.')}. That was transition {i + 1}, the first after the buffer "
            f"(max_size {max_size}) was full: the write position did not wrap around.",
            why="A replay memory keeps the newest max_size transitions: once it is full, the "
            "write position goes back to row 0 and overwrites the oldest transition (a ring "
            "buffer). TD3 adds one transition per environment step, for a million steps.",
            hint="After writing a row, move the write position on by one, modulo max_size.",
        ) from None


# --------------------------------------------------------------------------- one sampled batch
def _sample(buf: Any, batch: int) -> Any:
    try:
        return call_learner(STEP, f"buffer.sample({batch})", buf.sample, batch)
    except LearnerCodeError as e:
        if "not enough values to unpack (expected 5, got 4)" not in e.problem:
            raise
        raise LearnerCodeError(STEP, e.problem, bug="the lecture's `batch_states, batch_next_states, "
                               "batch_actions, batch_rewards, batch_dones = [], [], [], []`: five "
                               "names, four lists", hint="One empty list per name, or better: index "
                               "preallocated arrays and skip the lists.") from None


def _five(out: Any, B: int, S: int, A: int) -> list[np.ndarray]:
    """sample()'s result as five float64 numpy arrays, after checking types and shapes."""
    if out is None:
        raise CheckFailed(STEP, "sample() returned None.", hint="Did you forget the `return`?")
    if isinstance(out, dict) or not isinstance(out, (tuple, list)):
        raise CheckFailed(STEP, f"sample() returned a {type(out).__name__}; expected a tuple of "
                          "five tensors (s, s_next, a, r, terminated).")
    if len(out) != 5:
        three = len(out) == 3
        raise CheckFailed(
            STEP, f"sample() returned {len(out)} items; expected five: (s, s_next, a, r, terminated).",
            why="Every field of the transition is used by the update: s and a by the critics, "
            "s_next by the targets, r and terminated by the Bellman target.",
            bug="the lecture notes' sample returns three arrays (batch_data, batch_next_data, "
            "batch_labels)" if three else None)
    want = {"s": (B, S), "s_next": (B, S), "a": (B, A), "r": (B, 1), "terminated": (B, 1)}
    arrays = []
    for name, x in zip(NAMES, out):
        if isinstance(x, np.ndarray):
            raise CheckFailed(STEP, f"sample()'s {name} is a numpy array; expected a torch.Tensor.",
                              why="The networks take torch tensors; converting once in sample() "
                              "keeps the update free of numpy.",
                              hint="torch.as_tensor(...) or torch.from_numpy(...), then float32.")
        if not isinstance(x, torch.Tensor):
            raise CheckFailed(STEP, f"sample()'s {name} is a {type(x).__name__}; expected a "
                              "torch.Tensor.",
                              bug="the lecture's `batch_states, ..., batch_dones = [], [], [], []`"
                              if isinstance(x, list) else None)
        if x.dtype != torch.float32:
            raise CheckFailed(STEP, f"sample()'s {name} has dtype {x.dtype}; expected torch.float32.",
                              why="A bool or integer flag cannot go into 1 - terminated as a number."
                              if not x.dtype.is_floating_point else "The networks' weights are "
                              "float32: float64 inputs fail in the matrix products (or cost twice "
                              "the memory and time).",
                              hint="Preallocate your arrays with dtype float32 (numpy's default "
                              "is float64), or convert when sampling.")
        if tuple(x.shape) != want[name]:
            flat = name in ("r", "terminated") and tuple(x.shape) == (B,)
            raise CheckFailed(
                STEP, f"sample()'s {name} has shape {tuple(x.shape)}; expected {want[name]}.",
                why=("Q-values are (B, 1); in the Bellman target r + gamma * (1 - terminated) * Q, "
                     "a (B,) tensor broadcasts against (B, 1) to (B, B): every reward is added to "
                     "every Q-value, silently." if flat else
                     f"The {name} of each of the {B} transitions is one row."),
                hint="Store r and terminated as columns (max_size, 1), or reshape when sampling."
                if flat else "")
        arrays.append(x.detach().cpu().double().numpy())
    return arrays


def _ids(arrays: list[np.ndarray], S: int, A: int, total: int, keep: range, max_size: int) -> np.ndarray:
    """Which transition each sampled row is; fails when a row was never written, was overwritten
    long ago, or mixes fields of different transitions."""
    s, s_next, a, r, term = arrays
    ids_f = r[:, 0] - 0.5
    bad = ~np.isfinite(ids_f) | (ids_f != np.round(ids_f)) | (ids_f < 0) | (ids_f >= total)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        never = r[k, 0] == 0 and not s[k].any() and not s_next[k].any()
        raise CheckFailed(
            STEP, (f"Row {k} of a sampled batch is all zeros: a row of the memory that was never "
                   "written." if never else f"Row {k} of a sampled batch has r = {r[k, 0]:g}, "
                   "which is not a reward that was added."),
            why="Sampling empty rows trains the critic on transitions that never happened.",
            hint=f"{len(keep)} transitions were stored (max_size {max_size}): draw indices from "
            "0 up to the number stored, not up to max_size.")
    ids = ids_f.astype(np.int64)
    old = ~np.isin(ids, np.asarray(keep))
    if old.any():
        i = int(ids[np.flatnonzero(old)[0]])
        raise CheckFailed(
            STEP, f"After {total} additions to a buffer of max_size {max_size}, sample() returned "
            f"transition {i + 1}, which should have been overwritten: only the newest {len(keep)} "
            f"(numbers {keep.start + 1} to {keep.stop}) should remain.",
            why="A full memory overwrites its OLDEST transition, so it holds the most recent "
            "experience of the current policy.",
            hint="When the buffer is full, write the new transition over the row at the write "
            "position, which then moves on (modulo max_size).")
    want = _expected(ids, S, A)
    got = dict(zip(NAMES, arrays))
    for name in NAMES:
        rows = ~np.all(np.isclose(got[name], want[name], atol=1e-6), axis=1)
        if not rows.any():
            continue
        k = int(np.flatnonzero(rows)[0])
        if name == "s" and np.all(s[k] == POISON):
            raise CheckFailed(
                STEP, "A stored s changed after add() returned: the check wrote 999 into its own "
                "array after adding it, and sample() now shows 999.",
                why="Your buffer kept a reference to the caller's array instead of a copy. "
                "Environments and loops that reuse an observation array in place would silently "
                "rewrite your whole memory.",
                hint="Copy the values into storage of your own (preallocated arrays do this).")
        if name in ("s", "s_next") and np.allclose(s[k], want["s_next"][k]) \
                and np.allclose(s_next[k], want["s"][k]):
            raise CheckFailed(STEP, "s and s_next are swapped in the sampled batch.",
                              why="The critic values (s, a); the target values s_next, the state "
                              "the action led to. Swapped, TD3 learns time backwards.",
                              hint="add() receives (s, s_next, a, r, terminated), in that order.")
        if name == "terminated" and np.all(term == 1 - want["terminated"]):
            raise CheckFailed(STEP, "The sampled terminated is 1 where the transition was not "
                              "terminal and 0 where it was: you stored 1 - terminated.",
                              why="The authors' code stores not_done = 1 - done; the update here "
                              "(step 9) uses (1 - terminated), so storing its complement would mask "
                              "every non-terminal state.",
                              hint="Store the terminated flag as it is given (1.0 or 0.0).")
        raise CheckFailed(
            STEP, f"Row {k} of a sampled batch mixes transitions: its r is that of transition "
            f"{int(ids[k]) + 1}, but its {name} ({_short(got[name][k])}) is not that "
            f"transition's ({_short(want[name][k])}).",
            why="A transition is one row across all five fields; if each field comes from another "
            "row, the critic learns from (s, a, r, s_next) that never happened together.",
            hint="Draw ONE set of random indices per batch and use it for every field; check that "
            "add() writes each field to its own array.")
    return ids


def _short(row: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:g}" for v in row[:4]) + (", ...]" if len(row) > 4 else "]")


# --------------------------------------------------------------------------- many batches
def _draw_many(buf: Any, batch: int, S: int, A: int, total: int, keep: range, max_size: int,
               ptr: int) -> None:
    """Sample until every stored row is expected ~120 times; every row must appear, about equally."""
    n = len(keep)
    calls = math.ceil(120 * n / batch)
    counts: Counter = Counter()
    batches = set()
    for _ in range(calls):
        out = _sample(buf, batch)
        ids = _ids(_five(out, batch, S, A), S, A, total, keep, max_size)
        counts.update(ids.tolist())
        batches.add(tuple(ids.tolist()))
    if len(batches) == 1:
        raise CheckFailed(STEP, f"sample({batch}) returned the same transitions, in the same order, "
                          f"on all {calls} calls.",
                          why="TD3 learns from random minibatches: consecutive transitions are "
                          "strongly correlated, and always the same ones would be overfitted.",
                          hint="Draw new random indices on every call.")
    expected = calls * batch / n
    missing = [i for i in keep if counts[i] == 0]
    if missing:
        rows = sorted(i % max_size for i in missing)
        if rows == [n - 1]:
            hint = ("The last stored row is never drawn: the upper end of your random range "
                    "leaves it out (np.random.randint and torch.randint already exclude `high`).")
        elif total > max_size and all(i % max_size < ptr for i in counts):
            hint = ("Only rows below the write position were drawn: after the buffer wraps, the "
                    "write position is not the number of stored rows.")
        else:
            hint = "Draw indices uniformly from the whole filled range, 0 to the number stored."
        raise CheckFailed(STEP, f"In {calls} calls of sample({batch}) on a buffer holding {n} "
                          f"transitions, {len(missing)} of them {'was' if len(missing) == 1 else 'were'}"
                          f" never drawn (row{'' if len(rows) == 1 else 's'} "
                          f"{', '.join(map(str, rows[:6]))}{', ...' if len(rows) > 6 else ''}); "
                          f"each should appear about {expected:.0f} times.",
                          why="Sampling must be uniform over everything stored, or part of the "
                          "experience is never learned from.", hint=hint)
    worst = max(keep, key=lambda i: abs(counts[i] - expected))
    if abs(counts[worst] - expected) > 7 * math.sqrt(expected) + 5:
        raise CheckFailed(STEP, f"Sampling is not uniform: in {calls} calls of sample({batch}), "
                          f"transition {worst + 1} was drawn {counts[worst]} times where about "
                          f"{expected:.0f} were expected.",
                          why="TD3 samples its memory uniformly (paper, Algorithm 1).",
                          hint="Draw each index uniformly and independently from 0 to the number "
                          "stored.")


# --------------------------------------------------------------------------- store_step
class _RecordingBuffer:
    """A stand-in replay buffer that keeps what store_step passes to add()."""

    def __init__(self) -> None:
        self.added: list[Any] = []

    def add(self, transition: Any) -> None:
        self.added.append(transition)

    def __len__(self) -> int:
        return len(self.added)


def _same(x: Any, y: Any) -> bool:
    try:
        return np.asarray(x, dtype=np.float64).shape == np.asarray(y, dtype=np.float64).shape and \
            np.allclose(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    except (TypeError, ValueError):
        return False


def _check_store_step(store_step: Callable, S: int, A: int) -> None:
    require_callable(STEP, store_step, "store_step", ["replay_buffer", "s", "a", "step_result"])
    for k, (terminated, truncated) in enumerate([(False, False), (True, False), (False, True),
                                                 (True, True)]):
        s, s_next, a, r, _ = _transition(10 + k, S, A)
        step_result: tuple[Any, ...] = (s_next, r, terminated, truncated, {})
        rec = _RecordingBuffer()
        what = f"store_step(buffer, s, a, step_result) with terminated={terminated}, " \
               f"truncated={truncated}"
        try:
            over = call_learner(STEP, what, store_step, rec, s, a, step_result)
        except LearnerCodeError as e:
            if "positional argument" in e.problem and "add()" in e.problem:
                raise LearnerCodeError(STEP, e.problem, hint="add() takes ONE argument, the tuple "
                                       "(s, s_next, a, r, terminated): note the double parentheses.") from None
            raise
        if len(rec.added) != 1:
            raise CheckFailed(STEP, f"{what} called replay_buffer.add {len(rec.added)} times; "
                              "expected once.", hint="One environment step is one transition.")
        t = rec.added[0]
        if not isinstance(t, (tuple, list)) or len(t) != 5:
            raise CheckFailed(STEP, f"{what} passed add() a {type(t).__name__}"
                              f"{f' of {len(t)} items' if hasattr(t, '__len__') else ''}; expected "
                              "the tuple (s, s_next, a, r, terminated).")
        want = {"s": s, "s_next": s_next, "a": a, "r": r}
        for pos, name in enumerate(NAMES[:4]):
            if not _same(t[pos], want[name]):
                held = next((n for n, v in want.items() if _same(t[pos], v)), None)
                raise CheckFailed(STEP, f"Item {pos} of the transition passed to add() is "
                                  f"{MEANS[held] if held else 'not ' + MEANS[name]}; expected "
                                  f"{MEANS[name]}.",
                                  why="The buffer stores fields by position; a field in the wrong "
                                  "place trains the critic on the wrong quantity.",
                                  hint="The order is (s, s_next, a, r, terminated); gymnasium's "
                                  "env.step returns (s_next, r, terminated, truncated, info).")
        try:
            flag = float(t[4])
        except (TypeError, ValueError):
            raise CheckFailed(STEP, f"The last item passed to add() is a {type(t[4]).__name__}; "
                              "expected the terminated flag (a bool or 0/1).") from None
        if flag != float(terminated):
            stored_done = flag == float(terminated or truncated)
            raise CheckFailed(
                STEP, f"With terminated={terminated} and truncated={truncated}, the flag passed to "
                f"add() is {flag:g}; expected {float(terminated):g}: store terminated only."
                + (" You stored the episode-over flag: a time limit counted as an end."
                   if stored_done else ""),
                why="A time limit (truncation) is not the end of the task: the state it cut off "
                "still has a future, so its target must keep the gamma * Q(s', a') term. "
                "HalfCheetah episodes end ONLY by the 1000-step limit: masking them would teach "
                "the critic that the last state of every episode is worth nothing.",
                bug="the lecture's `done` (old gym merged terminated and truncated into one flag)"
                if stored_done else None,
                hint=("Keep the two flags apart: one decides what is stored, the other only when "
                      "to reset.", "The memory's fifth item must be 1 only when the task really "
                      "ended; gymnasium's first flag says that, its second flag only says that a "
                      "clock stopped the episode."))
        if over is None:
            raise CheckFailed(STEP, f"{what} returned None; expected whether the episode is over.",
                              hint="Did you forget the `return`?")
        if bool(over) != (terminated or truncated):
            raise CheckFailed(
                STEP, f"{what} returned {over!r}; the episode is "
                f"{'over' if terminated or truncated else 'not over'}.",
                why="The loop resets the environment when EITHER flag is set: a truncated episode "
                "is over even though its last state is not terminal. Returning terminated alone, "
                "a HalfCheetah episode would never end." if truncated and not terminated else
                "An episode that has neither terminated nor been truncated goes on.",
                hint=("The episode is over when it ended OR when the clock stopped it.",
                      "Return True as soon as either of gymnasium's two flags is set, False only "
                      "when both are False."))


# --------------------------------------------------------------------------- the check
def step01(ReplayBuffer: Any, store_step: Callable | None = None, seed: int = 0) -> CheckPassed:  # noqa: N803
    """Check ``ReplayBuffer(state_dim, action_dim, max_size)`` with ``add``, ``sample`` and
    ``__len__`` (and, if given, ``store_step(replay_buffer, s, a, step_result)``).

    Verified: lengths; five float32 tensors with r and terminated (B, 1); rows that belong
    together; copies, not references; uniform sampling over the filled rows; a ring that keeps the
    newest max_size transitions; store_step stores terminated only and ends the episode on either
    flag. ``seed`` varies the sizes (graders use other seeds).
    """
    _require_class(ReplayBuffer)
    g = size_generator(seed, salt=STEP)
    S, A, M = randint(g, 2, 7), randint(g, 1, 4), randint(g, 6, 13)
    with seeded(seed):
        buf = call_learner(STEP, f"ReplayBuffer({S}, {A}, max_size={M})", ReplayBuffer, S, A,
                           max_size=M)
        _length(buf, 0, "for a new buffer")
        # Part 1: partly filled. Transition 0's s is rewritten by the caller after add().
        n1 = M // 2 + 1
        for i in range(n1):
            t = _transition(i, S, A)
            _add(buf, t, i, M)
            if i == 0:
                t[0][:] = POISON
        _length(buf, n1, f"after {n1} additions (max_size {M})")
        B = randint(g, 2, n1)
        out = _sample(buf, B)
        _ids(_five(out, B, S, A), S, A, n1, range(n1), M)
        _draw_many(buf, max(1, n1 // 2), S, A, n1, range(n1), M, ptr=n1)
        # Part 2: past capacity, the ring wraps (twice, and a bit).
        total = 2 * M + randint(g, 1, M - 1)
        for i in range(n1, total):
            _add(buf, _transition(i, S, A), i, M)
        _length(buf, M, f"after {total} additions to a full buffer of max_size {M}")
        _draw_many(buf, M // 2, S, A, total, range(total - M, total), M, ptr=total % M)
    verified = (f"replay memory (state {S}, action {A}, max_size {M}): keeps the newest {M}, "
                "samples uniformly, rows line up, float32 with r and terminated (B, 1)")
    if store_step is not None:
        try:
            _check_store_step(store_step, S, A)
        except CheckFailed as e:
            raise type(e)(STEP, "Your ReplayBuffer passes. store_step: " + e.problem, why=e.why,
                          hint=e.hint, bug=e.bug) from None
        verified += "; store_step stores terminated only and ends the episode on either flag"
    return CheckPassed(STEP, verified + ".")
