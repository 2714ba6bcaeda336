"""The golden test: td3_teach's whole update against the paper's Algorithm 1, written here.

Both of the package's updates: ``update.train_step`` and, where ``TD3.train`` takes it on a CPU,
the hand-derived ``fast_update`` (each test runs once with each).

With fixed seeds, weights and buffer, ``agent.train(buffer, 2)`` must leave the actor, the
critic and both targets equal (atol 1e-6) to a plain-torch reference that follows Algorithm 1
of Fujimoto, van Hoof, Meger (ICML 2018) line by line. The reference imports nothing from
``td3_teach.update``: it has its own networks-as-functions, its own loop and plain Adam.

Random draws are matched in order: per iteration, the minibatch indices
``torch.randint(0, size, (B,))``, then the target-policy noise ``torch.randn_like(a')``.
Iterations count from 1; the actor and the targets update when ``it % d == 0`` (the authors'
convention), so with d = 2 the second of two iterations is the delayed one.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import td3_teach.update
from td3_teach import TD3, TD3Config, fast_update
from td3_teach.replay_buffer import ReplayBuffer

S, A, N = 26, 6, 1000  # HalfCheetah-sized, N transitions in the buffer
NETS = ("actor", "critic", "actor_target", "critic_target")


@pytest.fixture(autouse=True, params=["taught", "fast"])
def update(request, monkeypatch) -> str:
    """Every test runs twice: ``TD3.train`` with ``update.train_step`` (``TD3_TEACH_UPDATE=taught``)
    and with the hand-derived ``fast_update`` it takes on a CPU where that applies (``auto``).
    Both sides multiply with torch's own matmul: this test is about the algorithm, to 1e-6.
    (oneDNN's products, which ``TD3`` uses on some CPUs, differ in the last bits; tests/test_onednn.py
    compares the two.)"""
    monkeypatch.setenv("TD3_TEACH_MATMUL", "torch")
    monkeypatch.setenv(fast_update.ENV, "taught" if request.param == "taught" else "auto")
    return request.param


# ------------------------------------------------------------------------------------ reference
def mlp(p: dict, layers: tuple[int, int, int], x: torch.Tensor) -> torch.Tensor:
    """Linear-ReLU-Linear-ReLU-Linear on the weights ``layer_i.weight/bias`` of ``p``."""
    i, j, k = (f"layer_{n}" for n in layers)
    x = F.relu(F.linear(x, p[f"{i}.weight"], p[f"{i}.bias"]))
    x = F.relu(F.linear(x, p[f"{j}.weight"], p[f"{j}.bias"]))
    return F.linear(x, p[f"{k}.weight"], p[f"{k}.bias"])


def pi(p, s, max_action):
    return max_action * torch.tanh(mlp(p, (1, 2, 3), s))


def q1(p, s, a):
    return mlp(p, (1, 2, 3), torch.cat([s, a], 1))


def q2(p, s, a):
    return mlp(p, (4, 5, 6), torch.cat([s, a], 1))


def algorithm_1(weights: dict, data: dict, iterations: int, max_action: float, *, batch_size=256,
                gamma=0.99, tau=0.005, sigma=0.2, c=0.5, d=2, lr=3e-4, twin=True,
                smoothing=True) -> dict:
    """Algorithm 1 (TD3) from the paper, after the warm-up; ``twin``/``smoothing`` off and d = 1
    give the paper's DDPG baseline. Returns the four networks' weights."""
    leaf = lambda sd: {k: v.clone().requires_grad_(True) for k, v in sd.items()}  # noqa: E731
    # the paper's names: critics Q_theta1, Q_theta2 (theta), actor pi_phi (phi), targets theta', phi'
    theta, phi = leaf(weights["critic"]), leaf(weights["actor"])
    theta_t = {k: v.clone() for k, v in weights["critic_target"].items()}  # theta'_i <- theta_i
    phi_t = {k: v.clone() for k, v in weights["actor_target"].items()}  # phi' <- phi
    critic_opt = torch.optim.Adam(theta.values(), lr=lr)
    actor_opt = torch.optim.Adam(phi.values(), lr=lr)
    size = data["s"].shape[0]
    for t in range(1, iterations + 1):
        # Sample mini-batch of N transitions (s, a, r, s') from B
        idx = torch.randint(0, size, (batch_size,))
        s, a, r, s2, term = (data[k][idx] for k in ("s", "a", "r", "s_next", "terminated"))
        with torch.no_grad():
            # a~ <- pi_phi'(s') + eps,  eps ~ clip(N(0, sigma~), -c, c)
            a2 = pi(phi_t, s2, max_action)
            if smoothing:
                eps = (torch.randn_like(a2) * sigma * max_action).clamp(-c * max_action, c * max_action)
                a2 = (a2 + eps).clamp(-max_action, max_action)
            # y <- r + gamma min_i Q_theta'_i(s', a~)   (no future after a terminal state)
            q_next = torch.min(q1(theta_t, s2, a2), q2(theta_t, s2, a2)) if twin else q1(theta_t, s2, a2)
            y = r + gamma * (1 - term) * q_next
        # Update critics theta_i <- argmin N^-1 sum (y - Q_theta_i(s, a))^2
        loss = ((y - q1(theta, s, a)) ** 2).mean()
        if twin:
            loss = loss + ((y - q2(theta, s, a)) ** 2).mean()
        critic_opt.zero_grad()
        loss.backward()
        critic_opt.step()
        if t % d == 0:
            # Update phi by the deterministic policy gradient: ascent on Q_theta1(s, pi_phi(s))
            actor_loss = -q1(theta, s, pi(phi, s, max_action)).mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            # Update target networks: theta'_i <- tau theta_i + (1 - tau) theta'_i; same for phi'
            with torch.no_grad():
                for online, target in ((theta, theta_t), (phi, phi_t)):
                    for k in target:
                        target[k] = tau * online[k] + (1 - tau) * target[k]
    detach = lambda p: {k: v.detach() for k, v in p.items()}  # noqa: E731
    return {"actor": detach(phi), "critic": detach(theta), "actor_target": phi_t,
            "critic_target": theta_t}


# ------------------------------------------------------------------------------------ fixtures
def fixed_buffer(seed: int = 0) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(S, A, max_size=N, device="cpu")
    for i in range(N):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A),
                 rng.standard_normal(), i % 7 == 0))
    return buf


def run_both(config: TD3Config, max_action: float = 1.0, iterations: int = 2, **ref_kwargs):
    buf = fixed_buffer()
    torch.manual_seed(0)
    agent = TD3(S, A, max_action, config, device="cpu")
    weights = {name: {k: v.clone() for k, v in getattr(agent, name).state_dict().items()}
               for name in NETS}
    data = {k: getattr(buf, k)[: len(buf)].clone() for k in ("s", "a", "r", "s_next", "terminated")}

    torch.manual_seed(123)
    agent.train(buf, iterations)
    torch.manual_seed(123)
    expected = algorithm_1(weights, data, iterations, max_action, **ref_kwargs)
    ran_fast = getattr(agent, "_fast_update", None) is not None
    assert ran_fast == (os.environ[fast_update.ENV] == "auto" and config.twin_critics and config.target_noise)
    return agent, weights, expected


def assert_matches(agent, weights, expected, *, moved=NETS, atol=1e-6):
    for name in NETS:
        got = getattr(agent, name).state_dict()
        assert got.keys() == expected[name].keys(), name
        for k in got:
            torch.testing.assert_close(got[k], expected[name][k], rtol=0, atol=atol,
                                       msg=lambda m, n=name, k=k: f"{n}.{k}: {m}")
        changed = any(not torch.equal(got[k], weights[name][k]) for k in got)
        assert changed == (name in moved), f"{name} {'did not change' if changed is False else 'changed'}"


# ------------------------------------------------------------------------------------ the tests
def test_golden_two_iterations_match_algorithm_1():
    """Paper defaults (batch 256, gamma 0.99, tau 0.005, sigma~ 0.2, c 0.5, d 2)."""
    agent, weights, expected = run_both(TD3Config())
    assert agent.total_it == 2
    assert_matches(agent, weights, expected)


def test_golden_one_iteration_moves_only_the_critic():
    agent, weights, expected = run_both(TD3Config(), iterations=1)
    assert_matches(agent, weights, expected, moved=("critic",))


def test_golden_with_max_action_two_scales_the_noise():
    agent, weights, expected = run_both(TD3Config(), max_action=2.0)
    assert_matches(agent, weights, expected)


def test_golden_policy_freq_1():
    agent, weights, expected = run_both(TD3Config(policy_freq=1), d=1)
    assert_matches(agent, weights, expected)


def test_golden_ddpg_switches():
    """TD3Config.ddpg(): one critic in the target and the loss, no smoothing (and so no noise
    draw), no delay. The second head is never trained, but its target still averages."""
    agent, weights, expected = run_both(TD3Config.ddpg(), d=1, twin=False, smoothing=False)
    assert_matches(agent, weights, expected)
    for k in ("layer_4.weight", "layer_5.weight", "layer_6.bias"):
        assert torch.equal(agent.critic.state_dict()[k], weights["critic"][k]), k


def test_golden_longer_run_paper_batch_100():
    """The paper's original batch of 100, over three delayed cycles."""
    agent, weights, expected = run_both(TD3Config(batch_size=100), iterations=6, batch_size=100)
    assert_matches(agent, weights, expected)


