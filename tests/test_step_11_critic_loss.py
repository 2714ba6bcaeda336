"""Step 11 of 15: critic loss = MSE(Q1, y) + MSE(Q2, y) (td3_teach.update.step11_critic_loss)."""

import torch
import torch.nn.functional as F

from td3_teach.update import step11_critic_loss


def test_step11_loss_is_the_sum_of_both_mses_to_the_same_target():
    q1 = torch.tensor([[1.0], [2.0]])
    q2 = torch.tensor([[0.0], [4.0]])
    y = torch.tensor([[1.5], [2.0]])
    loss = step11_critic_loss(q1, q2, y)
    assert loss.shape == ()
    # ((-0.5)^2 + 0^2) / 2 + ((-1.5)^2 + 2^2) / 2
    assert loss.item() == 0.125 + 3.125


def test_step11_matches_mse_loss_on_random_batches():
    torch.manual_seed(0)
    q1, q2, y = torch.randn(256, 1), torch.randn(256, 1), torch.randn(256, 1)
    torch.testing.assert_close(step11_critic_loss(q1, q2, y), F.mse_loss(q1, y) + F.mse_loss(q2, y))


def test_step11_single_critic_variant_trains_q1_alone():
    torch.manual_seed(0)
    q1, y = torch.randn(16, 1), torch.randn(16, 1)
    torch.testing.assert_close(step11_critic_loss(q1, None, y), F.mse_loss(q1, y))


def test_step11_gradient_reaches_both_q_heads_and_not_y():
    q1 = torch.randn(8, 1, requires_grad=True)
    q2 = torch.randn(8, 1, requires_grad=True)
    y = torch.randn(8, 1)
    step11_critic_loss(q1, q2, y).backward()
    torch.testing.assert_close(q1.grad, 2 * (q1 - y).detach() / 8)
    torch.testing.assert_close(q2.grad, 2 * (q2 - y).detach() / 8)
