"""notebooks/ is generated from solutions/: never stale, never with outputs, stubs where answers were."""

import json
from pathlib import Path

import nbformat
import pytest

from td3_teach import build_notebooks as bn
from td3_teach.steps import STEPS

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
ALL = sorted(SOLUTIONS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_are_up_to_date_with_solutions(tmp_path):
    stale = bn.build(SOLUTIONS, NOTEBOOKS, check=True)
    assert not stale, f"run `td3-teach build-notebooks` and commit: stale {stale}"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_has_no_outputs_or_execution_counts(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run build-notebooks"


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_learner_notebook_holds_no_solution(path):
    code = lambda p: "\n".join(c.source for c in nbformat.read(p, as_version=4).cells  # noqa: E731
                               if c.cell_type == "code")
    text = code(path)
    assert bn.BEGIN not in text and bn.END not in text and bn.HANDOUT_BEGIN not in text
    solution = code(SOLUTIONS / path.name)
    if bn.BEGIN in solution and bn.HANDOUT_BEGIN not in solution:
        assert "# YOUR CODE HERE" in text and "raise NotImplementedError" in text


def test_every_step_has_a_check_cell_worth_points_in_its_solution_notebook():
    for step in STEPS:
        nb = nbformat.read(SOLUTIONS / step.notebook, as_version=4)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                  and f"checks.{step.token}(" in c.source]
        assert graded, f"{step.notebook} has no graded `checks.{step.token}(...)` cell"
        meta = graded[0].metadata["nbgrader"]
        assert meta["locked"] and meta["points"] >= 1 and meta["schema_version"] == 3


def test_solution_cells_carry_nbgrader_solution_metadata():
    nb = nbformat.read(SOLUTIONS / "08_min_of_twin_targets.ipynb", as_version=4)
    exercise = [c for c in nb.cells if bn.BEGIN in c.source]
    assert len(exercise) == 2  # the function, then the prediction question
    assert [c.metadata["nbgrader"] for c in exercise] == [{
        "schema_version": 3, "solution": True, "grade": False, "locked": False,
        "grade_id": f"08_min_of_twin_targets_{name}"}
        for name in ("step08_min_target_q", "step08_prediction")]


def test_strip_solutions_keeps_indentation_and_code_around_the_region():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = bn.strip_solutions(src, "Step 3")
    assert out.splitlines() == ["def f(x):", "    y = 1", "    # YOUR CODE HERE",
                                out.splitlines()[3]]
    assert out.splitlines()[3].startswith('    raise NotImplementedError("Step 3: ')
    compile(out, "<stub>", "exec")


@pytest.mark.parametrize("src", ["### BEGIN SOLUTION\nx = 1\n", "x = 1\n### END SOLUTION\n",
                                 "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n"])
def test_unbalanced_markers_are_refused(src):
    with pytest.raises(ValueError, match="SOLUTION"):
        bn.strip_solutions(src, "Step 1")


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    return nb


def test_cells_that_use_the_stub_are_tagged_raises_exception_and_others_are_not():
    nb = _nb("import torch", "def ex(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
             "checks.step08(ex)", "from td3_teach.update import ex as ref\nref(1)", "print(1)")
    out = bn.learner_version(nb, Path("08_x.ipynb"))
    tags = [c.metadata.get("tags", []) for c in out.cells]
    assert tags == [[], ["raises-exception"], ["raises-exception"], [], []]


def test_build_writes_then_is_idempotent_and_removes_orphans(tmp_path):
    sol, out = tmp_path / "solutions", tmp_path / "notebooks"
    sol.mkdir()
    nb = _nb("def ex(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "checks.step08(ex)")
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="leftover")]
    nb.cells[0].execution_count = 3
    nbformat.write(nb, sol / "08_x.ipynb")
    (out).mkdir()
    (out / "99_orphan.ipynb").write_text("{}")
    changed = bn.build(sol, out)
    assert {p.name for p in changed} == {"08_x.ipynb", "99_orphan.ipynb"}
    assert not (out / "99_orphan.ipynb").exists()
    assert bn.build(sol, out) == []  # a second run changes nothing
    cleaned = nbformat.read(sol / "08_x.ipynb", as_version=4)
    assert cleaned.cells[0].outputs == [] and cleaned.cells[0].execution_count is None


HANDOUT_CELL = """import math
### BEGIN HANDOUT
# def area(r):
#   return math.pi * r ** 3
#
### END HANDOUT
### BEGIN SOLUTION
def area(r):
  return math.pi * r ** 2
### END SOLUTION
print(area(1.0))"""


def test_handout_gives_the_learner_the_buggy_code_uncommented_and_no_solution():
    learner = bn.handout(HANDOUT_CELL)
    assert learner == "import math\ndef area(r):\n  return math.pi * r ** 3\n\nprint(area(1.0))"
    ns: dict = {}
    exec(HANDOUT_CELL, ns)  # the solution copy runs only the fixed code: the handout is comments
    assert ns["area"](1.0) == pytest.approx(3.14159, abs=1e-4)


def test_handout_refuses_a_handout_line_that_would_run_in_the_solution():
    with pytest.raises(ValueError, match="commented out"):
        bn.handout("### BEGIN HANDOUT\nx = 1\n### END HANDOUT")
    with pytest.raises(ValueError, match="not closed"):
        bn.handout("### BEGIN HANDOUT\n# x = 1")


def test_handout_cells_are_not_stubbed_and_later_cells_that_use_them_may_raise(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(HANDOUT_CELL),
                                         nbformat.v4.new_code_cell("checks.bug_hunt(area)")])
    learner = bn.learner_version(nb, tmp_path / "17_bug_hunt.ipynb")
    first, second = learner.cells
    assert "NotImplementedError" not in first.source and "r ** 3" in first.source
    assert bn.RAISES not in first.metadata.get("tags", [])
    assert bn.RAISES in second.metadata.get("tags", [])
