"""``td3-teach grade`` on an adversarial class (issue 16): one learner per case, from
tests/grading_fixtures/adversarial/ (make_fixtures.py) plus a few made at test time (a folder
name that is not UTF-8, a data file over the copy limit). Each grades to what the learner
deserves, the honest controls keep full marks, nothing outlives the run and nothing is written
outside it. Then the containment of the results folder, and the options and one-line errors."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from td3_teach import cli
from td3_teach.grading.sandbox import bwrap

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "grading_fixtures"
sys.path.insert(0, str(FIXTURES))
from make_fixtures import (ADVERSARIAL, CONTROL, DAEMON_MARK, EXPECTED_ADVERSARIAL, NAME,  # noqa: E402
                           SPAWN_ESCAPE, TORCH_ESCAPE)

SOLUTIONS = ROOT / "solutions"
ODD_NAME = os.fsdecode(b"caf\xe9_latin1")  # a folder name that is not UTF-8
EXPECTED = {**EXPECTED_ADVERSARIAL, ODD_NAME: (1, "ok"), "big_data_file": (1, "ok")}
FAST = ["--timeout-cell", "20", "--timeout-notebook", "120", "--memory-mb", "3072", "--quiet"]


def _marked_processes() -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if DAEMON_MARK.encode() in (d / "cmdline").read_bytes():
                    out.append(int(d.name))
            except OSError:
                pass
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    for f in (SPAWN_ESCAPE, TORCH_ESCAPE):
        Path(f).unlink(missing_ok=True)
    subs = tmp_path_factory.mktemp("adversarial") / "submissions"
    shutil.copytree(ADVERSARIAL, subs)
    shutil.copytree(ADVERSARIAL / CONTROL, subs / ODD_NAME)
    shutil.copytree(ADVERSARIAL / CONTROL, subs / "big_data_file")
    with open(subs / "big_data_file" / "data.bin", "wb") as f:  # sparse: costs no disk
        f.truncate(201 << 20)
    out = tmp_path_factory.mktemp("results") / "out"
    code = cli.main(["grade", str(subs), "--out", str(out), "--solutions", str(SOLUTIONS),
                     "--jobs", "2", *FAST])
    assert code == 0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {r["learner"]: r for r in csv.DictReader(f)}
    return out, rows


def _shown(learner: str) -> str:
    return os.fsencode(learner).decode("utf-8", "backslashreplace")


def _feedback(out: Path, learner: str) -> str:
    shown = _shown(learner)
    files = [p for p in (out / "feedback").iterdir()
             if p.read_text(encoding="utf-8").startswith(f"# Feedback for {shown}\n")]
    assert len(files) == 1, f"{shown}: {len(files)} feedback files"
    return files[0].read_text(encoding="utf-8")


# Cases only the OS sandbox stops (the in-process guards cannot: a spawned process starts
# without them); where bubblewrap is missing the grader says so in its summary (README, Limits).
NEEDS_SANDBOX = {"spawn_reads_solutions"}


@pytest.mark.parametrize("learner", sorted(EXPECTED))
def test_each_learner_gets_what_they_deserve(graded, learner):
    if learner in NEEDS_SANDBOX and bwrap() is None:
        pytest.skip("bubblewrap is not installed or does not work here; only it stops this case")
    out, rows = graded
    points, status = EXPECTED[learner]
    row = rows[_shown(learner)]
    assert (row["step08"], row["status"]) == (str(points), status), _feedback(out, learner)


FEEDBACK = {
    "ref_partial": ["package's own reference"],
    "ref_function_clone": ["package's own reference"],
    "ref_code_replace": ["package's own reference"],
    "ref_eval_lambda": ["uses the package's reference", "step08_min_target_q"],
    "ref_stack_inspect": ["uses the package's reference", "step08_min_target_q"],
    "helper_cell_calls_check": ["calls a check itself"],
    "big_data_file": ["data.bin (201 MiB) was not copied"],
    "nbformat3": ["Step 8 ✓ 1 / 1"],
}


@pytest.mark.parametrize("learner", sorted(FEEDBACK))
def test_feedback_says_what_happened(graded, learner):
    out, _ = graded
    text = _feedback(out, learner)
    for phrase in FEEDBACK[learner]:
        assert phrase in text, text


def test_names_that_collapse_to_one_file_name_stay_apart(graded):
    out, rows = graded
    assert rows["a b"]["step08"] == "1" and rows["a_b"]["step08"] == "0"
    names = sorted(p.name for p in (out / "feedback").iterdir())
    assert len(names) == len(set(names)) == len(EXPECTED)
    assert "a_b.md" in names and any(n.startswith("a_b-") for n in names)
    assert all(n.isascii() for n in names)


@pytest.mark.skipif(bwrap() is None, reason="bubblewrap is not installed or does not work here")
def test_nothing_outlives_the_run_and_nothing_is_written_outside(graded):
    assert _marked_processes() == []
    assert not Path(SPAWN_ESCAPE).exists()
    assert not Path(TORCH_ESCAPE).exists()


def test_summary_names_the_sandbox(graded):
    out, _ = graded
    summary = json.loads((out / "summary.json").read_text())
    assert summary["learners"] == len(EXPECTED)
    assert summary["sandbox"].startswith("no OS sandbox") == (bwrap() is None), summary["sandbox"]


# --------------------------------------------------------------------------- the results folder
def _grade(subs: Path, out: Path, *extra: str) -> int:
    return cli.main(["grade", str(subs), "--out", str(out), "--solutions", str(SOLUTIONS),
                     "--jobs", "1", *FAST, *extra])


def test_a_rerun_replaces_the_results_whole(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, learner in ((first, "old_learner"), (second, "new_learner")):
        folder.mkdir()
        (folder / f"{learner}__{NAME}").write_text("not JSON")  # graded without running
    out = tmp_path / "out"
    assert _grade(first, out) == 0
    assert _grade(second, out) == 0
    assert sorted(p.name for p in (out / "feedback").iterdir()) == ["new_learner.md"]
    assert "old_learner" not in (out / "gradebook.csv").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_an_out_folder_with_other_files_is_refused_and_left_alone(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f"x__{NAME}").write_text("not JSON")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "lecture.pdf").write_text("precious")
    assert _grade(subs, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lecture.pdf" in err and "Fix:" in err
    assert (out / "lecture.pdf").read_text() == "precious"


# --------------------------------------------------------------------------- options and errors
BAD_OPTIONS = {
    "--timeout-cell -1": (["--timeout-cell", "-1"], "--timeout-cell"),
    "--timeout-cell 0": (["--timeout-cell", "0"], "--timeout-cell"),
    "--timeout-notebook 0": (["--timeout-notebook", "0"], "--timeout-notebook"),
    "--memory-mb 1": (["--memory-mb", "1"], "--memory-mb"),
    "--jobs 0": (["--jobs", "0"], "--jobs"),
    "--timeout-cell abc": (["--timeout-cell", "abc"], "--timeout-cell"),  # argparse's own error
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_are_refused_in_one_line(tmp_path, capsys, case):
    argv, named = BAD_OPTIONS[case]
    (tmp_path / "subs").mkdir()
    try:
        code = cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                         "--solutions", str(SOLUTIONS), *argv])
    except SystemExit as e:  # argparse's own errors exit
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert named in err and "Fix:" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("content, named", [
    ("[points]\nstep08 = \n", "not valid TOML"),
    ("[points]\nstep08 = 'two'\n", "is not a number of points"),
    ("[hidden]\nseeds = 3\n", "not a list of seeds"),
    (None, "no such file"),
])
def test_a_bad_points_file_is_one_line(tmp_path, capsys, content, named):
    points = tmp_path / "points.toml"
    if content is not None:
        points.write_text(content)
    (tmp_path / "subs").mkdir()
    code = cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--solutions", str(SOLUTIONS), "--points", str(points)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and named in err, err


def test_an_unwritable_out_is_one_line(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / f"x__{NAME}").write_text("not JSON")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["grade", str(tmp_path / "subs"), "--out", str(blocker / "out"),
                     "--solutions", str(SOLUTIONS)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--out" in err, err


@pytest.mark.parametrize("argv, named", [
    (["train", "--steps", "0"], "steps must be at least 1"),
    (["train", "--eval-every", "0"], "eval_every must be at least 1"),
    (["evaluate", "/nonexistent/run"], "/nonexistent/run"),
    (["watch", "/nonexistent/run"], "/nonexistent/run"),
])
def test_train_evaluate_watch_errors_are_one_line(capsys, tmp_path, monkeypatch, argv, named):
    monkeypatch.chdir(tmp_path)
    code = cli.main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0 and named in err and len(err.splitlines()) == 1, err


# --------------------------------------------------------------------------- the package's helpers
from make_fixtures import EXPECTED_HELPERS, HELPERS  # noqa: E402


@pytest.mark.parametrize("notebook", sorted(EXPECTED_HELPERS))
def test_calling_the_packages_helper_earns_nothing_and_honest_code_full_marks(tmp_path, notebook):
    subs = HELPERS / notebook.split("_")[0]
    out = tmp_path / "out"
    assert cli.main(["grade", str(subs), "--out", str(out), "--solutions", str(SOLUTIONS),
                     "--jobs", "2", *FAST]) == 0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {r["learner"]: r for r in csv.DictReader(f)}
    for learner, points in EXPECTED_HELPERS[notebook].items():
        got = {check: int(float(rows[learner][check])) for check in points}
        text = (out / "feedback" / f"{learner}.md").read_text()
        assert got == points, text
        if not all(points.values()):
            assert "uses the package's reference" in text, text


# --------------------------------------------------------------------------- the walls, one by one
WALLS_SCRIPT = r"""
import json, os, socket, sys
def attempt(fn):
    try:
        fn()
        return "allowed"
    except OSError as e:
        return type(e).__name__
