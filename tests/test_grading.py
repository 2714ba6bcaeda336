"""``td3-teach grade``: one grading run over tests/grading_fixtures/submissions/ (one learner per
way a submission can go wrong, made by make_fixtures.py from the real step-8 notebooks) gives the
right gradebook and feedback; then the pieces on their own (layouts, points, cell matching, the
guard, the tamper snapshot) and nbgrader's acceptance of a solution notebook.

The fixtures carry notebook 08's old name, NAME (08_min_of_twin_targets.ipynb, and its old
grade_ids): the gradebook and feedback name it by its current name, CURRENT (08_min_target_q.ipynb)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from td3_teach import cli
from td3_teach.grading import Points, discover
from td3_teach.grading.plan import build_program, load_instructor

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "grading_fixtures"
sys.path.insert(0, str(FIXTURES))
from make_fixtures import CURRENT, ESCAPE, EXPECTED, NAME, NOT_JSON  # noqa: E402

SOLUTIONS = ROOT / "solutions"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One real grading run over the mixed folder (small timeouts and memory: bad submissions
    must fail fast, and a correct one must still pass within them)."""
    out = tmp_path_factory.mktemp("results")
    submissions = tmp_path_factory.mktemp("graded") / "submissions"
    shutil.copytree(FIXTURES / "submissions", submissions)
    for rel, text in NOT_JSON.items():
        (submissions / rel).write_text(text)
    Path(ESCAPE).unlink(missing_ok=True)
    code = cli.main(["grade", str(submissions), "--out", str(out), "--solutions",
                     str(SOLUTIONS), "--jobs", "2", "--timeout-cell", "5",
                     "--timeout-notebook", "90", "--memory-mb", "3072", "--quiet"])
    assert code == 0
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return out, {r["learner"]: r for r in rows}, rows


def feedback(out: Path, learner: str) -> str:
    return (out / "feedback" / f"{learner}.md").read_text()


def test_gradebook_has_a_row_per_learner_and_a_column_per_step(graded):
    out, by_learner, rows = graded
    assert list(rows[0]) == ["learner", "step08", "total", "status"]
    assert sorted(by_learner) == sorted(EXPECTED)


@pytest.mark.parametrize("learner", sorted(EXPECTED))
def test_gradebook_points_and_status(graded, learner):
    out, by_learner, _ = graded
    points, status = EXPECTED[learner]
    row = by_learner[learner]
    assert (row["step08"], row["total"], row["status"]) == (str(points), str(points), status), \
        feedback(out, learner)


FEEDBACK = {
    "alice_correct": ["Step 8 ✓ 1 / 1", f"| {CURRENT} | {NAME} | ok | 1 / 1 |"],
    "bob_partial": ["batch of one", "hidden test", "Hint:"],
    "carol_lost_metadata": ["lost its nbgrader metadata"],
    "dan_edited_check": ["LARGER", "Hint:", "changed locked cell"],
    "erin_monkeypatch": ["tampered", "td3_teach.checks.step08 was changed"],
    "gina_syntax_error": ["SyntaxError", "could not start"],
    "hank_early_exception": ["ZeroDivisionError"],
    "ivy_infinite_loop": ["ran longer than 5"],
    "jack_os_exit": ["kernel died while running cell", "process died"],
    "kim_segfault": ["kernel died while running cell 8"],
    "leo_not_json": ["not valid JSON"],
    "mia_not_a_notebook": ["no list of cells"],
    "olga_writes_outside": [f"refused writing {ESCAPE}"],
    "pete_reads_solutions": [f"refused opening {SOLUTIONS}/{CURRENT}"],
    "quinn_memory_hog": ["can't allocate memory"],
    "rita_no_notebook": [f"did not submit {CURRENT}", "No .ipynb file"],
    "sam_uses_reference": ["uses the package's reference", "step08_min_target_q"],
}


@pytest.mark.parametrize("learner", sorted(FEEDBACK))
def test_feedback_says_what_went_wrong(graded, learner):
    out, _, _ = graded
    text = feedback(out, learner)
    for phrase in FEEDBACK[learner]:
        assert phrase in text, text


