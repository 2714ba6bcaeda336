"""Finding the learners and their notebooks in the submissions folder, and their names.

Layouts accepted (one learner per folder or per file-name prefix; see ``td3_teach.grading``):
``<learner>/<notebook>.ipynb`` (sub-folders searched too, the learner's other files copied
along), ``<learner>__<notebook>.ipynb``, or a ``.ipynb`` alone, graded as the learner named by
its stem. Names stay distinct and valid for any bytes (``learner_names``).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Submission:
    learner: str  # the folder's or file's name as the file system gives it (may hold surrogates)
    path: Path
    name: str  # the notebook's name without the learner's prefix
    files: list[tuple[Path, Path]]  # (file, path relative to the sandbox's work/)
    rel: Path  # the notebook's path relative to work/


def discover(root: Path) -> tuple[dict[str, list[Submission]], list[str]]:
    """Learners and their notebooks in ``root`` (see the module docstring for the layouts)."""
    learners: dict[str, list[Submission]] = {}
    warnings: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        shown = printable(entry.name)
        if entry.is_dir() and not entry.is_symlink():
            files = [(f, f.relative_to(entry)) for f in sorted(entry.rglob("*"))
                     if f.is_file() and not f.is_symlink() and len(f.relative_to(entry).parts) <= 4
                     and not any(p.startswith(".") for p in f.relative_to(entry).parts)]
            nbs = [rel for _, rel in files if rel.suffix == ".ipynb"]
            learners.setdefault(entry.name, []).extend(
                Submission(entry.name, entry / rel, rel.name, files, rel) for rel in nbs)
        elif entry.suffix == ".ipynb" and entry.is_file() and not entry.is_symlink():
            learner, sep, name = entry.name.partition("__")
            if not sep:
                learner, name = entry.stem, entry.name
                warnings.append(f"{shown}: no `<learner>__` prefix; graded as learner "
                                f"'{printable(learner)}'.")
            learners.setdefault(learner, []).append(
                Submission(learner, entry, name, [(entry, Path(name))], Path(name)))
        else:
            warnings.append(f"{shown}: not a learner folder or a .ipynb file; ignored.")
    return learners, warnings


def printable(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 are written ``\\xe9``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def learner_names(raw: list[str]) -> dict[str, tuple[str, str]]:
    """``raw name -> (name shown in the gradebook, file name of the feedback)``, distinct for
    distinct raw names whatever their bytes: a name that is not already a plain file name
    (``a b``, ``caf\\xe9``) gets a short hash of its bytes, so ``a b`` and ``a_b`` stay apart."""
    out: dict[str, tuple[str, str]] = {}
    shown_count: dict[str, int] = {}
    for name in raw:
        shown_count[printable(name)] = shown_count.get(printable(name), 0) + 1
    for name in raw:
        shown = printable(name)
        digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:8]
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", shown).lstrip(".")[:80]
        if safe != name:
            safe = f"{safe or 'learner'}-{digest}"
        if shown_count[shown] > 1:
            shown = f"{shown} ({digest})"
        out[name] = (shown, safe)
    return out
