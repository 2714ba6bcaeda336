"""``train`` takes its settings plus overrides: a ``RunSettings`` (the authors' defaults) and any of
its fields passed to ``train``, without ``train`` repeating a default of its own."""

import inspect
from dataclasses import fields

import pytest

from td3_teach.errors import InputError
from td3_teach.trainer import RunSettings, train

TINY = dict(start_steps=100, eval_every=150, eval_episodes=1, checkpoint_every=150, progress=False)


def test_train_repeats_no_default_of_run_settings():
    params = inspect.signature(train).parameters
    for f in fields(RunSettings):
        assert f.name in params, f"train has no {f.name} override"
        assert params[f.name].default is None, f"train's {f.name} repeats a default of RunSettings"


def test_overrides_replace_only_what_is_given_and_are_checked():
    base = RunSettings(env_id="Pendulum-v1", steps=900, seed=3)
    s = base.with_overrides(steps=600, seed=None, expl_noise=0.2)
    assert (s.env_id, s.steps, s.seed, s.expl_noise) == ("Pendulum-v1", 600, 3, 0.2)
    assert base.steps == 900  # a copy
    assert isinstance(RunSettings().with_overrides(steps=7.0).steps, int)
    with pytest.raises(InputError, match="steps must be at least 1"):
        base.with_overrides(steps=0)
    with pytest.raises(TypeError, match="no field"):
        base.with_overrides(stpes=5)


def test_train_runs_its_settings_with_the_overrides():
    settings = RunSettings(env_id="Pendulum-v1", steps=10_000, seed=2, start_steps=100, eval_every=150,
                           eval_episodes=1)
    result = train(settings=settings, steps=300, progress=False)
    assert result.steps == 300
    assert [e.step for e in result.evaluations] == [0, 150, 300]
    assert settings.steps == 10_000  # not changed


def test_train_with_positional_arguments_still_works():
    result = train("Pendulum-v1", 300, 1, None, **TINY)
    assert result.steps == 300 and [e.step for e in result.evaluations] == [0, 150, 300]