def test_code_that_writes_outside_its_folder_leaves_nothing_behind(graded):
    assert not Path(ESCAPE).exists()


def test_huge_output_is_capped_in_the_executed_notebook(graded):
    out, _, _ = graded
    executed = out / "executed" / "ned_huge_output" / CURRENT
    assert executed.stat().st_size < 600_000  # the cell printed 5 MB
    assert "output truncated" in executed.read_text()


def test_summary_counts_learners_mean_and_most_failed_step(graded):
    out, _, _ = graded
    summary = json.loads((out / "summary.json").read_text())
    passed = sum(p for p, _ in EXPECTED.values())
    assert summary["learners"] == len(EXPECTED)
    assert summary["mean_score"] == pytest.approx(passed / len(EXPECTED), abs=1e-3)
    assert summary["most_failed_step"] == 8
    assert summary["failed_by_step"] == {"step08": len(EXPECTED) - passed}


def test_a_notebook_under_its_old_name_grades_as_under_its_new_one(tmp_path):
    """A class handed notebook 08 before it was renamed (the fixtures: NAME, old grade_ids) and a
    class handed it after (CURRENT, new grade_ids) get the same grade: same points, status and
    feedback, under the new name. A passing and a failing learner, each submitted both ways."""
    subs, out = tmp_path / "subs", tmp_path / "out"
    old_prefix, new_prefix = Path(NAME).stem + "_", Path(CURRENT).stem + "_"
    fixtures = {"alice": FIXTURES / "submissions" / "alice_correct" / NAME,
                "bob": FIXTURES / "submissions" / f"bob_partial__{NAME}"}
    for learner, fixture in fixtures.items():
        text = fixture.read_text()
        assert f'"grade_id": "{old_prefix}' in text  # the fixture is an old class's file
        (subs / f"old_{learner}").mkdir(parents=True)
        (subs / f"old_{learner}" / NAME).write_text(text)
        (subs / f"new_{learner}").mkdir()
        (subs / f"new_{learner}" / CURRENT).write_text(text.replace(f'"{old_prefix}', f'"{new_prefix}'))
    # alice's old-named file with a newer copy of bob's answer beside it: the old name counts as
    # the notebook's own name, so it is graded and the copy is not (as with the new name)
    (subs / "old_with_copy").mkdir()
    (subs / "old_with_copy" / NAME).write_text(fixtures["alice"].read_text())
    copy = subs / "old_with_copy" / (Path(CURRENT).stem + "-Copy1.ipynb")
    copy.write_text(fixtures["bob"].read_text())
    os.utime(copy, (time.time() + 60, time.time() + 60))
    assert cli.main(["grade", str(subs), "--out", str(out), "--solutions", str(SOLUTIONS),
                     "--jobs", "2", "--timeout-cell", "5", "--timeout-notebook", "90",
                     "--memory-mb", "3072", "--quiet"]) == 0
    with open(out / "gradebook.csv", newline="") as f:
        rows = {r.pop("learner"): r for r in csv.DictReader(f)}
    assert rows["new_alice"] == rows["old_alice"] == {"step08": "1", "total": "1", "status": "ok"}
    assert rows["new_bob"] == rows["old_bob"] == {"step08": "0", "total": "0", "status": "ok"}
    assert rows["old_with_copy"] == rows["old_alice"]
    for learner in fixtures:
        old, new = feedback(out, f"old_{learner}"), feedback(out, f"new_{learner}")
        assert f"| {CURRENT} | {NAME} |" in old and f"| {CURRENT} | {CURRENT} |" in new
        assert "lost its nbgrader metadata" not in old  # the old grade_ids matched the new cells
        assert old.replace(f"old_{learner}", "LEARNER").replace(f"| {NAME} |", f"| {CURRENT} |") \
            == new.replace(f"new_{learner}", "LEARNER"), (old, new)
    assert json.loads((out / "summary.json").read_text())["notebooks"] == [CURRENT]


