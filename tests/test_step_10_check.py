"""Step 10's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from step_contracts import run, solution


def test_step10_check_passes_critic_forward_and_a_list():
    ns = solution(10, {"q1, q2 = critic(s, a)": "q1, q2 = critic.forward(s, a)",
                                 "return q1, q2": "return [q1, q2]"})
    assert run(10, ns)


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
