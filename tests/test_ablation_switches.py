"""Each of TD3's three switches changes exactly what it names, and nothing else.

* ``twin_critics=False`` (no clipped double Q-learning): the target y uses Q1' alone, and the
  critic loss leaves Q2 untouched.
* ``delayed_updates=False`` (no delay): actor and all targets move on every iteration; with the
  delay on they move only on iterations d, 2d, ...
* ``target_noise=False`` (no target policy smoothing): a' = mu'(s') exactly, so y is a
  deterministic function of the batch; with it on, y depends on the random noise.

Small networks on random tensors, seeded; ``train_step``'s y is captured by wrapping step 9.
"""

from __future__ import annotations

import copy

import pytest
import torch

from td3_teach import update
from td3_teach.agent import TD3
from td3_teach.config import TD3Config
from td3_teach.replay_buffer import Batch, ReplayBuffer

S_DIM, A_DIM, MAX_A, B = 3, 2, 2.0, 16


def make_agent(**switches) -> TD3:
    torch.manual_seed(0)
    return TD3(S_DIM, A_DIM, MAX_A, TD3Config(batch_size=B, **switches), device="cpu")


def make_batch(seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(s=torch.randn(B, S_DIM, generator=g), s_next=torch.randn(B, S_DIM, generator=g),
                 a=torch.rand(B, A_DIM, generator=g) * 2 * MAX_A - MAX_A,
                 r=torch.randn(B, 1, generator=g),
                 terminated=(torch.rand(B, 1, generator=g) < 0.2).float())


def params(net: torch.nn.Module, prefix: str = "") -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters() if k.startswith(prefix)}


def same(p: dict, q: dict) -> bool:
    return all(torch.equal(p[k], q[k]) for k in p)


def changed(p: dict, q: dict) -> bool:
    return all(not torch.equal(p[k], q[k]) for k in p)


Q1_HEAD, Q2_HEAD = ("layer_1", "layer_2", "layer_3"), ("layer_4", "layer_5", "layer_6")


def head(net, layers) -> dict[str, torch.Tensor]:
    return {k: v for k, v in params(net).items() if k.split(".")[0] in layers}


@pytest.fixture
def captured(monkeypatch) -> dict:
    """Record y (step 9's output) and a' (step 7's action input) of every train_step."""
    seen: dict[str, list[torch.Tensor]] = {"y": [], "a_next": []}
    bellman, target_q = update.step09_bellman_target, update.step07_target_q

    def spy_bellman(*args, **kwargs):
        y = bellman(*args, **kwargs)
        seen["y"].append(y.clone())
        return y

    def spy_target_q(critic_target, s_next, a_tilde):
        seen["a_next"].append(a_tilde.clone())
        return target_q(critic_target, s_next, a_tilde)

    monkeypatch.setattr(update, "step09_bellman_target", spy_bellman)
    monkeypatch.setattr(update, "step07_target_q", spy_target_q)
    return seen


# --------------------------------------------------------------------------- clipped double Q
def test_twin_off_target_is_r_plus_gamma_q1_target_only(captured) -> None:
    agent, batch = make_agent(twin_critics=False, target_noise=False), make_batch()
    with torch.no_grad():
        q1_next = agent.critic_target.Q1(batch.s_next, agent.actor_target(batch.s_next))
        expected = batch.r + 0.99 * (1 - batch.terminated) * q1_next
    update.train_step(agent, batch, 1, agent.config)
    torch.testing.assert_close(captured["y"][0], expected, rtol=0, atol=0)


def test_twin_off_target_ignores_q2_target_twin_on_uses_it(captured) -> None:
    """Push Q2' far below Q1': the min picks it up only with twin critics on."""
    for twin in (False, True):
        agent = make_agent(twin_critics=twin, target_noise=False)
        update.train_step(agent, make_batch(), 1, agent.config)
        with torch.no_grad():
            agent = make_agent(twin_critics=twin, target_noise=False)
            agent.critic_target.layer_6.bias.fill_(-1e3)
        update.train_step(agent, make_batch(), 1, agent.config)
    y_single, y_single_low_q2, y_twin, y_twin_low_q2 = captured["y"]
    torch.testing.assert_close(y_single_low_q2, y_single, rtol=0, atol=0)
    alive = make_batch().terminated == 0  # a terminal row has no future: y = r either way
    assert alive.any() and (y_twin_low_q2[alive] < y_twin[alive] - 100).all(), \
        "with twin critics the min must see Q2'"
    torch.testing.assert_close(y_twin_low_q2[~alive], y_twin[~alive], rtol=0, atol=0)


def test_twin_off_leaves_q2_untouched_twin_on_trains_both() -> None:
    for twin in (False, True):
        agent, batch = make_agent(twin_critics=twin), make_batch()
        q1_before, q2_before = head(agent.critic, Q1_HEAD), head(agent.critic, Q2_HEAD)
        update.train_step(agent, batch, 1, agent.config)
        assert changed(q1_before, head(agent.critic, Q1_HEAD))
        if twin:
            assert changed(q2_before, head(agent.critic, Q2_HEAD)), "TD3 must train Q2 too"
        else:
            assert same(q2_before, head(agent.critic, Q2_HEAD)), \
                "twin_critics=False: the critic loss must not touch Q2 (layers 4-6)"


