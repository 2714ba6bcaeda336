"""Check for TD3 step 10 of 15: both online critics value the stored pair, Q1(s, a) and Q2(s, a)."""

from __future__ import annotations

from typing import Callable

import torch

from ._core import CheckFailed, CheckPassed, as_tensor, expect_close, expect_shape, require_callable
from ._predictions import check_inputs
from ._code_facts import fail_if_uses
from ._seeded import input_generator, seeded, sizes
from ._update_helpers import call_update, changed, close, snapshot
from ..networks import Critic

STEP = 10
RIGHT = {"s": "the prediction is about the transition that really happened, from s.",
         "a": "the action really taken in s, straight from the replay buffer.",
         "critic": "the online critic is the one being trained: its prediction is what moves."}
WRONG = {"s_next": "the next state belongs to the target side (steps 5 to 9).",
         "a_tilde": "a~ is the target's smoothed action in s', not the action taken in s.",
         "critic_target": "the target critic only builds y; trained, it would no longer be slow.",
         "actor": "the stored action is used as it was taken; the actor's own choice is step 13's.",
         "actor_target": "the target actor works only on the target side (step 5).",
         "r": "the reward is part of y (step 9), not of the prediction.",
         "terminated": "the flag is part of y (step 9), not of the prediction."}
_TARGET = ("Step 10 values the stored pair with the ONLINE critic, the one the optimizer trains in "
           "step 12. The target critic only builds y (steps 7-9) and takes no gradient.",
           "Use the `critic` argument; nothing else.")
_ACTOR = ("Step 10 values the action that was actually taken, `a`, stored in the replay buffer. "
          "A new action from an actor (a' or a~) belongs to the target (steps 5-7).",
          "Use the `a` argument as it is.")
FORBIDDEN = {"critic_target": _TARGET, "actor_target": _ACTOR, "actor": _ACTOR}


