"""Probe, then judge (td3_teach/grading/judge.py) for every check in ``REMOTE``.

1. The judge's answer is the in-process check's answer: each step's check, run in the judge on
   stand-ins whose calls cross as data (a loopback link: the probe's half, ``answer``, runs in
   this process, and every message goes through JSON), gives the same text as the check run
   directly, for the solution and for every mistake of the step's mutation tests.
2. What crosses is data: networks and optimizers are rebuilt from the package's own classes,
   their new state comes back into the judge's objects, and anything else is refused.
3. Through the grader: a learner cell that walks the stack to patch the check and empty the
   hidden checks gets nothing for a judged step, and the honest control keeps its points.
"""

from __future__ import annotations

import csv
import importlib
import json
import re
import shutil
import sys
import traceback
from pathlib import Path

import pytest
import torch

from td3_teach import checks, cli
from td3_teach.checks import _core
from td3_teach.grading.judge import REMOTE, Judge, Remote
from td3_teach.grading.wire import (Handles, Packer, Unpackable, Unpacker, answer, describe,
                                    rng_state)
from notebook_code import exercise_namespace

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "grading_fixtures"
sys.path.insert(0, str(FIXTURES))
from make_fixtures import EXPECTED_JUDGED, EXPECTED_JUDGED_STATUS, JUDGED  # noqa: E402

# step -> the names its check cell passes, in order
ARGS = {
    1: ["ReplayBuffer", "store_step"],
    2: ["Actor", "make_target"],
    3: ["Critic"],
    4: ["step04_sample_batch"],
    5: ["step05_target_action", "step05_prediction"],
    6: ["step06_target_policy_noise"],
    7: ["step07_target_q", "step07_prediction"],
    8: ["step08_min_target_q", "step08_prediction"],
    9: ["step09_bellman_target", "terminal_flag", "step09_prediction"],
    10: ["step10_current_q", "step10_prediction"],
    11: ["step11_critic_loss"],
    12: ["step12_critic_update"],
    13: ["step13_actor_update"],
    14: ["step14_update_actor_target"],
    15: ["step15_update_critic_target", "delayed_updates"],
}


def test_the_judged_checks_are_every_check():
    assert REMOTE == {f"step{n:02d}" for n in ARGS} | {"exploration", "agent", "bug_hunt"}


def _raised(e: BaseException) -> dict:
    """As grading.probe._raised, for code compiled by notebook_code (files ``<NB cell N>``)."""
    reply = {"type": "raise", "ename": type(e).__name__, "message": str(e)[:500],
             "not_implemented": isinstance(e, NotImplementedError)}
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename.startswith("<") and " cell " in frame.filename:
            reply.update(file=frame.filename, line=frame.lineno, text=(frame.line or "")[:300])
            break
    return reply


def _invoke(fn, args, kwargs):
    try:
        return {"type": "return", "value": fn(*args, **kwargs)}
    except BaseException as e:  # noqa: BLE001
        return _raised(e)


class Loopback:
    """The judge's link, with the probe in this process: every message goes through JSON, and
    the learner's objects stay on the probe's side (``Handles``), as in the grader."""

    def __init__(self, functions: dict) -> None:
        self.handles = Handles()
        for f in functions.values():
            self.handles.add(f)
        self.replies, self.calls = [], 0

    def send(self, msg: dict) -> None:
        msg = json.loads(json.dumps(msg))
        if msg["type"] == "call":
            self.calls += 1
            reply = answer(msg, self.handles.target(msg), _invoke, handles=self.handles)
            self.replies.append(json.loads(json.dumps(reply)))

    def recv(self, timeout=None):
        return self.replies.pop(0)


def _judged(ns: dict, names: list[str]) -> tuple[list, Loopback]:
    """The learner's functions as the judge sees them: stand-ins that call across the link."""
    functions = {h: ns.get(n) for h, n in enumerate(names, start=1)}
    link = Loopback({h: f for h, f in functions.items() if f is not None})
    judge = Judge(link, timeout_cell=60)
    stand_ins = [None if f is None else judge.stand_in(link.handles.add(f), describe(f))
                 for f in functions.values()]
    return stand_ins, link


