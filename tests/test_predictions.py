"""The prediction questions of notebooks 05, 07, 08, 09 and 10: the checks verify them.

The solution's answer passes; each tempting wrong answer fails with a message (checked for
solution code like every check message, see tests/conftest.py); an unanswered question is
"not implemented yet"."""

import pytest

from td3_teach import checks
from notebook_code import check_failure, exercise_namespace

CASES = {
    5: ("05_target_action.ipynb", ["step05_target_action"], [{"s_next", "actor"}, {"s", "actor_target"},
                                                               {"s_next"}, "s_next", {"nonsense"}]),
    7: ("07_target_q.ipynb", ["step07_target_q"], [{"s_next", "a_tilde", "critic"},
                                                        {"s_next", "a", "critic_target"},
                                                        {"s_next", "a_tilde", "critic_target", "actor_target"}]),
    10: ("10_current_q.ipynb", ["step10_current_q"], [{"s", "a"}, {"s", "a_tilde", "critic"},
                                                     {"s", "a", "critic", "critic_target"}]),
    8: ("08_min_target_q.ipynb", ["step08_min_target_q"], ["B", "same", ("A", "B")]),
    9: ("09_bellman_target.ipynb", ["step09_bellman_target", "terminal_flag"],
        [(1.0, 1.0), (100.0, 100.0), (1.0, 100.0), (100.0,)]),
}


def run(step, answer=None, use_solution=False):
    notebook, names, _ = CASES[step]
    ns = exercise_namespace(notebook)
    prediction = ns[f"step{step:02d}_prediction"] if use_solution else (lambda: answer)
    return getattr(checks, f"step{step:02d}")(*[ns[n] for n in names], prediction)


@pytest.mark.parametrize("step", sorted(CASES))
def test_the_solutions_prediction_passes_and_is_named_in_the_pass(step):
    assert "prediction right" in run(step, use_solution=True).text()


@pytest.mark.parametrize("step,answer", [(s, a) for s, c in CASES.items() for a in c[2]],
                         ids=lambda x: str(x))
def test_a_wrong_prediction_fails_with_a_reason(step, answer):
    failure = check_failure(run, step, answer)
    assert "prediction" in failure.problem.lower()
    assert failure.hint, "a wrong prediction must come with a hint"


def test_an_unanswered_prediction_says_not_implemented():
    def unanswered():
        raise NotImplementedError("Step 8: this is your exercise.")
    ns = exercise_namespace("08_min_target_q.ipynb")
    with pytest.raises(checks.NotImplementedYet):
        checks.step08(ns["step08_min_target_q"], unanswered)


def test_a_repeated_wrong_prediction_gets_the_concrete_hint():
    first = check_failure(run, 5, {"s_next", "actor"})
    again = check_failure(run, 5, {"s_next", "actor"})
    assert (first.tier, again.tier) == (0, 1) and "'actor'" in again.hint
