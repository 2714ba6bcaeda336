"""The 15 steps are listed once, in td3_teach.steps.STEPS; everything else must agree with it:
README's steps table, the package attributes, the check modules, the test files and the notebooks,
each named with the step's token and slug (``step08``, ``min_target_q``): notebook
``08_min_target_q.ipynb``, and ``14_15_update_targets.ipynb`` for the two steps that share one
(the rule: ``expected_notebook_name``)."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

import td3_teach
from td3_teach.steps import RENAMED, STEPS, step

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def readme_steps_table() -> list[list[str]]:
    """The rows of the table after ``<!-- steps-table ... -->``, cells stripped of backticks."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("<!-- steps-table"))
    rows = []
    for line in lines[start + 1:]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if cells[0] in ("step", "") or set(cells[0]) <= set("-: "):
            continue  # header and separator
        rows.append(cells)
    return rows


def test_steps_are_numbered_1_to_15_with_their_tokens():
    assert [s.number for s in STEPS] == list(range(1, 16))
    assert [s.token for s in STEPS] == [f"step{n:02d}" for n in range(1, 16)]
    assert step(8) is STEPS[7]
    with pytest.raises(ValueError):
        step(16)


def test_steps_readme_table_lists_exactly_the_steps():
    expected = [[str(s.number), s.title, f"td3_teach.{s.where}", s.notebook,
                 f"tests/test_step_{s.number:02d}_*.py"] for s in STEPS]
    assert readme_steps_table() == expected


@pytest.mark.parametrize("s", STEPS, ids=lambda s: s.token)
def test_steps_where_resolves_to_a_real_attribute_of_td3_teach(s):
    module, _, name = s.where.rpartition(".")
    obj = getattr(importlib.import_module(f"td3_teach.{module}"), name)
    assert callable(obj)
    if s.number >= 4:  # the update functions carry their token and say which step they are
        assert name.startswith(s.token + "_")
        assert (obj.__doc__ or "").startswith(f"TD3 step {s.number} of 15"), obj.__doc__


@pytest.mark.parametrize("s", STEPS, ids=lambda s: s.token)
def test_steps_each_step_has_its_test_files_named_by_its_slug(s):
    found = sorted(p.name for p in (ROOT / "tests").glob(f"test_step_{s.number:02d}_*.py"))
    assert found == sorted(s.test_files), f"step {s.number} ({s.title}): tests/ has {found}"


def test_steps_slugs_are_distinct_identifiers():
    slugs = [s.slug for s in STEPS]
    assert len(set(slugs)) == len(slugs) and all(slug.isidentifier() and slug == slug.lower() for slug in slugs)


@pytest.mark.parametrize("s", STEPS, ids=lambda s: s.token)
def test_steps_each_check_lives_in_the_module_named_by_its_slug(s):
    checks_dir = ROOT / "td3_teach" / "checks"
    assert sorted(p.stem for p in checks_dir.glob(f"{s.token}_*.py")) == [s.name]
    module = importlib.import_module(f"td3_teach.checks.{s.name}")
    assert callable(getattr(module, s.token))
    from td3_teach import checks
    assert inspect.unwrap(getattr(checks, s.token)) is inspect.unwrap(getattr(module, s.token))


@pytest.mark.parametrize("s", STEPS, ids=lambda s: s.token)
def test_steps_each_notebook_has_the_learner_write_the_steps_function(s):
    import nbformat

    module, _, name = s.where.rpartition(".")
    if s.number >= 4:
        assert name == s.name, f"step {s.number}: {s.where} is not named {s.name}"
    defines = f"class {name}" if name[0].isupper() else f"def {name}("
    for folder in ("solutions", "notebooks"):
        nb = nbformat.read(ROOT / folder / s.notebook, as_version=4)
        exercise = [c.source for c in nb.cells if c.cell_type == "code" and defines in c.source]
        assert exercise, f"{folder}/{s.notebook} defines no {defines}"


