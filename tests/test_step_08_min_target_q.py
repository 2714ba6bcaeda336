"""Step 8 of 15: clipped double Q-learning, min(Q1', Q2') (td3_teach.update.step08_min_target_q)."""

import torch

from td3_teach.update import step08_min_target_q


def test_step08_min_is_elementwise_and_keeps_b_by_1():
    q1 = torch.tensor([[1.0], [5.0], [-2.0]])
    q2 = torch.tensor([[3.0], [4.0], [-2.5]])
    out = step08_min_target_q(q1, q2)
    assert out.shape == (3, 1)
    assert out.flatten().tolist() == [1.0, 4.0, -2.5]


def test_step08_bug_min_is_per_sample_not_over_the_batch():
    """Not a global min (one scalar for the whole batch), not the mean or the max of the two."""
    torch.manual_seed(0)
    q1, q2 = torch.randn(256, 1), torch.randn(256, 1)
    out = step08_min_target_q(q1, q2)
    assert out.shape == (256, 1)
    assert torch.equal(out, torch.where(q1 < q2, q1, q2))
    assert (out <= q1).all() and (out <= q2).all()
    assert len(torch.unique(out)) == 256
