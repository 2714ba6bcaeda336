"""Check for TD3 step 7 of 15: both target critics value (s', a~), without a gradient graph."""

from __future__ import annotations

from typing import Callable

import torch

from ._core import CheckFailed, CheckPassed, as_tensor, call_learner, expect_close, expect_shape, \
    require_callable
from ._predictions import check_inputs
from ._seeded import randint, seeded, size_generator
from ._stand_in_agent import StandInAgent, stand_in_batch

STEP = 7
RIGHT = {"s_next": "the target values the NEXT state.",
         "a_tilde": "the smoothed action of step 6 is the one valued, not a' and not a.",
         "critic_target": "the slow target copies build y; the online critic is what y trains."}
WRONG = {"s": "the current state is for the prediction side (step 10), not for the target.",
         "a": "the stored action was taken in s; in s' the target policy's (smoothed) action "
              "is valued.",
         "actor_target": "it already did its part in step 5: a~ is handed to step 7 ready-made.",
         "actor": "no actor takes part in step 7.",
         "critic": "the online critic is trained toward y; built from it, y would move with "
                   "every critic update.",
         "r": "the reward enters only in step 9.", "terminated": "the flag enters only in step 9."}
MAX_ACTIONS = (0.5, 1.0, 2.0)


def step07(step07_target_q: Callable, step07_prediction: Callable | None = None,
           seed: int = 0) -> CheckPassed:
    """Check ``step07_target_q(agent, batch, a_tilde) -> (q1_next, q2_next)``, each (B, 1): both
    heads of the TARGET critic on (s_next, a_tilde), no gradient graph. ``seed`` varies sizes and
    networks (graders use other seeds). With ``step07_prediction() -> set of input names``, also
    the notebook's prediction: which inputs change (Q1', Q2')."""
    fn = step07_target_q
    require_callable(STEP, fn, "step07_target_q", ["agent", "batch", "a_tilde"])
    g = size_generator(seed, salt=STEP)
    S, A, B = randint(g, 2, 9), randint(g, 1, 4), randint(g, 4, 20)
    if S == A:
        S += 1
    m = MAX_ACTIONS[randint(g, 0, len(MAX_ACTIONS) - 1)]
    with seeded(seed):
        agent = StandInAgent(S, A, m)
        batch = stand_in_batch(B, S, A, m)
        with torch.no_grad():
            a_next = agent.actor_target(batch.s_next)
            a_tilde = (a_next + (0.2 * m * torch.randn_like(a_next)).clamp(-0.5 * m, 0.5 * m)).clamp(-m, m)
        before = agent.snapshot()
        what = "step07_target_q(agent, batch, a_tilde)"
        out = call_learner(STEP, what, fn, agent, batch, a_tilde.clone())
        with torch.no_grad():
            q1_t, q2_t = agent.critic_target(batch.s_next, a_tilde)
        if out is None:
            raise CheckFailed(STEP, f"{what} returned None.", hint="Did you forget the `return`?")
        if isinstance(out, torch.Tensor):
            if tuple(out.shape) == (B, 1) and torch.allclose(out.detach(), torch.min(q1_t, q2_t), atol=1e-5):
                raise CheckFailed(STEP, f"{what} returned one tensor, the minimum of the two target "
                                  "values: that is step 8.",
                                  hint="Return both values, (q1_next, q2_next); step 8 takes their "
                                  "minimum.")
            raise CheckFailed(STEP, f"{what} returned one tensor of shape {tuple(out.shape)}; expected "
                              f"the pair (q1_next, q2_next), each ({B}, 1).",
                              why="Clipped double Q-learning needs both target heads (step 8 takes "
                              "their minimum); critic_target.Q1 gives head 1 only.",
                              hint="The target critic's forward returns both heads.")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise CheckFailed(STEP, f"{what} returned {type(out).__name__}"
                              f"{f' of {len(out)} items' if isinstance(out, (tuple, list)) else ''}; "
                              f"expected the pair (q1_next, q2_next), each ({B}, 1).")
        q1, q2 = (as_tensor(STEP, q, name) for q, name in zip(out, ("q1_next", "q2_next")))
        for q, name in ((q1, "q1_next"), (q2, "q2_next")):
            expect_shape(STEP, q, (B, 1), name, why="One target value per transition.")
        if q1.requires_grad or q2.requires_grad:
            raise CheckFailed(STEP, "The target values carry a gradient graph (requires_grad=True).",
                              why="They only build the regression target y (step 9); no gradient may "
                              "reach the target critics, which move by Polyak averaging (step 15).",
                              hint="Compute them inside `with torch.no_grad():`.")
        changed = agent.changed(before)
        if changed:
            raise CheckFailed(STEP, f"{what} changed the weights of agent.{changed}.",
                              hint="Step 7 only reads the networks.")
        q1, q2 = q1.detach(), q2.detach()
        with torch.no_grad():
            def both(x: tuple[torch.Tensor, torch.Tensor]) -> bool:
                return torch.allclose(q1, x[0], atol=1e-5) and torch.allclose(q2, x[1], atol=1e-5)

            if not both((q1_t, q2_t)):
                wrong = [
                    (agent.critic(batch.s_next, a_tilde), "the ONLINE critic (agent.critic), not the "
                     "target critic", "The target must move slowly: the online critics change with "
                     "every update (step 12); built from them, y chases the very values it trains.",
                     "Use agent.critic_target."),
                    (agent.critic_target(batch.s_next, a_next), "a' without the smoothing noise: you "
                     "recomputed the target actor's action instead of using a_tilde",
                     "Step 6's noise is what smooths the target (paper, Section 5.3); valuing the "
                     "noise-free a' drops target policy smoothing.", "Value the a_tilde you are given."),
                    (agent.critic_target(batch.s_next, batch.a), "the stored action batch.a",
                     "The target values the NEXT state with the action the target policy would take "
                     "there (smoothed): a~, not the action that was taken in s.",
                     "Use a_tilde."),
                    (agent.critic_target(batch.s, a_tilde), "the current states batch.s",
                     "The target values the next state s', where the stored transition led.",
                     "Use batch.s_next."),
                    (agent.critic_target(a_tilde, batch.s_next), "swapped arguments: "
                     "critic_target(a_tilde, s_next)",
                     "The critic concatenates [s, a]: with the arguments swapped, each weight meets "
                     "the wrong input and the values mean nothing (no error is raised when the "
                     "sizes add up).", "critic_target(state, action), in that order."),
                ]
                for values, problem, why, hint in wrong:
                    if both(values):
                        raise CheckFailed(STEP, f"The target values were computed with {problem}.",
                                          why=why, hint=hint)
                if both((q2_t, q1_t)):
                    raise CheckFailed(STEP, "The pair is in the wrong order: (Q2', Q1').",
                                      hint="Return the heads in the critic's order: q1 first.")
                if both((q1_t, q1_t)) or both((q2_t, q2_t)):
                    raise CheckFailed(STEP, "Both returned values come from the same head.",
                                      why="Clipped double Q-learning needs both target heads.",
                                      hint="The target critic's forward returns both heads.")
            expect_close(STEP, q1, q1_t, "q1_next", hint="q1_next, q2_next = "
                         "the target critic on (s_next, a_tilde).")
            expect_close(STEP, q2, q2_t, "q2_next")
    predicted = "" if step07_prediction is None else check_inputs(
        STEP, step07_prediction, "(Q1', Q2')", RIGHT, WRONG)
    return CheckPassed(STEP, f"twin target Q: both heads of critic_target on (s_next, a~), each "
                       f"({B}, 1), no gradient graph." + predicted)
