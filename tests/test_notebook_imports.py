"""No learner notebook puts package code that could do its own exercise within reach.

For each step notebook of notebooks/, the names that do its steps' work are the step's reference
(td3_teach.steps.STEPS ``where``) and its helpers (HELPERS). A code cell may neither import one
(``from td3_teach... import name``, also under another name) nor reach one as an attribute
(``update.step09_bellman_target``, ``td3_teach.networks.make_target``). Pictures draw with
``checks.for_the_picture``, which keeps the reference inside the package.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from td3_teach.steps import STEPS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HELPERS = {2: {"make_target"}, 3: {"make_target"}, 14: {"polyak_update"}, 15: {"polyak_update"},
           4: {"ReplayBuffer"}, 1: set()}


def forbidden(notebook: str) -> set[str]:
    names: set[str] = set()
    for s in STEPS:
        if s.notebook == notebook:
            names |= {s.where.rsplit(".", 1)[-1]} | HELPERS.get(s.number, set())
    return names


def reaches(source: str, names: set[str]) -> list[str]:
    """The forbidden names a cell imports from td3_teach or reaches as an attribute."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("td3_teach"):
            found += [a.name for a in node.names if a.name in names or a.name == "*"]
        elif isinstance(node, ast.Attribute) and node.attr in names:
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {"getattr", "__import__",
                                                                     "importlib.import_module"}:
            found += [ast.unparse(node)] if re.search("td3_teach|update|networks", ast.unparse(node)) else []
    return found


STEP_NOTEBOOKS = sorted({s.notebook for s in STEPS})


@pytest.mark.parametrize("notebook", STEP_NOTEBOOKS)
def test_learner_notebook_does_not_import_its_own_reference(notebook):
    names = forbidden(notebook)
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    bad = {f"cell {i}: {hit}" for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
           for hit in reaches(cell.source, names)}
    assert not bad, (f"{notebook} puts package code that does its exercise within the learner's "
                     f"reach: {sorted(bad)}. Draw pictures with checks.for_the_picture(step, fn).")


def test_the_rule_catches_the_imports_it_is_for():
    assert reaches("from td3_teach.networks import make_target", forbidden("02_actor.ipynb"))
    assert reaches("from td3_teach.update import polyak_update as p", forbidden("14_15_update_targets.ipynb"))
    assert reaches("from td3_teach import update\nupdate.step09_bellman_target(r, t, q, 0.9)",
                   forbidden("09_bellman_target.ipynb"))
    assert not reaches("from td3_teach.networks import Actor, Critic, make_target",
                       forbidden("05_target_action.ipynb"))
