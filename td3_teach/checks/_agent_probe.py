"""The probe of the whole-agent checks (``checks.agent``, ``checks.bug_hunt``): the half that
runs the learner's TD3 class, and only records.

``AgentProbe`` holds the learner's class (and, for the bug hunt, its ``ReplayBuffer``) and the
agents it builds, and answers the judge's operations (``handle(op, data)``): build an agent,
report its parts, run its networks, its ``select_action``, its ``train`` through a scripted
memory and a spy on its target critic's ``forward``. Every answer is plain data (numbers,
strings, lists, dicts, tensors): what the learner's code returned, raised or changed. Nothing
here decides: the scripted memory does not fail a check, it records the batch size asked for
and stops ``train`` when it is not the one given (or when one batch too many is asked for);
the spy records the ``(s', a~)`` it sees. The judge (``checks.agent``) compares, against the
package's reference, and writes the message.

In the notebook the judge and this probe run in one process (``LocalSession``); in the grader
this probe runs in the learner's (sandboxed) process and the judge outside it
(``grading.judge.RemoteSession``), with the same operations crossing as data. The judge sends
only inputs (sizes, hyperparameters, batches, seeds derived from the check's seed by a hash,
never the seed itself) and never an expected value.

What crosses back, per judged seed (the grader's size, measured in tests/test_grading_judge.py):

* the agent's parts as facts (attribute types, parameter shapes, whether a target is its
  network, shares or starts with its weights, which parameters each optimizer holds, Adam's
  hyperparameters); the networks' outputs on 32 states; ``select_action``'s actions;
* per ``train`` call: how many batches it sampled, whether it changed one in place, the a~ and
  a' the spy saw per iteration (batch_size x action_dim), whether a target holds gradients,
  and the parameters after each iteration as a *sample*: every entry of the tensors of up to
  ``SAMPLE`` entries, ``SAMPLE`` entries (drawn from a seed the judge sends) of the larger ones,
  a network left unchanged since the last sample as ``None``;
* only when the judge finds a difference: the full parameters and gradients before and after
  that iteration (``snapshot``), once, to name the mistake.

The networks start from weights both sides draw from a seed the judge sends (``check_weights``),
so the learner's initial weights never need to cross.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from ._agent_reference import NETS, OPTIMIZERS
from ._code_facts import assigns_attribute
from ._core import CheckFailed
from ._seeded import seeded
from ._update_helpers import call_update
from ..replay_buffer import Batch

LABEL = "Your TD3"
ATOL, RTOL = 1e-5, 1e-4
SAMPLE = 2048  # entries per parameter tensor in a sample


class _Stop(BaseException):
    """The scripted memory stopping the learner's ``train`` (a BaseException, so a learner's
    ``except Exception`` does not swallow it); the judge says why."""

    def __init__(self, record: dict) -> None:
        super().__init__(record.get("stop", ""))
        self.record = record


class _Raised(Exception):
    """The learner's code raised: its description, for the judge."""

    def __init__(self, record: dict) -> None:
        super().__init__(record.get("problem", ""))
        self.record = record