def _outcome(step: int, fns: list, seed: int) -> str:
    _core.reset_hint_tiers()
    try:
        text = getattr(checks, f"step{step:02d}")(*fns, seed=seed).text()
    except checks.CheckFailed as e:
        text = e.text()
    # torch names the tensor it found changed in place (its shape, version): on the other side
    # that is the parameter itself rather than a view of it inside the network
    return re.sub(r"modified by an inplace operation: .*? instead", "modified in place", text)


def _cases():
    from td3_teach.steps import step as step_info
    for step in sorted(ARGS):
        tests = importlib.import_module(f"test_step_{step:02d}_check")
        nb = step_info(step).notebook
        yield pytest.param(step, nb, None, 0, id=f"step{step:02d}-solution")
        yield pytest.param(step, nb, None, 3, id=f"step{step:02d}-solution-seed3")
        for name, (replace, _) in tests.MUTATIONS.items():
            yield pytest.param(step, nb, replace, 0, id=f"step{step:02d}-{name}")


@pytest.mark.parametrize("step, notebook, replace, seed", list(_cases()))
def test_the_judge_says_what_the_check_says_in_process(step, notebook, replace, seed):
    ns = exercise_namespace(notebook, replace)
    direct = _outcome(step, [ns.get(n) for n in ARGS[step]], seed)
    ns = exercise_namespace(notebook, replace)  # fresh: a mistake may have changed state
    fns, link = _judged(ns, ARGS[step])
    judged = _outcome(step, fns, seed)
    assert judged == direct
    if replace is None:
        assert link.calls > 0  # the learner's code really ran on the other side


@pytest.mark.parametrize("step, build", [(1, lambda ns: ns["ReplayBuffer"](3, 2, 10)),
                                         (2, lambda ns: ns["Actor"](3, 2, 1.0)),
                                         (3, lambda ns: ns["Critic"](3, 2))])
def test_an_object_handed_over_for_its_class_gets_the_in_process_message(step, build):
    """A learner's object (not data, not callable, or a built network) crosses as a handle whose
    stand-in looks like it (its type's name, its methods, nn.Module or not)."""
    from td3_teach.steps import step as step_info
    ns = exercise_namespace(step_info(step).notebook, None)
    obj = build(ns)
    direct = _outcome(step, [obj], 0)
    (stand_in,), _ = _judged({"x": obj}, ["x"])
    assert _outcome(step, [stand_in], 0) == direct
    assert "instance" in direct


def _exploration_cases():
    from td3_teach.trainer import exploration_action
    tests = importlib.import_module("test_exploration_check")
    wrong = tests.test_each_mistake_fails_with_its_message.pytestmark[0].args[1]
    yield pytest.param(exploration_action, id="the trainer's")
    for k, (fn, words) in enumerate(wrong):
        yield pytest.param(fn, id=f"mistake {k + 1}: {words}")


@pytest.mark.parametrize("fn", list(_exploration_cases()))
def test_the_judge_says_what_the_exploration_check_says(fn):
    """The numpy generator the check hands over crosses as its state and comes back drawn."""
    def outcome(f):
        _core.reset_hint_tiers()
        try:
            return checks.exploration(f, seed=2).text()
        except checks.CheckFailed as e:
            return e.text()
    (stand_in,), link = _judged({"f": fn}, ["f"])
    assert outcome(stand_in) == outcome(fn)
    assert link.calls > 0


# --------------------------------------------------------------------------- the whole agent
class AgentLoopback:
    """The judge's link for ``agent`` and ``bug_hunt``, with the probe (``AgentProbe``) in this
    process: every operation and every record goes through JSON, as in the grader; ``sizes``
    counts the characters each way."""

    def __init__(self, *objs) -> None:
        from td3_teach.checks._agent_probe import AgentProbe
        self.probe = AgentProbe(*objs)
        self.replies, self.ops, self.sent, self.back = [], 0, 0, 0

    def send(self, msg: dict) -> None:
        from td3_teach.grading.wire import pack, torch_state, unpack
        text = json.dumps(msg)
        self.sent += len(text)
        msg = json.loads(text)
        assert msg["type"] == "agent"
        self.ops += 1
        rec = self.probe.handle(msg["op"], unpack(msg["data"]))
        text = json.dumps({"type": "agent", "value": pack(rec), "hits": [], "torch": torch_state()})
        self.back += len(text)
        self.replies.append(json.loads(text))

    def recv(self, timeout=None):
        return self.replies.pop(0)


def _agent_outcome(check, args, seed: int = 0) -> str:
    _core.reset_hint_tiers()
    try:
        return check(*args, seed=seed).text()
    except checks.CheckFailed as e:
        return e.text()


