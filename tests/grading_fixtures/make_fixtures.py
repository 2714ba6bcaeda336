"""Write tests/grading_fixtures/submissions/: one learner per way a submission can go wrong.

Every notebook is derived from the real step-8 notebooks (the learner's copy in notebooks/, with
the solution's code from solutions/ where a learner got it right), so the fixtures look like what
learners send. Run it again after the step-8 notebook changes, and commit the result:

    python tests/grading_fixtures/make_fixtures.py

The expected grade of each learner is in EXPECTED (tests/test_grading.py asserts it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "submissions"
NAME = "08_min_of_twin_targets.ipynb"
ESCAPE = "/tmp/td3_teach_grading_escape.txt"  # what the "writes outside" learner tries to create

STUB_LINE = "    # YOUR CODE HERE\n"
RIGHT = "    return torch.min(q1_next, q2_next)"
# Written by tests/test_grading.py into a copy of submissions/, never committed: a file named
# .ipynb that is not JSON trips every notebook tool that walks the repository.
NOT_JSON = {"leo_not_json__" + NAME: "this is { not JSON"}

# learner -> (step08 points, gradebook status)
EXPECTED = {
    "alice_correct": (1, "ok"),
    "bob_partial": (0, "ok"),
    "carol_lost_metadata": (1, "ok"),
    "dan_edited_check": (0, "edited locked cells"),
    "erin_monkeypatch": (0, "tampered"),
    "gina_syntax_error": (0, "syntax error"),
    "hank_early_exception": (1, "cell errors"),
    "ivy_infinite_loop": (0, "cell timeout"),
    "jack_os_exit": (0, "crashed"),
    "kim_segfault": (1, "kernel died"),
    "leo_not_json": (0, "not JSON"),
    "mia_not_a_notebook": (0, "not a notebook"),
    "ned_huge_output": (1, "ok"),
    "olga_writes_outside": (0, "forbidden file access"),
    "pete_reads_solutions": (0, "forbidden file access"),
    "quinn_memory_hog": (1, "out of memory"),
    "rita_no_notebook": (0, "missing"),
    "sam_uses_reference": (0, "ok"),
}


def handed_out(keep_figure: bool = False) -> nbformat.NotebookNode:
    """The learner's notebook as handed out; without the figure after the check unless asked
    (it only costs time: the grader never runs cells after the last check)."""
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    # Every learner here answered the prediction question right: the fixtures are about the code.
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in nbformat.read(ROOT / "solutions" / NAME, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_prediction")}
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") in solved:
            c.source = solved[c.metadata["nbgrader"]["grade_id"]]
    if not keep_figure:
        last_check = max(i for i, c in enumerate(nb.cells)
                         if c.metadata.get("nbgrader", {}).get("grade"))
        nb.cells = nb.cells[:last_check + 1]
    return nb


def exercise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


def check(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def answer(nb: nbformat.NotebookNode, body: str, after: str = "") -> nbformat.NotebookNode:
    """Replace the stub (comment and raise) in the exercise cell by ``body``; ``after`` goes
    at the cell's top level, after the function."""
    cell = exercise(nb)
    head = cell.source[: cell.source.index(STUB_LINE)]
    cell.source = head + body + ("\n\n" + after if after else "")
    return nb


def add_cell(nb: nbformat.NotebookNode, source: str, before=None, after=None) -> None:
    """A cell the learner added (no nbgrader metadata), before or after the given cell."""
    new = nbformat.v4.new_code_cell(source)
    i = nb.cells.index(before) if before is not None else nb.cells.index(after) + 1
    nb.cells.insert(i, new)


def solution_code() -> str:
    sol = nbformat.read(ROOT / "solutions" / NAME, as_version=4)
    src = exercise(sol).source
    inner = src.split("### BEGIN SOLUTION\n")[1].split("    ### END SOLUTION")[0]
    assert inner.strip() == RIGHT.strip(), "the step-8 solution changed: update RIGHT"
    return RIGHT


def build() -> dict[str, object]:
    right = solution_code()
    subs: dict[str, object] = {}

    subs["alice_correct/" + NAME] = answer(handed_out(), right)
    subs["bob_partial__" + NAME] = answer(  # passes seed 0, fails the hidden batch of one
        handed_out(), "    return torch.min(q1_next, q2_next).squeeze().unsqueeze(1)")

    nb = answer(handed_out(), right)  # saved by another editor: no nbgrader metadata at all
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
        c.metadata.pop("tags", None)
    subs["carol_lost_metadata/week3/" + NAME] = nb

    nb = answer(handed_out(), "    return torch.max(q1_next, q2_next)")
    check(nb).source = 'print("passed")'
    subs["dan_edited_check/" + NAME] = nb

    subs["erin_monkeypatch/" + NAME] = answer(handed_out(), "    return q1_next", after=(
        "checks.step08 = lambda *args, **kwargs: checks.CheckPassed(8, 'all good')"))
    subs["gina_syntax_error/" + NAME] = answer(handed_out(), "    return torch.min(q1_next, q2_next")

    nb = answer(handed_out(), right)
    add_cell(nb, "ratio = 1 / 0  # an early cell that fails", before=exercise(nb))
    subs["hank_early_exception/" + NAME] = nb

    subs["ivy_infinite_loop/" + NAME] = answer(handed_out(), "    while True:\n        pass")
    subs["jack_os_exit/" + NAME] = answer(handed_out(), right,
                                          after="import os\nos._exit(3)")
    nb = answer(handed_out(), right)
    add_cell(nb, "import ctypes\nctypes.string_at(0)  # segfault", after=check(nb))
    subs["kim_segfault/" + NAME] = nb

    subs["mia_not_a_notebook__" + NAME] = json.dumps({"hello": "a JSON file, not a notebook"})

    nb = answer(handed_out(), right)
    add_cell(nb, "for i in range(100_000):\n    print('spam ' * 10)", before=check(nb))
    subs["ned_huge_output/" + NAME] = nb

    subs["olga_writes_outside/" + NAME] = answer(handed_out(), right, after=(
        f"with open({ESCAPE!r}, 'w') as f:\n    f.write('escaped')"))
    subs["pete_reads_solutions/" + NAME] = answer(handed_out(), "    pass", after=(
        "import json, pathlib, td3_teach\n"
        "_course = pathlib.Path(td3_teach.__file__).resolve().parents[1]\n"
        f"_nb = json.loads((_course / 'solutions' / {NAME!r}).read_text())\n"
        "exec(next(''.join(c['source']) for c in _nb['cells'] if 'BEGIN SOLUTION' in "
        "''.join(c['source'])))"))

    nb = answer(handed_out(), right)
    add_cell(nb, "big = torch.empty(2**34)  # 64 GiB", before=check(nb))
    subs["quinn_memory_hog/" + NAME] = nb
    subs["sam_uses_reference/" + NAME] = answer(handed_out(), (
        "    from td3_teach.update import step08_min_target_q as reference\n"
        "    return reference(q1_next, q2_next)"))
    subs["rita_no_notebook/README.txt"] = "I could not get Jupyter to start.\n"
    return subs


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    for rel, content in build().items():
        path = OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
    print(f"wrote {len(build())} files under {OUT}")


if __name__ == "__main__":
    main()
