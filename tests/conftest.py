"""Shared test set-up. Kept minimal: each test file builds what it needs itself."""

import torch

# One thread: the test machine has 2 cores, and small-network tests are faster without
# thread hand-offs. Results do not depend on it.
torch.set_num_threads(1)


import re  # noqa: E402

import pytest  # noqa: E402

from td3_teach.checks import _core  # noqa: E402

CHECK_TESTS = re.compile(r"test_step_\d\d_check$|test_step_check_contract$|test_predictions$")


@pytest.fixture(autouse=True)
def no_solution_code_in_check_messages(request, monkeypatch):
    """Every test starts with fresh hint tiers. In the mutation tests (tests/test_step_check_contract.py
    and tests/test_step_NN_check.py) every CheckFailed the checks raise is recorded, and the test
    fails if any text it could show, at any hint tier, holds a line of the solutions' code
    (tests/solution_code.py)."""
    _core.reset_hint_tiers()
    if not CHECK_TESTS.search(request.module.__name__):
        yield
        return
    from solution_code import solution_code_in

    made: list = []
    init = _core.CheckFailed.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(_core.CheckFailed, "__init__", recording_init)
    yield
    for failure in made:
        for text in failure.all_texts():
            origin = solution_code_in(text, failure.step)
            assert origin is None, (f"a step {failure.step} check message gives away solution "
                                    f"code ({origin}): {text!r}")
