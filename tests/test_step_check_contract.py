"""The contract every step's check keeps, run over the table of steps (tests/step_contracts.py):
it passes the solution on each seed, names each classic mistake injected into the solution
(the step's MUTATIONS, in tests/test_step_NN_check.py) and the lecture bug behind it (BUGS),
says "not implemented yet" for an unfilled exercise, reports wrong arguments, and leaves the
learner's random number generator where it was."""

import warnings

import pytest
import torch

from td3_teach import checks
from notebook_code import check_failure
from step_contracts import CONTRACTS, run, solution

STEPS = list(CONTRACTS.values())


def cases(table: str) -> list:
    """(contract, name) for every entry of each step's MUTATIONS or BUGS table."""
    return [pytest.param(c, name, id=f"{c.token}-{name}")
            for c in STEPS for name in getattr(c.tests, table, {})]


def test_every_step_has_a_contract():
    assert sorted(CONTRACTS) == list(range(1, 16))


@pytest.mark.parametrize("contract, seed", [pytest.param(c, seed, id=f"{c.token}-seed{seed}")
                                            for c in STEPS for seed in c.seeds])
def test_check_passes_the_solution(contract, seed):
    text = run(contract.number, solution(contract.number), seed=seed).text()
    assert text.startswith(f"Step {contract.number} ✓"), text
    assert contract.says in text, text


@pytest.mark.parametrize("contract, name", cases("MUTATIONS"))
def test_check_names_the_mistake(contract, name):
    replace, expected = contract.tests.MUTATIONS[name]
    ns = solution(contract.number, replace)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a check never leaks a warning (torch's broadcast warning)
        message = str(check_failure(run, contract.number, ns))
    assert expected.lower() in message.lower(), message


@pytest.mark.parametrize("contract, name", cases("BUGS"))
def test_check_names_the_lecture_bug(contract, name):
    words = contract.tests.BUGS[name]
    failure = check_failure(run, contract.number, solution(contract.number, contract.tests.MUTATIONS[name][0]))
    assert failure.bug and all(word in failure.bug for word in ((words,) if isinstance(words, str) else words)), \
        failure.bug


def each(field: str) -> list:
    """(contract, arguments, what the check says) for each case of each step's ``field``."""
    return [pytest.param(c, args, says, id=f"{c.token}-{says}")
            for c in STEPS for args, says in getattr(c, field)]


@pytest.mark.parametrize("contract, args, says", each("unfilled"))
def test_unfilled_exercise_says_not_implemented(contract, args, says):
    with pytest.raises(checks.NotImplementedYet, match=says):
        contract.check(*args(solution(contract.number)))


@pytest.mark.parametrize("contract, args, says", each("wrong"))
def test_wrong_arguments_are_reported(contract, args, says):
    with pytest.raises(checks.CheckFailed, match=says):
        contract.check(*args(solution(contract.number)))


@pytest.mark.parametrize("contract", STEPS, ids=lambda c: c.token)
def test_check_leaves_the_learners_rng_alone(contract):
    ns = solution(contract.number)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run(contract.number, ns)
    assert torch.equal(torch.rand(3), expected)
