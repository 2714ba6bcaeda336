"""The messages between the grader and the processes it runs a learner's code in, as
dataclasses, and the one place that packs and unpacks them.

The grader hands each process its job (``ExecuteJob``, ``CheckJob``, ``JudgeJob``: ``job_to_wire``
/ ``job_from_wire``), as JSON through the fork server or bubblewrap's stdin.

The probe (``probe``, inside the sandbox) writes one JSON line per record to a file only the
grader reads, each with the run's token; the judge (``judge``, outside) writes its verdicts as
``Step`` records; the kernel run (``kernel``) writes one ``KernelResult``. What crosses is plain
data, never a pickled object: ``from_wire`` builds a record from a dict of JSON values only,
checks every field's type, and answers None for anything else (an unknown type, a missing
field, a value of the wrong type), so a forged line is dropped, never executed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Union

from .status import Status


@dataclass
class Step:
    """One check's verdict: every run passed, or the first that failed (``which``)."""
    TYPE = "step"
    check: str
    passed: bool
    message: str = ""
    which: str = ""  # "visible", "hidden test, seed 1", "all"...
    grader_error: bool = False  # the grader could not grade it (not the learner's fault)
    tampered: bool = False
    cell: int | None = None  # the check cell (the judge's verdicts)


@dataclass
class CellError:
    """A cell of the program raised (or did not compile, or ran past --timeout-cell)."""
    TYPE = "cell"
    cell: int
    origin: str  # "learner" or "instructor"
    kind: str  # the program item's kind: "setup", "exercise", "extra"
    error: str
    syntax: bool = False
    timeout: bool = False


@dataclass
class CheckError:
    """An instructor's check cell could not start (e.g. the exercise's name is undefined)."""
    TYPE = "check_error"
    cell: int
    steps: list[str]
    error: str


@dataclass
class Tampered:
    """The snapshot changed: what changed (at most a few items)."""
    TYPE = "tampered"
    what: list[str]


@dataclass
class Violation:
    """The guard refused something (``kind``: one of the forbidden-access statuses)."""
    TYPE = "violation"
    kind: Status
    what: str


@dataclass
class Missing:
    """An exercise cell the program did not find in the learner's notebook."""
    TYPE = "missing"
    cell: int
    names: list[str] = field(default_factory=list)


@dataclass
class Done:
    """The graded run reached the end of its program."""
    TYPE = "done"


@dataclass
class Protocol:
    """The judge could not follow the probe (a message it cannot read, a check it does not
    judge)."""
    TYPE = "protocol"
    error: str


Record = Union[Step, CellError, CheckError, Tampered, Violation, Missing, Done, Protocol]
RECORDS: dict[str, Any] = {c.TYPE: c for c in (Step, CellError, CheckError, Tampered, Violation,
                                                 Missing, Done, Protocol)}
# the JSON types each field may have (None allowed where the field's default is None)
_TYPES: dict[str, tuple[type, ...]] = {
    "check": (str,), "passed": (bool,), "message": (str,), "which": (str,),
    "grader_error": (bool,), "tampered": (bool,), "cell": (int,), "origin": (str,),
    "kind": (str,), "error": (str,), "syntax": (bool,), "timeout": (bool,), "steps": (list,),
    "what": (str, list), "names": (list,),
}


def to_wire(record: Record) -> dict[str, Any]:
    """``record`` as a JSON-able dict: its fields and its ``type``. Only builtins are used (the
    probe packs its records after learner code ran)."""
    return {"type": record.TYPE, **vars(record)}


