"""The lecture's bugs in its T3D class and its ``train``, each named once.

Used by the whole-agent check (``checks.agent``), which names the one it meets first, and by the
bug hunt (``checks.bug_hunt``), which counts those still in the listing. Each entry says what the
lecture wrote and what goes wrong, never how to write it instead.
"""

from __future__ import annotations

from ._polyak import COPY_BUG, EVERY_ITERATION_BUG
from .step13_actor_update import MINUS_BUG

BUGS: dict[str, str] = {
    # __init__
    "state_dict_uncalled": "the lecture's `load_state_dict(self.actor.state_dict)`: the method "
                           "itself is handed over, not the weights it would return",
    "lowercase_critic": "the lecture's `critic(state_dims, action_dim)`: a lower-case class name, "
                        "which the notebook does not define",
    "comma_critic": "the lecture's `self,critic`: a comma where an attribute was meant, so "
                    "`critic` is looked up as a global name",
    "critic_target_actor": "a critic target built as an actor (the wrong class for the target)",
    "max_action_unset": "the lecture's `self.max_action`: used by train (step 6) but never set in "
                        "__init__",
    "head_width": "the lecture's critic heads, whose last layer has action_dim outputs: the "
                  "critic's heads have the wrong width (action_dim numbers per pair instead of one Q-value)",
    # select_action
    "reshape_column": "the lecture's `state.reshape(-1, 1)`: the state becomes a column of "
                      "one-feature states",
    "select_action_graph": "select_action runs the actor with autograd recording (the lecture "
                           "relies on `.data` afterwards); acting needs no graph at all",
    # train
    "train_outside_class": "the lecture's `def train(self, ...)` at the top level of its own cell: "
                           "a function, not a method of T3D",
    "normal_0": "the lecture's `.normal_0(0, policy_noise)`: a method torch does not have",
    "noise_unscaled": "the lecture's `normal_(0, policy_noise)` and `clamp(-noise_clip, "
                      "noise_clip)`: target noise not scaled by max_action",
    "noise_into_batch": "the lecture's `torch.Tensor(batch_actions).data.normal_(...)`: "
                        "torch.Tensor of a tensor shares its memory, so the noise overwrites the "
                        "sampled actions",
    "shared_noise": "noise shared by the batch (the lecture notes' `torch.randn(1, ...)`): one "
                    "draw broadcast to every transition",
    "zero_dot_grad": "the lecture's `self.critic_optimizer.zero.grad()`",
    "grad_zero": "the lecture's `self.actor_optimizer.grad_zero()`",
    "steo": "the lecture's `self.actor_optimizer.steo()`",
    "missing_minus": MINUS_BUG,
    "local_counter": "the lecture's delay test on `it`, the loop variable of `train`: "
                     "the delay counts the iterations of one call, from 0, so with "
                     "train(replay_buffer, 1) at every env step the actor updates every time",
    "polyak_every_iteration": EVERY_ITERATION_BUG,
    "polyak_assigns_copy": COPY_BUG,
    # the replay buffer of the listing (bug hunt only)
    "buffer_four_lists": "the lecture's `batch_states, ..., batch_dones = [], [], [], []`: five "
                         "names, four lists",
    "buffer_copy_false": "the lecture's `np.array(reward, copy = False)`: NumPy 2 refuses to "
                         "build an array without a copy when it must copy (a Python float)",
}

# Attribute errors the lecture's typos raise: attribute -> bug id.
TYPO_BUGS = {"zero": "zero_dot_grad", "grad_zero": "grad_zero", "steo": "steo",
             "normal_0": "normal_0", "max_action": "max_action_unset", "train": "train_outside_class"}
