"""Where the tensors live: CUDA when there is a GPU, else the CPU; always overridable."""

from __future__ import annotations

import torch

from .errors import InputError


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``), else cuda when available, else cpu.

    Asking for CUDA on a machine without it is an error with a fix, not a crash deep in torch.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device={str(device)!r} was asked for, but torch sees no GPU here "
                         "(torch.cuda.is_available() is False). Use device='cpu', or leave "
                         "device unset to choose automatically.")
    return device
