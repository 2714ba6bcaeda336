"""The grader's pieces on their own, fast: learner names for any bytes, a learner's malformed
notebook read as lost metadata or converted, reference code recognised by what it is, the data
that may cross between probe and judge (and what may not)."""

from __future__ import annotations

import functools
import os
import types
from pathlib import Path

import nbformat
import pytest
import torch

from td3_teach import update
from td3_teach.grading import learner_names, printable
from td3_teach.grading.judge import Remote
from td3_teach.grading.plan import build_program, current_name, grade_id, load_instructor, match_notebook, read_learner
from td3_teach.grading.reference import ReferenceCode
from td3_teach.grading.wire import Unpackable, pack, pack_result, unpack

ROOT = Path(__file__).resolve().parents[1]
NAME = "08_min_target_q.ipynb"
OLD_NAME = "08_min_of_twin_targets.ipynb"  # its name before issue 15 (steps.RENAMED)


def test_learner_names_are_distinct_valid_utf8_and_plain_file_names():
    raw = ["alice", "a b", "a_b", os.fsdecode(b"caf\xe9"), "caf\\xe9", "..", "é"]
    names = learner_names(raw)
    shown = [names[r][0] for r in raw]
    files = [names[r][1] for r in raw]
    assert len(set(shown)) == len(set(files)) == len(raw)
    assert names["alice"] == ("alice", "alice") and names["a_b"] == ("a_b", "a_b")
    assert names["a b"][1].startswith("a_b-")
    for s in shown:
        s.encode("utf-8")  # writable to the gradebook
    assert all(f.isascii() and "/" not in f and not f.startswith(".") for f in files)
    assert printable(os.fsdecode(b"caf\xe9")) == "caf\\xe9"


def _nb(tmp_path: Path, nb: dict | nbformat.NotebookNode, version: int = 4) -> Path:
    path = tmp_path / NAME
    nbformat.write(nb, path, version=version)
    return path