def from_wire(data: Any) -> Record | None:
    """The record ``data`` describes, or None when it describes none (see the module
    docstring); fields that no record has (the probe's token) are ignored."""
    if not isinstance(data, dict):
        return None
    cls = RECORDS.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        return None
    names = {f.name: f for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    for k, v in values.items():
        if not (isinstance(v, _TYPES[k]) or (v is None and names[k].default is None)):
            return None
        if isinstance(v, int) and not isinstance(v, bool) and bool in _TYPES[k]:
            return None
        if isinstance(v, bool) and bool not in _TYPES[k]:
            return None
    for k in ("steps", "names"):
        if k in values and not all(isinstance(x, str) for x in values[k]):
            return None
    if cls is Tampered and not (isinstance(values.get("what"), list)
                                and all(isinstance(x, str) for x in values["what"])):
        return None
    if cls is Violation:
        if not isinstance(values.get("what"), str):
            return None
        values["kind"] = Status.refusal(values.get("kind"))
    try:
        return cls(**values)
    except TypeError:  # a required field is missing
        return None


@dataclass
class KernelResult:
    """What the kernel run (``kernel.run_execute``) found: the cells that raised (index ->
    exception name and text), the cells interrupted at --timeout-cell, the cell the kernel died
    in, and the runner's own error."""
    cells: dict[int, tuple[str, str]] = field(default_factory=dict)
    timeouts: list[int] = field(default_factory=list)
    died_at: int | None = None
    error: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"cells": {str(k): {"ename": e, "evalue": v} for k, (e, v) in self.cells.items()},
                "timeouts": self.timeouts, "died_at": self.died_at, "error": self.error}

    @classmethod
    def from_wire(cls, data: Any) -> "KernelResult | None":
        """The result ``data`` describes, or None (nothing, or not such a result)."""
        if not isinstance(data, dict) or not data:
            return None
        out = cls()
        for k, v in dict(data.get("cells") or {}).items():
            if isinstance(v, dict):
                out.cells[int(k)] = (str(v.get("ename", "")), str(v.get("evalue", "")))
        out.timeouts = [t for t in data.get("timeouts") or [] if isinstance(t, int)]
        died = data.get("died_at")
        out.died_at = died if isinstance(died, int) else None
        out.error = str(data["error"]) if data.get("error") else None
        return out


# --------------------------------------------------------------------------- jobs (grader -> process)
@dataclass
class ExecuteJob:
    """The kernel run of one notebook (``kernel.run_execute``)."""
    KIND = "execute"
    memory_mb: int
    timeout_cell: float
    max_output_bytes: int
    work: str  # the notebook's folder in the sandbox (the kernel's cwd)
    notebook: str
    env: dict[str, str]
    log: str  # the runner's log, and the kernel's pid (``kernel_pid``), in private/
    kernel_pid: str
    result: str  # where the ``KernelResult`` goes
    executed: str  # where the executed notebook goes
    crash_log: str


@dataclass
class JudgeLink:
    """The graded run's link to its judge: two FIFOs, and the checks judged there."""
    to_judge: str
    from_judge: str
    remote: list[str]


@dataclass
class CheckJob:
    """The graded run of one notebook (``probe.run_checks``)."""
    KIND = "check"
    memory_mb: int
    timeout_cell: float
    work: str
    env: dict[str, str]
    program: list[dict]  # ``plan.Program.items``
    token: str  # marks this run's records
    seeds: list[int]  # the hidden seeds, for the checks that run here (else none)
    writable: list[str]  # the guard's walls
    unreadable: list[str]
    result: str  # where the records go
    crash_log: str
    judge: JudgeLink | None = None


@dataclass
class JudgeJob:
    """The judge of one graded run (``judge.serve``), outside the sandbox."""
    KIND = "judge"
    from_probe: str
    to_probe: str
    result: str  # where the verdicts go
    seeds: list[int]
    timeout_cell: float
    crash_log: str


Job = Union[ExecuteJob, CheckJob, JudgeJob]
JOBS: dict[str, Any] = {c.KIND: c for c in (ExecuteJob, CheckJob, JudgeJob)}


def job_to_wire(job: Job) -> dict[str, Any]:
    """``job`` as JSON-able data (its kind is ``job.KIND``)."""
    return asdict(job)


def job_from_wire(kind: str, data: dict[str, Any]) -> Job:
    """The job of ``kind`` that ``data`` describes (from the grader: a wrong field is its bug and
    raises)."""
    job = JOBS[kind](**data)
    if isinstance(job, CheckJob) and job.judge is not None:
        job.judge = JudgeLink(**job.judge)  # type: ignore[arg-type]
    return job
