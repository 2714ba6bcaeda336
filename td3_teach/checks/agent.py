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
   parameter tensor is compared after each iteration (1e-5; up to ``SAMPLE`` entries of each),
   and where one differs, every parameter before and after that iteration.

It stops at the first difference and says which step, naming the lecture's bug when it is one.

Probe, then judge: this module is the *judge*. It never touches the learner's objects: it asks
a session (``_agent_probe``: ``LocalSession`` in the notebook, the grader's ``RemoteSession``
from outside the learner's process) to run the learner's code on inputs it sends, gets back
what that code returned, raised or changed as plain data, compares with the reference and
writes the message. The check's seed never crosses: the inputs' seeds are hashes of it.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn

from ._agent_probe import SAMPLE, LocalSession, Session, check_weights, differs, sample_index, take
from ._agent_reference import NETS, Hyper, Variant, iteration
from ._core import CheckFailed, CheckPassed, NotImplementedYet
from ._lecture_bugs import BUGS, TYPO_BUGS
from ._seeded import seeded
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


def derive(seed: int, *tags: Any) -> int:
    """A seed for one of the check's inputs: a hash of the check's seed and the input's tags, so
    that what the learner's process receives never holds the check's seed itself."""
    digest = hashlib.sha256(repr((int(seed),) + tags).encode()).digest()
    return int.from_bytes(digest[:4], "big")


# --------------------------------------------------------------------------- asking the probe
def _ask(session: Session, op: str, hp: Hyper | None = None, **data: Any) -> dict:
    """One operation of the probe's; what the learner's code raised, or the scripted memory's
    stop, raised here as the check's failure."""
    rec = session.ask(op, **data)
    if "raised" in rec:
        raise _learner_error(rec["raised"])
    if "stopped" in rec:
        stop = rec["stopped"]
        if stop.get("stop") == "batch_size":
            raise fail(f"train sampled a batch of {stop.get('got')}; the check called train with "
                       f"batch_size={hp.batch_size if hp else '?'}.", hint="Step 4 samples "
                       "batch_size transitions: use the argument.")
        raise fail("train sampled more batches than it ran iterations.",
                   why="Step 4 samples ONE batch per iteration, and steps 5-15 all use it.",
                   hint="Sample once, at the start of each iteration.")
    if "oops" in rec:  # the probe met something unexpected in the learner's objects
        name = str(rec["oops"])
        raise type(name if name.isidentifier() else "Exception", (Exception,), {})(
            str(rec.get("message", "")))
    return rec


def _learner_error(e: dict) -> CheckFailed:
    """The learner's exception (as the probe described it): name the lecture's typos and slips
    when it shows one."""
    text, why, hint = str(e.get("problem", "")), str(e.get("why") or ""), str(e.get("hint") or "")
    if e.get("cls") == "NotImplementedYet":
        return NotImplementedYet(LABEL, text, why=why, hint=hint)
    if e.get("cls") not in ("LearnerCodeError",):
        return CheckFailed(LABEL, text, why=why, hint=hint, bug=e.get("bug"))
    quoted = re.search(r"\(`(.*)`\)", text)  # the learner's line, as call_learner quotes it
    line = quoted.group(1) if quoted else ""
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
    err = fail(text, why=why, hint=hint or _hint_for(bug), bug=bug or None)
    if e.get("bug") and not bug:
        err.bug = e["bug"]
    return err


def _quiet(session: Session, op: str, **data: Any) -> None:
    """An operation that only tidies up (its answer does not matter)."""
    try:
        session.ask(op, **data)
    except Exception:  # noqa: BLE001
        pass


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


def _build(session: Session, st: Setup, name: str, key: str, salt: int = 0) -> dict:
    """The learner's agent built in the probe (kept there under ``key``)."""
    return _ask(session, "build", key=key, state_dim=st.state_dim, action_dim=st.action_dim,
                max_action=st.max_action,
                what=f"{name}({st.state_dim}, {st.action_dim}, {st.max_action:g})",
                rng=derive(st.seed, "build", salt))


def _shapes(net: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in net.parameters()]


# --------------------------------------------------------------------------- 1. the parts
def check_parts(session: Session, st: Setup, key: str) -> None:
    f = _ask(session, "parts", key=key)
    nets, opts = f["nets"], f["opts"]
    for name in NETS:
        if not nets[name]["has"]:
            raise fail(f"Your agent has no attribute `{name}`.",
                       why="The trainer, the checkpoints and this check find the networks by the "
                       "lecture's (and the authors') names: actor, actor_target, critic, "
                       "critic_target.", hint=f"Store it in __init__ as `self.{name}`.")
        if not nets[name]["module"]:
            raise fail(f"`{name}` is a {nets[name]['type']}, not an nn.Module.",
                       hint="Store the network itself (an instance), not its class or a function.")
    for name in opts:
        if not opts[name]["adam"]:
            got = opts[name]["type"]
            raise fail(f"`{name}` is " + ("missing" if got is None else
                       f"a {got}") + "; expected a torch.optim.Adam.",
                       why="TD3 trains both networks with Adam (paper, Section 6.1).",
                       hint=f"Build it in __init__ as `self.{name}`, over its network's "
                       "parameters.")
    shapes = {n: [tuple(s) for s in nets[n]["shapes"]] for n in NETS}
    for online, target in (("actor", "actor_target"), ("critic", "critic_target")):
        pair = f["pairs"][target]
        if pair["same"]:
            raise fail(f"`{target}` is the same object as `{online}`, not a copy.",
                       why="A target that IS its network moves with every update: the Bellman "
                       "target chases itself, which the target networks exist to prevent.",
                       hint="Build a second network of the same class and copy the weights in.")
        if pair["shares"]:
            raise fail(f"`{target}` shares parameters with `{online}`.",
                       why="Shared tensors move together: the target would not trail.",
                       hint="The target needs its own parameters, with the same values.")
        if shapes[target] != shapes[online]:
            other = "actor" if online == "critic" else "critic"
            bug = "critic_target_actor" if online == "critic" and shapes[target] == shapes[other] \
                else None
            raise fail(f"`{target}` does not have `{online}`'s architecture (parameter shapes "
                       f"{shapes[target][:2]}... instead of {shapes[online][:2]}...).",
                       why=f"The target is a slowly moving copy of `{online}`: same class, same "
                       "sizes.", hint="Which class builds the target?", bug=bug)
    _check_networks(session, st, key, shapes)
    for online, target in (("actor", "actor_target"), ("critic", "critic_target")):
        if not f["pairs"][target]["equal"]:
            raise fail(f"`{target}` does not start with `{online}`'s weights.",
                       why="Algorithm 1 initialises the targets as copies (theta' <- theta): two "
                       "independent random networks make the first targets meaningless.",
                       hint="After building the target, load the online network's weights into "
                       "it.")
    for opt_name, net_name in (("actor_optimizer", "actor"), ("critic_optimizer", "critic")):
        _check_optimizer(opts[opt_name], opt_name, net_name)


def _check_optimizer(o: dict, opt_name: str, net_name: str) -> None:
    if net_name in o["holds"]:
        return
    for other in NETS:
        if other != net_name and other in o["holds"]:
            raise fail(f"`{opt_name}` holds the parameters of `{other}`, not of `{net_name}`.",
                       why="Each optimiser trains its own network; the targets move only by "
                       "Polyak averaging." if other.endswith("_target") else
                       "The actor's loss would train the critic (or the other way round).",
                       hint=f"Build `{opt_name}` over `{net_name}`'s parameters.")
    raise fail(f"`{opt_name}` holds {o['held']} parameter tensors; `{net_name}` has {o['want']}, "
               f"and {o['missing']} of them are missing from it.",
               why="A parameter the optimiser does not hold is never trained.",
               hint=f"Give the optimiser all of `{net_name}`'s parameters.")


def _weights(st: Setup, key: str) -> int:
    return derive(st.seed, "weights", key)


def _loaded(net: nn.Module, seed: int) -> nn.Module:
    """``net`` holding the check's weights of ``seed`` (``_agent_probe.check_weights``)."""
    with torch.no_grad():
        for p, w in zip(net.parameters(), check_weights([list(s) for s in _shapes(net)], seed)):
            p.copy_(w)
    return net


def _tensor(rec: Any) -> torch.Tensor | None:
    return rec["value"] if isinstance(rec, dict) and rec.get("kind") == "tensor" else None


def _check_networks(session: Session, st: Setup, key: str, shapes: dict) -> None:
    """The learner's actor and critic compute TD3's networks: same parameter shapes, in order,
    as ``networks.Actor``/``Critic``, and the same outputs with the same weights (the check's,
    put into both)."""
    ref_actor, ref_critic = reference_networks(st)
    for name, ref in (("actor", ref_actor), ("critic", ref_critic)):
        got, want = shapes[name], _shapes(ref)
        if got != want:
            heads = [s for s in got if len(s) == 2 and s[0] == st.action_dim and s[1] == 300]
            bug = "head_width" if name == "critic" and heads else None
            raise fail(f"Your {name}'s parameters have shapes {got}; TD3's {name} "
                       f"({ARCHITECTURE[name]}) "
                       f"has {want}.", why="The reference is the paper's architecture "
                       "(Section 6.1); the check copies your weights into it, in order.",
                       hint="Compare each nn.Linear's in/out sizes with the picture in the "
                       "notebook.", bug=bug)
    w = _weights(st, key)
    _loaded(ref_actor, w)
    _loaded(ref_critic, w + 1)
    g = torch.Generator().manual_seed(derive(st.seed, "network inputs"))
    s = torch.randn(32, st.state_dim, generator=g) * 2
    a = (torch.rand(32, st.action_dim, generator=g) * 2 - 1) * st.max_action
    out = _ask(session, "networks", key=key, weights=w, s=s, a=a)
    with torch.no_grad():
        want_a, want_q = ref_actor(s), ref_critic(s, a)
    got_a = _tensor(out["actor"])
    if got_a is None or tuple(got_a.shape) != tuple(want_a.shape):
        raise fail(f"Your actor returns {_describe(out['actor'])} for a batch of 32 states; "
                   f"expected a tensor of shape {tuple(want_a.shape)}.", hint="One action per state.")
    if not torch.allclose(got_a, want_a, atol=ATOL, rtol=RTOL):
        raise fail("Your actor has TD3's layer sizes but computes something else: with the same "
                   f"weights its actions differ (largest gap {(got_a - want_a).abs().max():.3g}).",
                   why="TD3's actor is max_action * tanh(layer_3(relu(layer_2(relu(layer_1(s)))))).",
                   hint="Check the activations and where max_action enters.")
    got_q = out["critic"]
    if got_q.get("kind") != "seq" or got_q["len"] != 2:
        raise fail(f"Your critic(s, a) returns {_describe(got_q)}; expected two tensors (q1, q2).",
                   hint="The twin critic returns both heads' values.")
    for i, (rq, wq) in enumerate(zip(got_q["items"], want_q), start=1):
        gq = _tensor(rq)
        if gq is None or tuple(gq.shape) != tuple(wq.shape):
            raise fail(f"Your critic's q{i} is {_describe(rq)}; expected shape {tuple(wq.shape)}.",
                       hint="One Q-value per (s, a) pair.",
                       bug="head_width" if gq is not None and gq.shape[-1] == st.action_dim
                       else None)
        if not torch.allclose(gq, wq, atol=ATOL, rtol=RTOL):
            raise fail(f"Your critic's q{i} differs from TD3's with the same weights.",
                       why="Each head: concatenate (s, a), 400-300 ReLU, one linear output.",
                       hint="Check which layers each head uses.")
    if out["has_q1"]:
        q1 = _tensor(_ask(session, "q1", key=key, s=s, a=a)["q1"])
        if q1 is None or not torch.allclose(q1, want_q[0], atol=ATOL, rtol=RTOL):
            raise fail("Your critic.Q1(s, a) is not the first head of critic(s, a).",
                       why="The actor climbs Q1 (step 13); Q1 must be the same head the critic "
                       "trains.", hint="Q1 uses the first head's layers only.")


def _describe(rec: Any) -> str:
    """What the learner's code returned (as the probe recorded it), in words."""
    kind = rec.get("kind") if isinstance(rec, dict) else None
    if kind == "tensor":
        return f"a tensor of shape {tuple(rec['value'].shape)}"
    if kind == "seq":
        return f"a {rec['type']} of {rec['len']} items"
    if kind == "ndarray":
        return "a ndarray"
    return f"a {rec.get('type', 'object') if isinstance(rec, dict) else 'object'}"


def reference_networks(st: Setup) -> tuple[Actor, Critic]:
    return Actor(st.state_dim, st.action_dim, st.max_action), Critic(st.state_dim, st.action_dim)


# --------------------------------------------------------------------------- 2. select_action
def check_select_action(session: Session, st: Setup, key: str) -> None:
    if not _ask(session, "select_begin", key=key)["callable"]:
        raise fail("Your agent has no select_action method.",
                   why="The trainer and the evaluation call agent.select_action(state) at every "
                   "env step.", hint="def select_action(self, state): inside the class.")
    ref_actor, _ = reference_networks(st)
    _loaded(ref_actor, _weights(st, key))  # the weights the probe put into your actor
    try:
        for dtype in (np.float32, np.float64):
            state = np.random.default_rng(derive(st.seed, "state")).normal(
                size=st.state_dim).astype(dtype)
            what = f"select_action(state) with a ({st.state_dim},) numpy {np.dtype(dtype).name} state"
            rec = _ask(session, "select_call", key=key, state=state, what=what,
                       rng=derive(st.seed, "select", str(np.dtype(dtype))))["out"]
            if rec["kind"] == "tensor":
                raise fail(f"{what} returned a torch tensor; expected a numpy array.",
                           why="The environment takes numpy actions (env.step(action)).",
                           hint="Convert the actor's output to numpy before returning it.")
            if rec["kind"] != "ndarray":
                raise fail(f"{what} returned a {rec['type']}; expected a numpy array of "
                           f"shape ({st.action_dim},).")
            got = rec["value"]
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
    except BaseException:
        _quiet(session, "select_end", key=key)
        raise
    end = _ask(session, "select_end", key=key)
    if end["autograd"]:
        raise fail("select_action runs the actor with autograd on: a graph is recorded at every "
                   "env step.", why="Acting needs no gradient; recording one costs time and memory "
                   "on every step of training and evaluation.",
                   hint="Switch autograd off around the forward pass.", bug="select_action_graph")
    if end["weights_changed"]:
        raise fail("select_action changed the networks' weights.",
                   why="Acting must not learn: only train updates the weights.")
    if end["grads_changed"]:
        raise fail("select_action changed the actor's gradients.",
                   why="Acting must not backpropagate.")


def make_batches(st: Setup, n: int, salt: int) -> list[Batch]:
    g = torch.Generator().manual_seed(derive(st.seed, "batches", salt))
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
def check_noise(session: Session, st: Setup, name: str) -> None:
    """Target policy smoothing, measured on the a~ that reaches the critic target (step 7)."""
    _build(session, st, name, "noise", salt=3)
    hp = replace(st.hp, batch_size=256)
    big = replace(st, hp=hp)
    m = st.max_action
    for case, (sigma, c) in (("spread", (0.3, 100.0)), ("clip", (0.3, 0.1))):
        pairs = _noise_samples(session, big, replace(hp, policy_noise=sigma, noise_clip=c), salt=11)
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
    _ask(session, "push_bounds", key="noise")
    pairs = _noise_samples(session, big, replace(hp, policy_noise=0.3, noise_clip=0.5), salt=12)
    if pairs is not None and pairs[1].abs().max().item() > m + 1e-5:
        raise fail(f"For a' at the action bounds, a~ reaches {pairs[1].abs().max().item():.3g}, "
                   f"beyond max_action = {m:g}.", why="The target critics must value actions the "
                   "environment can take.", hint="Clip a' + noise to the action bounds.")


def _noise_samples(session: Session, st: Setup, hp: Hyper, salt: int):
    """(a', a~) of one train iteration: a~ as passed to critic_target, a' = actor_target(s')."""
    batch = make_batches(st, 1, salt)[0]
    rec = _ask(session, "noise", hp=hp, key="noise", batch=batch, seed=salt,
               train_kwargs=hp.train_kwargs(), what="train(replay_buffer, 1, ...)",
               rng=derive(st.seed, "noise call", salt, hp.noise_clip))
    return None if rec["pair"] is None else tuple(rec["pair"])


# --------------------------------------------------------------------------- 4. train
@dataclass
class Snapshot:
    params: dict[str, list[torch.Tensor]]
    grads: dict[str, list[torch.Tensor | None]]


def _reference(optim: dict, st: Setup, weights: int) -> SimpleNamespace:
    """Package networks holding the check's weights (each target a copy of its network), and
    Adam with the learner's settings."""
    actor, critic = _loaded(reference_networks(st)[0], weights), \
        _loaded(reference_networks(st)[1], weights + 1)
    actor_target, critic_target = copy.deepcopy(actor), copy.deepcopy(critic)
    ag = SimpleNamespace(actor=actor, critic=critic, actor_target=actor_target,
                         critic_target=critic_target, max_action=st.max_action)
    for opt_name, net in (("actor_optimizer", actor), ("critic_optimizer", critic)):
        group = optim[opt_name]
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
    return differs(a, b)


def _mismatches(learner: Snapshot, ref: SimpleNamespace) -> dict[str, float]:
    out = {}
    for n in NETS:
        gap = _differs(learner.params[n], [p.detach() for p in getattr(ref, n).parameters()])
        if gap:
            out[n] = gap
    return out


def _sample_differs(sampled: dict[str, list[torch.Tensor]], ref: SimpleNamespace,
                    index: dict[str, list]) -> bool:
    """Whether the learner's sampled entries differ from the reference's same entries."""
    return any(_differs(sampled[n], take(list(getattr(ref, n).parameters()), index[n])) > 0
               for n in NETS)


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
              a_tilde: torch.Tensor | None, session: Session, facts: dict, st: Setup,
              noise_seed: int) -> CheckFailed:
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
    bug: str | None

    # Structural: what moved when it should not, or did not when it should.
    if not moved["critic"]:
        return fail(f"{where} the critic did not change.", why="Steps 10-12 train the critic at "
                    "EVERY iteration.", hint=f"Step 12: {ORDER} on the critic's optimizer.")
    if not delayed and (moved["actor"] or moved["actor_target"] or moved["critic_target"]):
        what = [n for n in ("actor", "actor_target", "critic_target") if moved[n]]
        bug, pattern = "polyak_every_iteration", ""
        if moved["actor"]:
            bug, pattern = _delay_pattern(session, hp, st, facts["name"])
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
                                            facts["train_assigns_copy"]) \
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
        torch.manual_seed(noise_seed)
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


