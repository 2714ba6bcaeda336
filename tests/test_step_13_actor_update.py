"""Step 13 of 15: the delayed actor update, ascent on Q1(s, mu(s))
(td3_teach.update.step13_actor_update and the delay in train_step).

The actor climbs Q1 (loss = -mean Q1), leaves the critic's parameters and gradients alone
(gradient isolation), and runs, with the target updates of steps 14-15, once every d iterations.
"""

import copy

import numpy as np
import pytest
import torch

from td3_teach import TD3, TD3Config
from td3_teach.networks import Actor, Critic
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.update import step13_actor_update

S, A = 26, 6


def nets(seed=0):
    torch.manual_seed(seed)
    return Actor(S, A, 1.0), Critic(S, A), torch.randn(128, S)


def mean_q1(actor, critic, s):
    with torch.no_grad():
        return critic.Q1(s, actor(s)).mean().item()


def snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def same(net, snap):
    return all(torch.equal(p, q) for p, q in zip(net.parameters(), snap))


def random_buffer(n=300, seed=0):
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(S, A, max_size=n, device="cpu")
    for _ in range(n):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A),
                 rng.standard_normal(), False))
    return buf


@pytest.mark.parametrize("make_opt", [lambda p: torch.optim.SGD(p, lr=1e-3),
                                      lambda p: torch.optim.Adam(p, lr=3e-4)])
def test_step13_bug_actor_update_increases_q1(make_opt):
    """Lecture: ``actor_loss = critic.Q1(s, actor(s)).mean()``, no minus sign: descent on Q, the
    worst actions. Ours: one step raises Q1(s, mu(s))."""
    actor, critic, s = nets()
    before = mean_q1(actor, critic, s)
    loss = step13_actor_update(actor, critic, make_opt(actor.parameters()), s)
    assert loss.item() == pytest.approx(-before, rel=1e-5)
    assert mean_q1(actor, critic, s) > before


def test_step13_actor_climbs_q1_only_not_the_min_nor_q2():
    actor, critic, s = nets()
    reference = copy.deepcopy(actor)
    step13_actor_update(actor, critic, torch.optim.SGD(actor.parameters(), lr=0.1), s)
    opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    (-critic.Q1(s, reference(s)).mean()).backward()
    opt.step()
    for p, q in zip(actor.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-7)


@pytest.mark.parametrize("grads", ["none", "stale"])
def test_step13_gradient_isolation_critic_params_and_grads_untouched(grads):
    """As TorchRL's tests: the actor loss leaves the critic's weights AND their .grad alone."""
    actor, critic, s = nets()
    if grads == "stale":  # e.g. what step 12 left behind
        for p in critic.parameters():
            p.grad = torch.randn_like(p)
    params, grad_before = snapshot(critic), [None if p.grad is None else p.grad.clone()
                                             for p in critic.parameters()]
    step13_actor_update(actor, critic, torch.optim.Adam(actor.parameters(), lr=3e-4), s)
    assert same(critic, params)
    for p, g in zip(critic.parameters(), grad_before):
        assert (p.grad is None) if g is None else torch.equal(p.grad, g)
    assert all(p.requires_grad for p in critic.parameters()), "critic left frozen"
    assert all(p.grad is not None for p in actor.parameters())


def test_step13_critic_is_unfrozen_even_when_the_update_fails():
    actor, critic, _ = nets()
    with pytest.raises(RuntimeError):
        step13_actor_update(actor, critic, torch.optim.SGD(actor.parameters(), lr=0.1),
                            torch.randn(4, S + 1))  # wrong width: fails inside the frozen block
    assert all(p.requires_grad for p in critic.parameters())


def test_step13_leaves_a_weight_frozen_before_it_frozen():
    """frozen() restores each weight's own flag: one frozen beforehand stays frozen."""
    actor, critic, s = nets()
    critic.layer_1.bias.requires_grad_(False)
    step13_actor_update(actor, critic, torch.optim.Adam(actor.parameters(), lr=3e-4), s)
    assert [name for name, p in critic.named_parameters() if not p.requires_grad] == ["layer_1.bias"]


def test_step13_bug_targets_and_actor_change_only_on_delayed_iterations():
    """Lecture: targets soft-updated every iteration. Ours: the actor and all targets change on
    iterations d, 2d, ... only (the counter starts at 1); the critic changes every iteration."""
    buf = random_buffer()
    agent = TD3(S, A, 1.0, device="cpu")  # policy_freq 2
    for it in range(1, 5):
        actor, actor_t, critic, critic_t = (snapshot(n) for n in
                                            (agent.actor, agent.actor_target, agent.critic,
                                             agent.critic_target))
        losses = agent.train(buf, 1, batch_size=32)
        delayed = it % 2 == 0
        assert agent.total_it == it
        assert not same(agent.critic, critic), f"critic unchanged on iteration {it}"
        assert same(agent.actor, actor) != delayed, f"actor on iteration {it}"
        assert same(agent.actor_target, actor_t) != delayed, f"actor target on iteration {it}"
        assert same(agent.critic_target, critic_t) != delayed, f"critic target on iteration {it}"
        assert ("actor_loss" in losses) == delayed


@pytest.mark.parametrize("config, delayed_its", [
    (TD3Config(policy_freq=3), {3, 6}),
    (TD3Config(policy_freq=1), {1, 2, 3, 4, 5, 6}),
    (TD3Config(delayed_updates=False), {1, 2, 3, 4, 5, 6}),
])
def test_step13_policy_delay_follows_the_config(config, delayed_its):
    buf = random_buffer()
    agent = TD3(S, A, 1.0, config, device="cpu")
    changed = set()
    for it in range(1, 7):
        before = snapshot(agent.actor_target)
        agent.train(buf, 1, batch_size=16)
        if not same(agent.actor_target, before):
            changed.add(it)
    assert changed == delayed_its


def test_step13_train_keyword_policy_freq_overrides_the_config():
    buf = random_buffer()
    agent = TD3(S, A, 1.0, device="cpu")
    before = snapshot(agent.actor)
    agent.train(buf, 1, batch_size=16, policy_freq=1)
    assert not same(agent.actor, before)
