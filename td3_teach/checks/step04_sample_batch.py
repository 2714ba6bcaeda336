"""Check for TD3 step 4 of 15: sample a minibatch from a memory of numpy arrays, as float32 tensors
on a given device, with r and terminated shaped (B, 1).

The memory the check builds holds recognisable transitions (row ``i`` has reward ``i + 0.5``, the
other fields derived from ``i``) in the dtypes an environment loop produces (float64 observations,
a flat float64 reward, a bool ``terminated``), and NaN in the rows beyond ``size``, which were never
written. The device is tested with ``torch.device("meta")``: a device without data that every
machine has, so device handling is checked without a GPU.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any, Callable

import numpy as np
import torch

from ._core import CheckFailed, CheckPassed, LearnerCodeError, call_learner, require_callable
from ._seeded import randint, seeded, size_generator

STEP = 4
NAMES = ("s", "s_next", "a", "r", "terminated")
META = torch.device("meta")


def _memory(M: int, n: int, S: int, A: int) -> dict[str, np.ndarray]:
    i = np.arange(M, dtype=np.float64)[:, None]
    s = i + np.arange(S) / 8
    memory = {"s": s, "s_next": s + 0.25, "a": (-(i / 64 + np.arange(A) / 1024)).astype(np.float32),
              "r": i[:, 0] + 0.5, "terminated": i[:, 0] % 3 == 1}
    for key in ("s", "s_next", "a", "r"):
        memory[key][n:] = np.nan  # rows from size on were never written
    memory["terminated"][n:] = False
    return memory


def _expected(ids: np.ndarray, S: int, A: int) -> dict[str, np.ndarray]:
    i = ids.astype(np.float64)[:, None]
    s = i + np.arange(S) / 8
    return {"s": s, "s_next": s + 0.25, "a": -(i / 64 + np.arange(A) / 1024), "r": i + 0.5,
            "terminated": (i % 3 == 1).astype(np.float64)}


def _five(out: Any, B: int, S: int, A: int, device: torch.device, what: str) -> list[torch.Tensor]:
    if out is None:
        raise CheckFailed(STEP, f"{what} returned None.", hint="Did you forget the `return`?")
    if isinstance(out, dict) or not isinstance(out, (tuple, list)) or len(out) != 5:
        got = f"{type(out).__name__}" + (f" of {len(out)} items" if isinstance(out, (tuple, list)) else "")
        raise CheckFailed(STEP, f"{what} returned a {got}; expected five tensors "
                          "(s, s_next, a, r, terminated), as a tuple or a td3_teach.Batch.")
    want = {"s": (B, S), "s_next": (B, S), "a": (B, A), "r": (B, 1), "terminated": (B, 1)}
    for name, x in zip(NAMES, out):
        if isinstance(x, np.ndarray):
            raise CheckFailed(STEP, f"The batch's {name} is a numpy array; expected a torch.Tensor.",
                              why="The networks take torch tensors, on their device.",
                              hint="torch.as_tensor(array, dtype=..., device=...) converts and moves "
                              "in one call.")
        if not isinstance(x, torch.Tensor):
            raise CheckFailed(STEP, f"The batch's {name} is a {type(x).__name__}; expected a "
                              "torch.Tensor.")
        if x.dtype == torch.bool:
            raise CheckFailed(STEP, f"The batch's {name} has dtype torch.bool; expected torch.float32.",
                              why="Step 9 computes 1 - terminated, and torch refuses to subtract a "
                              "bool tensor; as float32 it is 1.0 where the episode terminated, "
                              "else 0.0.", hint="Convert the flags to float32 like the other fields.")
        if x.dtype != torch.float32:
            raise CheckFailed(STEP, f"The batch's {name} has dtype {x.dtype}; expected torch.float32.",
                              why="Gymnasium observations and Python floats arrive as float64 "
                              "(numpy's default); the networks' weights are float32, and float64 "
                              "inputs fail in the matrix products.",
                              hint="Ask for dtype=torch.float32 when converting.")
        if tuple(x.shape) != want[name]:
            flat = name in ("r", "terminated") and x.numel() == B
            raise CheckFailed(
                STEP, f"The batch's {name} has shape {tuple(x.shape)}; expected {want[name]}.",
                why=(f"The memory stores {name} flat, (max_size,), one number per transition. "
                     "Q-values are (B, 1), and (B,) against (B, 1) broadcasts to (B, B): "
                     "r + gamma * Q would add every reward to every Q-value, silently (see the "
                     "picture below)." if flat else f"One row of {name} per sampled transition."),
                hint="Make it a column, (B, 1)." if flat else "")
        if x.device != device:
            raise CheckFailed(
                STEP, f"With device={device!s}, the batch's {name} is on {x.device}."
                + (" (The check passes torch.device('meta'), a device with no data that every "
                   "machine has, to test device handling without a GPU.)" if device == META else ""),
                why="The networks live on the GPU when there is one; a batch on the CPU fails "
                "there with 'Expected all tensors to be on the same device'.",
                hint="Create each tensor on `device`, or move it with .to(device).")
    return list(out)


def _ids(batch: list[torch.Tensor], S: int, A: int, n: int) -> np.ndarray:
    s, s_next, a, r, term = (t.detach().cpu().double().numpy() for t in batch)
    if np.isnan(r).any() or np.isnan(s).any():
        k = int(np.flatnonzero(np.isnan(r[:, 0]) | np.isnan(s).any(axis=1))[0])
        raise CheckFailed(STEP, f"Row {k} of the batch is NaN: it was drawn from a row of the "
                          f"memory at or beyond size = {n}, which was never written (NaN in this "
                          "check's memory; zeros or garbage in a real one).",
                          why="The memory is preallocated with max_size rows, and only the first "
                          "`size` hold transitions; the rest must never be sampled.",
                          hint="Draw indices from 0 to size, not to the memory's length.")
    ids_f = r[:, 0] - 0.5
    if (ids_f != np.round(ids_f)).any() or (ids_f < 0).any() or (ids_f >= n).any():
        k = int(np.flatnonzero((ids_f != np.round(ids_f)) | (ids_f < 0) | (ids_f >= n))[0])
        raise CheckFailed(STEP, f"Row {k} of the batch has r = {r[k, 0]:g}, which is no reward in "
                          "the memory.", hint="Take r from memory['r'], unchanged.")
    ids = ids_f.astype(np.int64)
    want, got = _expected(ids, S, A), dict(zip(NAMES, (s, s_next, a, r, term)))
    for name in NAMES:
        rows = ~np.all(np.isclose(got[name], want[name], atol=1e-6), axis=1)
        if rows.any():
            k = int(np.flatnonzero(rows)[0])
            raise CheckFailed(STEP, f"Row {k} of the batch mixes transitions: its r is that of row "
                              f"{ids[k]} of the memory, but its {name} is not.",
                              why="A transition is one row across all five arrays; fields from "
                              "different rows pair an action with a state it was never taken in.",
                              hint="Draw ONE set of indices per batch and index every array with it.")
    return ids


def _statistics(fn: Callable, memory: dict, n: int, S: int, A: int) -> None:
    batch = max(2, n // 2)
    calls = math.ceil(120 * n / batch)
    counts: Counter = Counter()
    batches = set()
    cpu = torch.device("cpu")
    for _ in range(calls):
        out = call_learner(STEP, f"step04_sample_batch(memory, {n}, {batch}, cpu)", fn, memory, n,
                           batch, cpu)
        ids = _ids(_five(out, batch, S, A, cpu, "step04_sample_batch"), S, A, n)
        counts.update(ids.tolist())
        batches.add(tuple(ids.tolist()))
    if len(batches) == 1:
        raise CheckFailed(STEP, f"All {calls} batches were the same rows in the same order.",
                          why="TD3 learns from random minibatches; consecutive transitions are "
                          "strongly correlated.", hint="Draw new random indices on every call.")
    expected = calls * batch / n
    missing = [i for i in range(n) if counts[i] == 0]
    if missing:
        hint = ("The last filled row (size - 1) is never drawn: the upper end of your random range "
                "leaves it out (np.random.randint and torch.randint already exclude `high`)."
                if missing == [n - 1] else "Draw indices uniformly from 0 to size.")
        raise CheckFailed(STEP, f"In {calls} batches of {batch} from a memory with size = {n}, "
                          f"row{'' if len(missing) == 1 else 's'} {', '.join(map(str, missing[:6]))}"
                          f"{', ...' if len(missing) > 6 else ''} {'was' if len(missing) == 1 else 'were'}"
                          f" never drawn; each should appear about {expected:.0f} times.",
                          why="Every stored transition must be sampled with the same probability "
                          "1/size (paper, Algorithm 1: a uniform minibatch).", hint=hint)
    worst = max(range(n), key=lambda i: abs(counts[i] - expected))
    if abs(counts[worst] - expected) > 7 * math.sqrt(expected) + 5:
        raise CheckFailed(STEP, f"Sampling is not uniform: in {calls} batches of {batch}, row "
                          f"{worst} was drawn {counts[worst]} times where about {expected:.0f} were "
                          "expected.", why="TD3 samples its memory uniformly.",
                          hint="Draw each index uniformly and independently from 0 to size.")


def step04(step04_sample_batch: Callable, seed: int = 0) -> CheckPassed:
    """Check ``step04_sample_batch(memory, size, batch_size, device)``: five float32 tensors on
    ``device`` (s, s_next (B, S); a (B, A); r, terminated (B, 1)), drawn uniformly from the first
    ``size`` rows with one index per row for all fields; the memory left unchanged.
    ``seed`` varies the sizes (graders use other seeds)."""
    fn = step04_sample_batch
    require_callable(STEP, fn, "step04_sample_batch", ["memory", "size", "batch_size", "device"])
    g = size_generator(seed, salt=STEP)
    S, A, M = randint(g, 2, 7), randint(g, 1, 4), randint(g, 12, 30)
    n = randint(g, M // 2, M - 2)
    B = randint(g, 3, n - 1)
    memory = _memory(M, n, S, A)
    pristine: dict[str, np.ndarray] = {k: v.copy() for k, v in memory.items()}
    cpu = torch.device("cpu")
    with seeded(seed):
        what = f"step04_sample_batch(memory, {n}, {B}, cpu)"
        _ids(_five(call_learner(STEP, what, fn, memory, n, B, cpu), B, S, A, cpu, what), S, A, n)
        for key, before in pristine.items():
            now = memory.get(key)
            if not isinstance(now, np.ndarray) or now.shape != before.shape or \
                    not np.array_equal(now, before, equal_nan=True):
                reshaped = (f" (shape {before.shape} -> {now.shape})"
                            if isinstance(now, np.ndarray) and now.shape != before.shape else "")
                raise CheckFailed(STEP, f"step04_sample_batch changed memory['{key}']{reshaped}.",
                                  why="The memory is shared by every later batch: sampling must "
                                  "only read it.", hint="Reshape or convert the sampled batch, not "
                                  "the stored arrays.")
        what = f"step04_sample_batch(memory, {n}, {B}, torch.device('meta'))"
        try:
            out = call_learner(STEP, what, fn, memory, n, B, META)
        except LearnerCodeError as e:
            raise LearnerCodeError(STEP, e.problem + " (The check passes torch.device('meta'), a "
                                   "device with no data that every machine has, to test device "
                                   "handling without a GPU.)",
                                   hint="Index the numpy arrays on the CPU, then create the tensors "
                                   "on `device` (or .to(device) them); compute nothing else on "
                                   "the device.") from None
        _five(out, B, S, A, META, what)
        _statistics(fn, memory, n, S, A)
    return CheckPassed(STEP, f"sample batch: five float32 tensors on the requested device, r and "
                       f"terminated ({B}, 1), one index per row for all fields, uniform over the "
                       f"{n} filled rows of {M}, memory untouched.")
