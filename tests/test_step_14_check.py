"""Step 14's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""

import pytest

from td3_teach import checks
from step_contracts import run, solution

COPY = "target_param.copy_(tau * param + (1 - tau) * target_param)"
ZIP = "zip(actor.parameters(), actor_target.parameters())"


def mutate(old, new):
    """Apply old -> new to step 14's function only (step 15's cell has the same update line)."""
    cell = (f"        for param, target_param in {ZIP}:\n            {COPY}\n")
    return {cell: cell.replace(old, new)}


@pytest.mark.parametrize("update", ["target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)",
                                    "target_param.lerp_(param, tau)",
                                    "target_param.mul_(1 - tau).add_(tau * param)"])
def test_step14_check_passes_other_correct_updates(update):
    assert run(14, solution(14, mutate(COPY, update)))


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
        mutate(COPY, "new = tau * param + (1 - tau) * target_param\n            param.copy_(new)\n"
                     "            target_param.copy_(new)"), "changed `actor`"),
}
BUGS = {"the lecture's .copy_ = assignment": "lecture"}  # mutation -> what CheckFailed.bug names


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
