"""What every step's check promises, as a table: one row per TD3 step.

``tests/test_step_check_contract.py`` runs each row's contract: the check passes the solution on
each seed, names every mistake of the step's ``MUTATIONS`` (and the lecture bug of each ``BUGS``
entry), says "not implemented yet" for an unfilled exercise, reports wrong arguments, and leaves torch's
global random generator alone. The
per-step files ``tests/test_step_NN_check.py`` hold only what is the step's own: its ``MUTATIONS``
(name -> (``{old: new}`` applied to the solution, words the message must hold)), its ``BUGS``
(mutation name -> words ``CheckFailed.bug`` must hold) and the tests no other step has.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import torch
from torch import nn

from td3_teach import checks
from td3_teach.steps import step
from notebook_code import exercise_namespace

Args = Callable[[dict], tuple]  # the notebook's namespace -> the arguments the check is called with


def stub(name: str, params: str, what: str = "this is your exercise.") -> Callable:
    """An unfilled exercise function, as the learner's notebook hands it out."""
    ns: dict = {}
    exec(f"def {name}({params}):\n    raise NotImplementedError({what!r})", ns)
    return ns[name]


@dataclass(frozen=True)
class Contract:
    """One step's check: how it is called, and what it must say when it cannot pass."""

    number: int
    takes: tuple[str, ...]  # names from the notebook's namespace, the check's arguments in order
    seeds: tuple[int, ...]  # the solution passes on each
    unfilled: tuple[tuple[Args, str], ...]  # (arguments, what the NotImplementedYet says)
    wrong: tuple[tuple[Args, str], ...]  # (wrong arguments, what the CheckFailed says)
    says: str = ""  # what the pass also says

    @property
    def notebook(self) -> str:
        return step(self.number).notebook

    @property
    def token(self) -> str:
        return step(self.number).token

    @property
    def check(self) -> Callable:
        return getattr(checks, self.token)

    @property
    def tests(self) -> ModuleType:
        """The step's own test file (its MUTATIONS and BUGS)."""
        return importlib.import_module(f"test_step_{self.number:02d}_check")


def _class(name: str, base: type, methods: dict[str, str]) -> type:
    """An unfilled exercise class: each method (name -> parameters) raises NotImplementedError;
    an nn.Module's ``__init__`` calls ``super().__init__()`` first."""
    ns: dict = {"base": base}
    body = []
    for method, params in methods.items():
        first = "super().__init__()\n        " if method == "__init__" and base is nn.Module else ""
        body.append(f"    def {method}(self, {params}):\n        {first}raise NotImplementedError")
    exec(f"class {name}(base):\n" + "\n".join(body), ns)
    return ns[name]


UNFILLED_BUFFER = _class("ReplayBuffer", object, {"__init__": "state_dim, action_dim, max_size=1_000_000",
                                                  "__len__": "", "add": "transition",
                                                  "sample": "batch_size"})
UNFILLED_ACTOR = _class("Actor", nn.Module, {"__init__": "state_dim, action_dim, max_action",
                                             "forward": "s"})
UNFILLED_CRITIC = _class("Critic", nn.Module, {"__init__": "state_dim, action_dim", "forward": "s, a",
                                               "Q1": "s, a"})
NOT_YET = "not implemented yet"


def _fn(name: str, params: str) -> tuple[Args, str]:
    """The step's one exercise function left unfilled: "not implemented yet"."""
    return (lambda ns: (stub(name, params),)), NOT_YET


