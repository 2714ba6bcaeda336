"""The whole-agent check: ``checks.agent(MyTD3)``, taught in notebook 16.

The learner's class, in the lecture's public shape (``__init__(state_dim, action_dim,
max_action)``, ``select_action(state)``, ``train(replay_buffer, iterations, batch_size, discount,
tau, policy_noise, noise_clip, policy_freq)``), is run next to the reference (td3_teach's update,
``update.train_step``) from the same initial weights on the same seeded batches:

1. the parts: four networks with the lecture's names, targets that start as copies, Adam over
   the right parameters, networks that compute TD3's actor and twin critics;
2. ``select_action``: shape, bounds, values, no autograd, no change to the weights;
3. the target policy noise, statistically (per entry, scaled and clipped by max_action);
4. ``train``, iteration by iteration, noise off (exactly) and noise on (exactly under the same
   seed, or with the learner's own draws when they come from another random stream), over
   delayed and non-delayed iterations and several ``train`` calls: every online and target
   parameter is compared after each iteration (1e-5).

It stops at the first difference and says which step, naming the lecture's bug when it is one.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ._agent_reference import NETS, OPTIMIZERS, Hyper, Variant, iteration
from ._core import CheckFailed, CheckPassed, LearnerCodeError
from ._lecture_bugs import BUGS, TYPO_BUGS
from ._seeded import seeded
from ._code_facts import assigns_attribute
from ._update_helpers import call_update
from ..networks import Actor, Critic
from ..replay_buffer import Batch

LABEL = "Your TD3"
TRAIN_PARAMS = ["replay_buffer", "iterations", "batch_size", "discount", "tau", "policy_noise",
                "noise_clip", "policy_freq"]
ATOL, RTOL = 1e-5, 1e-4
ORDER = "zero_grad, backward, step"
ARCHITECTURE = {"actor": "400-300 ReLU, max_action * tanh", "critic": "two heads of 400-300 ReLU, one output each"}
DELAY_RULE = ("steps 13-15 run only when it % policy_freq == 0, where `it` counts every training "
              "iteration of the agent's life from 1 (the authors' `self.total_it`), across all "
              "train calls")


def fail(problem: str, why: str = "", hint: str = "", bug: str | None = None) -> CheckFailed:
    """A CheckFailed of the whole-agent check; ``bug`` is an id of ``_lecture_bugs.BUGS``."""
    e = CheckFailed(LABEL, problem, why=why, hint=hint, bug=BUGS[bug] if bug else None)
    e.bug_id = bug
    return e


# --------------------------------------------------------------------------- calling the agent
def _call(what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run the learner's code; name the lecture's typos and slips when an exception shows one."""
    try:
        return call_update(LABEL, what, lambda: fn(*args, **kwargs))
    except LearnerCodeError as e:
        text = e.problem
        line = (re.search(r"\(`(.*)`\)", text) or [None, ""])[1]
        m = re.search(r"AttributeError.*has no attribute '(\w+)'", text)
        bug = None
        if m and m.group(1) in TYPO_BUGS:
            bug = TYPO_BUGS[m.group(1)]
        elif "NameError" in text and "'critic'" in text:
            bug = "comma_critic" if re.search(r"self\s*,\s*critic", line) else "lowercase_critic"
        elif "state_dict" in text and "method" in text:
            bug = "state_dict_uncalled"
        elif re.search(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x1 and \1x", text):
            bug = "reshape_column"  # (state_dim, 1): a column of one-feature states
        elif "loading state_dict for Actor" in text and "critic" in line:
            bug = "critic_target_actor"
        err = fail(text, why=e.why, hint=e.hint or _hint_for(bug), bug=bug or None)
        if e.bug and not bug:
            err.bug = e.bug
        raise err from None


def _hint_for(bug: str | None) -> str:
    return {
        "state_dict_uncalled": "What does `state_dict` give when it is called, and what when it "
                               "is not?",
        "lowercase_critic": "Python names are case-sensitive: which name did the class get?",
        "comma_critic": "Read the argument of that load_state_dict character by character.",
        "max_action_unset": "train reads an attribute that __init__ never stores.",
        "train_outside_class": "A method lives inside the class body, indented under `class`.",
        "reshape_column": "The actor expects a batch of states, one state per ROW.",
        "normal_0": "Look up torch's in-place normal sampling method, or draw the noise another "
                    "way.",
    }.get(bug or "", "Read the line the message points at.")


# --------------------------------------------------------------------------- the check's setup
@dataclass
class Setup:
    seed: int
    state_dim: int
    action_dim: int
    max_action: float
    hp: Hyper
    calls: tuple[int, ...] = (1, 1, 1, 3)  # train calls: iterations each


def setup(seed: int) -> Setup:
    """Sizes and hyperparameters drawn from ``seed``: never the defaults (a hard-coded 0.99 or
    0.005 shows), max_action never 1 (a missing max_action scaling shows), policy_freq 2 or 3."""
    g = torch.Generator().manual_seed(16_000 + int(seed))

    def pick(options):
        return options[int(torch.randint(0, len(options), (1,), generator=g))]

    state_dim, action_dim = pick((3, 4, 5, 7)), pick((2, 3))
    hp = Hyper(batch_size=pick((8, 12, 16)), discount=pick((0.8, 0.85, 0.9)),
               tau=pick((0.1, 0.2, 0.3)), policy_noise=pick((0.2, 0.3)),
               noise_clip=pick((0.4, 0.5)), policy_freq=pick((2, 3)),
               max_action=pick((0.5, 2.0)))
    return Setup(seed, state_dim, action_dim, hp.max_action, hp)


def _build(cls: Callable, st: Setup, salt: int = 0):
    with seeded(st.seed * 7 + salt):
        return _call(f"{_name(cls)}({st.state_dim}, {st.action_dim}, {st.max_action:g})", cls,
                     st.state_dim, st.action_dim, st.max_action)


def _name(cls: Any) -> str:
    return getattr(cls, "__name__", "your agent")


def _params(net: nn.Module) -> list[torch.Tensor]:
    return list(net.parameters())


def _shapes(net: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in net.parameters()]


# --------------------------------------------------------------------------- 1. the parts
def check_parts(agent: Any, cls: Any, st: Setup) -> None:
    for name in NETS:
        if not hasattr(agent, name):
            raise fail(f"Your agent has no attribute `{name}`.",
                       why="The trainer, the checkpoints and this check find the networks by the "
                       "lecture's (and the authors') names: actor, actor_target, critic, "
                       "critic_target.", hint=f"Store it in __init__ as `self.{name}`.")
        if not isinstance(getattr(agent, name), nn.Module):
            raise fail(f"`{name}` is a {type(getattr(agent, name)).__name__}, not an nn.Module.",
                       hint="Store the network itself (an instance), not its class or a function.")
    for name in OPTIMIZERS:
        if not isinstance(getattr(agent, name, None), torch.optim.Adam):
            got = getattr(agent, name, None)
            raise fail(f"`{name}` is " + ("missing" if got is None else
                       f"a {type(got).__name__}") + "; expected a torch.optim.Adam.",
                       why="TD3 trains both networks with Adam (paper, Section 6.1).",
                       hint=f"Build it in __init__ as `self.{name}`, over its network's "
                       "parameters.")
    actor, critic = agent.actor, agent.critic
    for online, target in (("actor", "actor_target"), ("critic", "critic_target")):
        net, tgt = getattr(agent, online), getattr(agent, target)
        if tgt is net:
            raise fail(f"`{target}` is the same object as `{online}`, not a copy.",
                       why="A target that IS its network moves with every update: the Bellman "
                       "target chases itself, which the target networks exist to prevent.",
                       hint="Build a second network of the same class and copy the weights in.")
        if {id(p) for p in net.parameters()} & {id(p) for p in tgt.parameters()}:
            raise fail(f"`{target}` shares parameters with `{online}`.",
                       why="Shared tensors move together: the target would not trail.",
                       hint="The target needs its own parameters, with the same values.")
        if _shapes(tgt) != _shapes(net):
            other = actor if online == "critic" else critic
            bug = "critic_target_actor" if online == "critic" and _shapes(tgt) == _shapes(other) \
                else None
            raise fail(f"`{target}` does not have `{online}`'s architecture (parameter shapes "
                       f"{_shapes(tgt)[:2]}... instead of {_shapes(net)[:2]}...).",
                       why=f"The target is a slowly moving copy of `{online}`: same class, same "
                       "sizes.", hint="Which class builds the target?", bug=bug)
    _check_networks(agent, st)
    for online, target in (("actor", "actor_target"), ("critic", "critic_target")):
        net, tgt = getattr(agent, online), getattr(agent, target)
        if not all(torch.equal(a.detach().cpu(), b.detach().cpu())
                   for a, b in zip(net.parameters(), tgt.parameters())):
            raise fail(f"`{target}` does not start with `{online}`'s weights.",
                       why="Algorithm 1 initialises the targets as copies (theta' <- theta): two "
                       "independent random networks make the first targets meaningless.",
                       hint="After building the target, load the online network's weights into "
                       "it.")
    for opt_name, net_name in (("actor_optimizer", "actor"), ("critic_optimizer", "critic")):
        _check_optimizer(agent, opt_name, net_name)


def _check_optimizer(agent: Any, opt_name: str, net_name: str) -> None:
    opt = getattr(agent, opt_name)
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    want = {id(p) for p in getattr(agent, net_name).parameters()}
    if held == want:
        return
    for other in NETS:
        if other != net_name and held == {id(p) for p in getattr(agent, other).parameters()}:
            raise fail(f"`{opt_name}` holds the parameters of `{other}`, not of `{net_name}`.",
                       why="Each optimiser trains its own network; the targets move only by "
                       "Polyak averaging." if other.endswith("_target") else
                       "The actor's loss would train the critic (or the other way round).",
                       hint=f"Build `{opt_name}` over `{net_name}`'s parameters.")
    raise fail(f"`{opt_name}` holds {len(held)} parameter tensors; `{net_name}` has {len(want)}, "
               f"and {len(want - held)} of them are missing from it.",
               why="A parameter the optimiser does not hold is never trained.",
               hint=f"Give the optimiser all of `{net_name}`'s parameters.")


def _check_networks(agent: Any, st: Setup) -> None:
    """The learner's actor and critic compute TD3's networks: same parameter shapes, in order,
    as ``networks.Actor``/``Critic``, and the same outputs with the same weights."""
    ref_actor, ref_critic = reference_networks(st)
    for name, net, ref in (("actor", agent.actor, ref_actor), ("critic", agent.critic, ref_critic)):
        got, want = _shapes(net), _shapes(ref)
        if got != want:
            heads = [s for s in got if len(s) == 2 and s[0] == st.action_dim and s[1] == 300]
            bug = "head_width" if name == "critic" and heads else None
            raise fail(f"Your {name}'s parameters have shapes {got}; TD3's {name} "
                       f"({ARCHITECTURE[name]}) "
                       f"has {want}.", why="The reference is the paper's architecture "
                       "(Section 6.1); the check copies your weights into it, in order.",
                       hint="Compare each nn.Linear's in/out sizes with the picture in the "
                       "notebook.", bug=bug)
    _copy_into(ref_actor, agent.actor)
    _copy_into(ref_critic, agent.critic)
    device = _device(agent)
    g = torch.Generator().manual_seed(st.seed + 5)
    s = torch.randn(32, st.state_dim, generator=g) * 2
    a = (torch.rand(32, st.action_dim, generator=g) * 2 - 1) * st.max_action
    with torch.no_grad():
        got_a = _call("your actor(s)", agent.actor, s.to(device))
        got_q = _call("your critic(s, a)", agent.critic, s.to(device), a.to(device))
        want_a, want_q = ref_actor(s), ref_critic(s, a)
    if not isinstance(got_a, torch.Tensor) or tuple(got_a.shape) != tuple(want_a.shape):
        raise fail(f"Your actor returns {_describe(got_a)} for a batch of 32 states; expected a "
                   f"tensor of shape {tuple(want_a.shape)}.", hint="One action per state.")
    if not torch.allclose(got_a.cpu(), want_a, atol=ATOL, rtol=RTOL):
        raise fail("Your actor has TD3's layer sizes but computes something else: with the same "
                   f"weights its actions differ (largest gap {(got_a.cpu() - want_a).abs().max():.3g}).",
                   why="TD3's actor is max_action * tanh(layer_3(relu(layer_2(relu(layer_1(s)))))).",
                   hint="Check the activations and where max_action enters.")
    if not isinstance(got_q, (tuple, list)) or len(got_q) != 2:
        raise fail(f"Your critic(s, a) returns {_describe(got_q)}; expected two tensors (q1, q2).",
                   hint="The twin critic returns both heads' values.")
    for i, (gq, wq) in enumerate(zip(got_q, want_q), start=1):
        if not isinstance(gq, torch.Tensor) or tuple(gq.shape) != tuple(wq.shape):
            raise fail(f"Your critic's q{i} is {_describe(gq)}; expected shape {tuple(wq.shape)}.",
                       hint="One Q-value per (s, a) pair.",
                       bug="head_width" if isinstance(gq, torch.Tensor)
                       and gq.shape[-1] == st.action_dim else None)
        if not torch.allclose(gq.cpu(), wq, atol=ATOL, rtol=RTOL):
            raise fail(f"Your critic's q{i} differs from TD3's with the same weights.",
                       why="Each head: concatenate (s, a), 400-300 ReLU, one linear output.",
                       hint="Check which layers each head uses.")
    if hasattr(agent.critic, "Q1"):
        with torch.no_grad():
            q1 = _call("your critic.Q1(s, a)", agent.critic.Q1, s.to(device), a.to(device))
        if not isinstance(q1, torch.Tensor) or not torch.allclose(q1.cpu(), want_q[0], atol=ATOL,
                                                                  rtol=RTOL):
            raise fail("Your critic.Q1(s, a) is not the first head of critic(s, a).",
                       why="The actor climbs Q1 (step 13); Q1 must be the same head the critic "
                       "trains.", hint="Q1 uses the first head's layers only.")


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    return f"a {type(x).__name__}"


def reference_networks(st: Setup) -> tuple[Actor, Critic]:
    return Actor(st.state_dim, st.action_dim, st.max_action), Critic(st.state_dim, st.action_dim)


def _copy_into(ref: nn.Module, net: nn.Module) -> None:
    with torch.no_grad():
        for r, p in zip(ref.parameters(), net.parameters()):
            r.copy_(p.detach().cpu())


def _device(agent: Any) -> torch.device:
    return next(agent.actor.parameters()).device


# --------------------------------------------------------------------------- 2. select_action
def check_select_action(agent: Any, st: Setup) -> None:
    if not callable(getattr(agent, "select_action", None)):
        raise fail("Your agent has no select_action method.",
                   why="The trainer and the evaluation call agent.select_action(state) at every "
                   "env step.", hint="def select_action(self, state): inside the class.")
    ref_actor, _ = reference_networks(st)
    _copy_into(ref_actor, agent.actor)
    before = [p.detach().clone() for n in NETS for p in getattr(agent, n).parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in agent.actor.parameters()]
    seen: list[bool] = []
    hook = agent.actor.register_forward_hook(lambda m, i, o: seen.append(torch.is_grad_enabled()))
    try:
        for dtype in (np.float32, np.float64):
            state = np.random.default_rng(st.seed).normal(size=st.state_dim).astype(dtype)
            what = f"select_action(state) with a ({st.state_dim},) numpy {np.dtype(dtype).name} state"
            got = _call(what, agent.select_action, state.copy())
            if isinstance(got, torch.Tensor):
                raise fail(f"{what} returned a torch tensor; expected a numpy array.",
                           why="The environment takes numpy actions (env.step(action)).",
                           hint="Convert the actor's output to numpy before returning it.")
            if not isinstance(got, np.ndarray):
                raise fail(f"{what} returned a {type(got).__name__}; expected a numpy array of "
                           f"shape ({st.action_dim},).")
            if got.shape != (st.action_dim,):
                bug = "reshape_column" if got.size == st.state_dim * st.action_dim else None
                raise fail(f"{what} returned shape {got.shape}; expected ({st.action_dim},).",
                           why="One state in, one action out: the env wants action_dim numbers.",
                           hint="The actor takes a batch of states, one per row; a single state "
                           "is a batch of one.", bug=bug)
            with torch.no_grad():
                want = ref_actor(torch.as_tensor(state, dtype=torch.float32)[None])[0].numpy()
            if np.any(np.abs(got) > st.max_action + 1e-6):
                raise fail(f"select_action returned {got}, outside [-{st.max_action:g}, "
                           f"{st.max_action:g}].", hint="The actor's own output is already "
                           "bounded; return it as it is.")
            if not np.allclose(got, want, atol=ATOL, rtol=RTOL):
                raise fail(f"select_action returned {np.round(got, 4)}; the actor's action for "
                           f"that state is {np.round(want, 4)}.",
                           why="select_action is the deterministic policy mu(s): no noise (the "
                           "trainer adds exploration noise), no other network.",
                           hint="Return what the online actor gives for the state.")
    finally:
        hook.remove()
    if any(seen):
        raise fail("select_action runs the actor with autograd on: a graph is recorded at every "
                   "env step.", why="Acting needs no gradient; recording one costs time and memory "
                   "on every step of training and evaluation.",
                   hint="Switch autograd off around the forward pass.", bug="select_action_graph")
    after = [p.detach() for n in NETS for p in getattr(agent, n).parameters()]
    if not all(torch.equal(a, b) for a, b in zip(before, after)):
        raise fail("select_action changed the networks' weights.",
                   why="Acting must not learn: only train updates the weights.")
    now = [p.grad for p in agent.actor.parameters()]
    if any((g0 is None) != (g1 is None) or (g0 is not None and not torch.equal(g0, g1))
           for g0, g1 in zip(grads, now)):
        raise fail("select_action changed the actor's gradients.",
                   why="Acting must not backpropagate.")


# --------------------------------------------------------------------------- the scripted memory
class ScriptedMemory:
    """A replay memory whose ``sample`` hands out prepared batches, one per iteration, and
    reseeds torch's RNG before each (so learner and reference draw the same noise). It notes the
    learner's weights at each ``sample``: the state after the previous iteration."""

    def __init__(self, batches: list[Batch], seeds: list[int], hp: Hyper, device: torch.device,
                 on_sample: Callable[[], None]) -> None:
        self.batches, self.seeds, self.hp, self.device = batches, seeds, hp, device
        self.on_sample, self.k, self.handed = on_sample, 0, []
        self.size = self.max_size = 10_000
        self.ptr = 0

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int) -> Batch:
        if batch_size != self.hp.batch_size:
            raise fail(f"train sampled a batch of {batch_size}; the check called train with "
                       f"batch_size={self.hp.batch_size}.", hint="Step 4 samples batch_size "
                       "transitions: use the argument.")
        if self.k >= len(self.batches):
            raise fail("train sampled more batches than it ran iterations.",
                       why="Step 4 samples ONE batch per iteration, and steps 5-15 all use it.",
                       hint="Sample once, at the start of each iteration.")
        self.on_sample()
        torch.manual_seed(self.seeds[self.k])
        batch = Batch(*(t.clone().to(self.device) for t in self.batches[self.k]))
        self.handed.append(batch)
        self.k += 1
        return batch