def test_twin_off_critic_loss_is_q1_mse_only() -> None:
    agent, batch = make_agent(twin_critics=False, target_noise=False), make_batch()
    with torch.no_grad():
        y = batch.r + 0.99 * (1 - batch.terminated) * agent.critic_target.Q1(
            batch.s_next, agent.actor_target(batch.s_next))
        expected = torch.nn.functional.mse_loss(agent.critic.Q1(batch.s, batch.a), y)
    losses = update.train_step(agent, batch, 1, agent.config)
    torch.testing.assert_close(losses["critic_loss"], expected)


# --------------------------------------------------------------------------- delayed updates
def moved_per_iteration(agent: TD3, iterations: int = 6) -> dict[str, list[bool]]:
    """For actor, actor_target, critic_target: did it change on iteration 1, 2, ...?"""
    out: dict[str, list[bool]] = {"actor": [], "actor_target": [], "critic_target": [],
                                  "critic": []}
    for it in range(1, iterations + 1):
        before = {name: params(getattr(agent, name)) for name in out}
        update.train_step(agent, make_batch(seed=it), it, agent.config)
        for name in out:
            out[name].append(not same(before[name], params(getattr(agent, name))))
    return out


def test_delay_on_moves_actor_and_targets_every_d_iterations() -> None:
    moved = moved_per_iteration(make_agent(policy_freq=3))
    every_third = [False, False, True, False, False, True]
    assert moved["actor"] == every_third
    assert moved["actor_target"] == every_third
    assert moved["critic_target"] == every_third
    assert moved["critic"] == [True] * 6, "the critic learns on every iteration"


def test_delay_off_moves_actor_and_targets_every_iteration() -> None:
    moved = moved_per_iteration(make_agent(policy_freq=3, delayed_updates=False))
    for name in ("actor", "actor_target", "critic_target", "critic"):
        assert moved[name] == [True] * 6, f"delayed_updates=False: {name} must move every iteration"


def test_delay_off_returns_an_actor_loss_every_iteration() -> None:
    agent = make_agent(delayed_updates=False)
    for it in (1, 2, 3):
        assert "actor_loss" in update.train_step(agent, make_batch(it), it, agent.config)
    agent = make_agent()
    assert "actor_loss" not in update.train_step(agent, make_batch(), 1, agent.config)
    assert "actor_loss" in update.train_step(agent, make_batch(), 2, agent.config)


# --------------------------------------------------------------------------- target smoothing
def test_noise_off_target_action_is_the_target_actors(captured) -> None:
    agent, batch = make_agent(target_noise=False), make_batch()
    update.train_step(agent, batch, 1, agent.config)
    with torch.no_grad():
        a_next = make_agent(target_noise=False).actor_target(batch.s_next)
    torch.testing.assert_close(captured["a_next"][0], a_next, rtol=0, atol=0)


@pytest.mark.parametrize("noise", [False, True])
def test_noise_off_makes_targets_deterministic_given_the_batch(captured, noise: bool) -> None:
    batch = make_batch()
    for rng_seed in (10, 11):
        agent = make_agent(target_noise=noise)
        torch.manual_seed(rng_seed)  # a different global RNG state: different noise, if any
        update.train_step(agent, batch, 1, agent.config)
    y_a, y_b = captured["y"]
    if noise:
        assert not torch.equal(y_a, y_b), "target_noise=True: y must depend on the noise draw"
        a_a, a_b = captured["a_next"]
        assert (a_a - a_b).abs().max() <= 2 * 0.5 * MAX_A + 1e-6, "noise clipped to +/- c*max"
    else:
        torch.testing.assert_close(y_a, y_b, rtol=0, atol=0)


# --------------------------------------------------------------------------- all off, agent API
def test_ddpg_config_switches_all_three_off_and_keeps_the_rest() -> None:
    cfg = TD3Config.ddpg(batch_size=64)
    assert (cfg.twin_critics, cfg.target_noise, cfg.delayed_updates) == (False, False, False)
    assert cfg.policy_delay == 1 and cfg.batch_size == 64
    assert cfg.tau == TD3Config().tau and cfg.actor_lr == TD3Config().actor_lr


def test_agent_train_honours_the_switches_from_its_config() -> None:
    """The switches travel through TD3(config=...) and agent.train, not only train_step."""
    torch.manual_seed(0)
    buffer = ReplayBuffer(S_DIM, A_DIM, 200, device="cpu")
    for i in range(200):
        b = make_batch(seed=100 + i)
        buffer.add((b.s[0].numpy(), b.s_next[0].numpy(), b.a[0].numpy(), float(b.r[0]),
                    float(b.terminated[0])))
    agent = TD3(S_DIM, A_DIM, MAX_A, TD3Config.ddpg(batch_size=B), device="cpu")
    q2, actor_target = head(agent.critic, Q2_HEAD), params(agent.actor_target)
    losses = agent.train(buffer, 1)
    assert same(q2, head(agent.critic, Q2_HEAD))
    assert changed(actor_target, params(agent.actor_target)), "no delay: targets move at it 1"
    assert "actor_loss" in losses


def test_default_config_is_td3() -> None:
    cfg = TD3Config()
    assert (cfg.twin_critics, cfg.target_noise, cfg.delayed_updates) == (True, True, True)
    assert cfg.policy_delay == 2


def test_switches_survive_a_config_round_trip() -> None:
    cfg = TD3Config(twin_critics=False, delayed_updates=False)
    assert TD3Config.from_dict(copy.deepcopy(cfg.to_dict())) == cfg
