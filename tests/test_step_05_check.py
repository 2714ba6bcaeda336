"""Step 5's check: passes the solution, and names each classic mistake injected into it."""

import pytest
import torch

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "05_target_action.ipynb"
RIGHT = "return agent.actor_target(batch.s_next)"


def run_check(replace=None, seed=0):
    return checks.step05(exercise_namespace(NB, replace)["step05_target_action"], seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_step05_check_passes_the_solution(seed):
    assert run_check(seed=seed).text().startswith("Step 5 ✓")


def test_step05_check_accepts_detach_instead_of_no_grad():
    assert checks.step05(lambda agent, batch: agent.actor_target(batch.s_next).detach())


MUTATIONS = {
    "online actor": ({RIGHT: "return agent.actor(batch.s_next)"}, "ONLINE actor"),
    "s instead of s_next": ({RIGHT: "return agent.actor_target(batch.s)"}, "batch.s, the current"),
    "online actor on s": ({RIGHT: "return agent.actor(batch.s)"}, "instead of s_next"),
    "no torch.no_grad(): a graph through the target": (
        {"with torch.no_grad():": "if True:"}, "gradient graph"),
    "agent.select_action (online, numpy)": (
        {RIGHT: "return agent.select_action(batch.s_next.numpy())"}, "select_action"),
    "noise added already (step 6's job)": (
        {RIGHT: "a_next = agent.actor_target(batch.s_next)\n"
                "        return a_next + 0.2 * torch.randn_like(a_next)"}, "step 6"),
    "syncs the target with the actor first": (
        {RIGHT: "agent.actor_target.load_state_dict(agent.actor.state_dict())\n        " + RIGHT},
        "changed the weights of agent.actor_target"),
    "forgot return": ({RIGHT: "agent.actor_target(batch.s_next)"}, "return"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step05_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, replace, expected)


def test_step05_check_leaves_the_learners_rng_alone():
    fn = exercise_namespace(NB)["step05_target_action"]
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    checks.step05(fn)
    assert torch.equal(torch.rand(3), expected)


def test_step05_unfilled_exercise_says_not_implemented():
    def step05_target_action(agent, batch):
        raise NotImplementedError("Step 5: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step05(step05_target_action)


def test_step05_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step05(lambda actor_target, s_next: actor_target(s_next))
