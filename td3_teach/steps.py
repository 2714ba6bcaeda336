"""The 15 steps of TD3, listed once.

Every other place that names a step (README's table, the notebooks, the checks, the tests)
is checked against this list by ``tests/test_steps_index.py``, so they cannot drift apart.
Each step has one token, ``stepNN``, and one slug, used everywhere: step 8 is ``step08`` and
``min_target_q``, so ``update.step08_min_target_q`` (the function, which notebook 08's exercise
defines), ``checks.step08`` in ``checks/step08_min_target_q.py``, and
``tests/test_step_08_min_target_q.py`` (the package's function) with
``tests/test_step_08_check.py`` (the check), and notebook ``08_min_target_q.ipynb``. Steps 14
and 15 share one notebook, named for both numbers and for what both steps do:
``14_15_update_targets.ipynb`` (``update_actor_target`` and ``update_critic_target``).

Four notebooks had other names before (``RENAMED``): the grader still takes a submission under
its old name, and its cells' old ``grade_id``, as the notebook's new one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One step of TD3: its number, title, and where it lives in the package and the course."""

    number: int
    title: str
    slug: str  # min_target_q: with the token, the name of the function, check module and tests
    where: str  # "module.function" in td3_teach
    notebook: str  # file name in solutions/ and notebooks/

    @property
    def token(self) -> str:
        """``step08``: the name this step has in the package, the checks and the tests."""
        return f"step{self.number:02d}"

    @property
    def name(self) -> str:
        """``step08_min_target_q``: the update function (steps 4-15) and the check's module."""
        return f"{self.token}_{self.slug}"

    @property
    def test_files(self) -> tuple[str, str]:
        """The step's tests: of the package's code, and of its check (mutations)."""
        return f"test_step_{self.number:02d}_{self.slug}.py", f"test_step_{self.number:02d}_check.py"


STEPS: tuple[Step, ...] = (
    Step(1, "Replay memory", "replay_buffer", "replay_buffer.ReplayBuffer", "01_replay_buffer.ipynb"),
    Step(2, "Actor and actor target", "actor", "networks.Actor", "02_actor.ipynb"),
    Step(3, "Twin critics and critic targets", "twin_critics", "networks.Critic", "03_twin_critics.ipynb"),
    Step(4, "Sample a batch", "sample_batch", "update.step04_sample_batch", "04_sample_batch.ipynb"),
    Step(5, "The target actor plays a'", "target_action", "update.step05_target_action",
         "05_target_action.ipynb"),
    Step(6, "Clipped Gaussian target-policy noise", "target_policy_noise", "update.step06_target_policy_noise",
         "06_target_policy_noise.ipynb"),
    Step(7, "Twin target Q-values", "target_q", "update.step07_target_q", "07_target_q.ipynb"),
    Step(8, "Minimum of the twin targets", "min_target_q", "update.step08_min_target_q",
         "08_min_target_q.ipynb"),
    Step(9, "Bellman target with done-masking", "bellman_target", "update.step09_bellman_target",
         "09_bellman_target.ipynb"),
    Step(10, "Current Q1 and Q2", "current_q", "update.step10_current_q", "10_current_q.ipynb"),
    Step(11, "Critic loss", "critic_loss", "update.step11_critic_loss", "11_critic_loss.ipynb"),
    Step(12, "Critic update", "critic_update", "update.step12_critic_update", "12_critic_update.ipynb"),
    Step(13, "Delayed actor update (ascent on Q1)", "actor_update", "update.step13_actor_update",
         "13_actor_update.ipynb"),
    Step(14, "Polyak averaging of the actor target", "update_actor_target", "update.step14_update_actor_target",
         "14_15_update_targets.ipynb"),
    Step(15, "Polyak averaging of the critic targets", "update_critic_target",
         "update.step15_update_critic_target", "14_15_update_targets.ipynb"),
)

RENAMED: dict[str, str] = {
    "07_twin_target_q.ipynb": "07_target_q.ipynb",
    "08_min_of_twin_targets.ipynb": "08_min_target_q.ipynb",
    "13_delayed_actor_update.ipynb": "13_actor_update.ipynb",
    "14_15_polyak_averaging.ipynb": "14_15_update_targets.ipynb",
}
"""Old notebook name -> the name it has now (issue 15 named the notebooks by their steps' slugs).
A class that was handed the old notebooks submits them under these names, with grade_ids that
start with the old stem (``08_min_of_twin_targets_cell00``); ``td3_teach.grading.plan`` grades
them as the new ones."""


def step(number: int) -> Step:
    """The step with this number (1 to 15)."""
    if not 1 <= number <= len(STEPS):
        raise ValueError(f"TD3 has steps 1 to {len(STEPS)}; got {number}.")
    return STEPS[number - 1]
