"""Step 15's check: the classic mistakes it names (MUTATIONS, BUGS), in the critic-target update
and in the delayed block (steps 13-15 only every policy_freq iterations), and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks
from step_contracts import polyak_mutations, solution

ZIP = "zip(critic.parameters(), critic_target.parameters())"
mutate, SHARED = polyak_mutations(ZIP, online="critic")  # the mistakes step 14 names too
IF = "    if iteration % policy_freq == 0:\n"
S13 = "step13_actor_update(agent.actor, agent.critic, agent.actor_optimizer, s)\n"
S14 = "step14_update_actor_target(agent.actor, agent.actor_target, tau)\n"
S15 = "step15_update_critic_target(agent.critic, agent.critic_target, tau)\n"
BLOCK = f"{IF}        {S13}        {S14}        {S15}"


def block(*lines):
    """The delayed block rewritten: each line given with its own indentation."""
    return {BLOCK: "".join(lines)}


def test_step15_check_runs_without_the_delayed_block():
    text = checks.step15(solution(15)["step15_update_critic_target"]).text()
    assert "delayed block" not in text


def test_step15_check_passes_the_package_functions():
    from td3_teach import update
    ns = solution(15)
    ns["step14_update_actor_target"] = update.step14_update_actor_target
    assert checks.step15(update.step15_update_critic_target, ns["delayed_updates"])


MUTATIONS = {
    # the critic-target update itself
    **SHARED,
    "only the first head's target (layers 1-3)": (
        mutate(ZIP, "list(zip(critic.parameters(), critic_target.parameters()))[:6]"), "layer_4.weight"),
    # the delayed block
    "targets updated every iteration (the lecture's listing)":
        (block(IF, f"        {S13}", f"    {S14}", f"    {S15}"), "not a delayed one"),
    "actor updated every iteration": (block(f"    {S13}", IF, f"        {S14}", f"        {S15}"),
                                      "the actor moved at iteration 1"),
    "off by one (iteration counted from 0)": ({"if iteration % policy_freq == 0:":
                                               "if (iteration - 1) % policy_freq == 0:"}, "not a delayed one"),
    "condition inverted": ({"if iteration % policy_freq == 0:": "if iteration % policy_freq != 0:"},
                           "not a delayed one"),
    "critic target forgotten (step 15 missing)": (block(IF, f"        {S13}", f"        {S14}"),
                                                  "critic_target did not move"),
    "actor target forgotten (step 14 missing)": (block(IF, f"        {S13}", f"        {S15}"),
                                                 "actor_target did not move"),
    "targets before the actor": (block(IF, f"        {S14}", f"        {S15}", f"        {S13}"),
                                 "before this iteration's actor update"),
    "actor never updated": (block(IF, f"        {S14}", f"        {S15}"), "actor was not updated"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"targets updated every iteration (the lecture's listing)": ("lecture", "policy_freq")}
