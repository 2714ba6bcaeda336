"""Ctrl-C and Jupyter's stop button while training: taken between two env steps, so a
consistent checkpoint can be written; ``train`` then raises ``TrainingInterrupted``."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager




class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted; the message says where it stands and how to resume. Shown by
    IPython as that message alone (``_render_traceback_``); the cell still ends in an error, so
    Run All stops there."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        return self.message.splitlines()


@contextmanager
def _deferred_interrupt():
    """While training, a first SIGINT only sets a flag (read once per env step), so an update is
    never cut in half and a consistent checkpoint can be written; a second one raises at once.
    Yields a list whose first item is True once an interrupt was asked for."""
    asked = [False]
    if threading.current_thread() is not threading.main_thread():
        yield asked  # signals reach the main thread only: a plain KeyboardInterrupt, if any
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if asked[0]:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        asked[0] = True

    try:
        signal.signal(signal.SIGINT, handler)
    except (ValueError, OSError):  # not allowed here: interrupts stay as they were
        yield asked
        return
    try:
        yield asked
    finally:
        signal.signal(signal.SIGINT, previous)
