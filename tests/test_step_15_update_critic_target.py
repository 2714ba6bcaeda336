"""Step 15 of 15: Polyak averaging of both critic targets
(td3_teach.update.step15_update_critic_target): theta'_i <- tau * theta_i + (1 - tau) * theta'_i.
"""

import pytest
import torch

from td3_teach.networks import Actor, Critic, make_target
from td3_teach.update import step14_update_actor_target, step15_update_critic_target

S, A = 26, 6


def critic_and_moved_target(seed=0):
    torch.manual_seed(seed)
    critic = Critic(S, A)
    target = make_target(critic)
    with torch.no_grad():
        for p in critic.parameters():
            p.add_(torch.randn_like(p))
    return critic, target


@pytest.mark.parametrize("tau", [0.005, 0.3])
def test_step15_bug_polyak_changes_both_critic_targets_by_exactly_tau(tau):
    """Lecture: ``.copy_ = `` assignment, no update at all. Ours: both heads' targets move by tau."""
    critic, target = critic_and_moved_target()
    before = {n: p.clone() for n, p in target.named_parameters()}
    step15_update_critic_target(critic, target, tau)
    after = dict(target.named_parameters())
    for name, p in critic.named_parameters():
        torch.testing.assert_close(after[name], tau * p.detach() + (1 - tau) * before[name],
                                   rtol=0, atol=1e-6)
        assert not torch.equal(after[name], before[name]), name
    assert {n.split(".")[0] for n in before} == {f"layer_{i}" for i in range(1, 7)}  # both heads


def test_step15_the_online_critic_is_left_alone():
    critic, target = critic_and_moved_target()
    before = [p.clone() for p in critic.parameters()]
    step15_update_critic_target(critic, target, 0.005)
    assert all(torch.equal(p, b) for p, b in zip(critic.parameters(), before))
    assert all(not p.requires_grad and p.grad is None for p in target.parameters())


def test_step14_and_15_each_touch_only_their_own_target():
    torch.manual_seed(0)
    actor, critic = Actor(S, A, 1.0), Critic(S, A)
    actor_t, critic_t = make_target(actor), make_target(critic)
    with torch.no_grad():
        for p in list(actor.parameters()) + list(critic.parameters()):
            p.add_(1.0)
    a_before = [p.clone() for p in actor_t.parameters()]
    step15_update_critic_target(critic, critic_t, 0.5)
    assert all(torch.equal(p, b) for p, b in zip(actor_t.parameters(), a_before))
    c_before = [p.clone() for p in critic_t.parameters()]
    step14_update_actor_target(actor, actor_t, 0.5)
    assert all(torch.equal(p, b) for p, b in zip(critic_t.parameters(), c_before))
