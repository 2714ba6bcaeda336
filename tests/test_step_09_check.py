"""Step 9's check: passes the solution, and names each classic mistake injected into it."""

import pytest
import torch

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "09_bellman_target.ipynb"
SOLUTION = "return r + gamma * (1.0 - terminated) * q_next_min"
Y = SOLUTION.replace("return ", "")


def returning(expression):
    """The solution's return line, returning ``expression`` (with {y} standing for y)."""
    return {SOLUTION: "return " + expression.format(y=f"({Y})")}


def run_check(ns, seed=0):
    return checks.step09(ns["step09_bellman_target"], ns["terminal_flag"], seed=seed)


def test_step09_check_passes_the_solution():
    assert run_check(exercise_namespace(NB)).text().startswith("Step 9 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_step09_check_passes_the_solution_on_other_seeds(seed):
    assert run_check(exercise_namespace(NB), seed=seed)


def test_step09_check_passes_a_detach_instead_of_no_grad():
    ns = exercise_namespace(NB, returning("{y}.detach()"))
    assert run_check(ns)


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


@pytest.mark.parametrize("name", MUTATIONS)
def test_step09_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, exercise_namespace(NB, replace), expected)


def test_step09_truncation_mistake_names_the_lecture_done_flag():
    ns = exercise_namespace(NB, {"return float(terminated)": "return float(terminated or truncated)"})
    with pytest.raises(checks.CheckFailed) as info:
        run_check(ns)
    assert info.value.bug and "done" in info.value.bug


def test_step09_graph_mistake_names_the_lecture_detach_remark():
    ns = exercise_namespace(NB, {"with torch.no_grad():": "if True:"})
    with pytest.raises(checks.CheckFailed) as info:
        run_check(ns)
    assert "detach" in info.value.bug


def test_step09_unfilled_exercise_says_not_implemented():
    def step09_bellman_target(r, terminated, q_next_min, gamma=0.99):
        raise NotImplementedError("Step 9: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step09(step09_bellman_target)


def test_step09_unfilled_flag_says_not_implemented():
    ns = exercise_namespace(NB)

    def terminal_flag(terminated, truncated):
        raise NotImplementedError("Step 9: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="terminal_flag"):
        checks.step09(ns["step09_bellman_target"], terminal_flag)


def test_step09_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step09(lambda r, done, q, gamma: r + gamma * (1 - done) * q)


def test_step09_numpy_result_is_reported():
    with pytest.raises(checks.CheckFailed, match="numpy"):
        checks.step09(lambda r, terminated, q_next_min, gamma:
                      (r + gamma * (1 - terminated) * q_next_min).detach().numpy())


def test_step09_check_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run_check(exercise_namespace(NB))
    assert torch.equal(torch.rand(3), expected)
