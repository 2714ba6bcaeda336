"""Check for TD3 step 8 of 15: the minimum of the twin target Q-values (clipped double Q)."""

from __future__ import annotations

from typing import Callable

import torch

from ._core import CheckPassed, CheckFailed, as_tensor, call_learner, expect_close, expect_shape, \
    require_callable
from ._predictions import check_value
from ._seeded import randint, seeded, size_generator

STEP = 8


def step08(step08_min_target_q: Callable, step08_prediction: Callable | None = None,
           seed: int = 0) -> CheckPassed:
    """Check ``step08_min_target_q(q1_next, q2_next) -> (B, 1)``: elementwise min, no gradient
    tricks, shape kept. ``seed`` varies the batch (graders use other seeds). With
    ``step08_prediction() -> "A" | "B" | "same"``, also the notebook's prediction: which of two
    batches with the same mean target values gets the larger mean target after step 8."""
    fn = step08_min_target_q
    require_callable(STEP, fn, "step08_min_target_q", ["q1_next", "q2_next"])
    g = size_generator(seed)  # salt 0: the sizes and values step 8 has always drawn for a seed
    B = randint(g, 5, 64)
    q1, q2 = torch.randn(B, 1, generator=g) * 10, torch.randn(B, 1, generator=g) * 10
    q1[0], q2[0] = 1.0, 2.0    # Q1 smaller on row 0
    q1[1], q2[1] = 3.0, -4.0   # Q2 smaller on row 1
    with seeded(seed):
        out = call_learner(STEP, "step08_min_target_q(q1_next, q2_next)", fn, q1.clone(),
                           q2.clone())
    out = as_tensor(STEP, out, "the result")
    if out.numel() == 1:
        raise CheckFailed(STEP, f"The result is a single number ({out.item():.3g}); expected one "
                          f"value per transition, shape ({B}, 1).",
                          why="Each transition in the batch has its own target; the min is taken "
                          "between the two critics, row by row, not over the whole batch.",
                          hint=("The minimum is taken between the two critics, one row at a time.",
                                "torch.min given TWO tensors compares them entry by entry; given "
                                "one tensor it reduces it to a single number."))
    expect_shape(STEP, out, (B, 1), "The result", why="Q-values are (B, 1); step 9 adds r (B, 1).")
    want = torch.min(q1, q2)
    if torch.allclose(out, torch.max(q1, q2)):
        raise CheckFailed(STEP, "You kept the LARGER of the two targets.",
                          why="Overestimation is the problem TD3 solves: the max of two noisy "
                          "estimates is biased upward even more than one of them.",
                          hint=("Which of the two values is the pessimistic one?",
                                "Keep, in every row, the value of whichever target critic is "
                                "LOWER there."))
    if torch.allclose(out, q1.expand_as(out)) or torch.allclose(out, q2.expand_as(out)):
        raise CheckFailed(STEP, "The result equals one of the critics everywhere; it should pick, "
                          "row by row, whichever of Q1' and Q2' is smaller.",
                          why="Using one target critic is DDPG; clipped double Q needs both.",
                          hint=("Both target critics take part, row by row.", "In one row Q1' may "
                                "be the smaller, in the next Q2': the result picks per row."))
    if torch.allclose(out, (q1 + q2) / 2):
        raise CheckFailed(STEP, "You averaged the two targets.",
                          why="The average of two estimates is still biased upward under the max "
                          "over actions; the min is what counters overestimation (paper, 4.2).",
                          hint=("Not a blend of the two: one of them, per row.", "Which single "
                                "value of the two is the cautious one?"))
    predicted = ""
    if step08_prediction is not None:
        # Batch A: the two target critics agree; batch B: they disagree, with the same mean.
        qa = torch.full((2, 1), 2.0)
        qb1, qb2 = torch.tensor([[0.0], [4.0]]), torch.tensor([[4.0], [0.0]])
        with seeded(seed):
            ya = call_learner(STEP, "step08_min_target_q on batch A", fn, qa.clone(),
                              qa.clone()).mean()
            yb = call_learner(STEP, "step08_min_target_q on batch B", fn, qb1, qb2).mean()
        answer = "A" if ya > yb + 1e-6 else "B" if yb > ya + 1e-6 else "same"
        predicted = check_value(
            STEP, step08_prediction, "which batch gets the larger mean target", answer,
            why="Both batches have the same average of Q1' and Q2'. What differs is how much "
            "the two critics disagree, and the minimum reacts to exactly that.",
            hint=("Work out step 8 on both rows of each batch by hand.", "In batch B each row "
                  "has one critic at 0 and one at 4; in batch A both say 2."))
    expect_close(STEP, out, want, "The result",
                 hint=("Compare the two tensors elementwise.", "Shape (B, 1) in, (B, 1) out; each "
                       "output row comes from the same row of the two inputs."))
    return CheckPassed(STEP, f"min of twin targets: shape ({B}, 1), elementwise minimum of Q1' and "
                       "Q2'" + (predicted or "."),
                       after="the more the two target critics disagree, the lower the target: "
                       "clipped double Q is most pessimistic exactly where the estimates are "
                       "least certain." if predicted else "")
