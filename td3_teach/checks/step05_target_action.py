"""Check for TD3 step 5 of 15: the target actor plays a' = mu'(s'), without a gradient graph."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._core import CheckFailed, CheckPassed, as_tensor, call_learner, expect_close, expect_shape, \
    require_callable
from ._predictions import check_inputs
from ._seeded import randint, seeded, size_generator
from ._stand_in_agent import StandInAgent, stand_in_batch

STEP = 5
RIGHT = {"s_next": "a' is chosen in the state the transition led to.",
         "actor_target": "a' is the slowly moving copy's choice, not the online actor's."}
WRONG = {"s": "the current state was the online actor's business when the transition was "
              "collected; the target values what comes next.",
         "actor": "the online actor changes at every delayed update; a target built from it "
                  "would chase its own tail.",
         "a": "the stored action was taken in s; a' is a fresh choice in s'.",
         "r": "the reward enters only in step 9.", "terminated": "the flag enters only in step 9.",
         "a_tilde": "a~ is made FROM a', in step 6.",
         "critic": "no critic takes part in choosing an action.",
         "critic_target": "no critic takes part in choosing an action; the target critics value "
                          "it afterwards (step 7)."}
MAX_ACTIONS = (0.5, 1.0, 2.0, 3.0)


def step05(step05_target_action: Callable, step05_prediction: Callable | None = None,
           seed: int = 0) -> CheckPassed:
    """Check ``step05_target_action(agent, batch) -> a_next`` (B, action_dim): the TARGET actor on
    the NEXT states, deterministic, under no_grad. ``seed`` varies sizes and networks. With
    ``step05_prediction() -> set of input names``, also the notebook's prediction: which inputs
    change a'."""
    fn = step05_target_action
    require_callable(STEP, fn, "step05_target_action", ["agent", "batch"])
    g = size_generator(seed, salt=STEP)
    S, A, B = randint(g, 2, 9), randint(g, 1, 4), randint(g, 4, 20)
    max_action = MAX_ACTIONS[randint(g, 0, len(MAX_ACTIONS) - 1)]
    with seeded(seed):
        agent = StandInAgent(S, A, max_action)
        batch = stand_in_batch(B, S, A, max_action)
        before = agent.snapshot()
        what = "step05_target_action(agent, batch)"
        out = call_learner(STEP, what, fn, agent, batch)
        if isinstance(out, np.ndarray):
            raise CheckFailed(STEP, f"{what} returned a numpy array; expected a torch.Tensor.",
                              why="agent.select_action is for acting in the environment: it uses "
                              "the ONLINE actor and returns numpy. The target needs the target "
                              "actor's action as a tensor, for the target critics in step 7.",
                              hint="Call the target actor network itself on the next states.")
        a_next = as_tensor(STEP, out, "the result a'")
        expect_shape(STEP, a_next, (B, A), "a'", why="One next action per transition of the batch.")
        if a_next.requires_grad:
            raise CheckFailed(STEP, "a' carries a gradient graph (requires_grad=True).",
                              why="a' only builds the regression target y; no gradient may flow "
                              "into the target actor (it moves by Polyak averaging, step 14), and "
                              "a graph kept for nothing costs memory and time.",
                              hint="Compute a' inside `with torch.no_grad():`.")
        changed = agent.changed(before)
        if changed:
            raise CheckFailed(STEP, f"{what} changed the weights of agent.{changed}.",
                              why="The target actor moves only by Polyak averaging (step 14), a "
                              "little per delayed update; copied from the actor here, it would be "
                              "the online actor again." if changed == "actor_target" else "",
                              hint="Step 5 only reads the networks.")
        again = as_tensor(STEP, call_learner(STEP, what, fn, agent, batch), "a'")
        with torch.no_grad():
            if not torch.equal(again, a_next):
                raise CheckFailed(STEP, "Two calls with the same agent and batch gave different a'.",
                                  why="Step 5 is deterministic: a' = mu'(s'). The random "
                                  "smoothing noise is step 6's job, added to a' afterwards.",
                                  hint="Return the target actor's output as it is.")
            want = agent.actor_target(batch.s_next)
            online_next, target_s, online_s = (agent.actor(batch.s_next), agent.actor_target(batch.s),
                                               agent.actor(batch.s))

            def close(x: torch.Tensor) -> bool:
                return torch.allclose(a_next, x, atol=1e-6)

            if not close(want):
                if close(online_next) or close(online_s):
                    raise CheckFailed(STEP, "a' was computed by the ONLINE actor (agent.actor), not "
                                      "the target actor" + (", and on s instead of s_next." if
                                                            close(online_s) else "."),
                                      why="The Bellman target must move slowly: the online actor "
                                      "changes with every delayed update, the target actor only "
                                      "by Polyak averaging (paper, Section 5.2). Built from the "
                                      "online actor, the target chases its own tail.",
                                      hint="Use agent.actor_target.")
                if close(target_s):
                    raise CheckFailed(STEP, "a' was computed on batch.s, the current states.",
                                      why="The target values what happens NEXT: the action the "
                                      "target policy would take in s', the state the stored "
                                      "transition led to.", hint="Use batch.s_next.")
                if close(want.clamp(-1, 1)) or close(want / max_action):
                    raise CheckFailed(STEP, "a' is the target actor's action rescaled or clipped "
                                      "to [-1, 1].", hint="The actor already outputs actions in "
                                      "[-max_action, max_action]: return its output unchanged.")
            expect_close(STEP, a_next, want, "a'", atol=1e-6,
                         hint=("a' is the target actor's own output in the next states.",
                               "Call the agent's target actor network on the batch's next states "
                               "and return what it gives, unchanged."))
    predicted = "" if step05_prediction is None else check_inputs(
        STEP, step05_prediction, "a'", RIGHT, WRONG)
    return CheckPassed(STEP, f"target action: a' = actor_target(s_next), shape ({B}, {A}), "
                       "deterministic, no gradient graph." + predicted)
