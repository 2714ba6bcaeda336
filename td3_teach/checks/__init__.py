"""Instant checks for the course's exercises, one function per TD3 step: ``checks.step08(fn)``.

Each check runs the learner's code on small, seeded inputs, compares it with the package's
reference, and either returns a one-line pass or raises ``CheckFailed`` saying what is wrong,
why it matters for TD3, and a hint (naming the lecture-notes bug when the code shows one).
The checks never read the course's solutions.
"""

from ._core import CheckFailed, CheckPassed, LearnerCodeError, NotImplementedYet
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
from .step14_polyak_actor_target import step14
from .step15_polyak_critic_target import step15
from .exploration import exploration

__all__ = ["CheckFailed", "CheckPassed", "LearnerCodeError", "NotImplementedYet",
           *(f"step{n:02d}" for n in range(1, 16)), "exploration"]