def make_batches(st: Setup, n: int, salt: int) -> list[Batch]:
    g = torch.Generator().manual_seed(st.seed * 101 + salt)
    B, m = st.hp.batch_size, st.max_action
    out = []
    for _ in range(n):
        terminated = (torch.rand(B, 1, generator=g) < 0.3).float()
        terminated[0], terminated[1] = 1.0, 0.0
        out.append(Batch(torch.randn(B, st.state_dim, generator=g),
                         torch.randn(B, st.state_dim, generator=g) + 0.5,
                         (torch.rand(B, st.action_dim, generator=g) * 2 - 1) * m,
                         torch.randn(B, 1, generator=g) * 2, terminated))
    return out


# --------------------------------------------------------------------------- 3. the noise
def check_noise(cls: Any, st: Setup) -> None:
    """Target policy smoothing, measured on the a~ that reaches the critic target (step 7)."""
    agent = _build(cls, st, salt=3)
    hp = replace(st.hp, batch_size=256)
    big = replace(st, hp=hp)
    m = st.max_action
    for case, (sigma, c) in (("spread", (0.3, 100.0)), ("clip", (0.3, 0.1))):
        pairs = _noise_samples(agent, big, replace(hp, policy_noise=sigma, noise_clip=c), salt=11)
        if pairs is None:
            raise fail("During train, the critic target was never called.",
                       why="Step 7: the twin critic TARGETS value (s', a~); the online critic "
                       "values (s, a) in step 10.", hint="Which network gives the target "
                       "Q-values?")
        a_next, a_tilde = pairs
        inner = (a_tilde.abs() < m - 1e-6) & (a_next.abs() < m - 1e-6)
        noise = (a_tilde - a_next)[inner.all(dim=1)]
        if noise.shape[0] < 50:
            continue
        if torch.all(noise.abs() < 1e-7):
            raise fail(f"With policy_noise={sigma:g}, the a~ that reaches the critic target equals "
                       "the target actor's a': no target policy noise.",
                       why="Target policy smoothing (step 6, paper Section 5.3) averages the "
                       "target over nearby actions.", hint="Add clipped Gaussian noise to a'.")
        if noise.shape[0] > 1 and torch.allclose(noise, noise[:1].expand_as(noise), atol=1e-6):
            raise fail("Every transition of the batch got the same target noise.",
                       why="Each transition's target is smoothed by its own draw; one shared "
                       "number shifts the whole batch together and smooths nothing.",
                       hint="Noise of a'`s full shape, (batch_size, action_dim).",
                       bug="shared_noise")
        if torch.allclose(noise, noise[:, :1].expand_as(noise), atol=1e-6):
            raise fail("Within each transition, every action dimension got the same target noise.",
                       why="Each action dimension gets its own independent draw.",
                       hint="Noise of a'`s full shape, (batch_size, action_dim).",
                       bug="shared_noise")
        if case == "spread":
            std = noise.std().item()
            if abs(std / (sigma * m) - 1) > 0.15:
                unscaled = abs(std / sigma - 1) < 0.15
                raise fail(f"With max_action={m:g} and policy_noise={sigma:g} the target noise has "
                           f"std {std:.3g}; expected policy_noise * max_action = {sigma * m:.3g}.",
                           why="policy_noise and noise_clip are in units of max_action (the "
                           "trainer passes TD3Config's 0.2 and 0.5 for every environment).",
                           hint="Scale the noise by max_action.",
                           bug="noise_unscaled" if unscaled else None)
        else:
            top = noise.abs().max().item()
            if top > c * m + 1e-5 or top < c * m - 1e-5:
                unscaled = abs(top - c) < 1e-5
                raise fail(f"With max_action={m:g} and noise_clip={c:g} the target noise reaches "
                           f"{top:.3g}; it should be clipped at exactly noise_clip * max_action = "
                           f"{c * m:.3g}.", why="Clipping keeps a~ near a' (paper, Eq. 14).",
                           hint="Clip the noise itself, in units of max_action, before adding it.",
                           bug="noise_unscaled" if unscaled else None)
    # The action bounds: a' pushed to the edge, a~ must stay inside [-max_action, max_action].
    with torch.no_grad():
        last = list(agent.actor_target.parameters())[-1]
        last.copy_(torch.tensor([8.0 if i % 2 == 0 else -8.0 for i in range(last.numel())],
                                device=last.device))
    pairs = _noise_samples(agent, big, replace(hp, policy_noise=0.3, noise_clip=0.5), salt=12)
    if pairs is not None and pairs[1].abs().max().item() > m + 1e-5:
        raise fail(f"For a' at the action bounds, a~ reaches {pairs[1].abs().max().item():.3g}, "
                   f"beyond max_action = {m:g}.", why="The target critics must value actions the "
                   "environment can take.", hint="Clip a' + noise to the action bounds.")


