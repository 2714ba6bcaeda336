"""Hidden checks: what ``td3-teach grade`` tests beyond the check a learner runs in the notebook.

For every step the grader already reruns the notebook's check on the hidden seeds of
``grading/points.toml`` (other batch sizes and values), refuses the package's own reference (the
same object, a subclass, or code that calls it), and watches for tampering. The functions here add
what a fixed-seed check cannot see: edge cases of shape and batch size, and side effects.

``HIDDEN[step]`` lists extra checks for that step. Each takes the same arguments as the
notebook's ``checks.stepNN`` call (the learner's function or class, ...), returns nothing when it
passes and raises ``CheckFailed`` like the visible checks do: the learner's feedback shows the
message and hint, so it says what is wrong without giving the answer.

"Hidden" means not in the learner's notebook: this file ships with the course. Learners who
read the package can see what it tests, which is fine: they are the properties the exercise
asks for. To keep something from them, grade with seeds of your own (``--points``).
"""

from __future__ import annotations

from typing import Callable

import torch

from ..checks.api import CheckFailed, as_tensor, call_learner, expect_close, expect_shape


# --------------------------------------------------------------------------- step 8
def step08_batch_of_one(step08_min_target_q: Callable,
                        step08_prediction: Callable | None = None) -> None:
    """A batch of ONE transition keeps shape (1, 1): catches ``squeeze()`` without a dim."""
    q1, q2 = torch.tensor([[0.5]]), torch.tensor([[-1.5]])
    out = call_learner(8, "step08_min_target_q on a batch of one transition",
                       step08_min_target_q, q1.clone(), q2.clone(),
                       hint="Does your code depend on the batch having more than one row?")
    out = as_tensor(8, out, "the result for a batch of one")
    expect_shape(8, out, (1, 1), "With a batch of one transition, the result",
                 why="Shapes must not depend on the batch size: the last batch of an epoch, or "
                 "an evaluation on one state, can have a single row.",
                 hint="squeeze() with no argument removes EVERY dimension of size 1, the batch's "
                 "too.")
    expect_close(8, out, torch.min(q1, q2), "With a batch of one transition, the result")


def step08_leaves_inputs_unchanged(step08_min_target_q: Callable,
                                   step08_prediction: Callable | None = None) -> None:
    """A full-size batch (256, with ties): right values, and the inputs are not modified."""
    g = torch.Generator().manual_seed(808)
    q1 = torch.randn(256, 1, generator=g) * 50
    q2 = torch.randn(256, 1, generator=g) * 50
    q2[::7] = q1[::7]  # ties
    a, b = q1.clone(), q2.clone()
    out = call_learner(8, "step08_min_target_q on a batch of 256", step08_min_target_q, a, b)
    out = as_tensor(8, out, "the result")
    if not (torch.equal(a, q1) and torch.equal(b, q2)):
        raise CheckFailed(8, "Your function changed q1_next or q2_next in place.",
                          why="The twin target values are used again (and by other code); an "
                          "in-place operation silently changes them for everyone.",
                          hint="Use operations that return a new tensor rather than the ones "
                          "ending in an underscore.")
    expect_shape(8, out, (256, 1), "With a batch of 256, the result")
    expect_close(8, out, torch.min(q1, q2), "With a batch of 256, the result")


HIDDEN: dict[int | str, list[Callable[..., None]]] = {  # step number, or a named check
    8: [step08_batch_of_one, step08_leaves_inputs_unchanged],
}
