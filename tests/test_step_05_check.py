"""Step 5's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks

RIGHT = "return agent.actor_target(batch.s_next)"


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