def _noise_samples(agent: Any, st: Setup, hp: Hyper, salt: int):
    """(a', a~) of one train iteration: a~ as passed to critic_target, a' = actor_target(s')."""
    got: list = []
    original = agent.critic_target.forward

    def spy(*args, **kwargs):
        if len(args) >= 2 and not got:
            with torch.no_grad():
                got.append((agent.actor_target(args[0]).detach().cpu(), args[1].detach().cpu()))
        return original(*args, **kwargs)

    batches = make_batches(st, 1, salt)
    memory = ScriptedMemory(batches, [salt], hp, _device(agent), lambda: None)
    agent.critic_target.forward = spy
    try:
        _call("train(replay_buffer, 1, ...)", agent.train, memory, 1, **hp.train_kwargs())
    finally:
        del agent.critic_target.forward
    return got[0] if got else None


# --------------------------------------------------------------------------- 4. train
@dataclass
class Snapshot:
    params: dict[str, list[torch.Tensor]]
    grads: dict[str, list[torch.Tensor | None]]


def snap(ag: Any) -> Snapshot:
    return Snapshot({n: [p.detach().cpu().clone() for p in getattr(ag, n).parameters()]
                     for n in NETS},
                    {n: [None if p.grad is None else p.grad.detach().cpu().clone()
                         for p in getattr(ag, n).parameters()] for n in NETS})


