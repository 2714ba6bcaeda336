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
    nb = nbformat.read(SOLUTIONS / "08_min_target_q.ipynb", as_version=4)
    exercise = [c for c in nb.cells if bn.BEGIN in c.source]
    assert len(exercise) == 2  # the function, then the prediction question
    assert [c.metadata["nbgrader"] for c in exercise] == [{
        "schema_version": 3, "solution": True, "grade": False, "locked": False,
        "grade_id": f"08_min_target_q_{name}"}
        for name in ("step08_min_target_q", "step08_prediction")]


def test_strip_solutions_keeps_indentation_and_code_around_the_region():
    src = "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = bn.strip_solutions(src, "Step 3")
    assert out.splitlines()[:3] == ["def f(x):", "    y = 1", "    # YOUR CODE HERE"]
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


def test_no_learner_cell_is_tagged_raises_exception_but_the_stub_and_its_users_are_expected_to_raise():
    """JupyterLab's Run All skips past a cell tagged raises-exception: the learner's copy carries
    no such tag, and the test harness learns from cells_expected_to_raise which cells raise."""
    nb = _nb("import torch", "def ex(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION",
             "checks.step08(ex)", "from td3_teach.update import ex as ref\nref(1)", "print(1)",
             "y = ex(2)", "### BEGIN SOLUTION\nz = 3\n### END SOLUTION")
    nb.cells[2].metadata["tags"] = ["raises-exception", "keep-me"]
    out = bn.learner_version(nb, Path("08_x.ipynb"))
    assert [c.metadata.get("tags", []) for c in out.cells] == [[], [], ["keep-me"], [], [], [], []]
    # the definition of ex runs (its stub is in the body); its users and the top-level stub raise
    assert bn.cells_expected_to_raise(out) == {2, 5, 6}
    assert bn.cells_expected_to_raise(nb) == set(), "the solution's cells all run"


def test_markdown_cells_do_not_shift_the_numbers_of_the_cells_expected_to_raise():
    nb = _nb("def ex(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex(1)")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("uses ex(1) in prose"))
    assert bn.cells_expected_to_raise(bn.learner_version(nb, Path("08_x.ipynb"))) == {1}


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_learner_notebooks_stop_run_all_at_the_exercise(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if bn.RAISES in c.metadata.get("tags", [])]
    assert not tagged, f"{path.name}: cells {tagged} tagged raises-exception; Run All skips them"
    solution = nbformat.read(SOLUTIONS / path.name, as_version=4)
    if any(c.cell_type == "code" and bn.BEGIN in c.source for c in solution.cells):
        assert bn.cells_expected_to_raise(nb), f"{path.name}: no cell raises as handed out"


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_kernelspec_is_ipykernels_own_so_a_notebook_does_not_open_modified(path):
    assert nbformat.read(path, as_version=4).metadata.kernelspec == bn.KERNELSPEC


def test_stub_lines_fit_a_cell():
    for line in bn.stub("    ", "Steps 14-15"):
        assert len(line) <= 79, f"{len(line)} characters: {line}"


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


def test_handout_cells_are_not_stubbed_and_later_check_cells_that_use_them_raise(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(HANDOUT_CELL),
                                         nbformat.v4.new_code_cell("x = area(2)  # area in use"),
                                         nbformat.v4.new_code_cell("checks.bug_hunt(area)")])
    learner = bn.learner_version(nb, tmp_path / "17_bug_hunt.ipynb")
    first, second, third = learner.cells
    assert "NotImplementedError" not in first.source and "r ** 3" in first.source
    assert first.source.startswith(bn.HANDOUT_MARK)
    assert not any(bn.RAISES in c.metadata.get("tags", []) for c in learner.cells)
    # the buggy listing runs; the check cell given what it defines is the one that fails
    assert bn.cells_expected_to_raise(learner) == {2}
