"""Does a text contain a line of the course's solution code? The detector behind the promise that
no check message, at any hint tier, gives the answer away.

The solution lines are read from every ``### BEGIN SOLUTION`` / ``### END SOLUTION`` region of
solutions/*.ipynb. Each line yields fragments, normalised (comments and all whitespace removed,
backticks ignored): the whole line, the expression a ``return`` gives back, the right-hand side of
an assignment. Fragments shorter than ``MIN_CHARS`` (``x = 0``, ``else:``) and bare names
(``max_action``) say nothing about an answer and are left out; so is a ``with ...:`` header, whose
context manager (``torch.no_grad()``) a message may name.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MIN_CHARS = 10


def normalise(text: str) -> str:
    return re.sub(r"[\s`]+", "", text)


def _strip_comment(line: str) -> str:
    out, quote = [], None
    for ch in line:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            break
        out.append(ch)
    return "".join(out)


def fragments_of(line: str) -> set[str]:
    """The normalised pieces of one solution line that would give it away."""
    code = _strip_comment(line).strip()
    if not code or code.startswith(("with ", "def ", "class ", "@", "import ", "from ")):
        return set()
    found = {code}
    m = re.match(r"return\s+(.+)$", code)
    if m:
        found.add(m.group(1))
    m = re.match(r"(?!return\b)[\w\s.,\[\]]+?(?<![=!<>+\-*/])=(?!=)\s*(.+)$", code)
    if m:
        found.add(m.group(1))
    bare = re.compile(r"[\w.]+(\s*,\s*[\w.]+)*")  # max_action, or s, s_next, a
    return {normalise(f) for f in found
            if len(normalise(f)) >= MIN_CHARS and not bare.fullmatch(f.strip())}


@functools.lru_cache(maxsize=None)
def solution_fragments(notebook: str | None = None) -> dict[str, str]:
    """normalised fragment -> 'notebook: the solution line it comes from', from one notebook's
    solutions or (None) from all of them."""
    out: dict[str, str] = {}
    paths = [SOLUTIONS / notebook] if notebook else sorted(SOLUTIONS.glob("*.ipynb"))
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if line.strip() == BEGIN:
                    inside = True
                elif line.strip() == END:
                    inside = False
                elif inside:
                    for f in fragments_of(line):
                        out.setdefault(f, f"{path.name}: {line.strip()}")
    return out


def solution_code_in(text: str, step: int | str | None = None) -> str | None:
    """The solution line ``text`` contains (as 'notebook: line'), or None. With ``step``, only the
    solutions of that step's notebook count: the answers a learner working on it must not be given
    (a step 3 message may well say that the check called ``critic(s, a)``, step 10's answer).
    ``step`` may also be a notebook's file name (``16_your_td3.ipynb``, whose check is not a step's)."""
    notebook = step if isinstance(step, str) else None
    if isinstance(step, int):
        from td3_teach.steps import step as step_info
        notebook = step_info(step).notebook
    flat = normalise(text)
    for fragment, origin in solution_fragments(notebook).items():
        if fragment in flat:
            return origin
    return None
