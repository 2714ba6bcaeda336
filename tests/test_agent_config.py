"""TD3Config: the paper's and authors' defaults, the ablation switches, and refused values."""

import pytest

from td3_teach import TD3, TD3Config


def test_agent_config_defaults_are_the_papers_and_authors_values():
    c = TD3Config()
    assert (c.discount, c.tau, c.policy_noise, c.noise_clip, c.policy_freq, c.batch_size) == \
        (0.99, 0.005, 0.2, 0.5, 2, 256)
    assert (c.actor_lr, c.critic_lr) == (3e-4, 3e-4)
    assert c.twin_critics and c.target_noise and c.delayed_updates
    assert c.policy_delay == 2


def test_agent_config_is_what_the_agent_uses_by_default():
    assert TD3(26, 6, 1.0, device="cpu").config == TD3Config()


def test_agent_config_ddpg_turns_all_three_tricks_off():
    c = TD3Config.ddpg()
    assert (c.twin_critics, c.target_noise, c.delayed_updates) == (False, False, False)
    assert c.policy_delay == 1
    assert TD3Config.ddpg(batch_size=100).batch_size == 100


def test_agent_config_round_trips_through_a_dict():
    c = TD3Config(batch_size=100, tau=0.01, target_noise=False)
    assert TD3Config.from_dict(c.to_dict()) == c
    assert TD3Config.from_dict({**c.to_dict(), "from_a_newer_version": 1}) == c


@pytest.mark.parametrize("bad", [dict(batch_size=0), dict(discount=1.5), dict(tau=0.0),
                                 dict(tau=2.0), dict(policy_noise=-0.1), dict(noise_clip=-1),
                                 dict(policy_freq=0)])
def test_agent_config_refuses_values_that_cannot_learn(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        TD3Config(**bad)