# --------------------------------------------------------------------------- the pieces
def test_discover_accepts_the_three_layouts(tmp_path):
    (tmp_path / "ann" / "week1").mkdir(parents=True)
    (tmp_path / "ann" / "week1" / NAME).write_text("{}")
    (tmp_path / "ann" / "helpers.py").write_text("x = 1\n")
    (tmp_path / f"ben__{NAME}").write_text("{}")
    (tmp_path / NAME).write_text("{}")
    (tmp_path / "notes.pdf").write_text("")
    learners, warnings = discover(tmp_path)
    assert sorted(learners) == ["08_min_of_twin_targets", "ann", "ben"]
    ann = learners["ann"][0]
    assert ann.name == NAME and ann.rel == Path("week1") / NAME
    assert {rel for _, rel in ann.files} == {Path("week1") / NAME, Path("helpers.py")}
    assert learners["ben"][0].name == NAME
    assert any("notes.pdf" in w for w in warnings) and any("no `<learner>__`" in w for w in warnings)


def test_points_file_overrides_the_defaults_key_by_key(tmp_path):
    default = Points.load()
    assert default.of(8) == 1 and default.of(13) == 2 and default.seeds == [1, 2, 3]
    mine = tmp_path / "points.toml"
    mine.write_text("[points]\nstep08 = 5\n\n[hidden]\nseeds = [11, 12]\n")
    pts = Points.load(mine)
    assert pts.of(8) == 5 and pts.of(13) == 2 and pts.of(9) == 1 and pts.seeds == [11, 12]


def _learner_nb(**replace: str) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "notebooks" / CURRENT, as_version=4)
    for cell in nb.cells:
        for old, new in replace.items():
            cell.source = cell.source.replace(old, new)
    return nb


def test_program_runs_the_instructors_check_not_the_learners_edit():
    inb = next(i for i in load_instructor(SOLUTIONS) if i.name == CURRENT)
    check = "checks.step08(step08_min_target_q, step08_prediction)"
    nb = _learner_nb(**{check: 'print("passed")'})
    prog = build_program(inb, nb)
    kinds = [i["kind"] for i in prog.items]
    assert kinds == ["setup", "exercise", "exercise", "check"]  # the function, the prediction
    assert prog.items[-1]["source"] == check
    assert prog.edited_locked == [7]


def test_program_matches_cells_by_name_when_metadata_is_lost_and_keeps_added_cells():
    inb = next(i for i in load_instructor(SOLUTIONS) if i.name == CURRENT)
    nb = _learner_nb()
    for c in nb.cells:
        c.metadata = {}
    nb.cells.insert(3, nbformat.v4.new_code_cell("helper = 2"))  # added before the exercise
    prog = build_program(inb, nb)
    assert [(i["kind"], i["cell"]) for i in prog.items] == \
        [("setup", 2), ("extra", 4), ("exercise", 5), ("exercise", 7), ("check", 7)]
    assert any("lost its nbgrader metadata" in n for n in prog.notes)


GUARD_SCRIPT = """
import importlib.util, json, os, subprocess, sys
spec = importlib.util.spec_from_file_location("guard", {module!r})
guard = sys.modules["guard"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(guard)
seen = []
guard.install_guard([{box!r}], [{secret!r}], seen.append, strict=True)
def attempt(what, fn):
    try:
        fn(); return what + ": allowed"
    except PermissionError:
        return what + ": refused"
print(json.dumps([
    attempt("write inside", lambda: open(os.path.join({box!r}, "ok.txt"), "w").write("x")),
    attempt("write outside", lambda: open({outside!r}, "w").write("x")),
    attempt("read secret", lambda: open(os.path.join({secret!r}, "answer.txt")).read()),
    attempt("list secret", lambda: os.listdir({secret!r})),
    attempt("read elsewhere", lambda: open({module!r}).read()),
    attempt("rename out", lambda: os.rename(os.path.join({box!r}, "ok.txt"), {outside!r})),
    attempt("subprocess", lambda: subprocess.run(["true"])),
    attempt("ctypes", lambda: __import__("ctypes").string_at(0)),
    attempt("settrace", lambda: sys.settrace(None)),
    [v["kind"] for v in seen],
]))
"""