def _judged_session(*objs):
    from td3_teach.grading.judge import remote_session
    link = AgentLoopback(*objs)
    return remote_session(Judge(link, timeout_cell=60)), link


def _agent_cases():
    tests = importlib.import_module("test_agent_check")
    yield pytest.param(None, 0, id="solution")
    yield pytest.param(None, 3, id="solution-seed3")
    for table in (tests.LECTURE_BUGS, tests.ASSEMBLY):
        for name, (replace, _) in table.items():
            yield pytest.param(replace, 0, id=name)


@pytest.mark.parametrize("replace, seed", list(_agent_cases()))
def test_the_judge_says_what_the_agent_check_says_in_process(replace, seed):
    """notebook 16: the solution and every mistake of tests/test_agent_check.py, in process and
    judged (the probe's records through JSON), give the same text."""
    nb = "16_your_td3.ipynb"
    direct = _agent_outcome(checks.agent, [exercise_namespace(nb, replace)["MyTD3"]], seed)
    session, link = _judged_session(exercise_namespace(nb, replace)["MyTD3"])
    assert _agent_outcome(checks.agent, [session], seed) == direct
    assert link.ops > 0


def _bug_hunt_cases():
    tests = importlib.import_module("test_bug_hunt")
    yield pytest.param(None, id="fixed listing")
    yield pytest.param({"target_Q = torch.min(target_Q1, target_Q2)": "target_Q = target_Q1"},
                       id="a mistake beyond the known bugs")
    for bug, replace in tests.PUT_BACK.items():
        yield pytest.param(replace, id=bug)


@pytest.mark.parametrize("replace", list(_bug_hunt_cases()))
def test_the_judge_says_what_the_bug_hunt_says_in_process(replace):
    nb = "17_bug_hunt.ipynb"
    ns = exercise_namespace(nb, replace)
    direct = _agent_outcome(checks.bug_hunt, [ns["T3D"], ns["ReplayBuffer"]])
    ns = exercise_namespace(nb, replace)
    session, _ = _judged_session(ns["T3D"], ns["ReplayBuffer"])
    assert _agent_outcome(checks.bug_hunt, [session]) == direct


def test_what_crosses_for_one_agent_seed_is_small():
    """What the judge sends and the probe answers for one seed of the solution: inputs, facts
    and sampled parameters, not the parameters of every update (README, Limits)."""
    session, link = _judged_session(exercise_namespace("16_your_td3.ipynb", None)["MyTD3"])
    assert checks.agent(session, seed=0)
    print(f"agent, one seed: {link.ops} operations, {link.sent / 1e6:.2f} MB to the probe, "
          f"{link.back / 1e6:.2f} MB back")
    assert link.sent + link.back < 8e6


# --------------------------------------------------------------------------- data, not objects
def test_networks_and_optimizers_cross_as_data_and_come_back_changed():
    from td3_teach.networks import Critic
    critic = Critic(3, 2)
    opt = torch.optim.Adam(critic.parameters(), lr=0.01)
    s, a, y = torch.randn(5, 3), torch.randn(5, 2), torch.randn(5, 1)
    loss = sum(torch.nn.functional.mse_loss(q, y) for q in critic(s, a))

    def learner_update(critic_optimizer, critic_loss):
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()

    twin = Critic(3, 2)
    twin.load_state_dict(critic.state_dict())
    twin_opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    learner_update(twin_opt, sum(torch.nn.functional.mse_loss(q, y) for q in twin(s, a)))

    packer = Packer("j")
    msg = {"type": "call", "handle": 1, "args": packer.pack([opt, loss]),
           "kwargs": packer.pack({}), "rng": None}
    msg["tables"] = packer.tables()
    wire = json.loads(json.dumps(msg))
    assert "Critic" not in json.dumps(wire["args"])  # the optimizer refers to parameters by key
    seen = {}

    def spy(critic_optimizer, critic_loss):
        seen["opt"], seen["params"] = critic_optimizer, critic_optimizer.param_groups[0]["params"]
        return learner_update(critic_optimizer, critic_loss)

    msg = dict(wire, rng=rng_state())
    reply = json.loads(json.dumps(answer(msg, spy, _invoke)))
    assert type(seen["opt"]) is torch.optim.Adam and seen["opt"] is not opt  # rebuilt there
    assert all(p is not q for p, q in zip(seen["params"], critic.parameters()))
    back = Unpacker(packer.by_key())
    back.load(reply["tables"])
    for p, q in zip(critic.parameters(), twin.parameters()):  # the judge's critic moved as ...
        assert torch.allclose(p, q, atol=1e-7)  # ... one Adam step of the learner's code moves it
        assert torch.allclose(p.grad, q.grad, atol=1e-7)
    assert opt.state_dict()["state"][0]["step"] == 1


