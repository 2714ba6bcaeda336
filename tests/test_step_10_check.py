"""Step 10's check: passes the solution, and names each classic mistake injected into it."""

import pytest

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "10_current_q.ipynb"


def run_check(ns, seed=0):
    return checks.step10(ns["step10_current_q"], seed=seed)


def test_step10_check_passes_the_solution():
    assert run_check(exercise_namespace(NB)).text().startswith("Step 10 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_step10_check_passes_the_solution_on_other_seeds(seed):
    assert run_check(exercise_namespace(NB), seed=seed)


def test_step10_check_passes_critic_forward_and_a_list():
    ns = exercise_namespace(NB, {"q1, q2 = critic(s, a)": "q1, q2 = critic.forward(s, a)",
                                 "return q1, q2": "return [q1, q2]"})
    assert run_check(ns)


MUTATIONS = {
    "the target critic": ({"q1, q2 = critic(s, a)": "q1, q2 = critic_target(s, a)"}, "online critic"),
    "detached Q-values": ({"return q1, q2": "return q1.detach(), q2.detach()"}, "no gradient"),
    "under torch.no_grad()": ({"q1, q2 = critic(s, a)":
                               "with torch.no_grad():\n        q1, q2 = critic(s, a)"}, "no gradient"),
    "the next action a~ from the target actor": ({"critic(s, a)": "critic(s, actor_target(s))"},
                                                 "stored in the replay buffer"),
    "noise on the stored action (step 6 in the wrong place)":
        ({"critic(s, a)": "critic(s, (a + 0.2 * torch.randn_like(a)))"}, "random"),
    "state and action swapped": ({"critic(s, a)": "critic(a, s)"}, "swapped"),
    "heads returned in the wrong order": ({"return q1, q2": "return q2, q1"}, "swapped"),
    "Q1 twice": ({"q1, q2 = critic(s, a)": "q1, q2 = critic.Q1(s, a), critic.Q1(s, a)"}, "first head"),
    "a Q2 method that does not exist": ({"q1, q2 = critic(s, a)": "q1, q2 = critic.Q1(s, a), critic.Q2(s, a)"},
                                        "no Q2 method"),
    "only q1": ({"return q1, q2": "return q1"}, "pair"),
    "min of the two (step 8's job)": ({"return q1, q2": "return torch.min(q1, q2)"}, "min(Q1, Q2)"),
    "concatenated": ({"return q1, q2": "return torch.cat([q1, q2], dim=1)"}, "concatenated"),
    "squeezed to (B,)": ({"return q1, q2": "return q1.squeeze(1), q2.squeeze(1)"}, "shape"),
    "forgot return": ({"return q1, q2": "pass"}, "return"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step10_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, exercise_namespace(NB, replace), expected)


def test_step10_unfilled_exercise_says_not_implemented():
    def step10_current_q(critic, s, a):
        raise NotImplementedError("Step 10: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step10(step10_current_q)


def test_step10_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step10(lambda critic, a, s: critic(s, a))
