"""Step 12 of 15: one gradient step on the critic loss (td3_teach.update.step12_critic_update).

zero_grad, backward, step: without zero_grad, torch adds each step's gradient to the last.
"""

import copy

import torch

from td3_teach.networks import Critic
from td3_teach.update import step10_current_q, step11_critic_loss, step12_critic_update

S, A = 26, 6


def setup(seed=0):
    torch.manual_seed(seed)
    critic = Critic(S, A)
    s, a, y = torch.randn(64, S), torch.rand(64, A) * 2 - 1, torch.randn(64, 1)
    return critic, (s, a, y)


def loss_of(critic, batch):
    s, a, y = batch
    return step11_critic_loss(*step10_current_q(critic, s, a), y)


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def test_step12_bug_critic_update_zero_grads_so_steps_do_not_accumulate():
    """Two steps on the same batch equal two clean steps, and differ from accumulating ones."""
    critic, batch = setup()
    clean, accumulating = copy.deepcopy(critic), copy.deepcopy(critic)
    opt = torch.optim.SGD(critic.parameters(), lr=0.01)
    for _ in range(2):
        step12_critic_update(opt, loss_of(critic, batch))

    opt_clean = torch.optim.SGD(clean.parameters(), lr=0.01)
    opt_acc = torch.optim.SGD(accumulating.parameters(), lr=0.01)
    for _ in range(2):
        opt_clean.zero_grad()
        loss_of(clean, batch).backward()
        opt_clean.step()
        loss_of(accumulating, batch).backward()  # the bug: no zero_grad
        opt_acc.step()
    for p, c, w in zip(critic.parameters(), clean.parameters(), accumulating.parameters()):
        torch.testing.assert_close(p, c, rtol=0, atol=0)
    assert any(not torch.allclose(p, w) for p, w in zip(critic.parameters(), accumulating.parameters()))


def test_step12_stale_gradients_do_not_leak_into_the_step():
    """A gradient left in .grad (the lecture's actor loss put one in the critic) is discarded."""
    critic, batch = setup()
    clean = copy.deepcopy(critic)
    for p in critic.parameters():
        p.grad = torch.full_like(p, 1e3)
    step12_critic_update(torch.optim.Adam(critic.parameters(), lr=3e-4), loss_of(critic, batch))
    step12_critic_update(torch.optim.Adam(clean.parameters(), lr=3e-4), loss_of(clean, batch))
    for p, c in zip(critic.parameters(), clean.parameters()):
        torch.testing.assert_close(p, c, rtol=0, atol=0)


def test_step12_moves_every_critic_parameter_and_lowers_the_loss():
    critic, batch = setup()
    before = params(critic)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    first = loss_of(critic, batch).item()
    for _ in range(20):
        step12_critic_update(opt, loss_of(critic, batch))
    assert all(not torch.equal(b, p) for b, p in zip(before, critic.parameters()))
    assert loss_of(critic, batch).item() < first
