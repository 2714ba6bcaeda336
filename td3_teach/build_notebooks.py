"""``td3-teach build-notebooks``: write the learners' notebooks/ from solutions/, the one source.

In a solution notebook, exercise code sits between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(nbgrader's markers). The learner's copy replaces each such region with ``# YOUR CODE HERE`` and
a friendly ``raise NotImplementedError(...)``. No cell is tagged ``raises-exception``: JupyterLab
honours that tag, and Run All must stop at the first unfinished exercise or failed check. The
test suite still runs every learner notebook end to end: conftest.py asks
``cells_expected_to_raise`` which cells raise (the stubbed exercise and each later cell that uses
what it defines) and allows, and requires, those errors in memory only. A cell with
a ``### BEGIN HANDOUT`` region (commented out in the solution) is handed out as that code instead,
uncommented and without its solution: the bug hunt gives out buggy code to fix, not a stub.

Both copies get nbgrader-compatible cell metadata (``metadata.nbgrader``: solution, grade,
locked, grade_id, points, schema_version 3), written with plain nbformat, so instructors who use
nbgrader can take solutions/ as source notebooks. Outputs and execution counts are stripped.
``--check`` changes nothing and exits 1 when anything is stale.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HANDOUT_BEGIN, HANDOUT_END = "### BEGIN HANDOUT", "### END HANDOUT"
HANDOUT_MARK = "# HANDED OUT WITH ITS BUGS: fix them in this cell"
"""The first line of a handout cell in the learner's copy (and how the test suite knows it)."""
PICTURE_CALL = re.compile(r"\bchecks\.for_the_picture\([^)]*\)")
CHECKS_CALL = re.compile(r"\bchecks\.\w+\s*\(")
CHECK_CALL = re.compile(r"\bchecks\.(step\d\d|agent|bug_hunt|exploration)\s*\(")
"""A graded check call: one of the 15 steps, the whole agent (16), the bug hunt (17), notebook 18's
exploration. (``checks.for_the_picture`` is a helper, not a check.)"""
DEFINES = re.compile(r"^(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=", re.M)
RAISES = "raises-exception"
POINTS_PER_CHECK = 1


STUB_MARK = "# YOUR CODE HERE"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
"""ipykernel's own kernelspec: with any other display name JupyterLab rewrites it on opening, and
the notebook shows as modified before the learner has typed anything."""


def stub(indent: str, notebook_step: str) -> list[str]:
    """What a learner sees where the solution was: two lines short enough to fit the cell."""
    return [f"{indent}{STUB_MARK}",
            f'{indent}raise NotImplementedError("{notebook_step}: replace this line with your code")']


def strip_solutions(source: str, notebook_step: str) -> str:
    """Replace every BEGIN/END SOLUTION region (markers included) by the stub, keeping indentation."""
    out, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"nested '{BEGIN}'")
            inside = True
            out += stub(line[: len(line) - len(line.lstrip())], notebook_step)
        elif marker == END:
            if not inside:
                raise ValueError(f"'{END}' without '{BEGIN}'")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"'{BEGIN}' without '{END}'")
    return "\n".join(out)


def handout(source: str) -> str:
    """The learner's copy of a cell with a ``### BEGIN HANDOUT`` region (the bug hunt's buggy
    listing): the handout's lines uncommented, every SOLUTION region dropped without a stub.

    In the solution notebook each handout line is commented out (``# `` in front), so the
    solution runs only its fixed code; the learner gets the code to fix instead of a stub.
    """
    out, mode = [], None
    for n, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker in (HANDOUT_BEGIN, BEGIN):
            if mode is not None:
                raise ValueError(f"line {n}: '{marker}' inside another region")
            mode = "handout" if marker == HANDOUT_BEGIN else "solution"
        elif marker in (HANDOUT_END, END):
            if mode != ("handout" if marker == HANDOUT_END else "solution"):
                raise ValueError(f"line {n}: '{marker}' without its BEGIN")
            mode = None
        elif mode == "handout":
            if not line.startswith("#"):
                raise ValueError(f"line {n}: a handout line must be commented out in the "
                                 f"solution ('# ' in front); got {line!r}")
            out.append(line[2:] if line.startswith("# ") else line[1:])
        elif mode is None:
            out.append(line)
    if mode is not None:
        raise ValueError(f"a {mode} region is not closed")
    return "\n".join(out)


def step_label(path: Path) -> str:
    """``08_min_target_q.ipynb`` -> ``Step 8``; ``14_15_...`` -> ``Steps 14-15``."""
    nums = [int(n) for n in re.findall(r"^(\d\d)(?:_(\d\d))?_", path.name)[0] if n]
    if not nums:
        return path.stem
    return f"Step {nums[0]}" if len(nums) == 1 else f"Steps {nums[0]}-{nums[1]}"