def test_guard_refuses_the_solutions_writes_outside_processes_and_ctypes(tmp_path):
    box, secret = tmp_path / "box", tmp_path / "secret"
    box.mkdir()
    secret.mkdir()
    (secret / "answer.txt").write_text("42")
    outside = tmp_path / "escaped.txt"
    script = GUARD_SCRIPT.format(module=str(ROOT / "td3_teach" / "grading" / "guard.py"),
                                 box=str(box), secret=str(secret), outside=str(outside))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60)
    *results, kinds = json.loads(out.stdout)
    assert results == ["write inside: allowed", "write outside: refused", "read secret: refused",
                       "list secret: refused", "read elsewhere: allowed", "rename out: refused",
                       "subprocess: refused", "ctypes: refused", "settrace: refused"]
    assert kinds.count("forbidden file access") == 4 and kinds.count("forbidden system access") == 3
    assert not outside.exists()


def test_snapshot_sees_a_monkeypatched_check_torch_function_or_tensor_subclass():
    import torch

    from td3_teach import checks
    from td3_teach.grading.snapshot import Snapshot, _import_checks, _settle_torch
    _import_checks()
    _settle_torch()
    snap = Snapshot()
    assert snap.changes() == []
    original = checks.step08
    checks.step08 = lambda *a, **k: "passed"
    try:
        assert snap.changes() == ["td3_teach.checks.step08 was changed"]
    finally:
        checks.step08 = original
    allclose = torch.allclose
    torch.allclose = lambda *a, **k: True
    try:
        assert snap.changes() == ["torch.allclose was changed"]
    finally:
        torch.allclose = allclose
    inner = checks.step08.__wrapped__  # the check inside its guard (checks/_guard.py)
    code = inner.__code__
    inner.__code__ = (lambda step08_min_target_q, seed=0: None).__code__
    try:
        assert any("step08" in c for c in snap.changes())
    finally:
        inner.__code__ = code
    assert snap.changes() == []

    class Cheat(torch.Tensor):  # a learner's tensor subclass, e.g. to fake torch.allclose
        pass
    assert snap.changes() == ["tensor subclass Cheat defined by the notebook"]


# --------------------------------------------------------------------------- nbgrader
@pytest.mark.skipif(importlib.util.find_spec("nbgrader") is None and shutil.which("nbgrader") is None,
                    reason="nbgrader is not installed (it is not a dependency): install it, or put "
                    "a venv's bin/ with nbgrader on PATH, to run this")
def test_nbgrader_generate_assignment_accepts_a_solution_notebook(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "step08").mkdir(parents=True)
    shutil.copyfile(SOLUTIONS / CURRENT, course / "source" / "step08" / CURRENT)
    (course / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
        c = get_config()
        c.CourseDirectory.course_id = "td3-teach"
        c.CourseDirectory.db_url = "sqlite:///{course / 'gradebook.db'}"
        """))
    exe = shutil.which("nbgrader")
    cmd = [exe] if exe else [sys.executable, "-m", "nbgrader"]
    bindir = str(Path(exe).parent) if exe else str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")  # it runs `alembic` from there
    run = subprocess.run(cmd + ["generate_assignment", "step08", "--create", "--force"],
                         cwd=course, capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    released = nbformat.read(course / "release" / "step08" / CURRENT, as_version=4)
    sources = "\n".join(c.source for c in released.cells)
    assert "torch.min(q1_next, q2_next)" not in sources  # the solution was stripped
    check = next(c for c in released.cells if c.metadata["nbgrader"].get("grade"))
    assert check.source == "checks.step08(step08_min_target_q)"
    assert check.metadata["nbgrader"]["points"] == 1 and check.metadata["nbgrader"]["locked"]
