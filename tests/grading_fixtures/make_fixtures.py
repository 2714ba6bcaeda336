"""Write tests/grading_fixtures/submissions/: one learner per way a submission can go wrong.

Every notebook is derived from the real step-8 notebooks (the learner's copy in notebooks/, with
the solution's code from solutions/ where a learner got it right), so the fixtures look like what
learners send. Run it again after the step-8 notebook changes, and commit the result:

    python tests/grading_fixtures/make_fixtures.py

The expected grade of each learner is in EXPECTED (tests/test_grading.py asserts it).

The fixtures are a class that was handed the notebooks before issue 15 renamed them
(td3_teach.steps.RENAMED): each file keeps its old name (08_min_of_twin_targets.ipynb) and the
grade_ids it had then (08_min_of_twin_targets_cell00), so the tests prove such a class still
grades. ``course_notebook`` reads a notebook under its current name and gives it back as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat

from td3_teach.steps import RENAMED

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "submissions"
NAME = "08_min_of_twin_targets.ipynb"  # the name the fixtures' class got notebook 08 under
CURRENT = RENAMED[NAME]  # its name now, in solutions/ and notebooks/ and in the gradebook
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


def course_notebook(folder: str, name: str) -> nbformat.NotebookNode:
    """The course's notebook ``name`` in ``folder`` (solutions or notebooks) as the fixtures'
    class got it: read under its current name, and a renamed notebook's grade_ids given back
    their old prefix (``08_min_target_q_cell00`` -> ``08_min_of_twin_targets_cell00``)."""
    nb = nbformat.read(ROOT / folder / RENAMED.get(name, name), as_version=4)
    if name in RENAMED:
        old, new = Path(name).stem + "_", Path(RENAMED[name]).stem + "_"
        for c in nb.cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade_id", "").startswith(new):
                meta["grade_id"] = old + meta["grade_id"][len(new):]
    return nb


def handed_out(keep_figure: bool = False) -> nbformat.NotebookNode:
    """The learner's notebook as handed out; without the figure after the check unless asked
    (it only costs time: the grader never runs cells after the last check)."""
    nb = course_notebook("notebooks", NAME)
    # Every learner here answered the prediction question right: the fixtures are about the code.
    solved = {c.metadata["nbgrader"]["grade_id"]: c.source
              for c in course_notebook("solutions", NAME).cells
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
    new["id"] = "added-" + hashlib.sha256(source.encode()).hexdigest()[:12]  # stable across runs
    i = nb.cells.index(before) if before is not None else nb.cells.index(after) + 1
    nb.cells.insert(i, new)


def solution_code() -> str:
    sol = course_notebook("solutions", NAME)
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
        f"_nb = json.loads((_course / 'solutions' / {CURRENT!r}).read_text())\n"
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


# --------------------------------------------------------------------------- adversarial class
# One learner per case of issue 16 (tests/test_grading_adversarial.py). Honest controls must keep
# full marks; tricks must earn nothing; nothing may outlive the run or be written outside it.
ADVERSARIAL = Path(__file__).resolve().parent / "adversarial"
DAEMON_MARK = "td3-teach-grading-daemon-mark"  # in the argv of what a learner leaves running
SPAWN_ESCAPE = "/tmp/td3_teach_grading_spawn_escape.txt"  # what a spawned process tries to write
TORCH_ESCAPE = "/tmp/td3_teach_grading_torch_escape.pt"  # what torch.save's C++ writer tries
CONTROL = "control_correct"

# learner -> (points, gradebook status)
EXPECTED_ADVERSARIAL = {
    CONTROL: (1, "ok"),
    # 1. one learner's file never stops the others
    "nbgrader_null": (1, "ok"),
    "grade_id_list": (1, "ok"),
    "a b": (1, "ok"),
    "a_b": (0, "ok"),
    "nbformat3": (1, "ok"),
    # 2. processes the sandbox never sees
    "spawn_daemon": (1, "ok"),
    "spawn_reads_solutions": (0, "ok"),
    "torch_save_outside": (1, "ok"),
    # 3. the package's reference, wrapped
    "ref_partial": (0, "ok"),
    "ref_function_clone": (0, "ok"),
    "ref_code_replace": (0, "ok"),
    "ref_eval_lambda": (0, "ok"),
    "ref_stack_inspect": (0, "ok"),
    # 4. judgement in the learner's process
    "frame_walk_patch": (0, "ok"),
    "frame_walk_seeds": (1, "cell errors"),  # keeps its point; finds no hidden seed
    # 5. honest learners keep their points
    "helper_cell_calls_check": (1, "ok"),
    "run_i_helper": (1, "ok"),
    "deleted_check_cell": (1, "ok"),
}


def _reference_cell(body: str, after: str = "") -> nbformat.NotebookNode:
    return answer(handed_out(), body, after=after)


def build_adversarial() -> dict[str, object]:
    right = solution_code()
    subs: dict[str, object] = {}
    subs[f"{CONTROL}/{NAME}"] = answer(handed_out(), right)

    nb = answer(handed_out(), right)
    for c in nb.cells:
        c.metadata["nbgrader"] = None  # what some editors write
    subs[f"nbgrader_null/{NAME}"] = nb
    nb = answer(handed_out(), right)
    exercise(nb).metadata["nbgrader"]["grade_id"] = ["08_min_of_twin_targets_step08"]
    subs[f"grade_id_list/{NAME}"] = nb
    subs[f"a b/{NAME}"] = answer(handed_out(), right)
    subs[f"a_b/{NAME}"] = answer(handed_out(), "    return torch.max(q1_next, q2_next)")
    subs[f"nbformat3/{NAME}"] = nbformat.convert(answer(handed_out(), right), 3)

    daemon = (f"import os, time\nos.setsid()\n"
              f"open({SPAWN_ESCAPE!r}, 'w').write('escaped')\ntime.sleep(600)")
    subs[f"spawn_daemon/{NAME}"] = answer(handed_out(), right, after=(
        "import multiprocessing.util, os, sys  # fork_exec underneath: no audit event\n"
        f"multiprocessing.util.spawnv_passfds(os.fsencode(sys.executable), [sys.executable, '-c', "
        f"{daemon!r}, {DAEMON_MARK!r}], [])"))
    reader = ("import json, pathlib, sys, td3_teach\n"
              "course = pathlib.Path(td3_teach.__file__).resolve().parents[1]\n"
              f"nb = json.loads((course / 'solutions' / {CURRENT!r}).read_text())\n"
              "src = next(''.join(c['source']) for c in nb['cells'] if 'BEGIN SOLUTION' in "
              "''.join(c['source']))\n"
              "pathlib.Path('stolen.py').write_text(src)")
    subs[f"spawn_reads_solutions/{NAME}"] = answer(handed_out(), "    pass", after=(
        "import multiprocessing.util, os, sys, time\n"
        f"pid = multiprocessing.util.spawnv_passfds(os.fsencode(sys.executable), [sys.executable, "
        f"'-c', {reader!r}], [])\n"
        "os.waitpid(pid, 0)\n"
        "if os.path.exists('stolen.py'):\n    exec(open('stolen.py').read())"))
    subs[f"torch_save_outside/{NAME}"] = answer(handed_out(), right, after=(
        f"try:\n    torch.save(torch.zeros(3), {TORCH_ESCAPE!r})\nexcept Exception:\n    pass"))

    ref = "from td3_teach import update\n"
    subs[f"ref_partial/{NAME}"] = answer(handed_out(), "    pass", after=(
        ref + "import functools\nstep08_min_target_q = functools.partial("
        "update.step08_min_target_q)"))
    subs[f"ref_function_clone/{NAME}"] = answer(handed_out(), "    pass", after=(
        ref + "import types\nstep08_min_target_q = types.FunctionType("
        "update.step08_min_target_q.__code__, update.__dict__, 'step08_min_target_q')"))
    subs[f"ref_code_replace/{NAME}"] = answer(handed_out(), "    pass", after=(
        ref + "import types\nstep08_min_target_q = types.FunctionType("
        "update.step08_min_target_q.__code__.replace(co_name='mine', co_filename='mine.py'), "
        "update.__dict__, 'step08_min_target_q')"))
    subs[f"ref_eval_lambda/{NAME}"] = answer(handed_out(), "    pass", after=(
        ref + "step08_min_target_q = eval('lambda q1_next, q2_next: r(q1_next, q2_next)', "
        "{'r': update.step08_min_target_q})"))
    subs[f"ref_stack_inspect/{NAME}"] = answer(handed_out(), (
        "    import inspect\n"
        "    from td3_teach import update\n"
        "    if any('checks' in f.filename or 'grad' in f.filename for f in inspect.stack()):\n"
        "        return update.step08_min_target_q(q1_next, q2_next)\n"
        "    return q1_next"))

    subs[f"frame_walk_patch/{NAME}"] = answer(handed_out(), "    return q1_next", after=(
        "import sys\n"
        "_f = sys._getframe()\n"
        "while _f is not None:\n"
        "    for _name, _v in list(_f.f_locals.items()):\n"
        "        if isinstance(_v, dict) and 'step08' in _v and callable(_v['step08']):\n"
        "            _v['step08'] = lambda *a, **k: checks.CheckPassed(8, 'all good')\n"
        "        if _name == 'hidden' and isinstance(_v, dict):\n"
        "            _v.clear()\n"
        "    _f = _f.f_back"))

    subs[f"frame_walk_seeds/{NAME}"] = answer(handed_out(), right, after=(
        "import sys\n"
        "_found, _f = [], sys._getframe()\n"
        "while _f is not None:\n"
        "    _found += [repr(v['seeds']) for v in _f.f_locals.values()\n"
        "               if isinstance(v, dict) and 'seeds' in v]\n"
        "    _f = _f.f_back\n"
        "raise RuntimeError('seeds: ' + ' '.join(_found))  # into the feedback"))

    nb = answer(handed_out(), "    return smaller(q1_next, q2_next)")
    add_cell(nb, "def smaller(a, b):\n    return torch.min(a, b)\n\n"
             "checks.step08(lambda q1_next, q2_next: smaller(q1_next, q2_next))",
             before=exercise(nb))
    subs[f"helper_cell_calls_check/{NAME}"] = nb
    nb = answer(handed_out(), "    return smaller(q1_next, q2_next)")
    add_cell(nb, "%run -i helper.py", before=exercise(nb))
    subs[f"run_i_helper/{NAME}"] = nb
    subs["run_i_helper/helper.py"] = "def smaller(a, b):\n    return torch.min(a, b)\n"
    nb = answer(handed_out(), right)
    nb.cells.remove(check(nb))
    subs[f"deleted_check_cell/{NAME}"] = nb
    return subs


# The package's helpers count as its reference too: one honest control and one learner who calls
# the helper, per notebook (each notebook is graded in its own run: a learner who submitted only
# one notebook would be "missing" the other).
HELPERS = Path(__file__).resolve().parent / "adversarial_helpers"
EXPECTED_HELPERS = {  # notebook -> learner -> points per check
    "02_actor.ipynb": {"control_02": {"step02": 1}, "make_target_helper": {"step02": 0}},
    "14_15_polyak_averaging.ipynb": {"control_14_15": {"step14": 2, "step15": 2},
                                     "polyak_helper": {"step14": 0, "step15": 0}},
}
HELPER_USE = {
    "make_target_helper": ("02_actor.ipynb", {
        "    target = copy.deepcopy(net)   # same class and sizes, its own copy of every tensor\n"
        "    target.requires_grad_(False)  # targets move only by Polyak averaging (steps 14 and 15)\n"
        "    return target\n":
        "    from td3_teach import networks\n    return networks.make_target(net)\n"}),
    "polyak_helper": ("14_15_polyak_averaging.ipynb", {
        "    with torch.no_grad():\n"
        "        for param, target_param in zip(actor.parameters(), actor_target.parameters()):\n"
        "            target_param.copy_(tau * param + (1 - tau) * target_param)\n":
        "    from td3_teach.update import polyak_update\n"
        "    polyak_update(actor, actor_target, tau)\n",
        "    with torch.no_grad():\n"
        "        for param, target_param in zip(critic.parameters(), critic_target.parameters()):\n"
        "            target_param.copy_(tau * param + (1 - tau) * target_param)\n":
        "    from td3_teach.update import polyak_update\n"
        "    polyak_update(critic, critic_target, tau)\n"}),
}


def build_helpers() -> dict[str, object]:
    subs: dict[str, object] = {}
    for notebook, learners in EXPECTED_HELPERS.items():
        for learner in learners:
            nb = course_notebook("solutions", notebook)
            if learner in HELPER_USE:
                for old, new in HELPER_USE[learner][1].items():
                    cells = [c for c in nb.cells if old in c.source]
                    assert len(cells) == 1, f"{learner}: the solution changed; update HELPER_USE"
                    cells[0].source = cells[0].source.replace(old, new)
            subs[f"{notebook.split('_')[0]}/{learner}/{notebook}"] = nb
    return subs


# Judged checks (grading.judge.REMOTE): the check runs outside the learner's process, so a cell
# that walks the stack to the grader's frames, replaces every check it finds by a forged pass and
# empties the hidden checks, changes nothing (tests/test_grading_judge.py): steps 1-15, notebook
# 16's agent and notebook 17's bug hunt.
JUDGED = Path(__file__).resolve().parent / "judged"
FORGE = (
    "\n\nimport sys as _sys\n"
    "_forged = lambda k: str(k).startswith('step') or k in ('agent', 'bug_hunt')\n"
    "_f = _sys._getframe()\n"
    "while _f is not None:  # forge: every check the grader holds passes, no hidden checks\n"
    "    for _name, _v in list(_f.f_locals.items()):\n"
    "        if isinstance(_v, dict) and any(_forged(k) for k in _v):\n"
    "            for _k in [k for k in _v if _forged(k) and callable(_v[k])]:\n"
    "                _v[_k] = lambda *a, _k=_k, **k: checks.CheckPassed(\n"
    "                    int(_k[4:]) if _k.startswith('step') else _k, 'all good')\n"
    "        if _name == 'hidden' and isinstance(_v, dict):\n"
    "            _v.clear()\n"
    "    _f = _f.f_back\n")
JUDGED_POINTS = {"01_replay_buffer.ipynb": {"step01": 1},
                 "02_actor.ipynb": {"step02": 1},
                 "03_twin_critics.ipynb": {"step03": 1},
                 "04_sample_batch.ipynb": {"step04": 1}, "05_target_action.ipynb": {"step05": 1},
                 "07_twin_target_q.ipynb": {"step07": 1}, "10_current_q.ipynb": {"step10": 1},
                 "11_critic_loss.ipynb": {"step11": 1}, "12_critic_update.ipynb": {"step12": 1},
                 "13_delayed_actor_update.ipynb": {"step13": 2},
                 "14_15_polyak_averaging.ipynb": {"step14": 2, "step15": 2},
                 "16_your_td3.ipynb": {"agent": 5}, "17_bug_hunt.ipynb": {"bug_hunt": 3}}
# The whole-agent checks run the learner's class: code of it that runs while the check does
# (its __init__) walks up to the graded run and makes its records of failed checks say passed.
# That forged notebooks 16 and 17 to full marks while those checks ran in the learner's
# process; judged outside, the graded run's own records of them do not count.
FORGE_IN_CHECK = (
    "\n\ndef _forge():  # forge: called while the check runs the class; every verdict a pass\n"
    "    import sys as _sys\n"
    "    _f = _sys._getframe()\n"
    "    while _f is not None:\n"
    "        _g = _f.f_locals.get('self')\n"
    "        if hasattr(_g, 'emit') and hasattr(_g, 'token') and not getattr(_g, '_forged', False):\n"
    "            def _passing(rec, _emit=_g.emit):\n"
    "                if getattr(rec, 'passed', None) is False:\n"
    "                    rec.passed, rec.message = True, 'all good'\n"
    "                return _emit(rec)\n"
    "            _g.emit, _g._forged = _passing, True\n"
    "        _f = _f.f_back\n")
FORGED_IN_CHECK = {"16_your_td3.ipynb": "16_your_td3_MyTD3", "17_bug_hunt.ipynb": "17_bug_hunt_device"}
# learner -> points per check: the honest control keeps them all, the forgers get none
EXPECTED_JUDGED = {"control_judged": {c: n for p in JUDGED_POINTS.values() for c, n in p.items()},
                   "forged_judged": {c: 0 for p in JUDGED_POINTS.values() for c in p},
                   "forged_in_check": {"agent": 0, "bug_hunt": 0}}
# learner -> gradebook status: notebook 16's cell after the check saves the class only if the
# check passes, so the forger's wrong agent makes that cell raise there
# (the in-check forger submitted notebooks 16 and 17 only: the others are missing)
EXPECTED_JUDGED_STATUS = {
    "control_judged": "ok", "forged_judged": "16: cell errors",
    "forged_in_check": "01: missing; 02: missing; 03: missing; 04: missing; 05: missing; "
                       "07: missing; 10: missing; 11: missing; 12: missing; 13: missing; "
                       "14_15: missing; 16: cell errors"}
FORGED = {  # notebook -> (the solution's text, the wrong code the forger put in its place)
    "01_replay_buffer.ipynb": ("self.ptr = (self.ptr + 1) % self.max_size",
                               "self.ptr = self.ptr + 1"),
    "02_actor.ipynb": ("target = copy.deepcopy(net)", "target = net"),
    "03_twin_critics.ipynb": ("        return q1, q2\n", "        return q1, q1\n"),
    "04_sample_batch.ipynb": ('r = column("r").reshape(-1, 1)', 'r = column("r")'),
    "05_target_action.ipynb": ("return agent.actor_target(batch.s_next)",
                               "return agent.actor(batch.s_next)"),
    "07_twin_target_q.ipynb": ("agent.critic_target(batch.s_next, a_tilde)",
                               "agent.critic(batch.s_next, a_tilde)"),
    "10_current_q.ipynb": ("return q1, q2", "return q1.detach(), q2.detach()"),
    "11_critic_loss.ipynb": ("return F.mse_loss(q1, y) + F.mse_loss(q2, y)",
                             "return F.mse_loss(q1, y)"),
    "12_critic_update.ipynb": ("    critic_optimizer.zero_grad()\n    critic_loss.backward()\n"
                               "    critic_optimizer.step()\n", "    critic_loss.backward()\n"),
    "13_delayed_actor_update.ipynb": ("actor_loss = -critic.Q1(s, actor(s)).mean()",
                                      "actor_loss = critic.Q1(s, actor(s)).mean()"),
    "14_15_polyak_averaging.ipynb": ("target_param.copy_(tau * param + (1 - tau) * target_param)",
                                     "target_param.copy_(param)"),
    "16_your_td3.ipynb": ("actor_loss = -self.critic.Q1(s, self.actor(s)).mean()",
                          "actor_loss = self.critic.Q1(s, self.actor(s)).mean()"),
    "17_bug_hunt.ipynb": ("target_Q = torch.min(target_Q1, target_Q2)", "target_Q = target_Q1"),
}


def build_judged() -> dict[str, object]:
    subs: dict[str, object] = {}
    for notebook in JUDGED_POINTS:
        for learner in EXPECTED_JUDGED:
            if learner == "forged_in_check" and notebook not in FORGED_IN_CHECK:
                continue
            nb = course_notebook("solutions", notebook)
            if learner.startswith("forged"):
                old, new = FORGED[notebook]
                cells = [c for c in nb.cells if old in c.source]
                assert cells, f"{notebook}: the solution changed; update FORGED"
                for c in cells:
                    c.source = c.source.replace(old, new)
                if learner == "forged_judged":
                    cells[0].source += FORGE
                else:  # the forging call as the first line of the class's __init__
                    cell = next(c for c in nb.cells if (c.metadata.get("nbgrader") or {})
                                .get("grade_id") == FORGED_IN_CHECK[notebook])
                    cell.source = re.sub(
                        r"^( +)(def __init__\(self, state[^\n]*\):\n)",
                        lambda m: m.group(1) + m.group(2) + m.group(1) * 2 + "_forge()\n",
                        cell.source, count=1, flags=re.M) + FORGE_IN_CHECK
                    assert "_forge()" in cell.source, f"{notebook}: update FORGED_IN_CHECK"
            subs[f"{learner}/{notebook}"] = nb
    return subs


def write(subs: dict[str, object], out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    for rel, content in subs.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        elif content.get("nbformat") == 3:
            nbformat.write(content, path, version=3)
        else:
            nbformat.write(content, path)
    print(f"wrote {len(subs)} files under {out}")


def main() -> None:
    write(build(), OUT)
    write(build_adversarial(), ADVERSARIAL)
    write(build_helpers(), HELPERS)
    write(build_judged(), JUDGED)


if __name__ == "__main__":
    main()