def _reference(agent: Any, st: Setup) -> SimpleNamespace:
    """Package networks holding the learner's weights, and Adam with the learner's settings."""
    actor, critic = reference_networks(st)
    actor_target, critic_target = reference_networks(st)
    for ref, name in ((actor, "actor"), (critic, "critic"), (actor_target, "actor_target"),
                      (critic_target, "critic_target")):
        _copy_into(ref, getattr(agent, name))
    ag = SimpleNamespace(actor=actor, critic=critic, actor_target=actor_target,
                         critic_target=critic_target, max_action=st.max_action)
    for opt_name, net in (("actor_optimizer", actor), ("critic_optimizer", critic)):
        group = getattr(agent, opt_name).param_groups[0]
        setattr(ag, opt_name, torch.optim.Adam(
            net.parameters(), lr=float(group["lr"]), betas=tuple(group["betas"]),
            eps=group["eps"], weight_decay=group["weight_decay"], amsgrad=group["amsgrad"]))
    return ag


def _load(ag: SimpleNamespace, s: Snapshot) -> None:
    with torch.no_grad():
        for n in NETS:
            for p, v in zip(getattr(ag, n).parameters(), s.params[n]):
                p.copy_(v)


def _differs(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Largest gap beyond tolerance between two parameter lists; 0.0 when they match."""
    worst = 0.0
    for x, y in zip(a, b):
        if not torch.allclose(x, y, atol=ATOL, rtol=RTOL):
            worst = max(worst, (x - y).abs().max().item())
    return worst


def _mismatches(learner: Snapshot, ref: SimpleNamespace) -> dict[str, float]:
    out = {}
    for n in NETS:
        gap = _differs(learner.params[n], [p.detach() for p in getattr(ref, n).parameters()])
        if gap:
            out[n] = gap
    return out


def _moved(before: Snapshot, after: Snapshot, n: str) -> bool:
    """Whether network ``n`` changed beyond rounding (a Polyak step toward an equal network
    changes the last bit only)."""
    return _differs(before.params[n], after.params[n]) > 0


@dataclass
class Run:
    name: str        # "noise off" / "noise on"
    hp: Hyper
    noise_exact: bool = True


CANDIDATES: list[tuple[str, Variant, str, str | None]] = [
    # (which networks it explains, variant, problem, bug id)
    ("critic", Variant(target_actor="actor"), "the target action a' came from the online actor "
     "(step 5 uses actor_target)", None),
    ("critic", Variant(target_critic="critic"), "the target Q-values came from the online critic "
     "(step 7 uses critic_target)", None),
    ("critic", Variant(next_state="s"), "the target was computed at s instead of s' (steps 5 and "
     "7 look at the NEXT state)", None),
    ("critic", Variant(noise="off"), "no target policy noise was added (step 6), although "
     "policy_noise > 0", None),
    ("critic", Variant(noise="unscaled"), "the target noise is not scaled by max_action (step 6)",
     "noise_unscaled"),
    ("critic", Variant(q_next="q1"), "the target used Q1' alone instead of min(Q1', Q2') (step 8)",
     None),
    ("critic", Variant(q_next="max"), "the target used max(Q1', Q2') instead of the min (step 8)",
     None),
    ("critic", Variant(q_next="mean"), "the target averaged Q1' and Q2' instead of taking the "
     "min (step 8)", None),
    ("critic", Variant(mask="none"), "terminal transitions still bootstrap: the done mask is "
     "missing (step 9)", None),
    ("critic", Variant(mask="inverted"), "the done mask is inverted (step 9): the future counts "
     "only where the episode ended", None),
    ("critic", Variant(gamma=0.99), "the discount is hard-coded to 0.99 (step 9); train was "
     "called with another discount", None),
    ("critic", Variant(critic_loss="q1"), "only Q1 is trained: the critic loss (step 11) must "
     "sum both heads' errors", None),
    ("critic", Variant(critic_zero_grad=False), "the critic's gradients are never cleared "
     "(step 12): each update adds the previous ones", None),
    ("actor", Variant(actor_objective="+q1"), "the actor went DOWN Q1: the actor loss has the "
     "wrong sign (step 13)", "missing_minus"),
    ("actor", Variant(actor_objective="-q2"), "the actor climbed Q2; the paper climbs Q1 (step 13)",
     None),
    ("actor", Variant(actor_objective="-min"), "the actor climbed min(Q1, Q2); the paper climbs "
     "Q1 alone (step 13; the min is for targets)", None),
    ("actor", Variant(actor_objective="-q1_target"), "the actor climbed the critic TARGET's Q1; "
     "step 13 uses the online critic", None),
    ("actor", Variant(actor_zero_grad=False), "the actor's gradients are never cleared (step 13)",
     None),
    ("targets", Variant(polyak="swapped"), "tau and 1 - tau are swapped in the Polyak average "
     "(steps 14-15): the targets jump almost all the way", None),
    ("targets", Variant(polyak="copy"), "the targets were copied (tau = 1) instead of averaged "
     "(steps 14-15)", None),
    ("targets", Variant(polyak="default_tau"), "tau is hard-coded to 0.005 (steps 14-15); train "
     "was called with another tau", None),
    ("targets", Variant(polyak="before_actor"), "the targets were averaged BEFORE the actor's "
     "update, so the actor target follows last iteration's actor (steps 14-15 come after 13)",
     None),
]


def _diagnose(run: Run, it: int, n_calls: str, before: Snapshot, after: Snapshot,
              ref: SimpleNamespace, want: SimpleNamespace, batch: Batch,
              a_tilde: torch.Tensor | None, cls: Any, st: Setup) -> CheckFailed:
    """Why the learner's weights after iteration ``it`` (``after``) differ from the reference's
    (``want``), both started from ``before``; ``ref`` is the reference before the iteration."""
    hp = run.hp
    delayed = it % hp.policy_freq == 0
    kind = "a delayed iteration" if delayed else "a non-delayed iteration"
    where = (f"After iteration {it} ({run.name}, policy_freq={hp.policy_freq}: {kind}; "
             f"train called as {n_calls})")
    bad = _mismatches(after, want)
    good = [n for n in NETS if n not in bad]
    ok = (" " + _and(good) + (" match" if len(good) > 1 else " matches") + ", but") if good else ""
    moved = {n: _moved(before, after, n) for n in NETS}

    # Structural: what moved when it should not, or did not when it should.
    if not moved["critic"]:
        return fail(f"{where} the critic did not change.", why="Steps 10-12 train the critic at "
                    "EVERY iteration.", hint=f"Step 12: {ORDER} on the critic's optimizer.")
    if not delayed and (moved["actor"] or moved["actor_target"] or moved["critic_target"]):
        what = [n for n in ("actor", "actor_target", "critic_target") if moved[n]]
        bug, pattern = "polyak_every_iteration", ""
        if moved["actor"]:
            bug, pattern = _delay_pattern(cls, hp, st)
        return fail(f"{where}{ok} {_and(what)} moved on a non-delayed iteration{pattern}: "
                    f"{DELAY_RULE}.", why="The delay lets the critic settle before the actor and "
                    "the targets follow it (paper, Section 5.2).",
                    hint="Which counter does your delay test, and is every one of steps 13-15 "
                    "under it?", bug=bug)
    if delayed:  # not moved at all, not even by rounding
        still = [n for n in ("actor", "actor_target", "critic_target")
                 if all(torch.equal(a, b) for a, b in zip(before.params[n], after.params[n]))]
        if still:
            bug = "polyak_assigns_copy" if ("actor" not in still and
                                            assigns_attribute(getattr(cls, "train", None), "copy_")) \
                else ("local_counter" if "actor" in still else None)
            return fail(f"{where}{ok} {_and(still)} did not move on a delayed iteration: "
                        f"{DELAY_RULE}.", hint="Is every one of steps 13-15 reached on that "
                        "iteration, and does each really write into its network?", bug=bug)
    # Values: find the variant of the reference that gives the learner's numbers.
    group = "critic" if "critic" in bad else ("actor" if "actor" in bad else "targets")
    for explains, variant, problem, bug in CANDIDATES:
        if explains != group:
            continue
        trial = _reference_from(before, ref, st_max=hp.max_action)
        torch.manual_seed(_noise_seed_of(batch))
        try:
            iteration(trial, batch, it, hp, variant,
                      a_tilde=None if run.noise_exact or variant.noise != "ok" else a_tilde)
        except RuntimeError:
            continue
        if not _mismatches(after, trial):
            return fail(f"{where}{ok} {problem}.", bug=bug, hint=_GROUP_HINT[group])
    names = ", ".join(f"{n} (largest gap {g:.2g})" for n, g in bad.items())
    return fail(f"{where}{ok} {names} differ from the reference.",
                why=_GROUP_WHY[group], hint=_GROUP_HINT[group])


_GROUP_WHY = {"critic": "The critic is updated by steps 5-12: target action, noise, twin target "
              "Q-values, their min, the Bellman target, then one Adam step on the sum of both "
              "heads' squared errors.",
              "actor": "The actor is updated by step 13: one Adam step on -mean Q1(s, actor(s)).",
              "targets": "The targets move by steps 14-15 only: theta' <- tau theta + (1 - tau) "
              "theta', after the actor's update."}
_GROUP_HINT = {"critic": "Compare each of steps 5-12 in your train with Algorithm 1 above.",
               "actor": "Compare step 13 in your train with Algorithm 1 above.",
               "targets": "Compare steps 14-15 in your train with Algorithm 1 above."}


def _delay_pattern(cls: Any, hp: Hyper, st: Setup) -> tuple[str | None, str]:
    """On which iterations a fresh agent's actor moves, over four train(..., 1) calls and then
    one train(..., 4) call: tells a counter that restarts in every call from a missing delay or
    an off-by-one count."""
    agent = _build(cls, st, salt=9)
    n = 8
    batches = make_batches(st, n, salt=9)
    snaps: list[Snapshot] = []
    memory = ScriptedMemory(batches, list(range(n)), hp, _device(agent),
                            lambda: snaps.append(snap(agent)))
    for k in (1, 1, 1, 1, 4):
        _call("train(replay_buffer, ...)", agent.train, memory, k, **hp.train_kwargs())
    snaps.append(snap(agent))
    ran = [i + 1 for i in range(n) if _moved(snaps[i], snaps[i + 1], "actor")]
    want = [i for i in range(1, n + 1) if i % hp.policy_freq == 0]
    if ran[:4] == [1, 2, 3, 4] and ran[4:] != [5, 6, 7, 8]:
        return "local_counter", (" (at every one of four train(..., 1) calls, but not at every "
                                 "iteration of one train(..., 4) call: your counter restarts in "
                                 "each call)")
    if ran == list(range(1, n + 1)):
        return None, " (at every iteration: there is no delay at all)"
    return None, f" (over 8 iterations the actor moved on iterations {ran}; expected {want})"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _reference_from(s: Snapshot, ref: SimpleNamespace, st_max: float) -> SimpleNamespace:
    """A copy of the reference (optimiser state included) with the weights of snapshot ``s``."""
    trial = copy.deepcopy(ref)
    _load(trial, s)
    for n in NETS:
        for p, g in zip(getattr(trial, n).parameters(), s.grads[n]):
            p.grad = None if g is None else g.clone()
    return trial


_SEEDS: dict[int, int] = {}


def _noise_seed_of(batch: Batch) -> int:
    return _SEEDS.get(id(batch), 0)


def run_train(cls: Any, st: Setup, run: Run, salt: int) -> Run:
    agent = _build(cls, st, salt=salt)
    ref = _reference(agent, st)
    n_total = sum(st.calls)
    batches = make_batches(st, n_total, salt)
    seeds = [st.seed * 1000 + salt * 100 + k for k in range(n_total)]
    for b, s in zip(batches, seeds):
        _SEEDS[id(b)] = s
    snaps: list[Snapshot] = []
    memory = ScriptedMemory(batches, seeds, run.hp, _device(agent), lambda: snaps.append(snap(agent)))
    tildes: list[torch.Tensor] = []
    original = agent.critic_target.forward

    noises: list[torch.Tensor] = []

    def spy(*args, **kwargs):
        if len(args) >= 2 and len(tildes) < memory.k:
            tildes.append(args[1].detach().cpu().clone())
            with torch.no_grad():  # the noise the learner added: a~ - a', where a~ is inside
                a_next = agent.actor_target(args[0]).detach().cpu()
            inside = (tildes[-1].abs() < run.hp.max_action - 1e-6) & (a_next.abs() < run.hp.max_action - 1e-6)
            noises.append(torch.where(inside, tildes[-1] - a_next, torch.nan))
        return original(*args, **kwargs)

    agent.critic_target.forward = spy
    it = 0
    try:
        for c, n in enumerate(st.calls):
            start = len(snaps)
            calls = " + ".join(f"train(..., {k})" for k in st.calls[:c + 1])
            _call(f"train(replay_buffer, {n}, ...) (call {c + 1} of {len(st.calls)}, {run.name})",
                  agent.train, memory, n, **run.hp.train_kwargs())
            end = snap(agent)
            taken = len(snaps) - start
            if taken != n:
                raise fail(f"train(replay_buffer, iterations={n}, ...) sampled {taken} batch(es).",
                           why="Step 4 samples one batch per iteration.",
                           hint="Loop `iterations` times; sample at the start of each loop.")
            for j in range(n):
                it += 1
                k = start + j
                handed, given = memory.handed[k], batches[k]
                for field_name, h, g in zip(Batch._fields, handed, given):
                    if not torch.equal(h.cpu(), g):
                        raise fail(f"train changed the sampled batch in place (its `{field_name}`).",
                                   why="Steps 10-11 need the stored transitions as they are; "
                                   "noise written into the sampled actions trains the critic on "
                                   "actions that were never played.",
                                   hint="Build new tensors; do not write into the batch's.",
                                   bug="noise_into_batch" if field_name == "a" else None)
                before = snaps[k]
                after = snaps[k + 1] if j + 1 < n else end
                if run.name == "noise on" and k >= 1 and len(noises) > k:
                    both = ~(noises[k].isnan() | noises[k - 1].isnan())
                    if both.sum() > 4 and torch.allclose(noises[k][both], noises[k - 1][both],
                                                         atol=1e-7):
                        raise fail(f"Iterations {it - 1} and {it} ({run.name}) added the same "
                                   "target noise: it is drawn once and reused.",
                                   why="Smoothing averages the target over many draws, a fresh one "
                                   "at every iteration; one draw reused is a fixed bias.",
                                   hint="Draw the noise inside the loop, at every iteration.")
                trial = _reference_from(before, ref, st.max_action)
                torch.manual_seed(seeds[k])
                got = tildes[k] if k < len(tildes) else None
                ref_tilde = iteration(trial, given, it, run.hp)
                if run.name == "noise on" and got is not None and \
                        not torch.allclose(got, ref_tilde, atol=ATOL, rtol=RTOL):
                    run.noise_exact = False  # another random stream: use the learner's draws
                    trial = _reference_from(before, ref, st.max_action)
                    iteration(trial, given, it, run.hp, a_tilde=got)
                if _mismatches(after, trial):
                    raise _diagnose(run, it, calls, before, after, ref, trial, given, got, cls, st)
                for tn in ("actor_target", "critic_target"):
                    if any(g is not None and bool(g.abs().sum() > 0) for g in after.grads[tn]):
                        raise fail(f"After iteration {it} ({run.name}) `{tn}` holds gradients: "
                                   "a backward() reached the target network.",
                                   why="The Bellman target y is a constant of the regression "
                                   "(steps 5-9 run without autograd); targets move only by "
                                   "Polyak averaging.", hint="Compute steps 5-9 with autograd "
                                   "switched off.")
                ref = trial
    finally:
        del agent.critic_target.forward
        for b in batches:
            _SEEDS.pop(id(b), None)
    return run


# --------------------------------------------------------------------------- the check
def agent(agent_cls: Any, seed: int = 0) -> CheckPassed:
    """Check a whole TD3 agent class in the lecture's shape against td3_teach's reference.

    ``agent_cls(state_dim, action_dim, max_action)`` must build actor, actor_target, critic,
    critic_target, actor_optimizer, critic_optimizer; ``select_action(state)`` map a
    ``(state_dim,)`` numpy state to a ``(action_dim,)`` numpy action; and ``train(replay_buffer,
    iterations, batch_size, discount, tau, policy_noise, noise_clip, policy_freq)`` run steps
    4-15 ``iterations`` times. ``seed`` varies the sizes and hyperparameters (graders use others).
    """
    try:
        return _agent(agent_cls, seed)
    except CheckFailed:
        raise
    except Exception as e:  # noqa: BLE001 - the check's own code met something unexpected
        raise fail(f"The check could not run your agent: {type(e).__name__}: "
                   f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}",
                   hint="Keep the lecture's shape: the class, its six attributes and its three "
                   "methods.") from None


def _agent(agent_cls: Any, seed: int) -> CheckPassed:
    if agent_cls is None:
        raise fail("The agent is None. Did you run the exercise cell above?")
    if not callable(agent_cls) or hasattr(agent_cls, "select_action") and not inspect.isclass(agent_cls):
        raise fail(f"checks.agent needs your agent's class; got {type(agent_cls).__name__}.",
                   hint="Pass the class itself, without calling it: checks.agent(MyTD3).")
    st = setup(seed)
    with seeded(seed):
        ag = _build(agent_cls, st)
        train = getattr(ag, "train", None)
        if train is None or not callable(train):
            raise fail("Your agent has no train method.", bug="train_outside_class",
                       hint=_hint_for("train_outside_class"))
        try:
            got = [p for p in inspect.signature(train).parameters]
        except (TypeError, ValueError):
            got = TRAIN_PARAMS
        if got != TRAIN_PARAMS:
            raise fail(f"train takes ({', '.join(got)}); the lecture's signature is "
                       f"({', '.join(TRAIN_PARAMS)}).", hint="Keep the names and their order: the "
                       "trainer and this check call train with them.")
        check_parts(ag, agent_cls, st)
        check_select_action(ag, st)
        check_noise(agent_cls, st)
        run_train(agent_cls, st, Run("noise off", replace(st.hp, policy_noise=0.0,
                                                            noise_clip=0.0)), salt=1)
        on = run_train(agent_cls, st, Run("noise on", st.hp), salt=2)
    n = sum(st.calls)
    d = st.hp.policy_freq
    noise = ("noise on equal under the same seed" if on.noise_exact else
             "noise on checked statistically (your draws come from another random stream than "
             "torch.randn_like) and the rest of each update compared with your draws")
    return CheckPassed(LABEL, f"{_name(agent_cls)} matches the reference TD3 parameter for "
                       f"parameter (1e-5): {n} iterations in train calls of {list(st.calls)}, "
                       f"policy_freq={d} (delayed iterations {[i for i in range(1, n + 1) if i % d == 0]}), "
                       f"noise off exactly, {noise}; max_action={st.max_action:g}, "
                       f"discount={st.hp.discount:g}, tau={st.hp.tau:g}. select_action: shape "
                       f"({st.action_dim},), bounded, no autograd, weights unchanged.")
