"""What the grader runs: the instructor's notebooks read as exercises and checks, a learner's
notebook read and matched to one of them, and the program of the graded run.

Everything is discovered from the instructor's solution notebooks' nbgrader metadata (written by
``td3-teach build-notebooks``): a cell with ``solution: true`` is an exercise, one with
``grade: true`` is a check (its ``checks.stepNN(...)`` calls name the steps), every other code
cell is a locked setup cell. Nothing here is specific to one step.

A learner's cells are matched to the instructor's by ``grade_id``; when the metadata was lost
(the notebook went through another editor), by identical text for locked cells and by the names
an exercise defines (``def step08_min_target_q``) for exercises. Cells the learner added run
where they stand, before the next matched cell. The graded program then takes, in the
instructor's order up to the last check: the instructor's text for setup cells, the learner's
text for exercises (and added cells), and the instructor's text for checks, whatever the learner
did to theirs.

Four notebooks were renamed after classes had them (``steps.RENAMED``): a submission under an old
name is matched as the new notebook (``current_name``), and its cells' old ``grade_id`` prefixes
(``08_min_of_twin_targets_cell00``) are read as the new ones (``08_min_target_q_cell00``), so an
old class's notebooks grade exactly as new ones.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..build_notebooks import BEGIN, DEFINES
from ..steps import RENAMED
from .status import Status

NOTEBOOK_LABEL = re.compile(r"^(\d\d(?:_\d\d)*)_")
MAX_NOTEBOOK_BYTES = 50 << 20
# ``checks.step08(`` or ``checks.agent(``: any lower-case public name of td3_teach.checks (the
# classes CheckPassed / CheckFailed start with a capital and are not checks)
CHECK_CALL = re.compile(r"\bchecks\.([a-z][A-Za-z0-9_]*)\s*\(")
STEP_CHECK = re.compile(r"step(\d\d)")
# the grade_id prefix of each renamed notebook (its stem, as build_notebooks writes it): old -> new
RENAMED_GRADE_IDS = {Path(old).stem + "_": Path(new).stem + "_" for old, new in RENAMED.items()}


def current_name(name: str) -> str:
    """The name a notebook has now: ``08_min_target_q.ipynb`` for ``08_min_of_twin_targets.ipynb``
    (``steps.RENAMED``); any other name as it is."""
    return RENAMED.get(name, name)


def nbgrader_meta(cell) -> dict:
    """A cell's ``metadata.nbgrader`` as a dict, whatever the file holds (missing, ``null``, a
    list...): a learner's malformed metadata is treated as lost metadata, never a crash."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def grade_id(cell) -> str:
    """The cell's nbgrader ``grade_id`` when it is a non-empty string, else ""; a renamed
    notebook's old prefix is given as the new one (``08_min_of_twin_targets_cell00`` ->
    ``08_min_target_q_cell00``)."""
    gid = nbgrader_meta(cell).get("grade_id")
    if not isinstance(gid, str):
        return ""
    for old, new in RENAMED_GRADE_IDS.items():
        if gid.startswith(old):
            return new + gid[len(old):]
    return gid


def check_label(name: str) -> str:
    """How feedback names a check: "Step 8" for ``step08``, "Check `agent`" otherwise."""
    m = STEP_CHECK.fullmatch(name)
    return f"Step {int(m.group(1))}" if m else f"Check `{name}`"


def step_number(name: str) -> int | None:
    """8 for ``step08``; None for a check that is not one TD3 step (``agent``)."""
    m = STEP_CHECK.fullmatch(name)
    return int(m.group(1)) if m else None


@dataclass
class InstructorCell:
    index: int
    kind: str  # "setup" | "exercise" | "check" | "text"
    source: str
    grade_id: str = ""
    names: tuple[str, ...] = ()  # what an exercise defines
    steps: tuple[str, ...] = ()  # the checks a check cell calls: "step08", "agent"...
    points: float = 0.0


@dataclass
class InstructorNotebook:
    path: Path
    cells: list[InstructorCell]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """``08`` for ``08_min_target_q.ipynb``, ``14_15`` for ``14_15_...``."""
        m = NOTEBOOK_LABEL.match(self.name)
        return m.group(1) if m else self.path.stem

    @property
    def steps(self) -> list[str]:
        """The checks this notebook grades, in order (``["step14", "step15"]``)."""
        out: list[str] = []
        for c in self.cells:
            out += [s for s in c.steps if s not in out]
        return out

    @property
    def grade_ids(self) -> set[str]:
        return {c.grade_id for c in self.cells if c.grade_id}

    @property
    def exercises(self) -> list[InstructorCell]:
        return [c for c in self.cells if c.kind == "exercise"]

    def by_grade_id(self, gid: str) -> InstructorCell | None:
        return next((c for c in self.cells if c.grade_id == gid), None)