def step10(step10_current_q: Callable, step10_prediction: Callable | None = None,
           seed: int = 0) -> CheckPassed:
    """Check ``step10_current_q(critic, s, a) -> (q1, q2)``, each (B, 1), with gradients into the
    critic's two heads. ``seed`` varies the sizes and the critic (graders use other seeds). With
    ``step10_prediction() -> set of input names``, also the notebook's prediction: which inputs
    change (q1, q2)."""
    fn = step10_current_q
    require_callable(STEP, fn, "step10_current_q", ["critic", "s", "a"])
    fail_if_uses(STEP, fn, "step10_current_q", FORBIDDEN)
    sz = sizes(seed)
    B = sz.B
    with seeded(seed):
        critic = Critic(sz.state_dim, sz.action_dim)
    g = input_generator(seed, STEP)
    s = torch.randn(B, sz.state_dim, generator=g)
    a = (torch.rand(B, sz.action_dim, generator=g) * 2 - 1) * sz.max_action
    s_in, a_in = s.clone(), a.clone()
    with torch.no_grad():  # the references, before the learner's code can touch the critic
        q1_ref, q2_ref = critic(s, a)
        q1_swapped_inputs, q2_swapped_inputs = critic(a, s)
        q1_head = critic.Q1(s, a)
    weights = snapshot(critic)
    what = f"step10_current_q(critic, s {tuple(s.shape)}, a {tuple(a.shape)})"
    out = call_update(STEP, what, fn, critic, s_in, a_in)

    # Types and shapes.
    if out is None:
        raise CheckFailed(STEP, "Your function returned None.", hint="Did you forget `return`?")
    if isinstance(out, torch.Tensor):
        if close(out, torch.min(q1_ref, q2_ref)):
            raise CheckFailed(STEP, "You returned min(Q1, Q2): one tensor instead of the pair.",
                              why="The minimum belongs to the TARGET (step 8). Here each critic "
                              "needs its own prediction, because each one is trained toward y "
                              "(step 11).", hint="Return both Q-values, as a tuple (q1, q2).")
        if tuple(out.shape) == (B, 2):
            raise CheckFailed(STEP, f"You returned one tensor of shape ({B}, 2): the two Q-values "
                              "concatenated.", why="Steps 11 and 12 treat Q1 and Q2 separately "
                              "(two losses, one per head).", hint="Return them as a tuple (q1, q2).")
        raise CheckFailed(STEP, f"You returned one tensor of shape {tuple(out.shape)}; expected a "
                          f"pair (q1, q2), each ({B}, 1).",
                          why="TD3 trains BOTH critics: each needs its own Q(s, a).",
                          hint="The critic's forward returns both heads.")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(STEP, f"You returned a {type(out).__name__}"
                          f"{f' of {len(out)} items' if isinstance(out, (tuple, list)) else ''}; "
                          "expected a pair (q1, q2).")
    q1, q2 = as_tensor(STEP, out[0], "q1"), as_tensor(STEP, out[1], "q2")
    for name, q in (("q1", q1), ("q2", q2)):
        expect_shape(STEP, q, (B, 1), name, why="One Q-value per transition, lined up with y (B, 1).",
                     hint="No squeeze() here: (B,) against (B, 1) broadcasts in step 11.")

    # Invariants: gradients into the right heads, inputs untouched, no randomness.
    if not (q1.requires_grad and q2.requires_grad):
        raise CheckFailed(STEP, "The Q-values carry no gradient.",
                          why="Step 11's loss must flow back through Q1(s, a) and Q2(s, a) into the "
                          "critic's weights; a detached prediction (or one computed under "
                          "torch.no_grad(), or by a target network) trains nothing.",
                          hint="This is the one place in the critic update where gradients are "
                          "wanted: do not detach.")
    for name, q in (("q1", q1), ("q2", q2)):
        named = list(critic.named_parameters())
        grads = torch.autograd.grad(q.sum(), [p for _, p in named], allow_unused=True,
                                    retain_graph=True)
        if all(gr is None for gr in grads):
            raise CheckFailed(STEP, f"{name} has a gradient, but not into the `critic` you were "
                              "given: it came from another network.",
                              why="Only the critic passed in is the one step 12 will update.",
                              hint="Use the `critic` argument.")
    if not torch.equal(s_in, s) or not torch.equal(a_in, a):
        raise CheckFailed(STEP, "Your function changed s or a in place.",
                          why="They are the sampled batch; the actor update (step 13) reads s again.",
                          hint="Leave the inputs as they are.")
    again = call_update(STEP, what, fn, critic, s.clone(), a.clone())
    if isinstance(again, (tuple, list)) and len(again) == 2 and isinstance(again[0], torch.Tensor) \
            and not close(again[0], q1):
        raise CheckFailed(STEP, "Two calls with the same critic, s and a gave different Q-values: "
                          "your function is random.",
                          why="Step 10 values the action that was actually taken, exactly as "
                          "stored. Noise on the action is target policy smoothing, step 6, and it "
                          "goes on the NEXT action a', not on a.", hint="Use `a` as it is.")

    # Values.
    if changed(critic, weights):
        raise CheckFailed(STEP, "Your function changed the critic's weights.",
                          why="Step 10 only reads the critic; it is trained in step 12, once, on "
                          "the loss of step 11.", hint="Just evaluate the critic.")
    if not (close(q1, q1_ref) and close(q2, q2_ref)):
        if close(q1, q2_ref) and close(q2, q1_ref):
            raise CheckFailed(STEP, "q1 and q2 are swapped: you returned (Q2, Q1).",
                              why="It would train the same two heads, but every later step (and "
                              "the actor, which climbs Q1) expects q1 first.",
                              hint="Keep the critic's order.")
        if close(q1, q1_head) and close(q2, q1_head):
            raise CheckFailed(STEP, "q1 and q2 are the same: both come from the first head, Q1.",
                              why="Then Q2 is never trained, and the minimum in step 8 is taken "
                              "against an untrained critic.",
                              hint="The critic's forward gives both heads; Q1 alone is for the "
                              "actor.")
        if close(q1, q1_swapped_inputs) and close(q2, q2_swapped_inputs):
            raise CheckFailed(STEP, "The critic got (a, s) instead of (s, a): the order of state "
                              "and action is swapped.",
                              why="The critic concatenates [s, a]; swapped, the state's features "
                              "meet the weights learned for the action and vice versa. No error, "
                              "because only the total width is checked.",
                              hint=("State first, then action, as in the critic's "
                                    "signature.", "Swap the two arguments of your call."))
        expect_close(STEP, q1, q1_ref, "q1", why="q1 must be the online critic's first head at "
                     "the stored (s, a).", hint="Pass s and a to the critic unchanged.")
        expect_close(STEP, q2, q2_ref, "q2", why="q2 must be the online critic's second head at "
                     "the stored (s, a).", hint="Pass s and a to the critic unchanged.")
    predicted = "" if step10_prediction is None else check_inputs(
        STEP, step10_prediction, "(q1, q2)", RIGHT, WRONG)
    return CheckPassed(STEP, f"current Q-values: (q1, q2) each ({B}, 1) from the online critic at "
                       "the stored (s, a), with gradients into its two heads." + predicted)
