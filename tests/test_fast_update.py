"""td3_teach/fast_update.py, the update ``TD3.train`` runs on a CPU, is ``train_step``'s update:
from the same networks, batches and noise it writes the gradients autograd finds for
``td3_teach.update.train_step`` (critic every iteration, actor on delayed ones), returns the same
losses, and moves every parameter, target and optimiser state the same way, to float rounding.
And ``TD3.train`` takes it only where it applies."""

from __future__ import annotations

import types
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from td3_teach import TD3, ReplayBuffer, fast_update, onednn
from td3_teach.config import TD3Config
from td3_teach.errors import InputError
from td3_teach.networks import Actor
from td3_teach.trainer import make_agent
from td3_teach.update import train_step

S, A, MAX_ACTION, BATCH = 26, 6, 2.0, 64
NETWORKS = ("actor", "actor_target", "critic", "critic_target")


@pytest.fixture(autouse=True)
def torch_matmul(monkeypatch):
    """torch's own matmul on every CPU (where oneDNN would be attached, the fast update stands aside)."""
    monkeypatch.setenv("TD3_TEACH_MATMUL", "torch")
    monkeypatch.delenv(fast_update.ENV, raising=False)


def filled_buffer(n: int = 500) -> ReplayBuffer:
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=n)
    for t in range(n):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-MAX_ACTION, MAX_ACTION, A),
                 float(rng.standard_normal()), float(t % 97 == 96)))
    return buf


def twin_agents(config: TD3Config | None = None) -> tuple[TD3, TD3]:
    agents = []
    for _ in range(2):
        torch.manual_seed(3)
        agents.append(TD3(S, A, MAX_ACTION, config=config, device="cpu"))
    return agents[0], agents[1]


def close(x: torch.Tensor, ref: torch.Tensor) -> bool:
    return torch.allclose(x, ref, rtol=1e-4, atol=1e-5 * float(ref.abs().max()))


def run_both(iterations: int) -> tuple[TD3, TD3, list[str]]:
    """train_step and the fast update side by side on the same batches and noise; returns both
    agents and, per iteration, the gradients and losses that differed."""
    buf = filled_buffer()
    reference, fast = twin_agents()
    update = fast_update.FastUpdate(fast)
    cfg = replace(reference.config, batch_size=BATCH)
    differences = []
    for it in range(1, iterations + 1):
        torch.manual_seed(100 + it)  # the same batch and the same target-policy noise for both
        expected = train_step(reference, buf.sample(BATCH), it, cfg)
        torch.manual_seed(100 + it)
        got = update.step(buf.sample(BATCH), it, cfg)
        if sorted(got) != sorted(expected):
            differences.append(f"iteration {it}: losses {sorted(got)}, expected {sorted(expected)}")
        differences += [f"iteration {it}: {k}" for k in expected
                        if k in got and not torch.allclose(got[k], expected[k], rtol=1e-5)]
        nets = ("critic", "actor") if it % cfg.policy_delay == 0 else ("critic",)
        for net in nets:
            for (name, p), q in zip(getattr(reference, net).named_parameters(), getattr(fast, net).parameters()):
                if not close(q.grad, p.grad):
                    differences.append(f"iteration {it}: {net}.{name}.grad")
    return reference, fast, differences


def test_the_fast_gradients_losses_and_parameters_are_train_steps():
    reference, fast, differences = run_both(4)  # iterations 2 and 4 update the actor and targets
    assert differences == []
    for net in NETWORKS:
        for (name, p), q in zip(getattr(reference, net).named_parameters(), getattr(fast, net).parameters()):
            torch.testing.assert_close(q, p, rtol=0, atol=1e-6, msg=f"{net}.{name}")
    for opt in ("actor_optimizer", "critic_optimizer"):
        ref_state, fast_state = (getattr(a, opt).state_dict()["state"] for a in (reference, fast))
        assert ref_state.keys() == fast_state.keys()
        for k in ref_state:
            for name in ("step", "exp_avg", "exp_avg_sq"):
                torch.testing.assert_close(fast_state[k][name], ref_state[k][name], rtol=1e-4, atol=1e-8)
    # the comparison is not vacuous: the update moved every network
    torch.manual_seed(3)
    fresh = TD3(S, A, MAX_ACTION, device="cpu")
    for net in NETWORKS:
        assert not torch.equal(getattr(fresh, net).layer_2.weight, getattr(fast, net).layer_2.weight), net


