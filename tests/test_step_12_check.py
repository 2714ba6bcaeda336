"""Step 12's check: the classic mistakes it names (MUTATIONS, BUGS) and what only this step's
check does; the contract every check keeps is tests/test_step_check_contract.py."""


from step_contracts import run, solution

ZERO = "critic_optimizer.zero_grad()\n"
BACKWARD = "critic_loss.backward()\n"
STEP = "critic_optimizer.step()\n"
BODY = f"    {ZERO}    {BACKWARD}    {STEP}"


def body(*lines):
    return {BODY: "".join(f"    {line}" for line in lines)}


def test_step12_check_passes_set_to_none_false():
    assert run(12, solution(12, {"zero_grad()": "zero_grad(set_to_none=False)"}))


MUTATIONS = {
    "the lecture's zero.grad() typo": ({"zero_grad()": "zero.grad()"}, "zero.grad()"),
    "missing zero_grad (gradients accumulate)": (body(BACKWARD, STEP), "accumulate"),
    "zero_grad after step": (body(BACKWARD, STEP, ZERO), "after backward"),
    "step before backward": (body(ZERO, STEP, BACKWARD), "before `backward()`"),
    "step before backward, no zero_grad": (body(STEP, BACKWARD), "step() runs before backward()"),
    "missing step": (body(ZERO, BACKWARD), "never called"),
    "backward twice": (body(ZERO, BACKWARD, BACKWARD, STEP), "twice"),
    "backward twice with retain_graph": (body(ZERO, "critic_loss.backward(retain_graph=True)\n",
                                              BACKWARD, STEP), "2 times"),
    "step twice": (body(ZERO, BACKWARD, STEP, STEP), "step() is called more than once"),
    "no backward": (body(ZERO, STEP), "no gradient was computed"),
    "a typo in step": ({"critic_optimizer.step()": "critic_optimizer.setp()"}, "did you mean `step`"),
}
# mutation name -> the words CheckFailed.bug must hold
BUGS = {"the lecture's zero.grad() typo": "lecture"}
