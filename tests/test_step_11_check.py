"""Step 11's check: passes the solution, and names each classic mistake injected into it."""

import warnings

import pytest

from td3_teach import checks
from notebook_code import exercise_namespace

NB = "11_critic_loss.ipynb"
LOSS = "return F.mse_loss(q1, y) + F.mse_loss(q2, y)"
DETACH = "y = y.detach()"


def run_check(ns, seed=0):
    return checks.step11(ns["step11_critic_loss"], seed=seed)


def test_step11_check_passes_the_solution():
    assert run_check(exercise_namespace(NB)).text().startswith("Step 11 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_step11_check_passes_the_solution_on_other_seeds(seed):
    assert run_check(exercise_namespace(NB), seed=seed)


def test_step11_check_passes_a_hand_written_mse():
    ns = exercise_namespace(NB, {LOSS: "return ((q1 - y) ** 2).mean() + ((q2 - y) ** 2).mean()"})
    assert run_check(ns)


MUTATIONS = {
    "only one critic's loss": ({LOSS: "return F.mse_loss(q1, y)"}, "only q1's loss"),
    "only the second critic's loss": ({LOSS: "return F.mse_loss(q2, y)"}, "only q2's loss"),
    "loss through y (no detach)": ({DETACH: "pass"}, "gradient into y"),
    "predictions detached instead of the target":
        ({DETACH: "pass", LOSS: "return F.mse_loss(q1.detach(), y) + F.mse_loss(q2.detach(), y)"},
         "reversed"),
    "(B,) against (B, 1) inside MSE": ({LOSS: "return F.mse_loss(q1.squeeze(), y) + F.mse_loss(q2.squeeze(), y)"},
                                      "broadcast"),
    "sum instead of mean": ({LOSS: "return F.mse_loss(q1, y, reduction='sum') + F.mse_loss(q2, y, reduction='sum')"},
                            "summed"),
    "no reduction": ({LOSS: "return F.mse_loss(q1, y, reduction='none') + F.mse_loss(q2, y, reduction='none')"},
                     "single number"),
    "L1 loss": ({LOSS: "return F.l1_loss(q1, y) + F.l1_loss(q2, y)"}, "L1"),
    "Huber loss": ({LOSS: "return F.smooth_l1_loss(q1, y) + F.smooth_l1_loss(q2, y)"}, "Huber"),
    "min(q1, q2) against y": ({LOSS: "return 2 * F.mse_loss(torch.min(q1, q2), y)"}, "min(Q1, Q2)"),
    "average of the two losses": ({LOSS: "return (F.mse_loss(q1, y) + F.mse_loss(q2, y)) / 2"}, "averaged"),
    ".item() (a float, no graph)": ({LOSS: "return (F.mse_loss(q1, y) + F.mse_loss(q2, y)).item()"}, "float"),
    "square root (RMSE)": ({LOSS: "return F.mse_loss(q1, y).sqrt() + F.mse_loss(q2, y).sqrt()"}, "wrong values"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step11_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    ns = exercise_namespace(NB, replace)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check itself must not leak torch's broadcast warning
        with pytest.raises(checks.CheckFailed) as info:
            run_check(ns)
    assert expected.lower() in str(info.value).lower(), str(info.value)


def test_step11_gradient_into_y_names_the_lecture_detach():
    with pytest.raises(checks.CheckFailed) as info:
        run_check(exercise_namespace(NB, {DETACH: "pass"}))
    assert "detach" in info.value.bug


def test_step11_unfilled_exercise_says_not_implemented():
    def step11_critic_loss(q1, q2, y):
        raise NotImplementedError("Step 11: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step11(step11_critic_loss)


def test_step11_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step11(lambda q1, y: (q1 - y).pow(2).mean())