def _delay_pattern(session: Session, hp: Hyper, st: Setup, name: str) -> tuple[str | None, str]:
    """On which iterations a fresh agent's actor moves, over four train(..., 1) calls and then
    one train(..., 4) call: tells a counter that restarts in every call from a missing delay or
    an off-by-one count."""
    _build(session, st, name, "delay", salt=9)
    n = 8
    moved = _ask(session, "delay", hp=hp, key="delay", batches=make_batches(st, n, salt=9),
                 seeds=list(range(n)), train_kwargs=hp.train_kwargs(), calls=[1, 1, 1, 1, 4],
                 what="train(replay_buffer, ...)", rng=derive(st.seed, "delay"))["moved"]
    ran = [i + 1 for i in range(n) if moved[i]]
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




def _iteration(run: Run, ref: SimpleNamespace, batch: Batch, it: int, seed: int,
               got: torch.Tensor | None) -> SimpleNamespace:
    """The reference's iteration from ``ref`` (a copy): under the learner's seed, or with the
    learner's own a~ when its noise comes from another random stream."""
    trial = copy.deepcopy(ref)
    torch.manual_seed(seed)
    trial.a_tilde = ref_tilde = iteration(trial, batch, it, run.hp)
    if run.name == "noise on" and got is not None and \
            not torch.allclose(got, ref_tilde, atol=ATOL, rtol=RTOL):
        run.noise_exact = False  # another random stream: use the learner's draws
        trial = copy.deepcopy(ref)
        trial.a_tilde = iteration(trial, batch, it, run.hp, a_tilde=got)
    return trial


