"""Test-suite settings that the notebook kernels started by nbval inherit, and the learner
notebooks' expected errors.

TD3_TEACH_BUDGET=short makes the long notebooks (training, ablations) run on a short budget and
the interactive figures fall back to one static plot; a learner's Jupyter has neither variable.

The learner notebooks in notebooks/ carry no ``raises-exception`` tag (JupyterLab honours it, and
Run All must stop at an unfinished exercise). Here, in memory only, the cells that raise when a
notebook is run as handed out (``build_notebooks.cells_expected_to_raise``: the stubbed exercise
and the cells that use it) are allowed to raise, and required to: a stub that stopped raising, or
a check that passes on a stub, fails the test.
"""

import os

import pytest

os.environ.setdefault("TD3_TEACH_BUDGET", "short")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # 2-core CI: one thread per process avoids thrashing

_EXPECTS_ERROR = "_td3_teach_expects_error"


def pytest_collection_modifyitems(session, config, items):
    from td3_teach.build_notebooks import cells_expected_to_raise

    raising: dict = {}
    for item in items:
        nb = getattr(getattr(item, "parent", None), "nb", None)
        if type(item).__name__ != "IPyNbCell" or nb is None or item.path.parent.name != "notebooks":
            continue
        if item.parent not in raising:
            raising[item.parent] = cells_expected_to_raise(nb)
        if item.cell_num in raising[item.parent]:
            item.options["check_exception"] = True
            setattr(item, _EXPECTS_ERROR, True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if getattr(item, _EXPECTS_ERROR, False):
        errors = [o for o in (item.test_outputs or []) if o.get("output_type") == "error"]
        if not errors:
            pytest.fail(f"{item.path.name} {item.name}: this cell of the learner's notebook should "
                        "raise as handed out (an unfinished exercise, or a cell that uses it), but "
                        "it ran without error. Does its stub still raise NotImplementedError?",
                        pytrace=False)
    return result
