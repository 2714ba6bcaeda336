"""The statuses of a graded notebook: one definition for every module of the grader.

A ``str`` Enum (``StrEnum``): a status is written as its text, so the gradebook, the feedback
and the summary read exactly as the words below. ``SEVERITY`` orders them, most severe first: a
notebook shows the first that applies (its feedback lists all); ``MISSING`` and
``UNKNOWN_NOTEBOOK`` are a learner's, outside that order, and come before it.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    GRADER_ERROR = "grader error"  # the grader's own failure on this notebook
    NOT_JSON = "not JSON"
    NOT_A_NOTEBOOK = "not a notebook"
    TAMPERED = "tampered"  # the notebook's code changed the checks, torch or the grader
    FORBIDDEN_FILE = "forbidden file access"
    FORBIDDEN_SYSTEM = "forbidden system access"
    OUT_OF_MEMORY = "out of memory"
    NOTEBOOK_TIMEOUT = "notebook timeout"
    CRASHED = "crashed"  # the graded run died: os._exit, a segfault
    KERNEL_DIED = "kernel died"
    CELL_TIMEOUT = "cell timeout"
    SYNTAX_ERROR = "syntax error"
    CELL_ERRORS = "cell errors"  # an exception outside the check cells
    EDITED_LOCKED = "edited locked cells"
    OK = "ok"
    MISSING = "missing"  # a graded notebook not submitted
    UNKNOWN_NOTEBOOK = "unknown notebook"  # a submitted file that matches no graded notebook

    @classmethod
    def refusal(cls, kind: object) -> "Status":
        """The status of a refusal the guard recorded (``kind``, read back from its records):
        one of the two forbidden-access statuses, ``FORBIDDEN_FILE`` for anything else."""
        return cls.FORBIDDEN_SYSTEM if kind == cls.FORBIDDEN_SYSTEM else cls.FORBIDDEN_FILE


SEVERITY = [Status.GRADER_ERROR, Status.NOT_JSON, Status.NOT_A_NOTEBOOK, Status.TAMPERED,
            Status.FORBIDDEN_FILE, Status.FORBIDDEN_SYSTEM, Status.OUT_OF_MEMORY,
            Status.NOTEBOOK_TIMEOUT, Status.CRASHED, Status.KERNEL_DIED, Status.CELL_TIMEOUT,
            Status.SYNTAX_ERROR, Status.CELL_ERRORS, Status.EDITED_LOCKED, Status.OK]
