"""Every check isolates torch's global state (checks/_guard.py): the course's own solutions pass
whatever global settings the notebook made, the notebook's settings come back afterwards, and a
learner function that leaves a setting changed fails its check, naming the setting."""

from __future__ import annotations

import re

import nbformat
import pytest
import torch

from td3_teach import checks
from td3_teach.steps import STEPS

from notebook_code import SOLUTIONS, exercise_namespace

CHECK_CALL = re.compile(r"^checks\.(step\d\d)\(.*\)$", re.M)
GLOBAL_STATE = {
    "float64 default": (lambda: torch.set_default_dtype(torch.float64),
                        lambda: torch.get_default_dtype() == torch.float64),
    "gradients off": (lambda: torch.set_grad_enabled(False),
                      lambda: not torch.is_grad_enabled()),
}


def _check_calls(notebook: str) -> list[str]:
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    return [m.group(0) for c in nb.cells if c.cell_type == "code"
            for m in CHECK_CALL.finditer(c.source)]


@pytest.fixture(autouse=True)
def _clean_torch_state():
    yield
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)


@pytest.mark.parametrize("state", sorted(GLOBAL_STATE))
@pytest.mark.parametrize("notebook", sorted({s.notebook for s in STEPS}))
def test_solutions_pass_whatever_global_state_the_notebook_set(notebook, state):
    ns = exercise_namespace(notebook)
    ns["checks"] = checks
    change, still_changed = GLOBAL_STATE[state]
    calls = _check_calls(notebook)
    assert calls, f"{notebook} has no check call"
    for call in calls:
        change()
        exec(call, ns)  # must not raise: the solution is right
        assert still_changed(), f"{call} did not put the notebook's setting back"
        torch.set_default_dtype(torch.float32)
        torch.set_grad_enabled(True)


def test_a_function_that_leaves_the_dtype_changed_fails_its_own_check():
    def flips_dtype(q1_next, q2_next):
        torch.set_default_dtype(torch.float64)
        return torch.min(q1_next, q2_next)

    with pytest.raises(checks.CheckFailed) as info:
        checks.step08(flips_dtype)
    assert "default dtype" in str(info.value) and "set_default_dtype" in str(info.value)
    assert torch.get_default_dtype() == torch.float32  # the notebook's setting, put back


def test_a_function_that_switches_gradients_off_fails_its_own_check():
    def no_grad_forever(r, terminated, q_next_min, gamma):
        torch.set_grad_enabled(False)
        return r + gamma * (1 - terminated) * q_next_min.detach()

    with pytest.raises(checks.CheckFailed) as info:
        checks.step09(no_grad_forever)
    assert "gradient mode" in str(info.value)
    assert torch.is_grad_enabled()


def test_every_check_is_guarded():
    for s in STEPS:
        assert getattr(getattr(checks, s.token), "__td3_guarded__", False), s.token
