"""The audit hook (PEP 578) around a learner's code while ``td3-teach grade`` runs it: the
second layer of the sandbox (``sandbox``), and the only one where bubblewrap is missing.

``install_guard`` refuses, with a ``PermissionError`` the learner can read, and records:

* opening or listing anything under the instructor's folders (solutions, the course's ``.git``,
  the submissions and results folders, the grader's private folder) or another process's
  ``/proc/<pid>``;
* writing, creating, deleting, renaming or changing anything outside the sandbox;
* starting a process (``!cmd``, ``subprocess``, ``os.system``, ``os.fork``, ``os.exec*``);
* in the grading process (``strict``), also ctypes, ``gc`` introspection, ``sys.settrace`` and
  ``sys.setprofile``: the tools to reach into the grader's own state.

An audit hook cannot be removed from Python, but it is not a security boundary against code
that reaches C: that boundary is the OS sandbox (``sandbox.bwrap_command``).

This module imports nothing of td3_teach but the statuses, by absolute name: the learner's
kernel loads it from its startup file, and tests load it from its path alone.
"""

from __future__ import annotations

import json
import os
from typing import Callable

from td3_teach.grading.status import Status  # absolute: see the docstring

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
WRITABLE_DEVICES = ("/dev/null",)
PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                            "os.spawn", "os.fork", "os.forkpty", "os.startfile", "pty.spawn"})
# event -> positions of the path arguments that must lie inside the sandbox
MUTATING_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
                   "os.symlink": (1,), "os.link": (1,), "os.chmod": (0,), "os.chown": (0,),
                   "os.truncate": (0,), "os.utime": (0,), "os.chflags": (0,), "os.mkfifo": (0,),
                   "os.mknod": (0,), "shutil.rmtree": (0,), "shutil.copyfile": (1,),
                   "shutil.copytree": (1,), "shutil.move": (0, 1), "shutil.copymode": (1,),
                   "shutil.copystat": (1,), "os.setxattr": (0,), "os.removexattr": (0,)}
LISTING_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.walk"})
INTROSPECTION_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents",
                                  "sys._current_frames", "sys.settrace", "sys.setprofile"})
FORBIDDEN_FILE = Status.FORBIDDEN_FILE
FORBIDDEN_SYSTEM = Status.FORBIDDEN_SYSTEM



def _path(p) -> str | None:
    """The real absolute path an audit event names, or None for a file descriptor."""
    if p is None or isinstance(p, int):
        return None
    try:
        p = os.fsdecode(os.fspath(p))
    except TypeError:
        return None
    return os.path.realpath(p)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def install_guard(writable: list[str], unreadable: list[str], record: Callable[[dict], None],
                  strict: bool = False) -> Callable[[bool], None]:
    """Add the audit hook. ``record`` receives ``{"kind": ..., "what": ...}`` for each refusal.

    Returns ``allow_tracing(on)``: the grader's own switch for ``sys.setprofile`` (used to see
    whether the learner's code calls the package's reference), closed over here so learner code
    has no name to reach it by.
    """
    import sys

    writable_t = tuple(os.path.realpath(p) for p in writable)
    unreadable_t = tuple(os.path.realpath(p) for p in unreadable if p)
    own_pid = str(os.getpid())
    state = {"tracing": False, "inside": False}

    def refuse(kind: str, what: str) -> None:
        try:
            record({"kind": kind, "what": what})
        except Exception:  # never let bookkeeping open a hole
            pass
        raise PermissionError(f"{what}: not allowed while td3-teach grades this notebook "
                              f"({kind}). Keep your code to its own folder.")

    def readable(path: str) -> bool:
        if _under(path, writable_t):  # its own sandbox, even inside an unreadable folder
            return True
        if _under(path, unreadable_t):
            return False
        if path.startswith("/proc/"):
            first = path.split("/")[2]
            return not first.isdigit() or first == own_pid
        return True

    def hook(event: str, args: tuple) -> None:
        if state["inside"]:
            return
        state["inside"] = True
        try:
            if event == "open":
                path = _path(args[0])
                if path is None:
                    return
                flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
                mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
                writes = bool(flags & WRITE_FLAGS) or any(c in mode for c in "wax+")
                if writes and not (_under(path, writable_t) or path in WRITABLE_DEVICES):
                    refuse(FORBIDDEN_FILE, f"writing {path} (outside the submission's folder)")
                if not readable(path):
                    refuse(FORBIDDEN_FILE, f"opening {path}")
            elif event in LISTING_EVENTS:
                path = _path(args[0] if args and args[0] not in ("", None) else ".")
                if path is not None and not readable(path):
                    refuse(FORBIDDEN_FILE, f"listing {path}")
            elif event in MUTATING_EVENTS:
                for i in MUTATING_EVENTS[event]:
                    path = _path(args[i]) if len(args) > i else None
                    if path is not None and not _under(path, writable_t):
                        refuse(FORBIDDEN_FILE, f"{event.split('.')[-1]} on {path} (outside the "
                               "submission's folder)")
            elif event in PROCESS_EVENTS:
                what = args[0] if args else event
                refuse(FORBIDDEN_SYSTEM, f"starting a process ({event}: {str(what)[:80]})")
            elif strict and event.startswith("ctypes."):
                refuse(FORBIDDEN_SYSTEM, f"ctypes ({event})")
            elif strict and event.startswith("sys.monitoring"):
                refuse(FORBIDDEN_SYSTEM, event)
            elif strict and event in INTROSPECTION_EVENTS and not state["tracing"]:
                refuse(FORBIDDEN_SYSTEM, f"{event} (reaching into the grader)")
        finally:
            state["inside"] = False

    sys.addaudithook(hook)

    def allow_tracing(on: bool) -> None:
        state["tracing"] = on

    return allow_tracing


def file_recorder(path: str) -> Callable[[dict], None]:
    """A ``record`` for ``install_guard`` that appends JSON lines to ``path`` through a file
    descriptor opened now, before the hook forbids opening it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(event: dict) -> None:
        os.write(fd, (json.dumps(event) + "\n").encode())

    return record


