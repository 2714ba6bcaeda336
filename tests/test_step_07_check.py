"""Step 7's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from td3_teach import checks

RIGHT = "agent.critic_target(batch.s_next, a_tilde)"


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