def _suspicious(run: Run, got: torch.Tensor | None, trial: SimpleNamespace) -> bool:
    """Whether the a~ the spy saw (or did not see) says a full comparison is worth its bytes
    although the sample matched: no call of the critic target, or, noise off, an a~ other than
    the reference's a' (a slightly wrong target action moves few parameters beyond rounding)."""
    if got is None:
        return True
    return run.name == "noise off" and (got.shape != trial.a_tilde.shape or not torch.allclose(
        got, trial.a_tilde, atol=1e-6, rtol=1e-5))


def _full_rescan(session: Session, st: Setup, run: Run,
                 history: list[tuple[int, int, str, torch.Tensor | None, SimpleNamespace]],
                 batches: list[Batch], seeds: list[int], facts: dict) -> SimpleNamespace:
    """The iterations of ``history`` again (each with the reference before it), on the full
    parameters and gradients before and after each (from the probe), the reference started from
    the learner's weights before each, as the check compared before parameters were sampled;
    the first that differs says why. Returns the reference after the last one when none does."""
    ref = history[0][4]
    for k, it, calls, got, _ in history:
        full = _ask(session, "snapshot", run=run.name, k=k)
        before, after = Snapshot(**full["before"]), Snapshot(**full["after"])
        trial = _iteration(run, _reference_from(before, ref, st.max_action), batches[k], it,
                           seeds[k], got)
        if _mismatches(after, trial):
            raise _diagnose(run, it, calls, before, after, ref, trial, batches[k], got,
                            session, facts, st, seeds[k])
        ref = trial
    return ref