def _noise_without_max_action(a_next, max_action, policy_noise, noise_clip):
    return REAL["step06_target_policy_noise"](a_next, max_action, policy_noise / max_action,
                                              noise_clip / max_action)


def _actor_descends_q1(actor, critic, actor_optimizer, s):
    loss = critic.Q1(s, actor(s)).mean()
    actor_optimizer.zero_grad()
    loss.backward()
    actor_optimizer.step()
    return loss.detach()


MUTANTS = {
    "step06_target_policy_noise": _noise_without_max_action,
    "step08_min_target_q": lambda q1, q2: torch.max(q1, q2),
    "step09_bellman_target": lambda r, terminated, q, gamma: r + gamma * q,
    "step13_actor_update": _actor_descends_q1,
    "step15_update_critic_target": lambda critic, target, tau: None,
}
REAL = {name: getattr(td3_teach.update, name) for name in MUTANTS}


@pytest.mark.parametrize("update", ["taught"], indirect=True)  # the steps of train_step
@pytest.mark.parametrize("name", MUTANTS)
def test_golden_catches_a_mutated_step(name, monkeypatch, update):
    """The comparison has teeth: each lecture-style mistake, put into the package, is caught.
    (tests/test_fast_update.py puts wrong gradients into the fast update.)"""
    monkeypatch.setattr(td3_teach.update, name, MUTANTS[name])
    agent, weights, expected = run_both(TD3Config(), max_action=2.0)
    with pytest.raises(AssertionError):
        assert_matches(agent, weights, expected)
