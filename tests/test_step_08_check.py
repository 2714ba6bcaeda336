"""Step 8's check: passes the solution, and names each classic mistake injected into it."""

import pytest
import torch

from td3_teach import checks
from notebook_code import exercise_namespace

NB = "08_min_of_twin_targets.ipynb"


def test_step08_check_passes_the_solution():
    ns = exercise_namespace(NB)
    assert checks.step08(ns["step08_min_target_q"]).text().startswith("Step 8 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_step08_check_passes_the_solution_on_other_seeds(seed):
    assert checks.step08(exercise_namespace(NB)["step08_min_target_q"], seed=seed)


MUTATIONS = {
    "max instead of min": ({"torch.min(q1_next, q2_next)": "torch.max(q1_next, q2_next)"}, "LARGER"),
    "one critic only (DDPG)": ({"torch.min(q1_next, q2_next)": "q1_next"}, "one of the critics"),
    "average of the two": ({"torch.min(q1_next, q2_next)": "(q1_next + q2_next) / 2"}, "averaged"),
    "min over the whole batch": ({"torch.min(q1_next, q2_next)": "torch.min(torch.cat([q1_next, q2_next]))"},
                                 "single number"),
    "numpy instead of torch": ({"return torch.min(q1_next, q2_next)":
                                "return np.minimum(q1_next.numpy(), q2_next.numpy())"}, "numpy"),
    "forgot return": ({"return torch.min(q1_next, q2_next)": "torch.min(q1_next, q2_next)"}, "return"),
    "flattened to (B,)": ({"torch.min(q1_next, q2_next)": "torch.min(q1_next, q2_next).squeeze(1)"},
                          "shape"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step08_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    ns = exercise_namespace(NB, replace)
    ns.setdefault("np", __import__("numpy"))
    with pytest.raises(checks.CheckFailed) as info:
        checks.step08(ns["step08_min_target_q"])
    assert expected.lower() in str(info.value).lower(), str(info.value)


def test_step08_unfilled_exercise_says_not_implemented():
    def step08_min_target_q(q1_next, q2_next):
        raise NotImplementedError("Step 8: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step08(step08_min_target_q)


def test_step08_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step08(lambda q1, q2, extra: torch.min(q1, q2))
