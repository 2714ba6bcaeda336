"""Where the agent's tensors live: cpu when asked, cuda when there is a GPU, a clear error when
cuda is asked for without one. GPU tests are skipped on machines without CUDA."""

import numpy as np
import pytest
import torch

from td3_teach import TD3, ReplayBuffer, pick_device
from td3_teach.errors import InputError, TD3TeachError

S, A = 26, 6
needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def filled(device, n=64):
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=n, device=device)
    for _ in range(n):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A), 1.0, False))
    return buf


def devices_of(agent):
    return {p.device for name in ("actor", "actor_target", "critic", "critic_target")
            for p in getattr(agent, name).parameters()}


def test_agent_device_cpu_override():
    agent = TD3(S, A, 1.0, device="cpu")
    assert agent.device == torch.device("cpu")
    assert devices_of(agent) == {torch.device("cpu")}
    agent.train(filled("cpu"), 2, batch_size=16)
    assert isinstance(agent.select_action(np.zeros(S)), np.ndarray)


def test_agent_device_automatic_is_cuda_when_available_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert TD3(S, A, 1.0).device.type == expected
    assert ReplayBuffer(S, A, max_size=4).device.type == expected


@pytest.mark.parametrize("asked", ["cuda", "cuda:1", torch.device("cuda")])
def test_agent_device_cuda_without_gpu_is_a_clear_error(asked, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # runs on GPU machines too
    with pytest.raises(InputError, match=r"no GPU.*device='cpu'") as err:
        TD3(S, A, 1.0, device=asked)
    assert isinstance(err.value, TD3TeachError) and isinstance(err.value, ValueError)
    with pytest.raises(InputError, match="no GPU"):
        ReplayBuffer(S, A, max_size=4, device=asked)


@needs_gpu
def test_agent_device_trains_and_acts_on_gpu():
    agent = TD3(S, A, 1.0, device="cuda")
    assert {d.type for d in devices_of(agent)} == {"cuda"}
    losses = agent.train(filled("cuda"), 4, batch_size=16)
    assert set(losses) == {"critic_loss", "actor_loss"}
    a = agent.select_action(np.zeros(S, np.float32))
    assert isinstance(a, np.ndarray) and a.shape == (A,)
    assert agent.select_action(torch.zeros(S, device="cuda")).shape == (A,)


@needs_gpu
def test_agent_device_cpu_agent_trains_from_a_gpu_buffer():
    agent = TD3(S, A, 1.0, device="cpu")
    agent.train(filled("cuda"), 2, batch_size=16)
    assert devices_of(agent) == {torch.device("cpu")}


@needs_gpu
def test_agent_device_gpu_checkpoint_loads_on_cpu(tmp_path):
    agent = TD3(S, A, 1.0, device="cuda")
    agent.train(filled("cuda"), 2, batch_size=16)
    path = agent.save(tmp_path / "gpu.pt")
    cpu = TD3.from_checkpoint(path, device="cpu")
    assert devices_of(cpu) == {torch.device("cpu")}
    s = np.zeros(S, np.float32)
    np.testing.assert_allclose(cpu.select_action(s), agent.select_action(s), atol=1e-5)
