"""Run a solution notebook's code outside Jupyter, optionally with a mistake injected.

Mutation tests use this to put a learner's typical mistake into the real solution code and assert
that the step's check fails and names the problem. (The tests may read solutions/; the checks in
td3_teach never do.)
"""

from __future__ import annotations

import linecache
import re
from pathlib import Path

import nbformat
import pytest

from td3_teach import checks

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
SKIP = re.compile(r"\bchecks\.(?:step\d\d|agent|bug_hunt)\s*\(|\bsave_agent_class\(|\binteractive\(|\bplt\."
                  r"|^\s*[%!]", re.M)


def exercise_namespace(notebook: str, replace: dict[str, str] | None = None) -> dict:
    """Execute the notebook's code cells except checks, figures and shell/magic lines, with each
    ``old -> new`` of ``replace`` applied to the exercise (solution) cells; return the namespace.

    A replacement whose ``old`` text is not found raises, so a mutation can never silently stop
    applying when the solution changes.
    """
    nb = nbformat.read(SOLUTIONS / notebook, as_version=4)
    replace = dict(replace or {})
    unused = set(replace)
    ns: dict = {"__name__": "__exercise__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or SKIP.search(cell.source):
            continue
        src = cell.source
        if "### BEGIN SOLUTION" in src:
            for old, new in replace.items():
                if old in src:
                    src = src.replace(old, new)
                    unused.discard(old)
        name = f"<{notebook} cell {len(linecache.cache)}>"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)  # as IPython does
        exec(compile(src, name, "exec"), ns)
    if unused:
        raise AssertionError(f"mutation text not found in {notebook}'s exercise cells: {sorted(unused)}")
    return ns


def check_failure(run, *args, **kwargs) -> checks.CheckFailed:
    """Run a check that must fail and return its CheckFailed; the test fails if it passed."""
    with pytest.raises(checks.CheckFailed) as info:
        run(*args, **kwargs)
    return info.value


def assert_names_the_mistake(run, arg, expected: str) -> None:
    """``run(arg)`` must fail with a message that contains ``expected`` (any case)."""
    message = str(check_failure(run, arg))
    assert expected.lower() in message.lower(), message
