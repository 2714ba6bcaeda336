"""The public API for writing a check: what a check outside ``td3_teach.checks`` may use.

The grader's hidden checks (``td3_teach.grading.hidden``) are written with these names only,
never with the private modules behind them, so those modules can change without breaking them:

- ``CheckFailed``: raise it with what is wrong, why it matters for TD3 and a hint;
- ``call_learner``: call the learner's code, turning its exceptions into a message naming the
  line of the learner's cell that raised;
- ``as_tensor``, ``expect_shape``, ``expect_close``: the result is a tensor, of that shape, with
  those values, or a ``CheckFailed`` saying otherwise;
- ``seeded``, ``input_generator``: random inputs that are repeatable per seed and leave the
  learner's random states as they were;
- ``snapshot``, ``changed``: which parameters of a network an update moved.

Not a check itself: nothing here is a lower-case name of ``td3_teach.checks`` (which the grader
treats as the checks a notebook may call).
"""

from ._core import CheckFailed, as_tensor, call_learner, expect_close, expect_shape
from ._seeded import input_generator, seeded
from ._update_helpers import changed, snapshot

__all__ = ["CheckFailed", "as_tensor", "call_learner", "changed", "expect_close", "expect_shape",
           "input_generator", "seeded", "snapshot"]
