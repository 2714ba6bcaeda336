"""Check for TD3 step 3 of 15: the twin critics, two independent Q-networks in one module."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import networks
from ._core import (CheckFailed, CheckPassed, LearnerCodeError, as_tensor, call_learner,
                    expect_close, expect_shape)
from ._networks import build, grads_of, require_linears, require_module_class
from ._seeded import randint, seeded, size_generator

STEP = 3
AFTER = ("the lecture's first listing ended each head with `nn.Linear(300, action_dim)`: "
         "action_dim \"Q-values\" per (state, action) pair, a known bug (its handwritten notes have "
         "the one output you wrote). The notes also indented `def forward` inside `__init__`, so "
         "the class had no forward at all.")
LECTURE_BUG = "the lecture's `nn.Linear(300, action_dim)` as the last layer of each head"
WHY_TWO = ("Clipped double Q-learning (steps 7-8) takes the minimum of two estimates whose errors "
           "differ; heads that share layers, or weights, make the same errors, and the minimum "
           "of one value twice is DDPG again.")


def _fmt(shapes: list[tuple[int, int]]) -> str:
    return ", ".join(f"Linear({i}, {o})" for i, o in shapes)


def _check_layers(layers: list[nn.Linear], S: int, A: int) -> None:
    head = [(S + A, 400), (400, 300), (300, 1)]
    got = [(m.in_features, m.out_features) for m in layers]
    if (300, A) in got:
        raise CheckFailed(STEP, f"A head ends in Linear(300, {A}): {A} outputs (action_dim); a "
                          "Q-value is ONE number per (state, action) pair.", bug=LECTURE_BUG,
                          why="Q(s, a) scores the whole action; with action_dim outputs the loss "
                          "and the minimum of step 8 would act on meaningless columns.",
                          hint="Each head's last layer has a single output.")
    if (S, 400) in got:
        raise CheckFailed(STEP, f"A first layer is Linear({S}, 400): it takes the state alone.",
                          why="A critic values a state AND an action: its input is s and a side by "
                          f"side, state_dim + action_dim = {S + A} numbers.",
                          hint="The first layer of each head takes state_dim + action_dim inputs.")
    if sorted(got) == sorted(head * 2):
        return
    if len(got) == 3:
        raise CheckFailed(STEP, f"Critic has 3 nn.Linear layers ({_fmt(got)}): one Q-network. "
                          f"TD3 needs two, each {_fmt(head)}.", why=WHY_TWO)
    if len(got) != 6:
        raise CheckFailed(STEP, f"Critic has {len(got)} nn.Linear layers ({_fmt(got)}); expected 6: "
                          f"two independent heads, each {_fmt(head)}.", why=WHY_TWO,
                          hint="Give each head its own three layers; share none.")
    raise CheckFailed(STEP, f"Critic's layers are {_fmt(got)}; expected two heads, each {_fmt(head)}.",
                      why="The paper's critics (and this package's, whose checkpoints load into "
                      "your class) are (state_dim + action_dim) -> 400 -> 300 -> 1.")


def _call(fn: Any, what: str, *args: torch.Tensor) -> Any:
    try:
        return call_learner(STEP, what, fn, *args)
    except LearnerCodeError as e:
        if "Sizes of tensors must match" in e.problem or "mat1 and mat2" in e.problem:
            raise LearnerCodeError(
                STEP, e.problem, hint=("Each row of the critic's input holds one state next to "
                "its action: (B, state_dim + action_dim).", "torch.cat joins along the dimension "
                "you give it: along dim 0 it stacks s and a as extra rows of the batch; along the "
                "other one it puts them side by side."),
                bug="the lecture's comment `1- Vertical concatenation, 0 - Horizontal`: misleading, "
                "dim=1 is the one that joins s and a row by row" if "cat" in e.problem or
                "Sizes of tensors" in e.problem else None) from None
        raise


def _pair(out: Any, B: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(out, torch.Tensor):
        raise CheckFailed(STEP, f"{what} returned one tensor of shape {tuple(out.shape)}; expected "
                          "the pair (q1, q2), each of shape "
                          f"({B}, 1).", why="Both heads' values are needed: their minimum makes "
                          "the target (step 8) and both are trained (step 11).",
                          hint=("forward gives back BOTH heads' values.", "Compute "
                                "each head on the same [s, a] and return the two tensors together, "
                                "head 1 first, as a tuple."))
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(STEP, f"{what} returned {type(out).__name__}"
                          f"{f' of {len(out)} items' if isinstance(out, (tuple, list)) else ''}; "
                          f"expected the pair (q1, q2), each ({B}, 1).",
                          hint=("forward gives back BOTH heads' values.", "A tuple of exactly two "
                                "(B, 1) tensors: head 1's, then head 2's."))
    q1, q2 = (as_tensor(STEP, q, f"{what}[{i}]") for i, q in enumerate(out))
    for i, q in enumerate((q1, q2)):
        expect_shape(STEP, q, (B, 1), f"{what}[{i}] (q{i + 1})",
                     why="One Q-value per (state, action) pair, as a column like r in step 9.")
    return q1, q2


def _head(layers: list[nn.Linear], grads: set[int], S: int, A: int) -> list[nn.Linear]:
    order = {S + A: 0, 400: 1, 300: 2}
    return sorted((m for m in layers if id(m.weight) in grads), key=lambda m: order[m.in_features])


def _mlp(head: list[nn.Linear], x: torch.Tensor) -> torch.Tensor:
    return head[2](F.relu(head[1](F.relu(head[0](x)))))


def step03(Critic: Any, seed: int = 0) -> CheckPassed:  # noqa: N803
    """Check ``Critic(state_dim, action_dim)``: ``forward(s, a) -> (q1, q2)`` from two independent
    (state_dim + action_dim) -> 400 -> 300 -> 1 ReLU heads, and ``Q1(s, a)`` = head 1 alone.
    ``seed`` varies the sizes (graders use other seeds)."""
    require_module_class(STEP, Critic, "Critic", ["state_dim", "action_dim"], methods=("forward", "Q1"))
    g = size_generator(seed, salt=STEP)
    S, A, B = randint(g, 3, 10), randint(g, 2, 5), randint(g, 4, 12)
    if S == A:
        S += 1
    with seeded(seed):
        critic = build(STEP, Critic, "Critic", S, A)
        layers = require_linears(STEP, critic, "Critic")
        _check_layers(layers, S, A)
        s, a = torch.randn(B, S), torch.randn(B, A)
        out = _call(critic, f"critic(s, a) with s ({B}, {S}) and a ({B}, {A})", s, a)
        if isinstance(out, (tuple, list)) and len(out) == 2 and out[0] is out[1]:
            raise CheckFailed(STEP, "critic(s, a) returned the same tensor twice.", why=WHY_TWO,
                              hint="q1 comes from head 1 (layers 1-3), q2 from head 2 (layers 4-6).")
        q1, q2 = _pair(out, B, "critic(s, a)")
        if not q1.requires_grad or not q2.requires_grad:
            raise CheckFailed(STEP, "critic(s, a) returns values without gradients.",
                              why="The critics learn by backpropagating the loss of step 11 "
                              "through q1 and q2.", hint="No .detach(), no torch.no_grad() in forward.")
        p1, p2 = grads_of(critic, q1), grads_of(critic, q2)
        if p1 & p2:
            raise CheckFailed(STEP, f"q1 and q2 depend on {len(p1 & p2) // 2 or 1} shared layer(s): "
                              "the two heads are not independent.", why=WHY_TWO,
                              hint="Head 2 needs its own layers (layer_4, layer_5, layer_6), used by "
                              "q2 only.")
        head1, head2 = _head(layers, p1, S, A), _head(layers, p2, S, A)
        if len(head1) != 3 or len(head2) != 3:
            raise CheckFailed(STEP, f"q1 uses {len(head1)} and q2 uses {len(head2)} of the six "
                              "layers; each should use its own three.",
                              hint="q1 = layer_3(relu(layer_2(relu(layer_1(sa))))), q2 the same "
                              "with layers 4, 5, 6.")
        if torch.allclose(q1, q2):
            raise CheckFailed(STEP, "q1 and q2 are equal: the two heads start from the same weights.",
                              why=WHY_TWO + " Trained on the same targets from the same start, "
                              "identical heads stay identical.",
                              hint="Let each nn.Linear draw its own random initial weights.")
        with torch.no_grad():
            # Centre each head's output bias so that about half the Q-values are negative: an
            # activation after the last layer (Q-values can be any number) then shows.
            for head in (head1, head2):
                head[2].bias.sub_(_mlp(head, torch.cat([s, a], dim=1)).median())
            q1, q2 = _pair(_call(critic, "critic(s, a)", s, a), B, "critic(s, a)")
            ref = networks.Critic(S, A)
            for mine, theirs in zip((ref.layer_1, ref.layer_2, ref.layer_3, ref.layer_4,
                                     ref.layer_5, ref.layer_6), head1 + head2):
                mine.weight.copy_(theirs.weight)
                mine.bias.copy_(theirs.bias)
            want1, want2 = ref(s, a)
            swapped = torch.cat([a, s], dim=1)
            if torch.allclose(q1, _mlp(head1, swapped), atol=1e-5) and \
                    not torch.allclose(q1, want1, atol=1e-5):
                raise CheckFailed(STEP, "The critic concatenates (a, s); this course (the paper's "
                                  "code, and the package) concatenates (s, a).",
                                  why="Either order can learn, but weights trained with one order "
                                  "mean nothing in the other: a checkpoint or a target copied from "
                                  "the package would be scrambled.",
                                  hint=("State first, then action.", "Swap the two tensors in "
                                        "your concatenation."))
            why = "Each head is ReLU(Linear) -> ReLU(Linear) -> Linear on the concatenation [s, a]."
            hint = "ReLU after the first two layers of each head, none after the last (a Q-value " \
                   "can be any number)."
            expect_close(STEP, q1, want1, "q1", why=why, hint=hint)
            expect_close(STEP, q2, want2, "q2", why=why, hint=hint)
        q1_alone = as_tensor(STEP, _call(critic.Q1, "critic.Q1(s, a)", s, a), "critic.Q1(s, a)")
        expect_shape(STEP, q1_alone, (B, 1), "critic.Q1(s, a)")
        if not q1_alone.requires_grad:
            raise CheckFailed(STEP, "critic.Q1(s, a) returns a value without gradients.",
                              why="The actor learns by backpropagating -Q1(s, actor(s)) through "
                              "the critic into its own weights (step 13).",
                              hint="No .detach(), no torch.no_grad() in Q1.")
        with torch.no_grad():
            if torch.allclose(q1_alone, q2) and not torch.allclose(q1_alone, q1):
                raise CheckFailed(STEP, "critic.Q1(s, a) equals q2, the second head's value.",
                                  why="The actor climbs Q1 (step 13), the head that forward returns "
                                  "first; climbing the other head breaks the pairing the paper uses.",
                                  hint="Q1 uses layer_1, layer_2, layer_3, like the first half of "
                                  "forward.")
            expect_close(STEP, q1_alone, q1, "critic.Q1(s, a)",
                         hint="Q1(s, a) must compute exactly the first value of forward(s, a).")
    return CheckPassed(STEP, f"twin critics: two independent heads Linear({S + A}, 400) -> 300 -> 1, "
                       f"forward -> (q1, q2) each ({B}, 1), Q1 = head 1, gradients flow.",
                       after=AFTER)