@pytest.mark.parametrize("mutant, expected", [
    ("relu_mask", ["critic.layer_2.weight.grad", "actor."]),   # a ReLU backward without its mask
    ("bias_sum", ["critic.layer_1.bias.grad"]),                # bias gradients summed over the wrong axis
])
def test_a_wrong_gradient_in_the_fast_update_is_caught(monkeypatch, mutant, expected):
    if mutant == "relu_mask":
        monkeypatch.setattr(fast_update, "_relu_backward", lambda g, h: g)
    else:
        def backward_linear(g, x, layer):
            torch.mm(g.t(), x, out=layer.weight.grad)
            layer.bias.grad.copy_(g.mean(0))
        monkeypatch.setattr(fast_update, "_backward_linear", backward_linear)
    _, _, differences = run_both(2)
    for words in expected:
        assert any(words in d for d in differences), (words, differences)


def test_train_runs_the_fast_update_and_matches_train_step_over_many_iterations(monkeypatch):
    """TD3.train itself, both ways, 30 iterations with the paper's batch: the same networks."""
    buf = filled_buffer()
    taught, fast = twin_agents()
    calls = []
    real_step = fast_update.FastUpdate.step
    monkeypatch.setattr(fast_update.FastUpdate, "step", lambda self, *a: calls.append(1) or real_step(self, *a))
    torch.manual_seed(7)
    losses_fast = fast.train(buf, 30)
    monkeypatch.setenv(fast_update.ENV, "taught")
    torch.manual_seed(7)
    losses_taught = taught.train(buf, 30)
    assert len(calls) == 30  # the fast agent ran it every iteration, the taught one never
    assert losses_fast.keys() == losses_taught.keys() == {"critic_loss", "actor_loss"}
    for k in losses_fast:
        assert losses_fast[k] == pytest.approx(losses_taught[k], rel=1e-4)
    for net in NETWORKS:
        for (name, p), q in zip(getattr(taught, net).named_parameters(), getattr(fast, net).parameters()):
            torch.testing.assert_close(q, p, rtol=0, atol=1e-5, msg=f"{net}.{name}")


def test_it_survives_train_step_emptying_the_gradients():
    """train_step's zero_grad(set_to_none=True) leaves .grad None; the fast update refills it."""
    buf = filled_buffer()
    reference, fast = twin_agents()
    update = fast_update.FastUpdate(fast)
    cfg = replace(reference.config, batch_size=BATCH)
    for it, taught in enumerate([False, True, False, False], start=1):
        torch.manual_seed(it)
        train_step(reference, buf.sample(BATCH), it, cfg)
        torch.manual_seed(it)
        if taught:
            train_step(fast, buf.sample(BATCH), it, cfg)
            fast.critic_optimizer.zero_grad(set_to_none=True)
            fast.actor_optimizer.zero_grad(set_to_none=True)
        else:
            update.step(buf.sample(BATCH), it, cfg)
    for net in NETWORKS:
        for p, q in zip(getattr(reference, net).parameters(), getattr(fast, net).parameters()):
            torch.testing.assert_close(q, p, rtol=0, atol=1e-6)


class MyActor(Actor):
    """A subclass: its forward could be anything, so the fast update must stand aside."""


@pytest.mark.parametrize("case, reason", [
    ("taught", "TD3_TEACH_UPDATE=taught"),
    ("no_twin", "an ablation"),
    ("no_noise", "an ablation"),
    ("own_actor", "networks other than"),
    ("float64", "not float32 on a CPU"),
    ("frozen", "a frozen parameter"),
    ("onednn", "replaced or hooked"),
    ("spy", "replaced or hooked"),
    ("hook", "replaced or hooked"),
    ("global_hook", "replaced or hooked"),
])
def test_train_step_runs_where_the_fast_update_does_not_apply(monkeypatch, case, reason):
    cfg = {"no_twin": TD3Config(twin_critics=False), "no_noise": TD3Config(target_noise=False)}.get(case)
    torch.manual_seed(0)
    agent = make_agent(S, A, MAX_ACTION, config=cfg, device="cpu",
                       actor_cls=MyActor if case == "own_actor" else None)
    assert (fast_update.why_not(agent, agent.config) is None) == (case in ("taught", "onednn", "spy", "hook",
                                                                          "global_hook", "float64", "frozen"))
    handle = None
    if case == "taught":
        monkeypatch.setenv(fast_update.ENV, " Taught ")
    elif case == "float64":
        for net in NETWORKS:
            getattr(agent, net).double()
    elif case == "frozen":  # train_step gives it no gradient, so Adam leaves it as it is
        agent.actor.layer_1.bias.requires_grad_(False)
    elif case == "onednn":  # what onednn.attach does to each nn.Linear where it switches
        layer = agent.critic.layer_2
        monkeypatch.setattr(layer, "forward", types.MethodType(onednn._forward, layer), raising=False)
    elif case == "spy":  # what the whole-agent check does to watch step 7
        original = agent.critic_target.forward
        monkeypatch.setattr(agent.critic_target, "forward", lambda *a: original(*a), raising=False)
    elif case == "hook":
        handle = agent.actor.layer_1.register_forward_hook(lambda m, i, o: None)
    elif case == "global_hook":
        handle = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: None)
    try:
        assert reason in fast_update.why_not(agent, agent.config)
        monkeypatch.setattr(fast_update.FastUpdate, "step", lambda *a: pytest.fail("the fast update ran"))
        frozen = agent.actor.layer_1.bias.detach().clone()
        if case != "float64":  # (the float32 buffer would not fit a float64 network)
            agent.train(filled_buffer(300), 2, batch_size=16)
        assert case != "frozen" or torch.equal(agent.actor.layer_1.bias, frozen)
    finally:
        if handle is not None:
            handle.remove()
    assert fast_update.why_not(agent, agent.config) is None or case not in ("hook", "global_hook")