@pytest.mark.parametrize("s", STEPS, ids=lambda s: s.token)
def test_steps_each_notebook_exists_in_solutions_and_notebooks(s):
    if not any((ROOT / "solutions").glob("*.ipynb")):
        pytest.skip("solutions/ has no notebooks yet: nothing to check against STEPS")
    missing = [f"{d}/{s.notebook}" for d in ("solutions", "notebooks") if not (ROOT / d / s.notebook).is_file()]
    assert not missing, f"step {s.number} ({s.title}): missing " + ", ".join(missing)


def expected_notebook_name(steps: list) -> str:
    """The rule for a notebook's name. One step: ``NN_<slug>.ipynb`` (``08_min_target_q.ipynb``),
    like its function, check and tests. Two consecutive steps sharing a notebook: both numbers,
    then the words both slugs have, in order, the last one plural: ``update_actor_target`` and
    ``update_critic_target`` -> ``14_15_update_targets.ipynb``."""
    if len(steps) == 1:
        return f"{steps[0].number:02d}_{steps[0].slug}.ipynb"
    a, b = steps
    assert b.number == a.number + 1, f"steps {a.number} and {b.number} share a notebook but are not consecutive"
    shared = [w for w in a.slug.split("_") if w in b.slug.split("_")]
    assert shared, f"steps {a.number} and {b.number} share no word: name their notebook by hand here"
    return f"{a.number:02d}_{b.number:02d}_{'_'.join(shared[:-1] + [shared[-1] + 's'])}.ipynb"


def notebooks_by_name() -> dict[str, list]:
    out: dict[str, list] = {}
    for s in STEPS:
        out.setdefault(s.notebook, []).append(s)
    return out


@pytest.mark.parametrize("notebook", sorted(notebooks_by_name()))
def test_steps_each_notebook_is_named_by_its_steps_slugs(notebook):
    steps = notebooks_by_name()[notebook]
    assert len(steps) <= 2, f"{notebook} is shared by {len(steps)} steps; the rule is for one or two"
    assert notebook == expected_notebook_name(steps)


def test_steps_the_two_step_rule_names_notebook_14_15_for_both_steps():
    assert expected_notebook_name([step(14), step(15)]) == "14_15_update_targets.ipynb"
    assert expected_notebook_name([step(8)]) == "08_min_target_q.ipynb"
    with pytest.raises(AssertionError, match="not consecutive"):
        expected_notebook_name([step(13), step(15)])


def readme_course_notebooks() -> set[str]:
    """The notebooks README's "what you do" table names one by one (``00_introduction``,
    ``16_your_td3``...; the steps' row is ``01`` ... ``15``)."""
    text = README.read_text(encoding="utf-8")
    return {f"{m}.ipynb" for m in re.findall(r"^\| `(\d\d_\w+)` \|", text, re.M)}


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_steps_solutions_and_notebooks_hold_exactly_the_course_notebooks(folder):
    if not any((ROOT / "solutions").glob("*.ipynb")):
        pytest.skip("solutions/ has no notebooks yet: nothing to check against STEPS")
    expected = set(notebooks_by_name()) | readme_course_notebooks()
    assert "00_introduction.ipynb" in expected and "16_your_td3.ipynb" in expected
    found = {p.name for p in (ROOT / folder).glob("*.ipynb")}
    assert found == expected, f"{folder}/: extra {sorted(found - expected)}, missing {sorted(expected - found)}"


def test_steps_renamed_notebooks_point_to_current_step_notebooks():
    """``RENAMED`` (old name -> new) is how the grader takes an old class's files: every new name
    is a step's notebook, with the same leading numbers, and no old name is still in use."""
    current = set(notebooks_by_name())
    for old, new in RENAMED.items():
        assert new in current, (old, new)
        label = re.compile(r"^\d\d(?:_\d\d)*_")  # the grader's fallback matches by it too
        assert old not in current and label.match(old)[0] == label.match(new)[0], (old, new)
        for folder in ("solutions", "notebooks"):
            assert not (ROOT / folder / old).exists(), f"{folder}/{old} is still there"


def test_steps_package_exports_steps():
    assert td3_teach.STEPS is STEPS