def defined_names(source: str) -> tuple[str, ...]:
    """Top-level names a cell defines (functions, classes, assignments), in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return tuple(a or b for a, b in DEFINES.findall(source))
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return tuple(names)


def load_instructor(solutions: Path, graded_only: bool = True) -> list[InstructorNotebook]:
    """Every solution notebook that has at least one check cell (with ``graded_only=False``,
    every solution notebook)."""
    out = []
    for path in sorted(solutions.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = []
        for i, cell in enumerate(nb.cells):
            meta = nbgrader_meta(cell)
            src = cell.source
            if cell.cell_type != "code":
                cells.append(InstructorCell(i, "text", src, meta.get("grade_id", "")))
            elif meta.get("solution") or (not meta and BEGIN in src):
                cells.append(InstructorCell(i, "exercise", src, meta.get("grade_id", ""),
                                            names=defined_names(src)))
            elif meta.get("grade") or (not meta and CHECK_CALL.search(src)):
                steps = tuple(dict.fromkeys(CHECK_CALL.findall(src)))
                if not steps:
                    steps = tuple(f"step{s}" for s in STEP_CHECK.findall(meta.get("grade_id", "")))
                cells.append(InstructorCell(i, "check", src, meta.get("grade_id", ""), steps=steps,
                                            points=float(meta.get("points", len(steps)))))
            else:
                cells.append(InstructorCell(i, "setup", src, meta.get("grade_id", "")))
        inb = InstructorNotebook(path, cells)
        if inb.steps or not graded_only:
            out.append(inb)
    return out


# --------------------------------------------------------------------------- learner notebooks
class Unreadable(Exception):
    """A submitted file that cannot be graded: ``status`` is "not JSON" or "not a notebook"."""

    def __init__(self, status: Status, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def read_learner(path: Path) -> nbformat.NotebookNode:
    """The learner's notebook, or ``Unreadable`` saying why not."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise Unreadable(Status.NOT_A_NOTEBOOK, f"the file is {size >> 20} MiB; the grader reads "
                             f"notebooks up to {MAX_NOTEBOOK_BYTES >> 20} MiB")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable(Status.NOT_JSON, "the file is not text (UTF-8): is it really a .ipynb?")
    except OSError as e:
        raise Unreadable(Status.NOT_A_NOTEBOOK, f"the file cannot be read: {e}")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise Unreadable(Status.NOT_JSON, f"the file is not valid JSON ({e}); a notebook saved by "
                         "Jupyter always is. Was it renamed from another format or cut short?")
    old_format = isinstance(data, dict) and data.get("nbformat") == 3 \
        and isinstance(data.get("worksheets"), list)  # Jupyter < 4 (IPython 2): nbformat converts it
    if not isinstance(data, dict) or not (isinstance(data.get("cells"), list) or old_format):
        raise Unreadable(Status.NOT_A_NOTEBOOK, "the file is JSON but has no list of cells: it is not "
                         "a Jupyter notebook.")
    try:
        nb = nbformat.reads(text, as_version=4)
        for cell in nb.cells:
            if not isinstance(cell.get("metadata"), dict):
                cell["metadata"] = nbformat.NotebookNode()
            if "nbgrader" in cell.metadata and not isinstance(cell.metadata["nbgrader"], dict):
                del cell.metadata["nbgrader"]  # "nbgrader": null, a list...: metadata lost
            if cell.cell_type == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
            if not isinstance(cell.source, str):
                raise ValueError("a cell's source is not text")
    except Exception as e:  # nbformat's own errors vary by version
        raise Unreadable(Status.NOT_A_NOTEBOOK, f"nbformat cannot read it: {str(e)[:200]}")
    return nb


def match_notebook(name: str, nb: nbformat.NotebookNode | None,
                   instructors: list[InstructorNotebook]) -> InstructorNotebook | None:
    """Which instructor notebook a submission is: by file name (an old name, ``steps.RENAMED``,
    as the new one), by nbgrader grade_ids, by the leading number (``08_...``), then by the
    checks it calls and the names it defines."""
    name = current_name(name)
    for inb in instructors:
        if inb.name == name:
            return inb
    if nb is not None:
        gids = {grade_id(c) for c in nb.cells} - {""}
        best = max(instructors, key=lambda i: len(i.grade_ids & gids), default=None)
        if best is not None and best.grade_ids & gids:
            return best
    m = NOTEBOOK_LABEL.match(name)
    if m:
        for inb in instructors:
            if inb.label == m.group(1):
                return inb
    if nb is not None:
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        steps = set(CHECK_CALL.findall(text))
        names = set(re.findall(r"^(?:def|class)\s+(\w+)", text, re.M))
        for inb in instructors:
            if steps & set(inb.steps) or names & {n for e in inb.exercises for n in e.names}:
                return inb
    return None


