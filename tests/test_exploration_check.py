"""checks.exploration (notebook 18's exercise): passes the trainer's own exploration action and
names each classic mistake."""

import numpy as np
import pytest

from td3_teach import checks
from td3_teach.trainer import exploration_action


def test_the_trainers_exploration_action_passes():
    assert "clipped" in checks.exploration(exploration_action).text()


@pytest.mark.parametrize("wrong, words", [
    (lambda mu_s, max_action, expl_noise, rng: np.clip(
        mu_s + rng.normal(0, expl_noise, np.shape(mu_s)), -max_action, max_action), "std 0.100"),
    (lambda mu_s, max_action, expl_noise, rng: mu_s + rng.normal(
        0, expl_noise * max_action, np.shape(mu_s)), "outside"),
    (lambda mu_s, max_action, expl_noise, rng: np.clip(
        mu_s + np.random.normal(0, expl_noise * max_action, np.shape(mu_s)), -max_action,
        max_action), "equally seeded"),
    (lambda mu_s, max_action, expl_noise, rng: np.clip(mu_s + rng.normal(
        0, expl_noise * max_action, np.shape(mu_s)), -0.999 * max_action, 0.999 * max_action),
     "on the bound"),
    (lambda mu_s, max_action, expl_noise, rng: np.clip(
        # one draw shared by every entry
        mu_s + rng.normal(0, expl_noise * max_action), -max_action, max_action), "mean|std"),
])
def test_each_mistake_fails_with_its_message(wrong, words):
    with pytest.raises(checks.CheckFailed, match=words) as e:
        checks.exploration(wrong)
    assert e.value.title.startswith("Exploration ✗")


def test_the_handed_out_stub_is_reported_not_a_traceback():
    def stub(mu_s, max_action, expl_noise, rng):
        raise NotImplementedError("Step 18: replace this line with your code")
    with pytest.raises(checks.CheckFailed, match="still raises NotImplementedError"):
        checks.exploration(stub)
