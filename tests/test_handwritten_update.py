"""benchmarks/handwritten.py, the throughput benchmark's hand-derived update, is TD3's update:
from the same networks and the same batches it writes the gradients autograd finds for
``td3_teach.update.train_step`` (critic every iteration, actor on delayed ones) and moves every
parameter, target and optimiser the same way, to float rounding. A yardstick that computed
something else would make its column in ``throughput.py`` meaningless."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from td3_teach import TD3, ReplayBuffer
from td3_teach.config import TD3Config
from td3_teach.update import train_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import handwritten  # noqa: E402

S, A, MAX_ACTION, BATCH = 26, 6, 2.0, 64
NETWORKS = ("actor", "actor_target", "critic", "critic_target")


def filled_buffer(n: int = 500) -> ReplayBuffer:
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=n)
    for t in range(n):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-MAX_ACTION, MAX_ACTION, A),
                 float(rng.standard_normal()), float(t % 97 == 96)))
    return buf


def twin_agents() -> tuple[TD3, TD3]:
    agents = []
    for _ in range(2):
        torch.manual_seed(3)
        agents.append(TD3(S, A, MAX_ACTION, device="cpu"))
    return agents[0], agents[1]


def run_both(iterations: int) -> tuple[TD3, TD3, list[str]]:
    """The package's train_step and the handwritten update side by side on the same batches and
    noise; returns both agents and, per iteration, the gradients that differed."""
    buf = filled_buffer()
    reference, hand = twin_agents()
    update = handwritten.HandwrittenUpdate(hand)
    cfg = replace(reference.config, batch_size=BATCH)
    differences = []
    for it in range(1, iterations + 1):
        torch.manual_seed(100 + it)  # the same batch and the same target-policy noise for both
        train_step(reference, buf.sample(BATCH), it, cfg)
        torch.manual_seed(100 + it)
        update.step(buf.sample(BATCH), it, cfg)
        nets = ("critic", "actor") if it % cfg.policy_delay == 0 else ("critic",)
        for net in nets:
            for (name, p), q in zip(getattr(reference, net).named_parameters(), getattr(hand, net).parameters()):
                if not torch.allclose(q.grad, p.grad, rtol=1e-4, atol=1e-5 * float(p.grad.abs().max())):
                    differences.append(f"iteration {it}: {net}.{name}.grad")
    return reference, hand, differences


def test_the_handwritten_gradients_and_parameters_are_train_steps():
    reference, hand, differences = run_both(4)  # iterations 2 and 4 update the actor and targets
    assert differences == []
    for net in NETWORKS:
        for (name, p), q in zip(getattr(reference, net).named_parameters(), getattr(hand, net).parameters()):
            torch.testing.assert_close(q, p, rtol=0, atol=1e-6, msg=f"{net}.{name}")
    # the comparison is not vacuous: the update moved every network
    torch.manual_seed(3)
    fresh = TD3(S, A, MAX_ACTION, device="cpu")
    for net in NETWORKS:
        assert not torch.equal(getattr(fresh, net).layer_2.weight, getattr(hand, net).layer_2.weight), net


def test_a_wrong_gradient_in_the_handwritten_update_is_caught(monkeypatch):
    # a ReLU whose backward forgets its mask: the comparison must see it
    monkeypatch.setattr(handwritten, "_relu_backward", lambda g, h: g)
    _, _, differences = run_both(2)
    assert any("critic.layer_2.weight.grad" in d for d in differences)
    assert any("actor." in d for d in differences)


def test_the_handwritten_update_refuses_an_ablation():
    torch.manual_seed(0)
    agent = TD3(S, A, MAX_ACTION, config=replace(TD3Config(), twin_critics=False), device="cpu")
    with pytest.raises(ValueError, match="twin critics"):
        handwritten.HandwrittenUpdate(agent)