@dataclass
class Program:
    """The graded run's cells, in order, and what the grader noticed while matching."""

    items: list[dict]
    notes: list[str] = field(default_factory=list)
    edited_locked: list[int] = field(default_factory=list)  # learner cell numbers (1-based)


def _norm(s: str) -> str:
    return "\n".join(line.rstrip() for line in s.strip().splitlines())


def build_program(inb: InstructorNotebook, nb: nbformat.NotebookNode) -> Program:
    """Match the learner's cells to the instructor's and lay out the graded run."""
    prog = Program([])
    anchor: dict[int, int] = {}  # learner cell index -> instructor cell index
    learner = [(j, c) for j, c in enumerate(nb.cells) if c.cell_type == "code"]
    taken: set[int] = set()
    for j, c in learner:  # 1. nbgrader grade_id
        gid = grade_id(c)
        ic = inb.by_grade_id(gid) if gid else None
        if ic is not None and ic.kind != "text" and ic.index not in taken:
            anchor[j] = ic.index
            if ic.kind != "exercise":
                taken.add(ic.index)
                if _norm(c.source) != _norm(ic.source):
                    prog.edited_locked.append(j + 1)
    locked = {_norm(ic.source): ic.index for ic in inb.cells if ic.kind in ("setup", "check")}
    for j, c in learner:  # 2. a locked cell's exact text
        if j not in anchor and _norm(c.source) in locked and locked[_norm(c.source)] not in taken:
            anchor[j] = locked[_norm(c.source)]
            taken.add(anchor[j])
    for ex in inb.exercises:  # 3. an exercise's names: the last cell that defines them
        if ex.index in anchor.values():
            continue
        candidates = [j for j, c in learner if j not in anchor and ex.names
                      and set(ex.names) <= set(defined_names(c.source))]
        if candidates:
            anchor[candidates[-1]] = ex.index
            prog.notes.append(f"Cell {candidates[-1] + 1} was taken as your exercise "
                              f"`{ex.names[0]}` (it had lost its nbgrader metadata).")
    # exercises matched by grade_id more than once (a copied cell): the last copy is the one
    seen: dict[int, int] = {}
    for j in sorted(anchor):
        i = anchor[j]
        if i in seen and inb.cells[i].kind == "exercise":
            del anchor[seen[i]]
        seen[i] = j

    extras: dict[int, list[int]] = {}  # instructor index -> learner cells run just before it
    pending: list[int] = []
    for j, c in learner:
        if j in anchor:
            extras.setdefault(anchor[j], []).extend(pending)
            pending = []
        elif c.source.strip():
            pending.append(j)
            if _calls_check(inb, c.source):
                prog.notes.append(f"Cell {j + 1} calls a check itself: the grader ran the rest of "
                                  "that cell, and its own checks at the notebook's check cells.")
    by_instructor = {i: j for j, i in anchor.items()}
    last_check = max((c.index for c in inb.cells if c.kind == "check"), default=-1)
    for ic in inb.cells:
        if ic.index > last_check:
            break
        for j in extras.get(ic.index, []):
            prog.items.append({"kind": "extra", "origin": "learner", "cell": j + 1,
                               "source": nb.cells[j].source})
        if ic.kind == "setup":
            prog.items.append({"kind": "setup", "origin": "instructor", "cell": ic.index + 1,
                               "source": ic.source})
        elif ic.kind == "exercise":
            mine = by_instructor.get(ic.index)
            if mine is None:
                prog.items.append({"kind": "missing", "origin": "instructor", "cell": ic.index + 1,
                                   "names": list(ic.names)})
                prog.notes.append(f"No exercise cell for `{ic.names[0] if ic.names else ic.grade_id}`"
                                  " was found in your notebook.")
            else:
                prog.items.append({"kind": "exercise", "origin": "learner", "cell": mine + 1,
                                   "source": nb.cells[mine].source})
        elif ic.kind == "check":
            prog.items.append({"kind": "check", "origin": "instructor", "cell": ic.index + 1,
                               "source": ic.source, "steps": list(ic.steps)})
    if prog.edited_locked:
        cells = ", ".join(str(j) for j in prog.edited_locked)
        prog.notes.append(f"You changed locked cell(s) {cells}; the grader ran the original text.")
    return prog


def _calls_check(inb: InstructorNotebook, source: str) -> bool:
    return bool(set(CHECK_CALL.findall(source)) & set(inb.steps))


def check_cells(inb: InstructorNotebook, nb: nbformat.NotebookNode) -> set[int]:
    """The learner's cells (0-based) that are check cells: an error there is a failed check,
    not a broken notebook."""
    out = set()
    check_ids = {c.grade_id for c in inb.cells if c.kind == "check"}
    for j, c in enumerate(nb.cells):
        if c.cell_type == "code" and (grade_id(c) in check_ids or _calls_check(inb, c.source)):
            out.add(j)
    return out
