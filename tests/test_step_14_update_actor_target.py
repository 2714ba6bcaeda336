"""Step 14 of 15: Polyak averaging of the actor target
(td3_teach.update.step14_update_actor_target): theta' <- tau * theta + (1 - tau) * theta'.
"""

import pytest
import torch

from td3_teach.networks import Actor, make_target
from td3_teach.update import polyak_update, step14_update_actor_target

S, A = 26, 6


def actor_and_moved_target(seed=0):
    torch.manual_seed(seed)
    actor = Actor(S, A, 1.0)
    target = make_target(actor)
    with torch.no_grad():
        for p in actor.parameters():
            p.add_(torch.randn_like(p))  # the actor has learned; the target lags behind
    return actor, target


@pytest.mark.parametrize("tau", [0.005, 0.1, 0.5])
def test_step14_bug_polyak_changes_the_actor_target_by_exactly_tau(tau):
    """Lecture: ``target_param.data.copy_ = ...`` assigns to the method and changes nothing.
    Ours: every target parameter moves to tau * theta + (1 - tau) * theta'."""
    actor, target = actor_and_moved_target()
    before = [p.clone() for p in target.parameters()]
    step14_update_actor_target(actor, target, tau)
    for (name, p), t0, t1 in zip(actor.named_parameters(), before, target.parameters()):
        torch.testing.assert_close(t1, tau * p.detach() + (1 - tau) * t0, rtol=0, atol=1e-6)
        assert not torch.equal(t1, t0), f"{name} did not move"


def test_step14_matches_the_lecture_loop_written_correctly():
    actor, target = actor_and_moved_target()
    reference = make_target(target)
    for p, tp in zip(actor.parameters(), reference.parameters()):
        tp.data.copy_(0.005 * p.data + (1 - 0.005) * tp.data)
    step14_update_actor_target(actor, target, 0.005)
    for t, r in zip(target.parameters(), reference.parameters()):
        torch.testing.assert_close(t, r, rtol=0, atol=1e-7)


def test_step14_tau_one_copies_and_the_actor_is_left_alone():
    actor, target = actor_and_moved_target()
    actor_before = [p.clone() for p in actor.parameters()]
    step14_update_actor_target(actor, target, 1.0)
    for p, t, p0 in zip(actor.parameters(), target.parameters(), actor_before):
        assert torch.equal(t, p) and torch.equal(p, p0)


def test_step14_repeated_updates_converge_geometrically():
    actor, target = actor_and_moved_target()
    gap0 = sum((p - t).abs().sum() for p, t in zip(actor.parameters(), target.parameters()))
    for _ in range(10):
        step14_update_actor_target(actor, target, 0.1)
    gap = sum((p - t).abs().sum() for p, t in zip(actor.parameters(), target.parameters()))
    torch.testing.assert_close(gap, gap0 * 0.9 ** 10, rtol=1e-4, atol=0)


def test_step14_target_takes_no_gradient_and_builds_no_graph():
    actor, target = actor_and_moved_target()
    step14_update_actor_target(actor, target, 0.005)
    assert all(not p.requires_grad and p.grad is None for p in target.parameters())
    assert all(p.grad is None for p in actor.parameters())


def test_step14_polyak_update_fails_loudly_on_mismatched_nets():
    """A target of another architecture must fail loudly, not update part of the weights."""
    actor, _ = actor_and_moved_target()
    with pytest.raises(RuntimeError):
        polyak_update(actor, make_target(Actor(S + 1, A, 1.0)), 0.005)


def test_step14_polyak_update_uses_public_torch_and_equals_the_fused_lerp_bit_for_bit():
    """The package's Polyak loop (public ``Tensor.lerp_``) computes what torch's fused private
    ``torch._foreach_lerp_`` computes, exactly, on every parameter, and no private API is used."""
    import inspect

    from td3_teach import update

    actor, target = actor_and_moved_target()
    fused = make_target(target)
    for tau in (0.005, 0.3, 1.0):
        polyak_update(actor, target, tau)
        with torch.no_grad():
            torch._foreach_lerp_(list(fused.parameters()), list(actor.parameters()), tau)
        for mine, theirs in zip(target.parameters(), fused.parameters(), strict=True):
            assert torch.equal(mine, theirs)
    assert "torch._" not in inspect.getsource(update)


def test_step14_polyak_update_fails_on_a_target_with_fewer_tensors_and_changes_nothing():
    actor, _ = actor_and_moved_target()
    smaller = torch.nn.Linear(S, 400)
    before = [p.clone() for p in smaller.parameters()]
    with pytest.raises(RuntimeError, match="make_target"):
        polyak_update(actor, smaller, 0.5)
    assert all(torch.equal(a, b) for a, b in zip(before, smaller.parameters()))
