"""Step 14's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""

import pytest

from td3_teach import checks
from step_contracts import POLYAK as COPY, polyak_mutations, run, solution

ZIP = "zip(actor.parameters(), actor_target.parameters())"
mutate, SHARED = polyak_mutations(ZIP, online="network")  # the mistakes step 15 names too


@pytest.mark.parametrize("update", ["target_param.data.copy_(tau * param.data + (1 - tau) * target_param.data)",
                                    "target_param.lerp_(param, tau)",
                                    "target_param.mul_(1 - tau).add_(tau * param)"])
def test_step14_check_passes_other_correct_updates(update):
    assert run(14, solution(14, mutate(COPY, update)))


MUTATIONS = {
    **SHARED,
    "only some parameters (the last layer forgotten)": (
        mutate(ZIP, "list(zip(actor.parameters(), actor_target.parameters()))[:-2]"), "only some parameters"),
    "only the weights, not the biases": (
        mutate(ZIP, "zip([p for n, p in actor.named_parameters() if 'weight' in n], "
                    "[p for n, p in actor_target.named_parameters() if 'weight' in n])"), "bias"),
    "rebinding the loop variable": (mutate(COPY, "target_param = tau * param + (1 - tau) * target_param"),
                                    "did not change at all"),
    "tau hard-coded to 0.005": (mutate(COPY, "target_param.copy_(0.005 * param + (1 - 0.005) * target_param)"),
                                "hard-coded"),
    "both networks moved toward each other": (
        mutate(COPY, "new = tau * param + (1 - tau) * target_param\n            param.copy_(new)\n"
                     "            target_param.copy_(new)"), "changed `actor`"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"the lecture's .copy_ = assignment": "lecture"}


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