def test_only_the_allowed_classes_cross():
    class Mine(torch.nn.Module):
        pass

    with pytest.raises(Unpackable):
        Packer("j").pack(Mine())
    with pytest.raises(Unpackable):
        Packer("j").pack(torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))]))
    with pytest.raises(Unpackable):
        Unpacker().load({"nets": {"j1": {"cls": "os.system", "args": ["true"], "params": {}}}})
    with pytest.raises(Unpackable):
        Unpacker().value({"__object__": "Popen", "attrs": {}})
    assert type(Unpacker().value(Packer("p").result(Mine()))).__name__ == "Mine"  # opaque


def test_a_results_gradient_crosses_as_the_gradient_of_its_sum():
    w = torch.nn.Parameter(torch.randn(4))
    packer = Packer("p")
    packer.pack(w)  # an input of the call: the gradient is taken with respect to it
    out = packer.pack((w * torch.arange(4.0)).reshape(2, 2) ** 2)
    tables = json.loads(json.dumps(packer.tables()))
    here = torch.nn.Parameter(w.detach().clone())
    back = Unpacker({k: here for k in tables["params"]})
    back.load(tables)
    got = back.value(json.loads(json.dumps(out)))
    want = torch.autograd.grad(((w * torch.arange(4.0)) ** 2).sum(), w)[0]
    assert torch.allclose(torch.autograd.grad(got.sum(), here)[0], want, atol=1e-5)
    assert torch.allclose(got.detach().flatten(), ((w * torch.arange(4.0)) ** 2).detach())


def test_the_learners_code_crosses_as_the_names_it_uses():
    from td3_teach.checks._code_facts import count_uses, first_use, names_used

    def update(critic_optimizer, critic_loss):
        critic_loss.backward()
        critic_optimizer.step()
        critic_optimizer.zero_grad()

    stand_in = Remote(Judge(Loopback({}), 1), 1, json.loads(json.dumps(describe(update))))
    assert names_used(stand_in) == names_used(update)
    for name in ("backward", "step", "zero_grad", "nothing"):
        assert first_use(stand_in, name) == first_use(update, name)
        assert count_uses(stand_in, name) == count_uses(update, name)


# --------------------------------------------------------------------------- through the grader
FAST = ["--timeout-cell", "60", "--timeout-notebook", "300", "--memory-mb", "3072", "--quiet"]


def test_forging_a_judged_check_from_the_learners_process_earns_nothing(tmp_path):
    """One grading run of notebooks 01-17: the forger's wrong code, with a cell that replaces
    every check the grader's frames hold (steps, agent, bug_hunt) by a forged pass and empties
    the hidden checks, gets nothing; so does the learner whose class, while notebook 16's or
    17's check runs it, turns the graded run's failed-check records into passes; the honest
    control gets every point."""
    subs = tmp_path / "subs"
    shutil.copytree(JUDGED, subs)
    out = tmp_path / "out"
    assert cli.main(["grade", str(subs), "--out", str(out), "--solutions",
                     str(ROOT / "solutions"), "--jobs", "2", *FAST]) == 0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {r["learner"]: r for r in csv.DictReader(f)}
    for learner, points in EXPECTED_JUDGED.items():
        text = (out / "feedback" / f"{learner}.md").read_text()
        assert {c: int(float(rows[learner][c])) for c in points} == points, text
        assert rows[learner]["status"] == EXPECTED_JUDGED_STATUS[learner], text


def test_a_hostile_record_is_refused_not_built():
    with pytest.raises(Unpackable):  # a network too wide to be one of the checks'
        Unpacker().load({"nets": {"p1": {"cls": "Actor", "args": [10**9, 1, 1.0], "params": {}}}})
    with pytest.raises(Unpackable):  # an agent with a dunder attribute
        Unpacker().value({"__object__": "SimpleNamespace",
                          "attrs": {"__class__": {"__map__": {}}}})
