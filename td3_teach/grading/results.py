"""The result model: what one graded notebook earned (``NotebookResult``: its statuses, each
step's ``StepResult``, notes for the feedback)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .status import SEVERITY, Status


@dataclass
class StepResult:
    step: str  # the check's name: "step08", "agent"
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass
class NotebookResult:
    learner: str
    notebook: str  # the instructor's notebook name (or the submitted name if unmatched)
    submitted: str = ""
    statuses: list[Status] = field(default_factory=list)
    steps: dict[str, StepResult] = field(default_factory=dict)  # check name -> result
    notes: list[str] = field(default_factory=list)
    executed: str = ""
    seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        known = [s for s in SEVERITY if s in self.statuses]
        others = [s for s in self.statuses if s not in SEVERITY]
        return (others + known + [Status.OK])[0]
