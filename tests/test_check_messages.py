"""No check message gives the answer away, and hints come in tiers.

The mutation tests (tests/test_step_NN_check.py) run every message they provoke through the
detector of tests/solution_code.py (see the fixture in tests/conftest.py). This file adds the
messages no mutation reaches: every string the check modules could show, read from their source,
must hold no line of the solutions of the step the module checks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from td3_teach import checks
from td3_teach.checks import _core
from td3_teach.steps import STEPS
from solution_code import solution_code_in

CHECKS = Path(checks.__file__).parent
HELPERS = {"_core.py": tuple(range(1, 16)), "_networks.py": (2, 3), "_polyak.py": (14, 15),
           "_update_helpers.py": tuple(range(4, 16)), "_code_facts.py": tuple(range(4, 16)),
           "_seeded.py": (), "api.py": (), "_stand_in_agent.py": (),
           # the whole-agent and bug-hunt checks: the answers are notebook 16's class and 17's fixes
           "agent.py": ("16_your_td3.ipynb",), "_agent_reference.py": ("16_your_td3.ipynb",),
           "_agent_probe.py": ("16_your_td3.ipynb",),
           "_lecture_bugs.py": ("16_your_td3.ipynb", "17_bug_hunt.ipynb"),
           "bug_hunt.py": ("16_your_td3.ipynb", "17_bug_hunt.ipynb")}


def strings_in(path: Path) -> list[str]:
    """Every string constant and f-string of a module, f-string fields shown as `{...}`; not the
    ``AFTER`` text, which a check shows only once it passed."""
    tree = ast.parse(path.read_text())
    after = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assign)
             and any(isinstance(t, ast.Name) and t.id == "AFTER" for t in a.targets)
             for n in ast.walk(a.value)}
    out = []
    for node in ast.walk(tree):
        if id(node) in after:
            continue
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "{...}"
                               for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append(node.value)
    return out


def steps_of(path: Path) -> tuple[int | str, ...]:
    m = re.match(r"step(\d\d)_", path.name)
    return (int(m.group(1)),) if m else HELPERS.get(path.name, tuple(range(1, 16)))


MODULES = sorted(p for p in CHECKS.glob("*.py") if p.name != "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_check_module_holds_its_steps_solution_code(path):
    found = [f"step {n}: {origin} in {text!r}" for text in strings_in(path)
             for n in steps_of(path) for origin in [solution_code_in(text, n)] if origin]
    assert not found, f"{path.name} can show solution code:\n" + "\n".join(found)


def test_the_detector_finds_solution_code_and_leaves_prose_alone():
    assert solution_code_in("Hint: target = copy.deepcopy(net) and you are done", 2)
    assert solution_code_in("a' = agent.actor_target(batch.s_next), nothing added.", 5)
    assert solution_code_in("Write `return q1, q2` at the end.", 3)
    assert solution_code_in("Use agent.actor_target.", 5) is None
    assert solution_code_in("Which of the two values is the pessimistic one?", 8) is None
    assert solution_code_in("torch.min(q1_next, q2_next)", 5) is None  # step 8's, not step 5's


def test_a_repeated_failure_gives_the_concrete_hint():
    _core.reset_hint_tiers()
    first = checks.CheckFailed(8, "Row 3 is 2.5; expected 1.0.", hint=("the idea", "concrete"))
    again = checks.CheckFailed(8, "Row 7 is -1; expected 4.25.", hint=("the idea", "concrete"))
    other = checks.CheckFailed(8, "Another problem.", hint=("idea 2", "concrete 2"))
    assert (first.hint, first.tier, again.hint, again.tier) == ("the idea", 0, "concrete", 1)
    assert "more concrete hint" in first.text() and "Hint, more concrete: concrete" in again.text()
    assert other.hint == "idea 2"  # a different failure starts at the idea again
    _core.reset_hint_tiers()
    assert checks.CheckFailed(8, "Row 3 is 2.5; expected 1.0.", hint=("a", "b")).hint == "a"


def test_a_real_check_escalates_its_hint_on_the_same_mistake():
    _core.reset_hint_tiers()
    larger = lambda q1_next, q2_next: __import__("torch").max(q1_next, q2_next)  # noqa: E731
    shown = []
    for seed in (0, 1):
        with pytest.raises(checks.CheckFailed) as info:
            checks.step08(larger, seed=seed)
        shown.append(info.value)
    assert shown[0].tier == 0 and shown[1].tier == 1 and shown[0].hint != shown[1].hint


def test_a_pass_shows_its_after_text_only_on_passing():
    passed = checks.CheckPassed(13, "actor update", after="The lecture wrote it without the sign.")
    assert "Now that it passes: The lecture" in passed.text()
    assert "Now that it passes" in passed._repr_html_()
    assert "Now that it passes" not in checks.CheckPassed(13, "actor update").text()


def test_every_step_has_a_notebook_for_the_detector():
    assert {s.notebook for s in STEPS} <= {p.name for p in (CHECKS.parents[1] / "solutions").glob("*.ipynb")}


def test_pictures_draw_with_the_learners_code_only_once_its_check_passed(capsys):
    from td3_teach import update
    stand_in = checks.for_the_picture(6, None)
    assert "package's reference" in capsys.readouterr().out
    with pytest.raises(checks.CheckFailed, match="stand-in"):
        checks.step06(stand_in)  # the reference, handed to the check, earns nothing

    def mine(a_next, max_action, policy_noise=0.2, noise_clip=0.5):
        return update.step06_target_policy_noise(a_next, max_action, policy_noise, noise_clip)
    assert checks.for_the_picture(6, mine) is not mine  # not passed yet
    checks.step06(mine)
    assert checks.for_the_picture(6, mine) is mine
    assert "your code" in capsys.readouterr().out.lower()
