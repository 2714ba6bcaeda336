"""Step 10 of 15: both online critics value the stored pair (td3_teach.update.step10_current_q)."""

import torch

from td3_teach.networks import Critic
from td3_teach.update import step10_current_q

S, A = 26, 6


def test_step10_current_q_shapes_and_values():
    torch.manual_seed(0)
    critic = Critic(S, A)
    s, a = torch.randn(64, S), torch.rand(64, A) * 2 - 1
    q1, q2 = step10_current_q(critic, s, a)
    assert q1.shape == (64, 1) and q2.shape == (64, 1)
    c1, c2 = critic(s, a)
    assert torch.equal(q1, c1) and torch.equal(q2, c2)


def test_step10_current_q_carries_the_graph_into_both_heads():
    critic = Critic(S, A)
    q1, q2 = step10_current_q(critic, torch.randn(8, S), torch.randn(8, A))
    assert q1.requires_grad and q2.requires_grad
    (q1.sum() + q2.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())


def test_step10_values_the_stored_action_not_the_actors():
    """Q(s, a) with a from the buffer; the actor's mu(s) enters only in step 13."""
    torch.manual_seed(0)
    critic = Critic(S, A)
    s = torch.randn(8, S)
    a1, a2 = torch.zeros(8, A), torch.ones(8, A)
    assert not torch.allclose(step10_current_q(critic, s, a1)[0], step10_current_q(critic, s, a2)[0])
