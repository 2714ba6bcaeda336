"""Step 5 of 15: the target actor plays a' = mu'(s') (td3_teach.update.step05_target_action)."""

import torch

from td3_teach.networks import Actor, make_target
from td3_teach.update import step05_target_action

S, A = 26, 6


def test_step05_target_action_shape_and_bounds():
    torch.manual_seed(0)
    target = make_target(Actor(S, A, max_action=2.0))
    a_next = step05_target_action(target, 100.0 * torch.randn(128, S))
    assert a_next.shape == (128, A)
    assert a_next.abs().max() <= 2.0


def test_step05_uses_the_target_actor_not_the_online_one():
    torch.manual_seed(0)
    actor = Actor(S, A, 1.0)
    target = make_target(actor)
    with torch.no_grad():
        actor.layer_3.bias.add_(0.5)  # the online actor has moved on; the target has not
    s_next = torch.randn(16, S)
    a_next = step05_target_action(target, s_next)
    assert torch.equal(a_next, target(s_next))
    assert not torch.allclose(a_next, actor(s_next))


def test_step05_target_action_carries_no_graph():
    target = make_target(Actor(S, A, 1.0))
    assert not step05_target_action(target, torch.randn(4, S)).requires_grad
