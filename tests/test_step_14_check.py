"""Step 14's check: passes the solution, and names each classic mistake injected into it."""

import pytest

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "14_15_polyak_averaging.ipynb"
COPY = "target_param.copy_(tau * param + (1 - tau) * target_param)"
ZIP = "zip(actor.parameters(), actor_target.parameters())"


def run_check(ns, seed=0):
    return checks.step14(ns["step14_update_actor_target"], seed=seed)


def mutate(old, new):
    """Apply old -> new to step 14's function only (step 15's cell has the same update line)."""
    cell = (f"        for param, target_param in {ZIP}:\n            {COPY}\n")
    return {cell: cell.replace(old, new)}


def test_step14_check_passes_the_solution():
    assert run_check(exercise_namespace(NB)).text().startswith("Step 14 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_step14_check_passes_the_solution_on_other_seeds(seed):
    assert run_check(exercise_namespace(NB), seed=seed)


@pytest.mark.parametrize("update", ["target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)",
                                    "target_param.lerp_(param, tau)",
                                    "target_param.mul_(1 - tau).add_(tau * param)"])
def test_step14_check_passes_other_correct_updates(update):
    assert run_check(exercise_namespace(NB, mutate(COPY, update)))


MUTATIONS = {
    "tau and 1 - tau swapped": (mutate(COPY, "target_param.copy_((1 - tau) * param + tau * target_param)"),
                                "swapped"),
    "the lecture's .copy_ = assignment": (mutate(COPY, "target_param.data.copy_ = tau * param.data + "
                                                 "(1 - tau) * target_param.data"), ".copy_ = ..."),
    "hard copy": (mutate(COPY, "target_param.copy_(param)"), "hard copy"),
    "the online network updated instead": (mutate(COPY, "param.copy_(tau * target_param + (1 - tau) * param)"),
                                           "wrong network moved"),
    "only some parameters (the last layer forgotten)": (
        mutate(ZIP, "list(zip(actor.parameters(), actor_target.parameters()))[:-2]"), "only some parameters"),
    "only the weights, not the biases": (
        mutate(ZIP, "zip([p for n, p in actor.named_parameters() if 'weight' in n], "
                    "[p for n, p in actor_target.named_parameters() if 'weight' in n])"), "bias"),
    "recorded by autograd (no torch.no_grad())": ({"    with torch.no_grad():\n        for param, target_param "
                                                   f"in {ZIP}:": f"    if True:\n        for param, target_param in {ZIP}:"},
                                                  "autograd graph"),
    "rebinding the loop variable": (mutate(COPY, "target_param = tau * param + (1 - tau) * target_param"),
                                    "did not change at all"),
    "tau hard-coded to 0.005": (mutate(COPY, "target_param.copy_(0.005 * param + (1 - 0.005) * target_param)"),
                                "hard-coded"),
    "both networks moved toward each other": (
        mutate(COPY, f"new = tau * param + (1 - tau) * target_param\n            param.copy_(new)\n"
                     f"            target_param.copy_(new)"), "changed `actor`"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_step14_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, exercise_namespace(NB, replace), expected)


def test_step14_copy_assignment_is_named_as_the_lecture_bug():
    with pytest.raises(checks.CheckFailed) as info:
        run_check(exercise_namespace(NB, MUTATIONS["the lecture's .copy_ = assignment"][0]))
    assert "lecture" in info.value.bug


def test_step14_in_place_update_of_a_lecture_target_needs_no_grad():
    """Without no_grad, a target whose parameters require grad cannot be written in place."""
    def step14_update_actor_target(actor, actor_target, tau):
        for param, target_param in zip(actor.parameters(), actor_target.parameters()):
            if target_param.requires_grad:
                target_param.copy_(tau * param + (1 - tau) * target_param)
            else:
                target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)
    with pytest.raises(checks.CheckFailed, match="no_grad"):
        checks.step14(step14_update_actor_target)


def test_step14_unfilled_exercise_says_not_implemented():
    def step14_update_actor_target(actor, actor_target, tau):
        raise NotImplementedError("Steps 14-15: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step14(step14_update_actor_target)


def test_step14_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step14(lambda actor_target, actor, tau: None)
