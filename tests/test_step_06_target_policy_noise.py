"""Step 6 of 15: clipped Gaussian target-policy noise (td3_teach.update.step06_target_policy_noise).

a~ = clip(a' + clip(eps, -c, c), -max_action, max_action), eps ~ N(0, sigma~^2), with
sigma~ = policy_noise * max_action and c = noise_clip * max_action. The lecture's bugs: noise
of the wrong shape (one draw broadcast), no max_action scaling, no clipping of a~.
"""

import pytest
import torch

from td3_teach.update import step06_target_policy_noise

A = 6


def noise_of(a_next, max_action, policy_noise=0.2, noise_clip=0.5, seed=0):
    torch.manual_seed(seed)
    return step06_target_policy_noise(a_next, max_action, policy_noise, noise_clip) - a_next


def test_step06_bug_noise_has_the_action_batch_shape_drawn_per_sample():
    """Not one scalar broadcast over the batch, not one row shared by all samples."""
    a_next = torch.zeros(256, A)
    eps = noise_of(a_next, 1.0)
    assert eps.shape == (256, A)
    assert len(torch.unique(eps)) > 0.9 * eps.numel(), "noise values repeat: not drawn per entry"
    assert not torch.allclose(eps[0], eps[1]), "every sample got the same noise row"
    assert not torch.allclose(eps[:, 0], eps[:, 1]), "every action dimension got the same noise"


@pytest.mark.parametrize("max_action", [1.0, 3.0])
def test_step06_bug_noise_is_scaled_by_max_action(max_action):
    """sigma~ = 0.2 * max_action (the lecture used 0.2 whatever the bounds)."""
    eps = noise_of(torch.zeros(20_000, A), max_action, policy_noise=0.2, noise_clip=100.0)
    torch.testing.assert_close(eps.std().item(), 0.2 * max_action, rtol=0.02, atol=0)
    assert abs(eps.mean().item()) < 0.01 * max_action


@pytest.mark.parametrize("max_action", [1.0, 2.0])
def test_step06_bug_noise_is_clipped_at_noise_clip_times_max_action(max_action):
    c = 0.5 * max_action
    eps = noise_of(torch.zeros(20_000, A), max_action, policy_noise=1.0, noise_clip=0.5)
    assert eps.abs().max().item() <= c + 1e-6
    at_clip = (eps.abs() >= c - 1e-6).float().mean().item()
    assert at_clip == pytest.approx(0.617, abs=0.02)  # P(|N(0, 1)| > 0.5): the clip is reached


@pytest.mark.parametrize("max_action", [1.0, 2.0])
def test_step06_a_tilde_stays_within_the_action_bounds(max_action):
    a_next = max_action * torch.tensor([[1.0] * A, [-1.0] * A]).repeat(500, 1)  # at the bounds
    torch.manual_seed(0)
    a_tilde = step06_target_policy_noise(a_next, max_action, 0.2, 0.5)
    assert a_tilde.abs().max().item() <= max_action
    assert (a_tilde == max_action).any() and (a_tilde == -max_action).any()


def test_step06_noise_is_torch_randn_like_scaled_then_clipped():
    """Pinned for the golden test: eps = randn_like(a') * sigma~, clamped to [-c, c]."""
    a_next = torch.rand(64, A) * 2 - 1
    torch.manual_seed(5)
    expected_eps = (torch.randn_like(a_next) * 0.4).clamp(-1.0, 1.0)
    expected = (a_next + expected_eps).clamp(-2.0, 2.0)
    torch.manual_seed(5)
    got = step06_target_policy_noise(a_next, 2.0, 0.2, 0.5)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_step06_zero_noise_leaves_a_next_unchanged():
    a_next = torch.rand(32, A) * 2 - 1
    assert torch.equal(step06_target_policy_noise(a_next, 1.0, 0.0, 0.5), a_next)