def run_train(session: Session, st: Setup, run: Run, salt: int, facts: dict) -> Run:
    """The learner's train, call by call, iteration by iteration, next to the reference: the
    probe sends a sample of the parameters after every iteration; where it differs from the
    reference's, the full parameters before and after that iteration come and say why."""
    key = f"train {salt}"
    _build(session, st, facts["name"], key, salt=salt)
    n_total = sum(st.calls)
    batches = make_batches(st, n_total, salt)
    seeds = [derive(st.seed, "noise", salt, k) for k in range(n_total)]
    weights, sample = _weights(st, key), derive(st.seed, "sample", salt)
    begin = _ask(session, "train_begin", hp=run.hp, key=key, run=run.name, batches=batches,
                 seeds=seeds, train_kwargs=run.hp.train_kwargs(), max_action=st.max_action,
                 weights=weights, sample=sample)
    ref = _reference(begin["optim"], st, weights)
    index = {n: sample_index([list(s) for s in _shapes(getattr(ref, n))], sample + k)
             for k, n in enumerate(NETS)}
    history: list[tuple[int, int, str, torch.Tensor | None, SimpleNamespace]] = []
    looks = 0  # full comparisons of a single iteration the spy's a~ asked for
    sampled: dict[str, list[torch.Tensor]] = {}
    noises: dict[int, torch.Tensor] = {}
    it = 0
    try:
        for c, n in enumerate(st.calls):
            start = sum(st.calls[:c])
            calls = " + ".join(f"train(..., {k})" for k in st.calls[:c + 1])
            rec = _ask(session, "train_call", hp=run.hp, run=run.name, n=n,
                       train_kwargs=run.hp.train_kwargs(), rng=derive(st.seed, "call", salt, c),
                       what=f"train(replay_buffer, {n}, ...) (call {c + 1} of {len(st.calls)}, "
                       f"{run.name})")
            taken = rec["taken"]
            if taken != n:
                raise fail(f"train(replay_buffer, iterations={n}, ...) sampled {taken} batch(es).",
                           why="Step 4 samples one batch per iteration.",
                           hint="Loop `iterations` times; sample at the start of each loop.")
            for j, itr in enumerate(rec["iterations"]):
                it += 1
                k = start + j
                given = batches[k]
                if itr["changed"] is not None:
                    raise fail(f"train changed the sampled batch in place (its `{itr['changed']}`).",
                               why="Steps 10-11 need the stored transitions as they are; "
                               "noise written into the sampled actions trains the critic on "
                               "actions that were never played.",
                               hint="Build new tensors; do not write into the batch's.",
                               bug="noise_into_batch" if itr["changed"] == "a" else None)
                got = itr["tilde"]
                if got is not None:  # the noise the learner added: a~ - a', where a~ is inside
                    m = run.hp.max_action - 1e-6
                    inside = (got.abs() < m) & (itr["a_next"].abs() < m)
                    noises[k] = torch.where(inside, got - itr["a_next"], torch.nan)
                if run.name == "noise on" and k >= 1 and k in noises and k - 1 in noises:
                    both = ~(noises[k].isnan() | noises[k - 1].isnan())
                    if both.sum() > 4 and torch.allclose(noises[k][both], noises[k - 1][both],
                                                         atol=1e-7):
                        raise fail(f"Iterations {it - 1} and {it} ({run.name}) added the same "
                                   "target noise: it is drawn once and reused.",
                                   why="Smoothing averages the target over many draws, a fresh one "
                                   "at every iteration; one draw reused is a fixed bias.",
                                   hint="Draw the noise inside the loop, at every iteration.")
                trial = _iteration(run, ref, given, it, seeds[k], got)
                for name, values in itr["sample"].items():
                    if values is not None:  # None: unchanged since the last sample
                        sampled[name] = values
                history.append((k, it, calls, got, ref))
                if _sample_differs(sampled, trial, index):  # every iteration so far, in full
                    trial = _full_rescan(session, st, run, history, batches, seeds, facts)
                elif looks < 2 and _suspicious(run, got, trial):  # this one, in full
                    looks += 1
                    trial = _full_rescan(session, st, run, history[-1:], batches, seeds, facts)
                for tn in itr["target_grads"][:1]:
                    raise fail(f"After iteration {it} ({run.name}) `{tn}` holds gradients: "
                               "a backward() reached the target network.",
                               why="The Bellman target y is a constant of the regression "
                               "(steps 5-9 run without autograd); targets move only by "
                               "Polyak averaging.", hint="Compute steps 5-9 with autograd "
                               "switched off.")
                ref = trial
    finally:
        _quiet(session, "train_end", run=run.name)
    return run


