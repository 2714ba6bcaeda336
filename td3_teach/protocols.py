"""What the package expects of an agent, written down (``typing.Protocol``: any class with these
attributes fits, it need not inherit from anything).

Two shapes, because two kinds of code use an agent:

* ``Networks``: what one TD3 update reads and writes (``update.train_step``, steps 5-15): the four
  networks, the two optimisers and ``max_action``. ``td3_teach.TD3`` has them, and so does the
  lecture-shaped ``MyTD3`` of notebook 16.
* ``Agent``: what training and evaluation call (``trainer.train``, ``evaluate.evaluate``): act
  with ``select_action`` and learn with ``train(replay_buffer, iterations, ...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .networks import Actor, Critic


class Networks(Protocol):
    """The parts of an agent that ``update.train_step`` uses (Algorithm 1's networks)."""

    @property
    def actor(self) -> Actor: ...  # mu_phi

    @property
    def actor_target(self) -> Actor: ...  # mu_phi'

    @property
    def critic(self) -> Critic: ...  # (Q_theta1, Q_theta2), and Q1 alone

    @property
    def critic_target(self) -> Critic: ...  # (Q_theta'1, Q_theta'2)

    @property
    def actor_optimizer(self) -> torch.optim.Optimizer: ...

    @property
    def critic_optimizer(self) -> torch.optim.Optimizer: ...

    @property
    def max_action(self) -> float: ...


@runtime_checkable
class Agent(Protocol):
    """An agent the trainer can train and ``evaluate`` can run."""

    def select_action(self, state: np.ndarray) -> np.ndarray:
        """The deterministic action mu(s) for one observation."""
        ...

    def train(self, replay_buffer: Any, iterations: int, *args: Any, **kwargs: Any) -> Any:
        """``iterations`` TD3 updates (steps 4-15) on batches of ``replay_buffer``."""
        ...
