"""The package's TD3 multiplies its matrices with oneDNN on AMD CPUs with full-width AVX-512 (Zen 5).

Nothing to learn here about TD3: the networks (``networks.py``) and the update (``update.py``)
are exactly what the notebooks teach. This module only changes *which library* computes their
``nn.Linear`` layers, forward and backward, for the package's own agent (``td3_teach.TD3``).

Why: torch computes a float32 ``nn.Linear`` with MKL. MKL takes its AVX-512 code only on Intel
processors; on an AMD processor that has AVX-512 (Zen 4, Zen 5) it runs its AVX2 code, on
Zen 5 at half the speed. oneDNN, which torch also ships (``torch.ops.mkldnn``), uses AVX-512
there. Measured on this project's 2-core AMD EPYC (Zen 5), one thread, ``(256, 400) @
(400, 300)``: MKL 650 us (95 GFLOP/s), oneDNN 300 us (205 GFLOP/s); the whole TD3 update at
batch 256 ran 1.6x faster (``benchmarks/results/speed.md``). The product is the same up to float
rounding (about 1e-6 of its size: ``tests/test_onednn.py`` compares forward, backward and whole
updates).
Zen 4 (CPU family 25) also has AVX-512, but runs each 512-bit operation as two 256-bit halves:
there oneDNN's product gains only about 10 % over MKL's AVX2 one (106 against 95 GFLOP/s on
this project's 2-core EPYC, family 25 model 17), less than the Python cost of routing each layer
through ``OneDNNLinear``: the whole update ran at 0.81-0.96x of MKL's (speed.md).

When: ``attach`` switches a network's layers only where it pays, as measured here:

* an x86-64 AMD CPU of family 26 or later (Zen 5: 512-bit data paths) whose torch build runs
  AVX-512 code, and a torch with oneDNN that passes a small self-test. Zen 4 (family 25)
  stays with MKL (above). On Intel CPUs MKL already uses AVX-512: on this project's Intel Xeon
  the update with oneDNN ran at 0.73-0.82x of MKL's (speed.md). Other CPUs were not measured;
* at each call, float32 on the CPU, and at least ``ROWS_PER_THREAD`` rows per torch thread:
  oneDNN's start-up cost makes it slower for small batches (one state, for ``select_action``:
  117 against 44 us) and, on 2 threads, at batch 100. Those calls go to torch as usual.

``TD3_TEACH_MATMUL=torch`` in the environment turns it off, ``=onednn`` turns it on on any
CPU where the self-test passes (``auto``, the default, is the rule above). The choice depends
on the machine only, never on timing, so a seed trains the same way on the same machine.
"""

from __future__ import annotations

import platform
import re
import types
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ENV = "TD3_TEACH_MATMUL"
MODES = ("auto", "onednn", "torch")
ROWS_PER_THREAD = 64  # measured: 1 thread gains from batch 100 up, 2 threads at 256, not at 100
CPUINFO = "/proc/cpuinfo"  # where Linux names the vendor and the CPU family
FULL_WIDTH_FAMILY = 26  # AMD's Zen 5 (0x1A): the first with 512-bit data paths; Zen 4 is 25 (0x19)


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``x @ w.T + b`` by oneDNN (dense float32 tensors, any strides)."""
    return torch.ops.mkldnn._linear_pointwise(x, w, b, "none", [], "")


class OneDNNLinear(torch.autograd.Function):
    """``F.linear`` with the forward and both backward products computed by oneDNN."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.has_bias = b is not None
        return _linear(x, w, b)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        gx = _linear(g, w.t(), None) if need_x else None           # g @ w
        gw = _linear(g.t(), x.t(), None) if need_w else None       # g.T @ x (none for a frozen net)
        gb = g.sum(0) if ctx.has_bias and need_b else None
        return gx, gw, gb