# --------------------------------------------------------------------------- the check
def agent(agent_cls: Any, seed: int = 0) -> CheckPassed:
    """Check a whole TD3 agent class in the lecture's shape against td3_teach's reference.

    ``agent_cls(state_dim, action_dim, max_action)`` must build actor, actor_target, critic,
    critic_target, actor_optimizer, critic_optimizer; ``select_action(state)`` map a
    ``(state_dim,)`` numpy state to a ``(action_dim,)`` numpy action; and ``train(replay_buffer,
    iterations, batch_size, discount, tau, policy_noise, noise_clip, policy_freq)`` run steps
    4-15 ``iterations`` times. ``seed`` varies the sizes and hyperparameters (graders use others).
    ``agent_cls`` may also be a session of the probe's (``_agent_probe.Session``): the grader's,
    whose probe holds the learner's class in the learner's process.
    """
    session = agent_cls if isinstance(agent_cls, Session) else LocalSession(agent_cls)
    try:
        return _agent(session, seed)
    except CheckFailed:
        raise
    except Exception as e:  # noqa: BLE001 - the check's own code met something unexpected
        raise fail(f"The check could not run your agent: {type(e).__name__}: "
                   f"{str(e).strip().splitlines()[0][:200] if str(e).strip() else ''}",
                   hint="Keep the lecture's shape: the class, its six attributes and its three "
                   "methods.") from None


