"""td3_teach.onednn: the package's TD3 multiplies with oneDNN on AMD CPUs with full-width AVX-512.

The same products as torch's ``F.linear`` up to float rounding, forward and backward; the same
update; nothing else about the networks changes; and the switch is where the docstring says.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from td3_teach import TD3, onednn
from td3_teach.errors import InputError
from td3_teach.networks import Actor, Critic
from td3_teach.replay_buffer import ReplayBuffer

needs_onednn = pytest.mark.skipif(not onednn.works(), reason="this torch has no working oneDNN linear")
S, A = 26, 6


@needs_onednn
@pytest.mark.parametrize("rows,inp,out", [(256, 32, 400), (256, 400, 300), (256, 300, 1), (100, 400, 300),
                                          (64, 26, 400), (3, 7, 5)])
def test_forward_and_backward_equal_torchs_linear(rows, inp, out):
    g = torch.Generator().manual_seed(rows + inp + out)
    x, w, b = (torch.randn(*s, generator=g) for s in ((rows, inp), (out, inp), (out,)))
    grad_out = torch.randn(rows, out, generator=g)
    results = []
    for linear in (F.linear, onednn.OneDNNLinear.apply):
        xs, ws, bs = (t.clone().requires_grad_(True) for t in (x, w, b))
        y = linear(xs, ws, bs)
        y.backward(grad_out)
        results.append((y.detach(), xs.grad, ws.grad, bs.grad))
    for want, got in zip(*results):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


@needs_onednn
def test_a_frozen_weight_gets_no_gradient_but_the_input_does():
    x = torch.randn(128, 20, requires_grad=True)
    w, b = torch.randn(10, 20), torch.randn(10)  # like the critic inside step 13's frozen()
    onednn.OneDNNLinear.apply(x, w, b).sum().backward()
    assert w.grad is None and b.grad is None
    torch.testing.assert_close(x.grad, w.sum(0).expand(128, 20), rtol=1e-5, atol=1e-5)


def test_the_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(onednn.ENV, raising=False)
    assert onednn.mode() == "auto"
    monkeypatch.setenv(onednn.ENV, " Torch ")
    assert onednn.mode() == "torch" and not onednn.enabled()
    monkeypatch.setenv(onednn.ENV, "mkl")
    with pytest.raises(InputError, match="TD3_TEACH_MATMUL='mkl' is not one of auto, onednn, torch"):
        onednn.mode()


ZEN4_CPUINFO = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
                "model name\t: AMD EPYC\n")
ZEN5_CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n"
XEON_CPUINFO = "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 207\n"


def test_auto_switches_only_on_amd_with_full_width_avx512(monkeypatch, tmp_path):
    monkeypatch.setenv(onednn.ENV, "auto")
    monkeypatch.setattr(onednn, "works", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(onednn.platform, "machine", lambda: "x86_64")
    # Windows names the CPU in platform.processor(); Linux in /proc/cpuinfo.
    monkeypatch.setattr(onednn, "CPUINFO", "/nonexistent/cpuinfo")
    for vendor, want in (("AMD64 Family 26 Model 2 Stepping 1, AuthenticAMD", True),
                         ("AMD64 Family 25 Model 17 Stepping 1, AuthenticAMD", False),  # Zen 4
                         ("Intel64 Family 6 Model 143 Stepping 8, GenuineIntel", False)):
        monkeypatch.setattr(onednn.platform, "processor", lambda v=vendor: v)
        assert onednn.enabled() is want, vendor
    monkeypatch.setattr(onednn.platform, "processor", lambda: "x86_64")
    for text, want in ((ZEN5_CPUINFO, True), (ZEN4_CPUINFO, False), (XEON_CPUINFO, False), ("", False)):
        (tmp_path / "cpuinfo").write_text(text)
        monkeypatch.setattr(onednn, "CPUINFO", str(tmp_path / "cpuinfo"))
        assert onednn.enabled() is want, text
    (tmp_path / "cpuinfo").write_text(ZEN5_CPUINFO)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert not onednn.enabled()  # MKL's AVX2 code is what oneDNN would run there too
    monkeypatch.setenv(onednn.ENV, "onednn")
    assert onednn.enabled()


def test_cpu_name_says_model_vendor_family_and_model(monkeypatch, tmp_path):
    (tmp_path / "cpuinfo").write_text(ZEN4_CPUINFO)
    monkeypatch.setattr(onednn, "CPUINFO", str(tmp_path / "cpuinfo"))
    monkeypatch.setattr(onednn.platform, "processor", lambda: "")
    assert onednn.cpu_name() == "AMD EPYC (AuthenticAMD, family 25, model 17)"
    monkeypatch.setattr(onednn, "CPUINFO", "/nonexistent/cpuinfo")  # Windows, macOS
    monkeypatch.setattr(onednn.platform, "processor", lambda: "Intel64 Family 6 Model 143 Stepping 8, GenuineIntel")
    assert onednn.cpu_name() == "Intel64 Family 6 Model 143 Stepping 8, GenuineIntel"


@needs_onednn
def test_attach_switches_every_linear_and_nothing_else(monkeypatch):
    monkeypatch.setenv(onednn.ENV, "onednn")
    actor, plain = Actor(S, A, 2.0), Actor(S, A, 2.0)
    plain.load_state_dict(actor.state_dict())
    keys = list(actor.state_dict())
    assert onednn.attach(actor) == 3 and onednn.attached(actor) and not onednn.attached(plain)
    assert list(actor.state_dict()) == keys
    twin = copy.deepcopy(actor)
    assert onednn.attached(twin) and twin.layer_1.forward.__self__ is twin.layer_1
    s = torch.randn(256, S)
    torch.testing.assert_close(twin(s), plain(s), rtol=1e-5, atol=1e-6)
    monkeypatch.setenv(onednn.ENV, "torch")
    assert onednn.attach(Critic(S, A)) == 0


@needs_onednn
def test_small_batches_and_other_dtypes_stay_with_torch(monkeypatch):
    monkeypatch.setenv(onednn.ENV, "onednn")
    actor = Actor(S, A, 1.0)
    onednn.attach(actor)
    calls = []
    real = onednn.OneDNNLinear.apply
    monkeypatch.setattr(onednn.OneDNNLinear, "apply", lambda *a: calls.append(a[0].shape[0]) or real(*a))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        actor(torch.randn(1, S))                                    # one state: select_action's case
        actor.double()(torch.randn(300, S, dtype=torch.float64))    # not float32
        assert calls == []
        actor.float()(torch.randn(onednn.ROWS_PER_THREAD, S))
        assert calls == [onednn.ROWS_PER_THREAD] * 3
        if threads > 1:
            torch.set_num_threads(2)
            actor(torch.randn(onednn.ROWS_PER_THREAD, S))           # too few rows for 2 threads
            assert calls == [onednn.ROWS_PER_THREAD] * 3
    finally:
        torch.set_num_threads(threads)


@needs_onednn
def test_an_update_on_onednn_matches_the_update_on_torch(monkeypatch):
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(S, A, max_size=2000, device="cpu")
    for i in range(2000):
        buf.add((rng.standard_normal(S), rng.standard_normal(S), rng.uniform(-1, 1, A),
                 rng.standard_normal(), i % 9 == 0))
    agents = []
    for chosen in ("torch", "onednn"):
        monkeypatch.setenv(onednn.ENV, chosen)
        torch.manual_seed(0)
        agents.append(TD3(S, A, 1.0, device="cpu"))
    plain, fast = agents
    assert not onednn.attached(plain.critic) and onednn.attached(fast.critic)
    for agent in agents:
        torch.manual_seed(1)
        agent.train(buf, 4)
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for (k, want), got in zip(getattr(plain, name).state_dict().items(),
                                  getattr(fast, name).state_dict().values()):
            torch.testing.assert_close(got, want, rtol=0, atol=2e-5, msg=lambda m, k=k: f"{name}.{k}: {m}")
    state = rng.standard_normal(S)
    np.testing.assert_allclose(fast.select_action(state), plain.select_action(state), atol=1e-5)
