"""Step 7's check: passes the solution, and names each classic mistake injected into it."""

import pytest
import torch

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "07_twin_target_q.ipynb"
RIGHT = "agent.critic_target(batch.s_next, a_tilde)"


def run_check(replace=None, seed=0):
    return checks.step07(exercise_namespace(NB, replace)["step07_target_q"], seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_step07_check_passes_the_solution(seed):
    assert run_check(seed=seed).text().startswith("Step 7 ✓")


def test_step07_check_accepts_detached_values():
    def step07_target_q(agent, batch, a_tilde):
        q1, q2 = agent.critic_target(batch.s_next, a_tilde)
        return q1.detach(), q2.detach()
    assert checks.step07(step07_target_q, seed=4)


MUTATIONS = {
    "online critic": ({RIGHT: "agent.critic(batch.s_next, a_tilde)"}, "ONLINE critic"),
    "a' without noise (recomputed)": (
        {RIGHT: "agent.critic_target(batch.s_next, agent.actor_target(batch.s_next))"},
        "without the smoothing noise"),
    "the stored action a": ({RIGHT: "agent.critic_target(batch.s_next, batch.a)"}, "stored action"),
    "s instead of s_next": ({RIGHT: "agent.critic_target(batch.s, a_tilde)"}, "current states"),
    "swapped arguments": ({RIGHT: "agent.critic_target(a_tilde, batch.s_next)"}, "swapped arguments"),
    "returns the min already (step 8)": ({RIGHT: "torch.min(*" + RIGHT + ")"}, "step 8"),
    "Q1 head only": ({RIGHT: "agent.critic_target.Q1(batch.s_next, a_tilde)"}, "one tensor"),
    "no torch.no_grad(): a graph through the target": (
        {"with torch.no_grad():": "if True:"}, "gradient graph"),
    "heads in the wrong order": ({RIGHT: RIGHT + "[::-1]"}, "wrong order"),
    "the same head twice": ({RIGHT: "(lambda q: (q[0], q[0]))(" + RIGHT + ")"}, "same head"),
    "syncs the target critic first": (
        {"return " + RIGHT: "agent.critic_target.load_state_dict(agent.critic.state_dict())\n"
                            "        return " + RIGHT}, "changed the weights"),
    "forgot return": ({"return " + RIGHT: RIGHT}, "return"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step07_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, replace, expected)


def test_step07_unfilled_exercise_says_not_implemented():
    def step07_target_q(agent, batch, a_tilde):
        raise NotImplementedError("Step 7: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step07(step07_target_q)


def test_step07_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step07(lambda critic_target, s_next, a_tilde: critic_target(s_next, a_tilde))
