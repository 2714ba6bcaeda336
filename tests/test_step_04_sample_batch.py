"""Step 4 of 15: sample a minibatch (td3_teach.update.step04_sample_batch).

Behaviour: B transitions with s, s_next (B, state_dim), a (B, action_dim), r and terminated
(B, 1); drawn by one torch.randint per batch; the agent asks for its configured batch size.
"""

import numpy as np
import pytest
import torch

import td3_teach.agent
from td3_teach import TD3, TD3Config
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.update import step04_sample_batch, step09_bellman_target

S, A = 26, 6


def random_buffer(n: int = 400, seed: int = 0) -> ReplayBuffer:
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(S, A, max_size=n, device="cpu")
    for _ in range(n):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A),
                 rng.standard_normal(), rng.random() < 0.1))
    return buf


@pytest.mark.parametrize("b", [1, 100, 256])
def test_step04_batch_shapes(b):
    batch = step04_sample_batch(random_buffer(), b)
    assert [tuple(t.shape) for t in batch] == [(b, S), (b, S), (b, A), (b, 1), (b, 1)]
    assert all(t.dtype == torch.float32 for t in batch)


def test_step04_bug_rewards_are_a_column_so_y_is_b_by_1_not_b_by_b():
    """Lecture's trap: with r of shape (B,) and Q of shape (B, 1), ``r + gamma * Q`` broadcasts
    to (B, B) without an error. Our r and terminated are (B, 1), so y is (B, 1)."""
    batch = step04_sample_batch(random_buffer(), 64)
    q_next = torch.randn(64, 1)
    y = step09_bellman_target(batch.r, batch.terminated, q_next, 0.99)
    assert y.shape == (64, 1)
    # what a flat reward would have done:
    assert (batch.r.flatten() + 0.99 * q_next).shape == (64, 64)


def test_step04_draws_one_randint_of_size_b():
    buf = random_buffer(300)
    torch.manual_seed(11)
    idx = torch.randint(0, 300, (50,))
    torch.manual_seed(11)
    batch = step04_sample_batch(buf, 50)
    assert torch.equal(batch.s, buf.s[idx]) and torch.equal(batch.a, buf.a[idx])
    assert torch.equal(batch.r, buf.r[idx]) and torch.equal(batch.terminated, buf.terminated[idx])
    assert torch.equal(batch.s_next, buf.s_next[idx])


def test_step04_agent_samples_its_configured_batch_size(monkeypatch):
    asked = []
    real = td3_teach.agent.step04_sample_batch

    def spy(buffer, batch_size):
        asked.append(batch_size)
        return real(buffer, batch_size)

    monkeypatch.setattr(td3_teach.agent, "step04_sample_batch", spy)
    buf = random_buffer(300)
    TD3(S, A, 1.0, device="cpu").train(buf, 2)
    TD3(S, A, 1.0, TD3Config(batch_size=32), device="cpu").train(buf, 1)
    TD3(S, A, 1.0, device="cpu").train(buf, 1, batch_size=100)  # the lecture's call
    assert asked == [256, 256, 32, 100]


def test_step04_a_fresh_batch_every_iteration(monkeypatch):
    seen = []
    real = td3_teach.agent.step04_sample_batch
    monkeypatch.setattr(td3_teach.agent, "step04_sample_batch",
                        lambda buf, b: seen.append(real(buf, b)) or seen[-1])
    TD3(S, A, 1.0, device="cpu").train(random_buffer(300), 3, batch_size=16)
    assert len(seen) == 3 and not torch.equal(seen[0].s, seen[1].s)