def _forward(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """An ``nn.Linear`` forward that hands the big products to oneDNN and the rest to torch."""
    if (x.dim() == 2 and x.dtype == torch.float32 and x.device.type == "cpu"
            and x.shape[0] >= ROWS_PER_THREAD * torch.get_num_threads()):
        return OneDNNLinear.apply(x, self.weight, self.bias)
    return F.linear(x, self.weight, self.bias)


def mode() -> str:
    """The user's choice in ``TD3_TEACH_MATMUL`` (``auto`` when unset)."""
    from .errors import env_choice
    return env_choice(ENV, MODES, f"unset it (auto), or set {ENV}=torch to keep torch's own matrix multiply.")


CPUINFO_FIELDS = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "model name": "name"}


def _cpu() -> dict[str, str]:
    """The CPU's vendor, family, model and name, as far as the OS says them: /proc/cpuinfo on
    Linux; else ``platform.processor()`` (Windows: "AMD64 Family 26 Model 2 Stepping 1,
    AuthenticAMD"; no name there)."""
    facts: dict[str, str] = {}
    try:
        with open(CPUINFO, encoding="ascii", errors="replace") as f:
            for line in f.read(4096).splitlines():  # the first processor's lines
                key, sep, value = line.partition(":")
                if sep and key.strip() in CPUINFO_FIELDS:
                    facts.setdefault(CPUINFO_FIELDS[key.strip()], value.strip())
    except OSError:
        pass
    if not facts:
        described = platform.processor()
        for vendor in ("AuthenticAMD", "GenuineIntel"):
            if vendor in described:
                facts["vendor"] = vendor
        for key in ("family", "model"):
            found = re.search(rf"\b{key}\s+(\d+)", described, re.IGNORECASE)
            if found:
                facts[key] = found.group(1)
    return facts


def cpu_name() -> str:
    """The CPU, as the benchmarks name it: "AMD EPYC (AuthenticAMD, family 25, model 17)" from
    /proc/cpuinfo; elsewhere what ``platform.processor()`` says."""
    cpu = _cpu()
    if "name" in cpu:
        return (f"{cpu['name']} ({cpu.get('vendor', '?')}, family {cpu.get('family', '?')}, "
                f"model {cpu.get('model', '?')})")
    return platform.processor() or platform.machine() or "unknown CPU"


def _amd_with_full_width_avx512() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if torch.backends.cpu.get_cpu_capability() != "AVX512":
        return False
    cpu = _cpu()
    return (cpu.get("vendor") == "AuthenticAMD" and cpu.get("family", "").isdigit()
            and int(cpu["family"]) >= FULL_WIDTH_FAMILY)


@lru_cache(maxsize=1)
def works() -> bool:
    """Whether this torch has oneDNN's linear and it gives torch's answer on a small product."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        g = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(*s, generator=g) for s in ((70, 33), (17, 33), (17,)))
        return bool(torch.allclose(_linear(x, w, b), F.linear(x, w, b), rtol=1e-4, atol=1e-5))
    except (RuntimeError, AttributeError):
        return False


def enabled() -> bool:
    """Whether ``attach`` switches layers on this machine (the rule in the module's docstring)."""
    chosen = mode()
    if chosen == "torch":
        return False
    return works() and (chosen == "onednn" or _amd_with_full_width_avx512())


def attach(*nets: nn.Module) -> int:
    """Give every ``nn.Linear`` of ``nets`` the oneDNN forward, where ``enabled()``.

    Returns the number of layers switched (0 when not enabled). Only the layer objects change
    (their ``forward``); parameters, state dicts and checkpoints are exactly as before, and a
    ``copy.deepcopy`` of a switched network is switched too.
    """
    if not enabled():
        return 0
    n = 0
    for net in nets:
        for layer in net.modules():
            if type(layer) is nn.Linear:
                layer.forward = types.MethodType(_forward, layer)  # type: ignore[method-assign]
                n += 1
    return n


def attached(net: nn.Module) -> bool:
    """Whether any of ``net``'s layers have the oneDNN forward."""
    return any(getattr(m.forward, "__func__", None) is _forward for m in net.modules())