def test_null_or_list_nbgrader_metadata_is_lost_metadata_not_a_crash(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    nb.cells[0].metadata["nbgrader"] = None
    nb.cells[1].metadata["nbgrader"] = {"grade_id": ["a", "list"]}
    got = read_learner(_nb(tmp_path, nb))
    assert "nbgrader" not in got.cells[0].metadata
    assert grade_id(got.cells[1]) == ""
    inb = next(i for i in load_instructor(ROOT / "solutions") if i.name == NAME)
    assert match_notebook("renamed.ipynb", got, [inb]) is inb


def test_a_renamed_notebooks_old_name_and_old_grade_ids_are_read_as_the_new_ones():
    from td3_teach.steps import RENAMED
    assert current_name(OLD_NAME) == NAME and current_name("09_bellman_target.ipynb") == "09_bellman_target.ipynb"
    instructors = load_instructor(ROOT / "solutions")
    for old, new in RENAMED.items():
        assert match_notebook(old, None, instructors).name == new
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    new_ids = [grade_id(c) for c in nb.cells]
    assert new_ids[0] == "08_min_target_q_cell00" and "step08_check" in new_ids
    old_nb = nbformat.reads(nbformat.writes(nb).replace('"08_min_target_q_', '"08_min_of_twin_targets_'), 4)
    assert old_nb.cells[0].metadata["nbgrader"]["grade_id"] == "08_min_of_twin_targets_cell00"
    assert [grade_id(c) for c in old_nb.cells] == new_ids
    assert grade_id({"metadata": {"nbgrader": {"grade_id": "08_min_of_twin_targetsX"}}}) == "08_min_of_twin_targetsX"
    inb = next(i for i in instructors if i.name == NAME)
    old_prog, new_prog = build_program(inb, old_nb), build_program(inb, nb)
    assert old_prog.items == new_prog.items and old_prog.notes == new_prog.notes == []


def test_an_nbformat3_notebook_is_converted(tmp_path):
    nb = nbformat.read(ROOT / "notebooks" / NAME, as_version=4)
    import copy
    got = read_learner(_nb(tmp_path, nbformat.convert(copy.deepcopy(nb), 3), version=3))
    assert got.nbformat == 4
    assert [c.source for c in got.cells if c.cell_type == "code"] == \
        [c.source for c in nb.cells if c.cell_type == "code"]


def test_reference_code_is_recognised_however_it_is_wrapped_or_cloned():
    ref = ReferenceCode(8)
    fn = update.step08_min_target_q
    clone = types.FunctionType(fn.__code__.replace(co_name="mine", co_filename="mine.py"), {})
    for given in (fn, functools.partial(fn), clone, functools.wraps(fn)(lambda *a: fn(*a))):
        assert ref.handed_over(given) == "update.step08_min_target_q"
    assert ref.handed_over(lambda q1_next, q2_next: torch.min(q1_next, q2_next)) is None
    helper = update.polyak_update  # decorated (torch.no_grad): the package's own code inside
    assert ReferenceCode(14).match(helper.__wrapped__.__code__) == "update.polyak_update"
    assert ReferenceCode(14).handed_over(helper) == "update.polyak_update"
    # the decorator's code is torch's, shared by every decorated function: not the package's
    assert ReferenceCode(14).match(helper.__code__) is None


def test_a_one_name_method_is_no_clone_but_the_packages_own_code_still_is():
    """Every honest replay buffer's `__len__` is `return self.size`, the package's too: matching
    it by what it does would take honest learners' step 1 (found grading notebook 01)."""
    from td3_teach.replay_buffer import ReplayBuffer
    ref = ReferenceCode(1)

    class Mine:
        def __len__(self):
            return self.size

        def add(self, transition):
            self.s[self.ptr] = transition[0]
            self.ptr = (self.ptr + 1) % self.max_size

    assert ref.match(Mine.__len__.__code__) is None
    assert ref.match(ReplayBuffer.__len__.__code__) == "replay_buffer.ReplayBuffer.__len__"
    clone = ReplayBuffer.sample.__code__.replace(co_name="mine", co_filename="mine.py")
    assert ref.match(clone) == "replay_buffer.ReplayBuffer.sample"
    assert ref.match(Mine.add.__code__) is None


def test_the_whole_agents_reference_is_the_packages_agent_and_update_not_its_networks():
    from td3_teach import agent, networks
    ref = ReferenceCode("agent")
    assert ref.match(agent.TD3.train.__code__) == "agent.TD3.train"
    assert ref.match(update.train_step.__code__) == "update.train_step"
    assert ref.match(update.step13_actor_update.__code__) == "update.step13_actor_update"
    assert ref.match(networks.make_target.__code__) is None  # notebook 16 may build with them
    assert ref.match(networks.Actor.forward.__code__) is None


def test_data_crosses_probe_and_judge_intact_and_nothing_else_does():
    x = torch.randn(3, 2).requires_grad_(True)
    value = {"t": x, "pair": (torch.arange(4), 2.5), "none": None, "flag": True}
    back = unpack(pack(value))
    assert torch.equal(back["t"], x.detach()) and back["t"].requires_grad
    assert back["pair"][0].dtype == torch.int64 and back["pair"][1] == 2.5
    assert back["none"] is None and back["flag"] is True
    with pytest.raises(Unpackable):
        pack(object())
    with pytest.raises(Unpackable):
        unpack({"__tensor__": "object", "shape": [1], "data": ""})
    with pytest.raises(Unpackable):
        unpack({"__pickle__": "gASV"})
    assert type(unpack(pack_result(object()))).__name__ == "object"  # "you returned an object"


def test_the_judges_stand_in_has_the_learners_signature():
    import inspect

    from td3_teach.grading.wire import describe
    def step08_min_target_q(q1_next, q2_next):
        return q1_next
    remote = Remote(None, 1, describe(step08_min_target_q))
    assert list(inspect.signature(remote).parameters) == ["q1_next", "q2_next"]
    assert remote.__name__ == "step08_min_target_q" and callable(remote)
