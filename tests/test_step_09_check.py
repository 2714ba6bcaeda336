"""Step 9's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""

import pytest

from td3_teach import checks
from step_contracts import run, solution

SOLUTION = "return r + gamma * (1.0 - terminated) * q_next_min"
Y = SOLUTION.replace("return ", "")


def returning(expression):
    """The solution's return line, returning ``expression`` (with {y} standing for y)."""
    return {SOLUTION: "return " + expression.format(y=f"({Y})")}


def test_step09_check_passes_a_detach_instead_of_no_grad():
    ns = solution(9, returning("{y}.detach()"))
    assert run(9, ns)


MUTATIONS = {
    "no done mask": ({"gamma * (1.0 - terminated) * q_next_min": "gamma * q_next_min"}, "mask is missing"),
    "mask inverted (terminated instead of 1 - terminated)":
        ({"(1.0 - terminated)": "terminated"}, "inverted"),
    "mask applied to the reward too":
        ({"r + gamma * (1.0 - terminated) * q_next_min": "(1.0 - terminated) * (r + gamma * q_next_min)"},
         "reward of terminal"),
    "gamma missing": ({"gamma * (1.0 - terminated)": "(1.0 - terminated)"}, "gamma is missing"),
    "gamma hard-coded": ({"gamma * (1.0 - terminated)": "0.99 * (1.0 - terminated)"}, "hard-coded"),
    "gamma on the reward too": ({"r + gamma * (1.0 - terminated) * q_next_min":
                                 "gamma * (r + (1.0 - terminated) * q_next_min)"}, "multiplies the reward"),
    "reward squeezed to (B,): broadcasts to (B, B)": ({"return r + gamma": "return r.squeeze(1) + gamma"},
                                                     "broadcast"),
    "everything flattened to (B,)": (returning("{y}.view(-1)"), "shape"),
    "mean over the batch": (returning("{y}.mean()"), "single number"),
    "y keeps its graph (no no_grad, no detach)": ({"with torch.no_grad():": "if True:"}, "gradient"),
    "done mask edited in place": ({SOLUTION: "terminated.mul_(-1).add_(1)\n        return r + gamma * "
                                  "terminated * q_next_min"}, "in place"),
    "forgot return": ({SOLUTION: SOLUTION.replace("return ", "y = ")}, "return"),
    "time-limit truncation stored as terminal (done = terminated or truncated)":
        ({"return float(terminated)": "return float(terminated or truncated)"}, "truncation"),
    "stores truncated instead of terminated": ({"return float(terminated)": "return float(truncated)"},
                                               "expected"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"time-limit truncation stored as terminal (done = terminated or truncated)": "done",
        "y keeps its graph (no no_grad, no detach)": "detach"}


def test_step09_numpy_result_is_reported():
    with pytest.raises(checks.CheckFailed, match="numpy"):
        checks.step09(lambda r, terminated, q_next_min, gamma:
                      (r + gamma * (1 - terminated) * q_next_min).detach().numpy())
