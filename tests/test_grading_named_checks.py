"""The checks that are not one step (notebook 16's whole agent) are graded too, with their points,
and handing the package's TD3 to them earns nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from td3_teach.cli import main

ROOT = Path(__file__).resolve().parents[1]
NAME = "16_your_td3.ipynb"


def test_the_whole_agent_check_is_graded_and_the_packages_td3_earns_nothing(tmp_path):
    subs = tmp_path / "submissions"
    (subs / "honest").mkdir(parents=True)
    (subs / "passes_td3_through").mkdir()
    (subs / "honest" / NAME).write_bytes((ROOT / "solutions" / NAME).read_bytes())
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    exercise = next(c for c in nb.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    exercise.source = "import td3_teach\nMyTD3 = td3_teach.TD3\n"
    nbformat.write(nb, subs / "passes_td3_through" / NAME)

    assert main(["grade", str(subs), "--out", str(tmp_path / "out"),
                 "--solutions", str(ROOT / "solutions"), "--jobs", "1"]) == 0

    rows = {r["learner"]: r for r in csv.DictReader(open(tmp_path / "out" / "gradebook.csv"))}
    assert float(rows["honest"]["agent"]) == 5  # grading_points.toml: agent = 5
    assert float(rows["passes_td3_through"]["agent"]) == 0
    feedback = (tmp_path / "out" / "feedback" / "passes_td3_through.md").read_text()
    assert "package's own reference" in feedback