CONTRACTS: dict[int, Contract] = {c.number: c for c in (
    Contract(1, ("ReplayBuffer", "store_step"), (0, 1, 2, 3),
             unfilled=((lambda ns: (UNFILLED_BUFFER,), NOT_YET),
                       (lambda ns: (ns["ReplayBuffer"], stub("store_step", "replay_buffer, s, a, step_result")),
                        "ReplayBuffer passes")),
             wrong=((lambda ns: (None,), "None"),
                    (lambda ns: (ns["ReplayBuffer"](3, 2, 10),), "instance"),
                    (lambda ns: (type("ReplayBuffer", (), {"__init__": lambda self, size: None}),), "signature"))),
    Contract(2, ("Actor", "make_target"), (0, 1, 2, 3),
             unfilled=((lambda ns: (UNFILLED_ACTOR,), NOT_YET),),
             wrong=((lambda ns: (ns["Actor"](3, 2, 1.0),), "instance"),
                    (lambda ns: (nn.Linear,), "signature"),
                    (lambda ns: (ns["Actor"], lambda net: None), "None"))),
    Contract(3, ("Critic",), (0, 1, 2, 3),
             unfilled=((lambda ns: (UNFILLED_CRITIC,), NOT_YET),),
             wrong=((lambda ns: (ns["Critic"](3, 2),), "instance"),
                    (lambda ns: (nn.Linear,), "signature"),
                    (lambda ns: (None,), "None"))),
    Contract(4, ("step04_sample_batch",), (0, 1, 2, 3),
             unfilled=(_fn("step04_sample_batch", "memory, size, batch_size, device"),),
             wrong=((lambda ns: (lambda replay_buffer, batch_size: None,), "signature"),)),
    Contract(5, ("step05_target_action",), (0, 1, 2, 3),
             unfilled=(_fn("step05_target_action", "agent, batch"),),
             wrong=((lambda ns: (lambda actor_target, s_next: actor_target(s_next),), "signature"),)),
    Contract(6, ("step06_target_policy_noise",), (0, 1, 2, 3, 4, 5),
             unfilled=(_fn("step06_target_policy_noise", "a_next, max_action, policy_noise, noise_clip"),),
             wrong=((lambda ns: (lambda a_next, policy_noise, noise_clip: a_next,), "signature"),)),
    Contract(7, ("step07_target_q",), (0, 1, 2, 3),
             unfilled=(_fn("step07_target_q", "agent, batch, a_tilde"),),
             wrong=((lambda ns: (lambda critic_target, s_next, a_tilde: critic_target(s_next, a_tilde),),
                     "signature"),)),
    Contract(8, ("step08_min_target_q",), (0, 1, 2, 3),
             unfilled=(_fn("step08_min_target_q", "q1_next, q2_next"),),
             wrong=((lambda ns: (lambda q1, q2, extra: torch.min(q1, q2),), "signature"),)),
    Contract(9, ("step09_bellman_target", "terminal_flag"), (0, 1, 2, 3, 17),
             unfilled=(_fn("step09_bellman_target", "r, terminated, q_next_min, gamma=0.99"),
                       (lambda ns: (ns["step09_bellman_target"], stub("terminal_flag", "terminated, truncated")),
                        "terminal_flag")),
             wrong=((lambda ns: (lambda r, done, q, gamma: r + gamma * (1 - done) * q,), "signature"),)),
    Contract(10, ("step10_current_q",), (0, 1, 2, 3, 17),
             unfilled=(_fn("step10_current_q", "critic, s, a"),),
             wrong=((lambda ns: (lambda critic, a, s: critic(s, a),), "signature"),)),
    Contract(11, ("step11_critic_loss",), (0, 1, 2, 3, 17),
             unfilled=(_fn("step11_critic_loss", "q1, q2, y"),),
             wrong=((lambda ns: (lambda q1, y: (q1 - y).pow(2).mean(),), "signature"),)),
    Contract(12, ("step12_critic_update",), (0, 1, 2, 3, 17),
             unfilled=(_fn("step12_critic_update", "critic_optimizer, critic_loss"),),
             wrong=((lambda ns: (lambda loss, optimizer: None,), "signature"),)),
    Contract(13, ("step13_actor_update",), (0, 1, 2, 3, 17, 42),
             unfilled=(_fn("step13_actor_update", "actor, critic, actor_optimizer, s"),),
             wrong=((lambda ns: (lambda actor, critic, s: None,), "signature"),)),
    Contract(14, ("step14_update_actor_target",), (0, 1, 2, 3, 17),
             unfilled=(_fn("step14_update_actor_target", "actor, actor_target, tau"),),
             wrong=((lambda ns: (lambda actor_target, actor, tau: None,), "signature"),)),
    Contract(15, ("step15_update_critic_target", "delayed_updates"), (0, 1, 2, 3, 17),
             unfilled=(_fn("step15_update_critic_target", "critic, critic_target, tau"),
                       (lambda ns: (ns["step15_update_critic_target"],
                                    stub("delayed_updates", "agent, s, iteration, policy_freq, tau")),
                        "delayed_updates")),
             wrong=((lambda ns: (lambda critic, tau: None,), "signature"),),
             says="delayed block"),
)}


POLYAK = "target_param.copy_(tau * param + (1 - tau) * target_param)"  # steps 14 and 15's update line


def polyak_mutations(params: str, online: str) -> tuple[Callable, dict]:
    """Steps 14 and 15 share the Polyak update: ``mutate(old, new)``, which rewrites only the cell
    whose loop zips ``params`` (the other step's cell has the same update line), and the mistakes
    both steps' checks name (``online``: the online network's name in the messages)."""
    cell = f"        for param, target_param in {params}:\n            {POLYAK}\n"

    def mutate(old: str, new: str) -> dict[str, str]:
        return {cell: cell.replace(old, new)}

    return mutate, {
        "tau and 1 - tau swapped": (mutate(POLYAK, "target_param.copy_((1 - tau) * param + tau * target_param)"),
                                    "swapped"),
        "the lecture's .copy_ = assignment": (mutate(POLYAK, "target_param.data.copy_ = tau * param.data + "
                                                     "(1 - tau) * target_param.data"), ".copy_ = ..."),
        "hard copy": (mutate(POLYAK, "target_param.copy_(param)"), "hard copy"),
        f"the online {online} updated instead": (
            mutate(POLYAK, "param.copy_(tau * target_param + (1 - tau) * param)"), "wrong network moved"),
        "recorded by autograd (no torch.no_grad())": (
            {f"    with torch.no_grad():\n        for param, target_param in {params}:":
             f"    if True:\n        for param, target_param in {params}:"}, "autograd graph"),
    }


def run(number: int, ns: dict, seed: int = 0, *, takes: tuple[str, ...] | None = None) -> Any:
    """Step ``number``'s check on the notebook namespace ``ns`` (its ``takes``, or those given)."""
    contract = CONTRACTS[number]
    return contract.check(*(ns[name] for name in (takes or contract.takes)), seed=seed)


def solution(number: int, replace: dict[str, str] | None = None) -> dict:
    """Step ``number``'s solution notebook run, with ``replace`` applied to its exercise cells."""
    return exercise_namespace(CONTRACTS[number].notebook, replace)

