"""Step 12's check: passes the solution, and names each classic mistake injected into it."""

import pytest

from td3_teach import checks
from notebook_code import assert_names_the_mistake, exercise_namespace

NB = "12_critic_update.ipynb"
ZERO = "critic_optimizer.zero_grad()\n"
BACKWARD = "critic_loss.backward()\n"
STEP = "critic_optimizer.step()\n"
BODY = f"    {ZERO}    {BACKWARD}    {STEP}"


def run_check(ns, seed=0):
    return checks.step12(ns["step12_critic_update"], seed=seed)


def body(*lines):
    return {BODY: "".join(f"    {line}" for line in lines)}


def test_step12_check_passes_the_solution():
    assert run_check(exercise_namespace(NB)).text().startswith("Step 12 ✓")


@pytest.mark.parametrize("seed", [1, 2, 3, 17])
def test_step12_check_passes_the_solution_on_other_seeds(seed):
    assert run_check(exercise_namespace(NB), seed=seed)


def test_step12_check_passes_set_to_none_false():
    assert run_check(exercise_namespace(NB, {"zero_grad()": "zero_grad(set_to_none=False)"}))


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


@pytest.mark.parametrize("name", MUTATIONS)
def test_step12_check_names_the_mistake(name):
    replace, expected = MUTATIONS[name]
    assert_names_the_mistake(run_check, exercise_namespace(NB, replace), expected)


def test_step12_lecture_typo_is_named_as_a_known_bug():
    with pytest.raises(checks.CheckFailed) as info:
        run_check(exercise_namespace(NB, {"zero_grad()": "zero.grad()"}))
    assert "lecture" in info.value.bug


def test_step12_unfilled_exercise_says_not_implemented():
    def step12_critic_update(critic_optimizer, critic_loss):
        raise NotImplementedError("Step 12: this is your exercise.")
    with pytest.raises(checks.NotImplementedYet, match="not implemented yet"):
        checks.step12(step12_critic_update)


def test_step12_wrong_signature_is_reported():
    with pytest.raises(checks.CheckFailed, match="signature"):
        checks.step12(lambda loss, optimizer: None)
