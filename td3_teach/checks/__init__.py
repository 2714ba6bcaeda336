"""Instant checks for the course's exercises, one function per TD3 step: ``checks.step08(fn)``.

Each check runs the learner's code on small, seeded inputs, compares it with the package's
reference, and either returns a one-line pass or raises ``CheckFailed`` saying what is wrong,
why it matters for TD3, and a hint (naming the lecture-notes bug when the code shows one).
The checks never read the course's solutions.

Every check is guarded (``_guard``): it runs with torch's global settings as the checks expect
them, whatever the notebook set, puts the notebook's settings back, and fails when the learner's
function leaves one changed.
"""

from typing import Any, Callable

from ._core import CheckFailed, CheckPassed, LearnerCodeError, NotImplementedYet
from .agent import agent
from .bug_hunt import bug_hunt
from .step01_replay_buffer import step01
from .step02_actor import step02
from .step03_twin_critics import step03
from .step04_sample_batch import step04
from .step05_target_action import step05
from .step06_target_policy_noise import step06
from .step07_target_q import step07
from .step08_min_target_q import step08
from .step09_bellman_target import step09
from .step10_current_q import step10
from .step11_critic_loss import step11
from .step12_critic_update import step12
from .step13_actor_update import step13
from .step14_update_actor_target import step14
from .step15_update_critic_target import step15
from .exploration import exploration
from ._pictures import for_the_picture

# Every check runs inside the guard (_guard.py): torch's global settings are set for it, put back
# after it, and a learner function that leaves them changed fails its check. The guard is put on
# here, once for every check; the check modules do not guard themselves. Helpers for writing a
# check outside this package (the grader's hidden checks): ``td3_teach.checks.api``.
from ._guard import guarded as _guarded

_steps: tuple[Callable[..., Any], ...] = (step01, step02, step03, step04, step05, step06, step07,
                                          step08, step09, step10, step11, step12, step13, step14,
                                          step15)
(step01, step02, step03, step04, step05, step06, step07, step08, step09, step10, step11, step12,
 step13, step14, step15) = (_guarded(n)(c) for n, c in enumerate(_steps, start=1))
del _steps

agent, bug_hunt = _guarded("Your TD3")(agent), _guarded("Bug hunt")(bug_hunt)
exploration = _guarded("Notebook 18")(exploration)


__all__ = ["CheckFailed", "CheckPassed", "LearnerCodeError", "NotImplementedYet", "agent",
           "bug_hunt", "exploration", "for_the_picture",
           *(f"step{n:02d}" for n in range(1, 16))]
