"""Errors a learner can act on: each says what was observed, what was expected, and how to fix it."""

import os


class TD3TeachError(Exception):
    """Base class of every error td3_teach raises on purpose."""


class InputError(TD3TeachError, ValueError):
    """A value handed to td3_teach has the wrong shape, type or content (NaN, inf)."""


class ReplayBufferError(TD3TeachError, ValueError):
    """The replay buffer cannot do what was asked (e.g. sample more than it holds)."""


class EnvError(TD3TeachError, ValueError):
    """The environment does not fit TD3 (e.g. its action space is not a Box)."""


class CheckpointError(TD3TeachError, RuntimeError):
    """A checkpoint cannot be read, or does not fit the agent or environment."""


def env_choice(name: str, choices: tuple[str, ...], fix: str) -> str:
    """The choice made in environment variable ``name``, lower-cased: one of ``choices``, the first
    (the default) when unset or empty; anything else is a one-line ``InputError`` ending in ``fix``."""
    chosen = os.environ.get(name, choices[0]).strip().lower() or choices[0]
    if chosen not in choices:
        raise InputError(f"{name}={os.environ[name]!r} is not one of {', '.join(sorted(choices))}. Fix: {fix}")
    return chosen