def _agent(session: Session, seed: int) -> CheckPassed:
    _ask(session, "reset")
    facts = _ask(session, "describe")
    if facts["none"]:
        raise fail("The agent is None. Did you run the exercise cell above?")
    if not facts["callable"] or facts["has_select_action"] and not facts["is_class"]:
        raise fail(f"checks.agent needs your agent's class; got {facts['type']}.",
                   hint="Pass the class itself, without calling it: checks.agent(MyTD3).")
    st = setup(seed)
    name = facts["name"]
    with seeded(derive(seed, "judge")):  # the reference's draws leave the caller's RNG alone
        built = _build(session, st, name, "main")
        if not built["train"]:
            raise fail("Your agent has no train method.", bug="train_outside_class",
                       hint=_hint_for("train_outside_class"))
        got = built["train_params"] if built["train_params"] is not None else TRAIN_PARAMS
        if got != TRAIN_PARAMS:
            raise fail(f"train takes ({', '.join(got)}); the lecture's signature is "
                       f"({', '.join(TRAIN_PARAMS)}).", hint="Keep the names and their order: the "
                       "trainer and this check call train with them.")
        check_parts(session, st, "main")
        check_select_action(session, st, "main")
        check_noise(session, st, name)
        run_train(session, st, Run("noise off", replace(st.hp, policy_noise=0.0,
                                                          noise_clip=0.0)), 1, facts)
        on = run_train(session, st, Run("noise on", st.hp), 2, facts)
    _ask(session, "reset")
    n = sum(st.calls)
    d = st.hp.policy_freq
    noise = ("noise on equal under the same seed" if on.noise_exact else
             "noise on checked statistically (your draws come from another random stream than "
             "torch.randn_like) and the rest of each update compared with your draws")
    return CheckPassed(LABEL, f"{name} matches the reference TD3 after every iteration (1e-5; "
                       f"every parameter tensor, up to {SAMPLE} entries of each): {n} iterations "
                       f"in train calls of {list(st.calls)}, "
                       f"policy_freq={d} (delayed iterations {[i for i in range(1, n + 1) if i % d == 0]}), "
                       f"noise off exactly, {noise}; max_action={st.max_action:g}, "
                       f"discount={st.hp.discount:g}, tau={st.hp.tau:g}. select_action: shape "
                       f"({st.action_dim},), bounded, no autograd, weights unchanged.")
