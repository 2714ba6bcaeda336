"""The agent's duck types, written as Protocols (td3_teach/protocols.py), say what the code uses."""

import numpy as np
import torch

from td3_teach import TD3
from td3_teach.agent import NETWORKS, OPTIMIZERS
from td3_teach.protocols import Agent, Networks
from td3_teach.replay_buffer import ReplayBuffer
from td3_teach.update import train_step
from td3_teach.config import TD3Config


def members(protocol) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")}


def test_networks_protocol_names_the_six_attributes_the_trainer_reads_and_max_action():
    assert members(Networks) == set(NETWORKS + OPTIMIZERS) | {"max_action"}


def test_td3_is_an_agent_and_a_class_without_train_is_not():
    agent = TD3(3, 1, 2.0, device="cpu")
    assert isinstance(agent, Agent)

    class ActsOnly:
        def select_action(self, state):
            return np.zeros(1)

    assert not isinstance(ActsOnly(), Agent)


def test_train_step_runs_on_any_object_with_the_networks_attributes():
    """Not only TD3: a plain object holding the six parts and max_action is updated the same."""
    from types import SimpleNamespace

    torch.manual_seed(0)
    agent = TD3(3, 1, 2.0, device="cpu")
    duck = SimpleNamespace(**{n: getattr(agent, n) for n in members(Networks)})
    buffer = ReplayBuffer(3, 1, 100, device="cpu")
    rng = np.random.default_rng(0)
    for _ in range(50):
        buffer.add((rng.normal(size=3), rng.normal(size=3), rng.uniform(-2, 2, size=1), 1.0, False))
    batch = buffer.sample(8)
    before = [p.clone() for p in agent.critic.parameters()]
    losses = train_step(duck, batch, 2, TD3Config())
    assert set(losses) == {"critic_loss", "actor_loss"}
    assert any(not torch.equal(a, b) for a, b in zip(before, agent.critic.parameters()))
