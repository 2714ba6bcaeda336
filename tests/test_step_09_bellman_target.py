"""Step 9 of 15: the Bellman target y = r + gamma * (1 - terminated) * min Q'
(td3_teach.update.step09_bellman_target).

A terminal state has no future; a time-limit truncation does (it is stored with terminated=0).
y is computed without a graph: it is a fixed regression target.
"""

import numpy as np
import torch

import td3_teach.update
from td3_teach import TD3
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.update import step04_sample_batch, step09_bellman_target

S, A = 26, 6


def test_step09_bellman_target_formula():
    r = torch.tensor([[1.0], [2.0], [-1.0]])
    terminated = torch.tensor([[0.0], [1.0], [0.0]])
    q = torch.tensor([[10.0], [10.0], [4.0]])
    y = step09_bellman_target(r, terminated, q, gamma=0.9)
    assert y.shape == (3, 1)
    torch.testing.assert_close(y, torch.tensor([[10.0], [2.0], [2.6]]))


def test_step09_bug_terminated_masks_the_future_truncation_does_not():
    """Lecture: ``done`` (terminated or truncated) masked the future of time-limit endings too.
    The buffer stores ``terminated``; a truncated step goes in with terminated=False."""
    buf = ReplayBuffer(1, 1, max_size=2, device="cpu")
    buf.add(([0.0], [1.0], [0.0], 1.0, True))    # fell over: terminated
    buf.add(([1.0], [2.0], [0.0], 1.0, False))   # hit the time limit: truncated, not terminated
    q_next = torch.full((2, 1), 50.0)  # min Q'(s', a~) of both rows
    y = step09_bellman_target(buf.r, buf.terminated, q_next, 0.99)
    torch.testing.assert_close(y, torch.tensor([[1.0], [1.0 + 0.99 * 50]]))  # no future; future


def test_step09_bug_y_is_b_by_1_not_b_by_b():
    torch.manual_seed(0)
    r, q = torch.randn(100, 1), torch.randn(100, 1)
    assert step09_bellman_target(r, torch.zeros(100, 1), q, 0.99).shape == (100, 1)


def test_step09_y_is_computed_without_graph_in_train_step(monkeypatch):
    """Spy on step 11's inputs: y arrives with no grad_fn, while q1 and q2 carry their graph."""
    seen = []
    real = td3_teach.update.step11_critic_loss

    def spy(q1, q2, y):
        seen.append((q1, q2, y))
        return real(q1, q2, y)

    monkeypatch.setattr(td3_teach.update, "step11_critic_loss", spy)
    monkeypatch.setenv("TD3_TEACH_UPDATE", "taught")  # TD3.train with train_step, not fast_update
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=64, device="cpu")
    for _ in range(64):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A), 1.0, False))
    TD3(S, A, 1.0, device="cpu").train(buf, 2, batch_size=16)
    assert len(seen) == 2
    for q1, q2, y in seen:
        assert y.shape == (16, 1)
        assert y.grad_fn is None and not y.requires_grad
        assert q1.requires_grad and q2.requires_grad


def test_step09_gamma_zero_and_one():
    r, q = torch.ones(4, 1), torch.full((4, 1), 3.0)
    t = torch.zeros(4, 1)
    assert torch.equal(step09_bellman_target(r, t, q, 0.0), r)
    assert torch.equal(step09_bellman_target(r, t, q, 1.0), r + q)


def test_step09_sampled_batches_feed_step09_without_reshaping():
    rng = np.random.default_rng(1)
    buf = ReplayBuffer(S, A, max_size=50, device="cpu")
    for _ in range(50):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A),
                 rng.standard_normal(), rng.random() < 0.5))
    b = step04_sample_batch(buf, 20)
    q = torch.randn(20, 1)
    y = step09_bellman_target(b.r, b.terminated, q, 0.99)
    torch.testing.assert_close(y, b.r + 0.99 * (1 - b.terminated) * q)