def learner_call(what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run the learner's code; what it raises becomes ``_Raised`` (its description)."""
    try:
        return call_update(LABEL, what, lambda: fn(*args, **kwargs))  # type: ignore[arg-type]
    except CheckFailed as e:
        raise _Raised({"cls": type(e).__name__, "problem": e.problem, "why": e.why,
                       "hint": e.hint, "bug": e.bug}) from None


# --------------------------------------------------------------------------- shared with the judge
def check_weights(shapes: list[list[int]], seed: int) -> list[torch.Tensor]:
    """The weights the check puts into a network of these parameter shapes (both sides draw the
    same): uniform in +-1/sqrt(fan_in), as nn.Linear's default, from a generator of ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    out, fan_in = [], 1
    for shape in shapes:
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[1:])) or 1
        bound = 1.0 / float(np.sqrt(fan_in))
        out.append((torch.rand(*shape, generator=g) * 2 - 1) * bound)
    return out


def sample_index(shapes: list[list[int]], seed: int) -> list[torch.Tensor | None]:
    """Which entries of each (flattened) tensor a sample holds: None for all of them."""
    g = torch.Generator().manual_seed(int(seed))
    out: list[torch.Tensor | None] = []
    for shape in shapes:
        n = int(np.prod(shape)) if shape else 1
        out.append(None if n <= SAMPLE else torch.randperm(n, generator=g)[:SAMPLE].sort().values)
    return out


def take(tensors: list[torch.Tensor], index: list[torch.Tensor | None]) -> list[torch.Tensor]:
    return [t.detach().cpu().flatten() if i is None else t.detach().cpu().flatten()[i]
            for t, i in zip(tensors, index)]


def differs(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Largest gap beyond tolerance between two parameter lists; 0.0 when they match."""
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape or not torch.allclose(x, y, atol=ATOL, rtol=RTOL):
            worst = max(worst, (x - y).abs().max().item() if x.shape == y.shape else float("inf"))
    return worst


def record_of(x: Any, depth: int = 0) -> Any:
    """What the learner's code returned, as data: a tensor as itself (detached, on the CPU), a
    numpy array of numbers as itself, a tuple or list as its items, anything else by its type."""
    if isinstance(x, torch.Tensor):
        return {"kind": "tensor", "value": x.detach().cpu().clone()}
    if isinstance(x, np.ndarray):
        if x.dtype.kind in "biuf":
            return {"kind": "ndarray", "value": x.copy()}
        return {"kind": "other", "type": "ndarray", "shape": list(x.shape)}
    if isinstance(x, (tuple, list)) and depth == 0:
        return {"kind": "seq", "type": type(x).__name__, "len": len(x),
                "items": [record_of(v, 1) for v in list(x)[:3]]}
    return {"kind": "other", "type": type(x).__name__}


# --------------------------------------------------------------------------- the learner's agent
def _snap(ag: Any) -> dict:
    """Every parameter and gradient of the four networks, detached copies on the CPU."""
    return {"params": {n: [p.detach().cpu().clone() for p in getattr(ag, n).parameters()]
                       for n in NETS},
            "grads": {n: [None if p.grad is None else p.grad.detach().cpu().clone()
                          for p in getattr(ag, n).parameters()] for n in NETS}}


class ScriptedMemory:
    """A replay memory whose ``sample`` hands out the judge's batches, one per iteration, and
    reseeds torch's RNG before each (so learner and reference draw the same noise). It records
    the batch sizes asked for and notes the learner's weights at each ``sample`` (the state
    after the previous iteration); a wrong batch size or one batch too many stops ``train``."""

    def __init__(self, batches: list[Batch], seeds: list[int], batch_size: int,
                 device: torch.device, on_sample: Callable[[], None]) -> None:
        self.batches, self.seeds, self.batch_size, self.device = batches, seeds, batch_size, device
        self.on_sample, self.k = on_sample, 0
        self.handed: list[Batch] = []
        self.size = self.max_size = 10_000
        self.ptr = 0

    def __len__(self) -> int:
        return self.size

    def sample(self, batch_size: int) -> Batch:
        if batch_size != self.batch_size:
            raise _Stop({"stop": "batch_size", "got": str(batch_size)[:40]})
        if self.k >= len(self.batches):
            raise _Stop({"stop": "too_many"})
        self.on_sample()
        torch.manual_seed(self.seeds[self.k])
        batch = Batch(*(t.clone().to(self.device) for t in self.batches[self.k]))
        self.handed.append(batch)
        self.k += 1
        return batch


def _device(agent: Any) -> torch.device:
    return next(agent.actor.parameters()).device


def _load(net: nn.Module, weights: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(w.to(p.device, p.dtype))


def _shapes(net: nn.Module) -> list[list[int]]:
    return [list(p.shape) for p in net.parameters()]


class _Run:
    """One scripted ``train`` sequence: its memory, the spy's records, the full snapshots."""

    def __init__(self, agent: Any, memory: ScriptedMemory, max_action: float) -> None:
        self.agent, self.memory, self.max_action = agent, memory, max_action
        self.snaps: list[dict] = []  # before each iteration (taken at its sample())
        self.after: dict[int, dict] = {}  # after each iteration
        self.tildes: list[torch.Tensor] = []
        self.a_next: list[torch.Tensor] = []
        self.sent: dict[str, list[torch.Tensor]] = {}  # per network: the last full values sampled
        self.index: dict[str, list] = {}


class AgentProbe:
    """The learner's side of one whole-agent check: see the module docstring."""

    def __init__(self, agent_cls: Any, buffer_cls: Any = None) -> None:
        self.cls, self.buffer_cls = agent_cls, buffer_cls
        self.agents: dict[str, Any] = {}
        self.runs: dict[str, _Run] = {}
        self.select: dict[str, Any] = {}

    def handle(self, op: str, data: dict) -> dict:
        """One operation of the judge's: its record, or the learner's exception described, or
        the scripted memory's stop, or this probe's own failure on odd learner objects."""
        fn = getattr(self, f"op_{op}", None) if op.isidentifier() else None
        if fn is None:
            return {"oops": "KeyError", "message": f"no operation {op[:40]!r}"}
        try:
            with seeded(int(data.pop("rng", 0))):
                return fn(**data)
        except _Raised as e:
            return {"raised": e.record}
        except _Stop as e:
            return {"stopped": e.record}
        except Exception as e:  # noqa: BLE001 - e.g. an attribute of an odd type
            return {"oops": type(e).__name__, "message": str(e).strip()[:300]}

    # ----------------------------------------------------------------------- the class
    def op_reset(self) -> dict:
        self.agents.clear()
        self.runs.clear()
        self.select.clear()
        return {}

    def op_describe(self) -> dict:
        c = self.cls
        train = getattr(c, "train", None) if c is not None else None
        return {"none": c is None, "callable": callable(c), "is_class": inspect.isclass(c),
                "has_select_action": c is not None and hasattr(c, "select_action"),
                "type": type(c).__name__, "name": str(getattr(c, "__name__", "your agent"))[:100],
                "train_assigns_copy": bool(assigns_attribute(train, "copy_"))}

    def op_build(self, key: str, state_dim: int, action_dim: int, max_action: float,
                 what: str) -> dict:
        self.agents[key] = ag = learner_call(what, self.cls, state_dim, action_dim, max_action)
        train = getattr(ag, "train", None)
        params: list[str] | None
        try:
            params = [p for p in inspect.signature(train).parameters] if callable(train) else None
        except (TypeError, ValueError):
            params = None
        return {"train": train is not None and callable(train), "train_params": params}

    def op_parts(self, key: str) -> dict:
        """Facts of the agent's parts, as far as they can be read (the judge stops at the first
        that is wrong)."""
        ag = self.agents[key]
        nets: dict[str, dict] = {}
        for name in NETS:
            v = getattr(ag, name, None)
            nets[name] = {"has": hasattr(ag, name), "module": isinstance(v, nn.Module),
                          "type": type(v).__name__}
        opts: dict[str, dict[str, Any]] = {}
        for name in OPTIMIZERS:
            v = getattr(ag, name, None)
            opts[name] = {"adam": isinstance(v, torch.optim.Adam),
                          "type": None if v is None else type(v).__name__}
        out: dict[str, Any] = {"nets": nets, "opts": opts}
        if not all(r["module"] for r in nets.values()):
            return out
        for name in NETS:
            nets[name]["shapes"] = _shapes(getattr(ag, name))
        pairs = {}
        for online, target in (("actor", "actor_target"), ("critic", "critic_target")):
            net, tgt = getattr(ag, online), getattr(ag, target)
            pairs[target] = {
                "same": tgt is net,
                "shares": bool({id(p) for p in net.parameters()} & {id(p) for p in tgt.parameters()}),
                "equal": all(torch.equal(a.detach().cpu(), b.detach().cpu())
                             for a, b in zip(net.parameters(), tgt.parameters()))}
        out["pairs"] = pairs
        if all(r["adam"] for r in opts.values()):
            for opt_name, net_name in (("actor_optimizer", "actor"), ("critic_optimizer", "critic")):
                opt = getattr(ag, opt_name)
                held = {id(p) for g in opt.param_groups for p in g["params"]}
                want = {id(p) for p in getattr(ag, net_name).parameters()}
                opts[opt_name].update(
                    held=len(held), want=len(want), missing=len(want - held),
                    holds=[n for n in NETS if held == {id(p) for p in getattr(ag, n).parameters()}])
        return out

    def op_networks(self, key: str, weights: int, s: torch.Tensor, a: torch.Tensor) -> dict:
        """The check's weights put into the actor and the critic; their outputs on (s, a)."""
        ag = self.agents[key]
        for name, salt in (("actor", 0), ("critic", 1)):
            _load(getattr(ag, name), check_weights(_shapes(getattr(ag, name)), weights + salt))
        device = _device(ag)
        out: dict[str, Any] = {}
        with torch.no_grad():
            out["actor"] = record_of(learner_call("your actor(s)", ag.actor, s.to(device)))
            out["critic"] = record_of(learner_call("your critic(s, a)", ag.critic, s.to(device),
                                                   a.to(device)))
        out["has_q1"] = hasattr(ag.critic, "Q1")
        return out

    def op_q1(self, key: str, s: torch.Tensor, a: torch.Tensor) -> dict:
        ag = self.agents[key]
        device = _device(ag)
        with torch.no_grad():
            return {"q1": record_of(learner_call("your critic.Q1(s, a)", ag.critic.Q1,
                                                 s.to(device), a.to(device)))}

    # ----------------------------------------------------------------------- select_action
    def op_select_begin(self, key: str) -> dict:
        ag = self.agents[key]
        if not callable(getattr(ag, "select_action", None)):
            return {"callable": False}
        seen: list[bool] = []
        self.select = {
            "before": [p.detach().clone() for n in NETS for p in getattr(ag, n).parameters()],
            "grads": [None if p.grad is None else p.grad.clone() for p in ag.actor.parameters()],
            "seen": seen,
            "hook": ag.actor.register_forward_hook(lambda m, i, o: seen.append(torch.is_grad_enabled()))}
        return {"callable": True}

    def op_select_call(self, key: str, state: np.ndarray, what: str) -> dict:
        try:
            return {"out": record_of(learner_call(what, self.agents[key].select_action, state.copy()))}
        except BaseException:
            self._select_unhook()
            raise

    def _select_unhook(self) -> None:
        hook = self.select.pop("hook", None)
        if hook is not None:
            hook.remove()

    def op_select_end(self, key: str) -> dict:
        ag = self.agents[key]
        self._select_unhook()
        after = [p.detach() for n in NETS for p in getattr(ag, n).parameters()]
        now = [p.grad for p in ag.actor.parameters()]
        grads = self.select["grads"]
        return {"autograd": any(self.select["seen"]),
                "weights_changed": not all(torch.equal(a, b)
                                           for a, b in zip(self.select["before"], after)),
                "grads_changed": any((g0 is None) != (g1 is None) or
                                     (g0 is not None and not torch.equal(g0, g1))
                                     for g0, g1 in zip(grads, now))}

    # ----------------------------------------------------------------------- the noise
    def op_noise(self, key: str, batch: Batch, seed: int, train_kwargs: dict, what: str) -> dict:
        """One train(memory, 1) call; (a', a~) of its first call of the critic target, a' as
        the learner's actor_target gives it for the s' handed over."""
        ag = self.agents[key]
        got: list = []
        original = ag.critic_target.forward

        def spy(*args: Any, **kwargs: Any) -> Any:
            if len(args) >= 2 and not got:
                with torch.no_grad():
                    got.append((ag.actor_target(args[0]).detach().cpu(), args[1].detach().cpu()))
            return original(*args, **kwargs)

        memory = ScriptedMemory([Batch(*batch)], [seed], int(train_kwargs["batch_size"]), _device(ag),
                                lambda: None)
        ag.critic_target.forward = spy
        try:
            learner_call(what, ag.train, memory, 1, **train_kwargs)
        finally:
            del ag.critic_target.forward
        return {"pair": list(got[0]) if got else None}

    def op_push_bounds(self, key: str) -> dict:
        """a' pushed to the action bounds: the actor target's last parameter set to +-8."""
        with torch.no_grad():
            last = list(self.agents[key].actor_target.parameters())[-1]
            last.copy_(torch.tensor([8.0 if i % 2 == 0 else -8.0 for i in range(last.numel())],
                                    device=last.device).reshape(last.shape))
        return {}

    # ----------------------------------------------------------------------- train
    def op_train_begin(self, key: str, run: str, batches: list, seeds: list[int],
                       train_kwargs: dict, max_action: float, weights: int | None, sample: int) -> dict:
        """The scripted memory and the spy for one sequence of train calls; with ``weights``,
        the check's weights put into the four networks (each target as its network)."""
        ag = self.agents[key]
        if weights is not None:
            for name, target, salt in (("actor", "actor_target", 0), ("critic", "critic_target", 1)):
                w = check_weights(_shapes(getattr(ag, name)), weights + salt)
                _load(getattr(ag, name), w)
                _load(getattr(ag, target), w)
        r = _Run(ag, ScriptedMemory([Batch(*b) for b in batches], seeds, int(train_kwargs["batch_size"]),
                                    _device(ag), lambda: r.snaps.append(_snap(ag))), max_action)
        r.index = {n: sample_index(_shapes(getattr(ag, n)), sample + k) for k, n in enumerate(NETS)}
        self.runs[run] = r
        original = ag.critic_target.forward

        def spy(*args: Any, **kwargs: Any) -> Any:
            if len(args) >= 2 and len(r.tildes) < r.memory.k:
                r.tildes.append(args[1].detach().cpu().clone())
                with torch.no_grad():
                    r.a_next.append(ag.actor_target(args[0]).detach().cpu())
            return original(*args, **kwargs)

        ag.critic_target.forward = spy
        optim = {}
        for name in OPTIMIZERS:
            group = getattr(ag, name).param_groups[0]
            optim[name] = {"lr": float(group["lr"]), "betas": [float(b) for b in group["betas"]],
                           "eps": float(group["eps"]), "weight_decay": float(group["weight_decay"]),
                           "amsgrad": bool(group["amsgrad"])}
        return {"optim": optim}

    def op_train_call(self, run: str, n: int, train_kwargs: dict, what: str) -> dict:
        r = self.runs[run]
        ag, memory = r.agent, r.memory
        k0 = memory.k
        learner_call(what, ag.train, memory, n, **train_kwargs)
        end = _snap(ag)
        taken = memory.k - k0
        out: dict[str, Any] = {"taken": taken, "iterations": []}
        if taken != n:
            return out
        for j in range(n):
            k = k0 + j
            after = r.snaps[k + 1] if j + 1 < n else end
            r.after[k] = after
            rec: dict[str, Any] = {"changed": None, "tilde": None, "a_next": None}
            for field, h, g in zip(Batch._fields, memory.handed[k], memory.batches[k]):
                if not torch.equal(h.cpu(), g):
                    rec["changed"] = field
                    break
            if k < len(r.tildes):
                rec["tilde"], rec["a_next"] = r.tildes[k], r.a_next[k]
            rec["target_grads"] = [tn for tn in ("actor_target", "critic_target")
                                   if any(g is not None and bool(g.abs().sum() > 0)
                                          for g in after["grads"][tn])]
            rec["sample"] = {}
            for name in NETS:  # a network unchanged since the last sample crosses as None
                now = after["params"][name]
                last = r.sent.get(name)
                if last is not None and all(torch.equal(x, y) for x, y in zip(now, last)):
                    rec["sample"][name] = None
                else:
                    rec["sample"][name] = take(now, r.index[name])
                    r.sent[name] = now
            out["iterations"].append(rec)
        return out

    def op_snapshot(self, run: str, k: int) -> dict:
        """The full parameters and gradients before and after iteration ``k`` (from 0): the
        judge asks only when it found a difference there."""
        r = self.runs[run]
        return {"before": r.snaps[k], "after": r.after[k]}

    def op_train_end(self, run: str) -> dict:
        r = self.runs.get(run)
        if r is not None:
            try:
                del r.agent.critic_target.forward
            except AttributeError:
                pass
        return {}

    def op_delay(self, key: str, batches: list, seeds: list[int], train_kwargs: dict,
                 calls: list[int], what: str) -> dict:
        """On which iterations the actor moves, over train calls of ``calls`` iterations."""
        ag = self.agents[key]
        snaps: list[dict] = []
        memory = ScriptedMemory([Batch(*b) for b in batches], seeds, int(train_kwargs["batch_size"]),
                                _device(ag), lambda: snaps.append(_snap(ag)))
        for k in calls:
            learner_call(what, ag.train, memory, k, **train_kwargs)
        snaps.append(_snap(ag))
        return {"moved": [differs(snaps[i]["params"]["actor"], snaps[i + 1]["params"]["actor"]) > 0
                          for i in range(len(snaps) - 1)]}

    # ----------------------------------------------------------------------- the bug hunt
    def op_sources(self) -> dict:
        from .bug_hunt import sources
        return sources(self.cls, self.buffer_cls)

    def op_buffer(self) -> dict:
        from .bug_hunt import buffer_outcome
        return buffer_outcome(self.buffer_cls)


class Session:
    """Where the whole-agent checks' judge sends its operations (``ask``): ``LocalSession`` in
    the notebook, ``grading.judge.RemoteSession`` in the grader."""

    def ask(self, op: str, **data: Any) -> dict:
        raise NotImplementedError


class LocalSession(Session):
    """The judge and the probe in one process (the notebook's instant check)."""

    def __init__(self, agent_cls: Any, buffer_cls: Any = None) -> None:
        self.probe = AgentProbe(agent_cls, buffer_cls)

    def ask(self, op: str, **data: Any) -> dict:
        return self.probe.handle(op, data)