def nbgrader_metadata(nb: nbformat.NotebookNode, path: Path) -> None:
    """Give every cell nbgrader's metadata: exercise cells are solution cells, check cells are
    locked autograder cells worth points, every other cell is locked (read-only)."""
    prefix = re.sub(r"\W", "_", path.stem)
    for i, cell in enumerate(nb.cells):
        src = cell.source
        meta = {"schema_version": 3, "solution": False, "grade": False, "locked": True,
                "grade_id": f"{prefix}_cell{i:02d}"}
        if cell.cell_type == "code" and BEGIN in src:
            names = [a or b for a, b in DEFINES.findall(src)]
            meta.update(solution=True, locked=False,
                        grade_id=f"{prefix}_{names[0] if names else f'exercise{i:02d}'}")
        elif cell.cell_type == "code" and CHECK_CALL.search(src):
            steps = CHECK_CALL.findall(src)
            meta.update(grade=True, points=POINTS_PER_CHECK * len(steps),
                        grade_id="_".join(steps) + "_check")
        cell.metadata["nbgrader"] = meta


def clean(nb: nbformat.NotebookNode) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)


def _uses(source: str, name: str) -> bool:
    """Does the cell use ``name`` (the learner's definition), not an import or ``module.name``?"""
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("from ", "import ")))
    return re.search(rf"(?<![.\w]){re.escape(name)}\b", code) is not None


def learner_version(solution: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """The notebook a learner starts from: every solution region replaced by the stub."""
    nb = copy.deepcopy(solution)
    label = step_label(path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = [t for t in cell.metadata.get("tags", []) if t != RAISES]
        if HANDOUT_BEGIN in cell.source:  # the learner fixes the handout: no stub, no raise
            cell.source = f"{HANDOUT_MARK}\n{handout(cell.source)}"
        elif BEGIN in cell.source:
            cell.source = strip_solutions(cell.source, label)
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return nb


def cells_expected_to_raise(nb: nbformat.NotebookNode) -> set[int]:
    """The code cells (numbered among code cells, as nbval numbers them) of a learner notebook
    that raise when it is run as handed out: a cell whose stub runs at once (not inside a
    function body), and each later cell that uses a name a stubbed cell defines (its check, its
    picture). The test suite allows exactly these errors, and requires them; the notebook itself
    carries no tag, so Run All stops at the first of them.

    A handout (the bug hunt's buggy listing) runs as handed out; what fails is each later check
    cell that is given a name it defines.
    """
    stubbed: set[str] = set()
    handed_out: set[str] = set()
    raising: set[int] = set()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        # a picture takes the learner's function through checks.for_the_picture, which falls
        # back to the package's until the check passed: that use does not raise
        source = PICTURE_CALL.sub("", cell.source)
        if any(_uses(source, n) for n in stubbed):
            raising.add(i)
        if CHECKS_CALL.search(cell.source) and any(_uses(cell.source, n) for n in handed_out):
            raising.add(i)
        if cell.source.startswith(HANDOUT_MARK):
            handed_out |= {a or b for a, b in DEFINES.findall(cell.source)}
        if STUB_MARK in cell.source and "raise NotImplementedError" in cell.source:
            stubbed |= {a or b for a, b in DEFINES.findall(cell.source)}
            if re.search(r"^raise NotImplementedError", cell.source, re.M):
                raising.add(i)
        if i in raising:  # a cell that raised defined nothing: what uses its names raises too
            stubbed |= {a or b for a, b in DEFINES.findall(cell.source)}
    return raising


def build(solutions: Path, out: Path, check: bool = False) -> list[Path]:
    """Normalise solutions/ and write out/; return the files that changed (or would, with check)."""
    changed: list[Path] = []

    def emit(nb: nbformat.NotebookNode, target: Path) -> None:
        text = nbformat.writes(nb) + "\n"
        if not target.exists() or target.read_text() != text:
            changed.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)

    sources = sorted(solutions.glob("*.ipynb"))
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        clean(nb)
        nbgrader_metadata(nb, path)
        nbformat.validate(nb)
        emit(nb, path)
        emit(learner_version(nb, path), out / path.name)
    wanted = {p.name for p in sources}
    for extra in sorted(out.glob("*.ipynb")):
        if extra.name not in wanted:  # a notebook whose solution was removed or renamed
            changed.append(extra)
            if not check:
                extra.unlink()
    return changed


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--out", type=Path, default=Path("notebooks"))
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if solutions/ or notebooks/ is stale")


def run(args: argparse.Namespace) -> int:
    if not args.solutions.is_dir():
        print(f"No folder {args.solutions}/: run this from the course's top folder.", file=sys.stderr)
        return 2
    changed = build(args.solutions, args.out, check=args.check)
    verb = "stale" if args.check else "written"
    for p in changed:
        print(f"{verb}: {p}")
    if args.check and changed:
        print("Run `td3-teach build-notebooks` and commit the result.", file=sys.stderr)
        return 1
    print(f"{len(changed)} notebook(s) {verb}." if changed else "notebooks/ is up to date.")
    return 0
