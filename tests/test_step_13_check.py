"""Step 13's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from step_contracts import run, solution

LOSS = "actor_loss = -critic.Q1(s, actor(s)).mean()"
ZERO = "    actor_optimizer.zero_grad()\n"
STEP = "actor_optimizer.step()\n"


def test_step13_check_passes_the_package_way_with_a_frozen_critic():
    block = f"{LOSS}\n{ZERO}    actor_loss.backward()\n"
    frozen = "with update.frozen(critic):\n" + "".join(f"        {line.strip()}\n" for line in block.splitlines())
    ns = solution(13, {block: frozen})
    ns["update"] = __import__("td3_teach.update", fromlist=["update"])
    assert run(13, ns)


def test_step13_check_passes_the_first_head_of_forward():
    assert run(13, solution(13, {LOSS: "actor_loss = -critic(s, actor(s))[0].mean()"}))


MUTATIONS = {
    "missing minus sign (the lecture notes)": ({LOSS: LOSS.replace("= -", "= ")}, "minus sign is missing"),
    "backward on the negated loss (descends Q1)": ({"actor_loss.backward()": "(-actor_loss).backward()"},
                                                   "went down"),
    "Q2 instead of Q1": ({LOSS: "actor_loss = -critic(s, actor(s))[1].mean()"}, "uses Q2"),
    "min(Q1, Q2) in the actor loss": ({LOSS: "actor_loss = -torch.min(*critic(s, actor(s))).mean()"},
                                      "min(Q1, Q2)"),
    "average of the two critics": ({LOSS: "actor_loss = -(sum(critic(s, actor(s))) / 2).mean()"}, "averages"),
    "sum over the batch": ({LOSS: "actor_loss = -critic.Q1(s, actor(s)).sum()"}, "sums"),
    "the action detached (like the stored action a: no gradient into the actor)":
        ({LOSS: "actor_loss = -critic.Q1(s, actor(s).detach()).mean()"}, "no gradient reached the actor"),
    "the lecture's grad_zero() typo": ({"zero_grad()": "grad_zero()"}, "grad_zero()"),
    "the lecture's steo() typo": ({STEP: "actor_optimizer.steo()\n"}, "steo()"),
    "missing zero_grad": ({ZERO: ""}, "zero_grad() is missing"),
    "missing backward (the lecture notes)": ({"    actor_loss.backward()\n": ""}, "backward()` is never called"),
    "missing step": ({"    " + STEP: ""}, "never called"),
    "the critic stepped by the actor's loss": (
        {"    " + STEP: "    " + STEP + "    torch.optim.SGD(critic.parameters(), lr=0.1).step()\n"},
        "critic's weights changed"),
    "the critic optimizer used": ({"    " + STEP: "    " + STEP + "    critic_optimizer.step()\n"},
                                  "critic is trained on its own loss"),
    "the target actor": ({"actor(s)": "actor_target(s)"}, "targets only move by polyak"),
    "critic frozen and never unfrozen": ({LOSS: "critic.requires_grad_(False)\n    " + LOSS},
                                         "no longer require grad"),
    "returned .item()": ({"return actor_loss.detach()": "return actor_loss.item()"}, "float"),
    "forgot return": ({"return actor_loss.detach()": "pass"}, "returned None"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {name: "lecture" for name in ("missing minus sign (the lecture notes)", "the lecture's grad_zero() typo",
                                "the lecture's steo() typo")}
