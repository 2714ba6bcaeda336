"""``td3-teach grade``: grade a folder of learners' notebooks into a gradebook.

    td3-teach grade SUBMISSIONS/ --out RESULTS/ [--solutions solutions/] [--points points.toml]
                    [--jobs N] [--timeout-cell S] [--timeout-notebook S] [--memory-mb M]

Layouts accepted in SUBMISSIONS/ (one learner per folder or per file-name prefix):

* ``SUBMISSIONS/<learner>/<notebook>.ipynb``: a folder per learner; the learner's other files
  in that folder (helper modules, data) are copied along. Sub-folders are searched too, so
  nbgrader's ``submitted/<learner>/<assignment>/<notebook>.ipynb`` works as it is.
* ``SUBMISSIONS/<learner>__<notebook>.ipynb``: flat files, learner and notebook joined by two
  underscores (what an LMS export usually gives once renamed).
* a ``.ipynb`` without ``__`` at the top level is graded as the learner named by its stem.

A submission is matched to the instructor's notebook by file name, then by its nbgrader
``grade_id`` cells, then by its leading number (``08_...``, so ``08_..-Copy1.ipynb`` works),
then by the checks it calls and the functions it defines. When a learner sent two files for one
notebook, the one with the exact name wins, else the newest. Only the instructor notebooks that
some learner submitted are graded (one gradebook column per step they check).

For each submission, each run in a fresh copy of the learner's files:

1. **the kernel run**: the whole notebook, as the learner would run it, in a fresh Jupyter kernel
   (nbclient, errors allowed, ``--timeout-cell`` per cell: the cell is interrupted and the run
   goes on; ``--timeout-notebook`` in all; ``--memory-mb`` address space). Outputs are capped.
   It gives the notebook's status and ``RESULTS/executed/<learner>/<notebook>``; no points.
2. **the graded run**, in a separate fresh process where the instructor's checks (and torch)
   were imported and snapshotted before any learner code: the instructor's setup cells, the
   learner's exercise cells (matched by nbgrader ``grade_id``, else by the names they define)
   and any cells the learner added (their own check calls skipped, ``%run [-i] file.py`` run),
   then, at each check cell, the instructor's check on seed 0 and the hidden seeds of the points
   file, then the hidden checks of ``td3_teach/grading/hidden.py``. For the checks of
   ``judge.REMOTE`` (every check: steps 1 to 15, ``agent``, ``bug_hunt`` and ``exploration``)
   this is *probe, then judge*: the check runs in a judge process outside the sandbox, on
   stand-ins that ask the learner's process to call the learner's code (networks, optimizers
   and the checks' agents cross as data, rebuilt from the package's classes; the learner's own
   classes and what they build stay there, as handles, a network as a mirror); for ``agent``
   and ``bug_hunt`` the check's judge asks the learner's process for operations of
   ``checks._agent_probe`` (build the agent, run its train through a recording memory, ...)
   and gets records back. The check, its expected values and the hidden seeds never enter the
   learner's process; the snapshot still guards the probe's code: any change to it makes the
   notebook "tampered" and the checks after it score 0. Reference use is what
   runs (``reference``): the package's code for the step, or its helpers, doing the
   step's work on the learner's behalf, however it was wrapped, scores 0.

**The sandbox** (``sandbox``). Where bubblewrap works, every run is a fresh process in
its own mount, PID, network, IPC and UTS namespaces that sees only the system libraries, Python
and the td3_teach package folder (read-only) and the submission's copy on a ``--disk-mb`` tmpfs;
the solutions, the course's ``.git``, the points file and the other learners are not there, and
everything started inside dies with the run. Without bubblewrap (the summary says which), the
second layer alone: a clean environment, process groups killed at the deadline, and an audit
hook that refuses, and reports, opening the solutions, the course's ``.git``, the submissions or
results folders, writing anywhere outside the sandbox, and starting processes; the graded run
also refuses ctypes and reaching into the grader (``gc``, ``sys.settrace``). A refusal in the
graded run scores the notebook 0.

**Containment.** One learner's files never stop the others: malformed nbgrader metadata counts
as lost metadata, nbformat 3 is converted, any bytes in a folder name give a distinct, valid
gradebook name and feedback file. Results are written to a staging folder beside ``--out``
that replaces it whole at the end; ``--out`` may be new, empty, or an earlier run's results.

Results: ``RESULTS/gradebook.csv`` (one row per learner: a column of points per step, ``total``,
``status``), ``RESULTS/feedback/<learner>.md`` (each notebook's status, each step's points, and
for each failed step the check's message and hint), ``RESULTS/executed/`` and
``RESULTS/summary.json``. Points per step come from ``td3_teach/grading/points.toml``
(``--points`` overrides it key by key).

Statuses, most severe first (a notebook shows the first that applies; feedback lists all):
``grader error``, ``not JSON``, ``not a notebook``, ``tampered``, ``forbidden file access``,
``forbidden system access``, ``out of memory``, ``notebook timeout``, ``crashed`` (the graded run
died: ``os._exit``, a segfault), ``kernel died``, ``cell timeout``, ``syntax error``,
``cell errors`` (an exception outside the check cells), ``edited locked cells``, ``ok``; and per
learner ``missing`` (a graded notebook not submitted) and ``unknown notebook``.

nbgrader: the solution notebooks already carry nbgrader's cell metadata (``build-notebooks``
writes it), so an nbgrader course can use them as source notebooks unchanged: copy
``solutions/NN_*.ipynb`` into ``source/<assignment>/`` and run ``nbgrader generate_assignment
<assignment>``; the ``### BEGIN SOLUTION`` regions become nbgrader's stubs and each
``checks.stepNN(...)`` cell is an autograder test cell (``grade: true``, ``locked``,
``points``). ``nbgrader autograde`` then runs the visible checks only; ``td3-teach grade`` on
nbgrader's ``submitted/`` folder adds the hidden checks and the tamper and sandbox protections.

Limits (README's "Limits" says the same).

* ``agent`` and ``bug_hunt`` compare the learner's parameters after every iteration on a
  sample of each tensor's entries (``checks._agent_probe.SAMPLE``), in full only where a sample
  differs: a difference confined to entries outside the sample goes unseen.
* A judged check sees a result's autograd graph only as the gradient of its sum with respect
  to what crossed (what the checks differentiate), and the learner's code only as the names it
  uses.
* What the probe reports is the learner's process speaking; the reference-use watch runs there
  too (and does not follow threads the learner starts), so a determined learner can hide it.
* Without bubblewrap: C code (``torch.save``, ``numpy.fromfile``) bypasses the audit hook, the
  network is open, and processes started without an audit event (``multiprocessing``,
  ``_posixsubprocess.fork_exec``) are neither refused nor killed with the run.
* The hidden checks ship with the package (learners may read them); keep seeds private with
  ``--points``. The solutions are public in an open course: copying them is not detected.
* The per-cell timeout inside the graded run is a SIGALRM the learner's code could disable;
  the per-notebook deadline (a SIGKILL from outside) still holds.
* Linux (bubblewrap, fork, ``RLIMIT_AS``); macOS does not enforce the memory limit; not Windows.

The modules, by job:

* ``cli``: the command line (arguments, one-line errors); ``options``: the points file and the
  options' checks; ``batch``: the whole class (``grade``);
* ``discovery``: learners, their notebooks and names; ``plan``: the instructor's notebooks,
  reading a learner's notebook, the program of the graded run;
* ``runs``: one notebook's two runs; ``sandbox``: the sandbox folder and bubblewrap;
  ``guard``: the audit hook; ``launcher`` (the grader's side) and ``server`` (the jobs' side):
  the processes the runs are; ``kernel``: the kernel run; ``probe``: the graded run;
  ``snapshot``: its tamper snapshot; ``judge``: the checks judged outside, with ``wire``, what
  crosses; ``reference``: reference use; ``hidden``: the hidden checks;
* ``results``: the result model and statuses; ``report``: gradebook, feedback, summary and
  the results folder.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it, imported on first use (``import td3_teach.grading`` and
# each run's processes stay light; nothing is cached here, so the tamper snapshot sees no change)
EXPORTS = {
    "grade": "batch", "GradingError": "options", "Points": "options",
    "validate_options": "options", "discover": "discovery", "learner_names": "discovery",
    "printable": "discovery", "Submission": "discovery", "NotebookResult": "results",
    "StepResult": "results", "configure": "cli", "run": "cli",
}
__all__ = sorted(EXPORTS)


def __getattr__(name: str) -> Any:
    if name in EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))
