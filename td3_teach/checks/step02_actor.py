"""Check for TD3 step 2 of 15: the actor mu(s) and its target network (an exact, independent copy)."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .. import networks
from ._core import (CheckFailed, CheckPassed, LearnerCodeError, as_tensor, call_learner,
                    expect_close, expect_shape, require_callable)
from ._networks import build, grads_of, require_linears, require_module_class
from ._seeded import randint, seeded, size_generator

STEP = 2
AFTER = ("the lecture wrote `x = self.layer_3(x) * torch.tanh(self.max_action)`: tanh of a "
         "constant, so nothing bounds the output (and with a float max_action it does not even "
         "run; the picture below draws it). It also wrote "
         "`actor_target.load_state_dict(self.actor.state_dict)`, forgetting the call parentheses "
         "of state_dict().")
LECTURE_BUG = "the lecture's `layer_3(x) * torch.tanh(max_action)`"
MAX_ACTIONS = (0.5, 2.0, 2.5, 3.0, 0.75, 1.5)  # never 1.0: the scaling must show


def _fmt(shapes: list[tuple[int, int]]) -> str:
    return ", ".join(f"Linear({i}, {o})" for i, o in shapes)


def _check_layers(layers: list[nn.Linear], S: int, A: int) -> None:
    want = [(S, 400), (400, 300), (300, A)]
    got = [(m.in_features, m.out_features) for m in layers]
    if got == want:
        return
    why = ("The paper's actor (and the authors' code, and this package, whose checkpoints load "
           "into your class) is state_dim -> 400 -> 300 -> action_dim, ReLU in between.")
    if len(got) != 3:
        raise CheckFailed(STEP, f"Actor has {len(got)} nn.Linear layers ({_fmt(got)}); expected 3: "
                          f"{_fmt(want)}.", why=why)
    if got[2][1] != A:
        raise CheckFailed(STEP, f"The last layer has {got[2][1]} output(s); expected action_dim = "
                          f"{A}: one number per action dimension.", why=why,
                          hint="The output layer maps the 300 hidden units to action_dim values.")
    raise CheckFailed(STEP, f"Actor's layers are {_fmt(got)}; expected {_fmt(want)}.", why=why,
                      hint="Each layer's in_features is the previous layer's out_features.")


def _reference(layers: list[nn.Linear], S: int, A: int, max_action: float) -> networks.Actor:
    """The package's Actor holding the learner's weights (layers matched in order)."""
    ref = networks.Actor(S, A, max_action)
    with torch.no_grad():
        for mine, theirs in zip((ref.layer_1, ref.layer_2, ref.layer_3), layers):
            mine.weight.copy_(theirs.weight)
            mine.bias.copy_(theirs.bias)
    return ref


def _forward(actor: nn.Module, s: torch.Tensor, what: str) -> Any:
    try:
        return call_learner(STEP, what, actor, s)
    except LearnerCodeError as e:
        if "tanh" in e.problem and "not float" in e.problem:
            raise LearnerCodeError(
                STEP, e.problem, bug=LECTURE_BUG,
                why="tanh belongs around the network's output, squashing it into (-1, 1); "
                "tanh(max_action) is just a constant (tanh(1) = 0.76).",
                hint="Squash the last layer's output with tanh, then scale it by max_action.") from None
        raise


def _check_actor(Actor: type, S: int, A: int, max_action: float, B: int) -> tuple[nn.Module, torch.Tensor]:
    actor = build(STEP, Actor, "Actor", S, A, max_action)
    layers = require_linears(STEP, actor, "Actor")
    _check_layers(layers, S, A)
    s = torch.randn(B, S)
    a = as_tensor(STEP, _forward(actor, s, f"actor(s) with s of shape ({B}, {S})"), "actor(s)")
    expect_shape(STEP, a, (B, A), "actor(s)", why="One action (action_dim numbers) per state.")
    if not a.requires_grad or len(grads_of(actor, a) & {id(m.weight) for m in layers}) < 3:
        raise CheckFailed(STEP, "The actor's output does not carry gradients back to all three "
                          "layers.",
                          why="Step 13 trains the actor by backpropagating the critic's value "
                          "through actor(s); a detached output (or torch.no_grad, or a detour "
                          "through numpy inside forward) leaves the actor untrained.",
                          hint="Keep forward in torch operations, without .detach() or no_grad.")
    ref = _reference(layers, S, A, max_action)
    wide_s = 30 * torch.randn(64, S)  # large states: saturate tanh, push a linear output out of bounds
    wide = as_tensor(STEP, _forward(actor, wide_s, "actor(s) on states of large size"), "actor(s)")
    with torch.no_grad():
        hidden = lambda x: ref.layer_3(F.relu(ref.layer_2(F.relu(ref.layer_1(x)))))  # noqa: E731
        z, z_wide = hidden(s), hidden(wide_s)
        a, wide = a.detach(), wide.detach()

        def close(x: torch.Tensor, y: torch.Tensor) -> bool:
            return x.shape == y.shape and torch.allclose(x, y, atol=1e-5, rtol=1e-4)

        m = max_action
        if close(a, z * torch.tanh(torch.tensor(m))):
            raise CheckFailed(STEP, "actor(s) equals layer_3(x) * tanh(max_action): the output is "
                              "not squashed, only multiplied by a constant.", bug=LECTURE_BUG,
                              why="Actions must stay in [-max_action, max_action]; tanh(max_action) "
                              "is a number, so nothing bounds the output.",
                              hint="tanh goes around the last layer's output, and max_action "
                              "scales the result.")
        if close(a, torch.tanh(z)):
            raise CheckFailed(STEP, f"actor(s) lies in (-1, 1), not (-{m:g}, {m:g}): the output is "
                              "not scaled by max_action.",
                              why="tanh gives (-1, 1); the environment's actions span "
                              "[-max_action, max_action] (this check uses max_action = "
                              f"{m:g}), so unscaled the actor cannot reach them.",
                              hint="Multiply the squashed output by max_action.")
        if any(close(wide, y.clamp(-m, m)) and not close(wide, y) for y in (m * z_wide, z_wide)):
            raise CheckFailed(STEP, "actor(s) clips the last layer's output to the bounds instead of "
                              "squashing it.",
                              why="Clipping has zero gradient outside the bounds: once an action "
                              "hits the limit, the actor can no longer learn to move it back.",
                              hint="torch.tanh squashes smoothly; then scale by max_action.")
        if any(close(a, k * z) and close(wide, k * z_wide) for k in (m, 1.0)):
            raise CheckFailed(STEP, "actor(s) is a linear function of the last hidden layer: there "
                              "is no tanh at the output.",
                              why="Without the squash the actions are unbounded: the environment "
                              "clips them, the critic never sees what the actor asked for, and "
                              "the gradient pushes actions ever further out.",
                              hint="Squash the last layer's output with torch.tanh.")
        if wide.abs().max() > m * (1 + 1e-5):
            raise CheckFailed(STEP, f"On large states actor(s) reaches {wide.abs().max().item():.3g}, "
                              f"beyond max_action = {m:g}.",
                              why="Every action must lie in [-max_action, max_action].",
                              hint="max_action * tanh(...) at the output keeps it there.")
        expect_close(STEP, a, ref(s), "actor(s)",
                     why="The actor is ReLU(layer_1) -> ReLU(layer_2) -> max_action * tanh(layer_3).",
                     hint="Check the activations: ReLU after the first two layers, tanh only at "
                     "the output; and that forward uses each layer once, in order.")
    return actor, s


# --------------------------------------------------------------------------- make_target
def _make(make_target: Callable, net: nn.Module, what: str) -> Any:
    try:
        return call_learner(STEP, what, make_target, net)
    except LearnerCodeError as e:
        if "dict-like" in e.problem or ("state_dict" in e.problem and "method" in e.problem):
            raise LearnerCodeError(
                STEP, e.problem,
                bug="the lecture's `actor_target.load_state_dict(self.actor.state_dict)`: the "
                "method itself is passed, not the weights it returns",
                hint="state_dict is a method: call it to get the weights.") from None
        raise


def _check_copy(target: Any, net: nn.Module, before: dict, what: str, kind: str) -> nn.Module:
    if target is None:
        raise CheckFailed(STEP, f"{what} returned None.", hint="Did you forget the `return`?")
    if target is net:
        raise CheckFailed(STEP, f"{what} returned the {kind} itself, not a copy.",
                          why="A target network must change slowly (Polyak averaging, steps 14-15) "
                          f"while the {kind} takes a gradient step every iteration. If both are one "
                          "object, the Bellman target moves with every update and chases itself.",
                          hint="Return a new network holding copies of the weights.")
    if not isinstance(target, nn.Module):
        raise CheckFailed(STEP, f"{what} returned a {type(target).__name__}; expected a network "
                          "(an nn.Module) like the one it was given.")
    ids, ptrs = {id(p) for p in net.parameters()}, {p.data_ptr() for p in net.parameters()}
    shared = [n for n, p in target.named_parameters() if id(p) in ids or p.data_ptr() in ptrs]
    if shared:
        raise CheckFailed(STEP, f"The target shares tensors with the {kind} ({', '.join(shared[:3])}"
                          f"{', ...' if len(shared) > 3 else ''}): changing one changes the other.",
                          why="The target must hold its own copy of the weights, or it is not a "
                          f"target network at all: it moves with every gradient step of the {kind}.",
                          hint="copy.deepcopy copies every tensor; assigning modules, parameters or "
                          ".data between the two networks shares them.")
    frozen = [n for n, p in net.named_parameters() if not p.requires_grad]
    if frozen:
        raise CheckFailed(STEP, f"After make_target, the {kind}'s own parameters no longer require "
                          f"gradients ({frozen[0]}, ...): you froze the {kind}, not its copy.",
                          why=f"The {kind} learns by gradient descent; frozen, it never changes.",
                          hint="Switch off gradients on the copy only.")
    changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
    if changed:
        raise CheckFailed(STEP, f"make_target changed the {kind}'s weights ({changed[0]}, ...).",
                          hint="Read the weights of the network you are given; do not modify them.")
    got = target.state_dict()
    if set(got) != set(before) or any(got[k].shape != before[k].shape for k in before):
        raise CheckFailed(STEP, f"The target's parameters ({', '.join(list(got)[:4])}, ...) do not "
                          f"match the {kind}'s ({', '.join(list(before)[:4])}, ...).",
                          hint="The target is the same network: same class, same sizes.")
    diff = {k: (got[k].float() - before[k].float()).abs().max().item() for k in before}
    worst = max(diff, key=lambda k: diff[k])
    if diff[worst] > 0:
        raise CheckFailed(STEP, f"The target's weights differ from the {kind}'s (largest difference "
                          f"{diff[worst]:.3g}, in {worst}).",
                          why="At the start the target must equal the online network exactly; a "
                          "newly built network has weights of its own random initialisation.",
                          hint=("The target starts as an exact copy, weights included.",
                                "Python's `copy` module can copy a whole module with every tensor "
                                "in it; or build the same class and load the online network's "
                                "state dict into it."))
    trainable = [n for n, p in target.named_parameters() if p.requires_grad]
    if trainable:
        raise CheckFailed(STEP, f"The target's parameters still require gradients ({trainable[0]}, "
                          "...).",
                          why="Targets move only by Polyak averaging (steps 14-15), never by an "
                          "optimiser; frozen, no gradient can reach them and torch builds no graph "
                          "through them.", hint="requires_grad_(False) on the copy.")
    return target


def _check_make_target(make_target: Callable, actor: nn.Module, s: torch.Tensor, S: int, A: int) -> None:
    require_callable(STEP, make_target, "make_target", ["net"])
    before = {k: v.clone() for k, v in actor.state_dict().items()}
    target = _check_copy(_make(make_target, actor, "make_target(actor)"), actor, before,
                         "make_target(actor)", "actor")
    with torch.no_grad():
        want = actor(s)
        got = as_tensor(STEP, call_learner(STEP, "actor_target(s)", target, s), "actor_target(s)")
        expect_close(STEP, got, want, "actor_target(s)", atol=0,
                     hint="The target must compute exactly what the actor computes.")
        for p in actor.parameters():  # a gradient step on the actor must leave the target alone
            p.add_(0.1)
        moved = call_learner(STEP, "actor_target(s)", target, s)
        for p in actor.parameters():
            p.sub_(0.1)
    if not torch.allclose(moved, want, atol=1e-6):
        raise CheckFailed(STEP, "When the actor's weights changed, actor_target(s) changed too: "
                          "the two still share state.",
                          why="The target must hold its own copy of the weights.",
                          hint="copy.deepcopy copies everything a network holds.")
    critic = networks.Critic(S, A)
    _check_copy(_make(make_target, critic, "make_target(critic)"), critic,
                {k: v.clone() for k, v in critic.state_dict().items()}, "make_target(critic)", "critic")


def step02(Actor: Any, make_target: Callable | None = None, seed: int = 0) -> CheckPassed:  # noqa: N803
    """Check ``Actor(state_dim, action_dim, max_action)`` (400-300 ReLU, ``max_action * tanh``)
    and, if given, ``make_target(net)`` (an exact, independent, frozen copy, for any network).
    ``seed`` varies the sizes and max_action (graders use other seeds)."""
    require_module_class(STEP, Actor, "Actor", ["state_dim", "action_dim", "max_action"])
    g = size_generator(seed, salt=STEP)
    S, A, B = randint(g, 3, 10), randint(g, 2, 6), randint(g, 4, 12)
    max_action = MAX_ACTIONS[randint(g, 0, len(MAX_ACTIONS) - 1)]
    with seeded(seed):
        actor, s = _check_actor(Actor, S, A, max_action, B)
        verified = (f"actor: Linear({S}, 400) -> 300 -> {A}, ReLU, max_action * tanh (max_action "
                    f"{max_action:g}), gradients reach every layer")
        if make_target is not None:
            _check_make_target(make_target, actor, s, S, A)
            verified += "; make_target: an exact, independent, frozen copy (of an actor and a critic)"
    return CheckPassed(STEP, verified + ".", after=AFTER)