def test_the_package_agent_takes_the_fast_update_and_keeps_it():
    torch.manual_seed(0)
    agent = TD3(S, A, MAX_ACTION, device="cpu")
    assert fast_update.why_not(agent, agent.config) is None
    first = fast_update.for_agent(agent, agent.config)
    assert first is not None and fast_update.for_agent(agent, agent.config) is first
    agent.critic_target = type(agent.critic)(S, A)  # a network replaced: a new update for it
    second = fast_update.for_agent(agent, agent.config)
    assert second is not first and second.serves(agent) and not first.serves(agent)


def test_a_wrong_setting_is_one_line_when_the_agent_is_made(monkeypatch):
    monkeypatch.setenv(fast_update.ENV, "fastest")
    with pytest.raises(InputError, match="TD3_TEACH_UPDATE='fastest' is not one of auto, taught"):
        fast_update.mode()
    with pytest.raises(InputError, match="TD3_TEACH_UPDATE"):  # not only after the warm-up
        TD3(S, A, MAX_ACTION, device="cpu")


@pytest.mark.parametrize("case", ["plain", "hook", "global_hook", "wrapped_step", "scheduler", "other_optimizer"])
def test_adam_steps_skip_only_bookkeeping_nobody_needs(monkeypatch, case):
    """_adam_step runs torch's functional Adam on the agent's own Adam (the same states as
    ``opt.step()``), and ``opt.step()`` wherever its bookkeeping serves someone."""
    torch.manual_seed(0)
    start = torch.randn(5, 3)
    make = ((lambda p: torch.optim.SGD([p], lr=0.1)) if case == "other_optimizer"
            else (lambda p: torch.optim.Adam([p], lr=0.1, fused=True)))
    opt_ref, opt_fast = (make(torch.nn.Parameter(start.clone())) for _ in range(2))
    functional = []
    real_adam = fast_update.adam
    monkeypatch.setattr(fast_update, "adam", lambda *a, **k: functional.append(1) or real_adam(*a, **k))
    seen, handle = [], None
    if case == "hook":
        handle = opt_fast.register_step_post_hook(lambda *a: seen.append(1))
    elif case == "global_hook":
        handle = register_optimizer_step_pre_hook(
            lambda opt, *a: seen.append(1) if opt is opt_fast else None)
    elif case == "wrapped_step":  # what an instrument does
        real_step = opt_fast.step
        monkeypatch.setattr(opt_fast, "step", lambda *a: seen.append(1) or real_step(*a), raising=False)
    elif case == "scheduler":  # it wraps opt.step to learn that the optimiser stepped
        for opt in (opt_ref, opt_fast):
            torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        opt_fast._opt_called = False
    try:
        for it in range(3):
            for opt in (opt_ref, opt_fast):
                (p,) = opt.param_groups[0]["params"]
                p.grad = torch.full_like(p, float(it + 1)) - p.detach()
            opt_ref.step()
            fast_update._adam_step(opt_fast)
    finally:
        if handle is not None:
            handle.remove()
    (p_ref,), (p_fast,) = opt_ref.param_groups[0]["params"], opt_fast.param_groups[0]["params"]
    torch.testing.assert_close(p_fast, p_ref, rtol=0, atol=1e-7)
    if case == "plain":  # the first step sets up the state; the next two need no bookkeeping
        assert len(functional) == 2 and seen == []
        torch.testing.assert_close(opt_fast.state[p_fast]["exp_avg_sq"], opt_ref.state[p_ref]["exp_avg_sq"])
        assert float(opt_fast.state[p_fast]["step"]) == 3
    elif case == "scheduler":  # no warning that the scheduler stepped before the optimiser
        assert functional == [] and opt_fast._opt_called
    else:
        assert functional == [] and len(seen) == (0 if case == "other_optimizer" else 3)