out = {
    "list solutions": attempt(lambda: os.listdir(SOLUTIONS) and None),
    "read points": attempt(lambda: open(POINTS).read() or None),
    "points is empty": open(POINTS).read() == "" if os.path.exists(POINTS) else True,
    "write the course": attempt(lambda: open(os.path.join(COURSE, "x.txt"), "w").close()),
    "write host tmp": attempt(lambda: open(HOST_TMP, "w").close()),
    "write box": attempt(lambda: open(os.path.join(BOX, "ok.txt"), "w").close()),
    "fill the disk": attempt(lambda: open(os.path.join(BOX, "big"), "wb").write(b"x" * (80 << 20))),
    "network": attempt(lambda: socket.create_connection(("1.1.1.1", 80), timeout=2)),
    "host processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
    "import td3_teach": attempt(lambda: __import__("td3_teach.checks") and None),
}
print(json.dumps(out))
"""


@pytest.mark.skipif(bwrap() is None, reason="bubblewrap is not installed or does not work here")
def test_bubblewrap_shows_only_the_submission_writable_and_hides_the_course(tmp_path):
    import subprocess

    from td3_teach.grading.sandbox import bwrap_command
    root = tmp_path / "sandbox"
    for d in ("box", "private", "seed"):
        (root / d).mkdir(parents=True)
    points = tmp_path / "points.toml"
    points.write_text("[hidden]\nseeds = [424242]\n")
    host_tmp = tmp_path / "escaped.txt"
    code = (f"SOLUTIONS, POINTS, COURSE = {str(SOLUTIONS)!r}, {str(points)!r}, {str(ROOT)!r}\n"
            f"HOST_TMP, BOX = {str(host_tmp)!r}, {str(root / 'box')!r}\n"
            f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + WALLS_SCRIPT)
    cmd = bwrap_command(root, [str(SOLUTIONS), str(points)], disk_mb=64)
    run = subprocess.run(cmd + ["--", sys.executable, "-I", "-c", code], capture_output=True,
                         text=True, timeout=120)
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["list solutions"] != "allowed" and got["read points"] != "allowed" \
        or got["points is empty"], got
    if str(ROOT).startswith("/tmp/"):  # a course under /tmp: a write there lands in the
        assert not (ROOT / "x.txt").exists(), got  # sandbox's own /tmp, never in the course
    else:
        assert got["write the course"] == "OSError", got
    assert got["write host tmp"] == "allowed", got
    assert not host_tmp.exists()  # the sandbox's /tmp is its own
    assert got["write box"] == "allowed" and got["fill the disk"] == "OSError", got
    assert got["network"] != "allowed" and got["host processes"] < 5, got
    assert got["import td3_teach"] == "allowed", got


def test_without_bubblewrap_the_judge_still_decides(tmp_path, monkeypatch):
    """Where bubblewrap is missing the grader says so, and probe-then-judge still holds: the
    forged check earns nothing, the honest control keeps its point."""
    from td3_teach.grading import sandbox as grading_sandbox
    monkeypatch.setitem(grading_sandbox._BWRAP, "path", None)
    subs = tmp_path / "subs"
    for learner in (CONTROL, "frame_walk_patch"):
        shutil.copytree(ADVERSARIAL / learner, subs / learner)
    out = tmp_path / "out"
    assert _grade(subs, out) == 0
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = {r["learner"]: r["step08"] for r in csv.DictReader(f)}
    assert rows == {CONTROL: "1", "frame_walk_patch": "0"}
    assert "no OS sandbox" in json.loads((out / "summary.json").read_text())["sandbox"]


def test_hidden_seeds_never_reach_the_learners_process(tmp_path):
    """A cell that walks the stack for the grader's job and raises what it finds into its own
    feedback finds no hidden seed: for a notebook whose checks are all judged outside, the seeds
    of the private --points file are only ever in the judge."""
    subs = tmp_path / "subs"
    shutil.copytree(ADVERSARIAL / "frame_walk_seeds", subs / "frame_walk_seeds")
    points = tmp_path / "private_points.toml"
    points.write_text("[hidden]\nseeds = [424242, 515151]\n")
    out = tmp_path / "out"
    assert _grade(subs, out, "--points", str(points)) == 0
    text = (out / "feedback" / "frame_walk_seeds.md").read_text()
    assert "raised RuntimeError: seeds:" in text, text  # the walk ran
    assert "424242" not in text and "515151" not in text, text
    assert "Step 8 ✓ 1 / 1" in text
