"""Errors a learner can act on: each says what was observed, what was expected, and how to fix it."""


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
