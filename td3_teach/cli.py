"""``td3-teach``: the course's command line. Each subcommand lives in the module named for it.

A module listed in COMMANDS provides ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (does the work, returns the exit code). Modules are imported only when their
command runs, so ``td3-teach --help`` is instant (torch is not loaded) and one broken module never
hides the others. Before any command module is imported, ``openmp.steady_threads()`` gives torch
half the cores and lets its idle threads spin only briefly (unless you chose ``OMP_NUM_THREADS``,
``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``); the processes a command starts (training, grading
kernels) inherit it.
A ``TD3TeachError`` (a bad option, an unreadable file) or an ``OSError`` raised by ``run`` is
printed as one line, ``td3-teach COMMAND: what is wrong. Fix: ...``, and exits with code 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .openmp import steady_threads

# command -> (module in td3_teach, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "lab": ("lab", "open the course in JupyterLab (widgets saved with notebooks, td3-teach in its terminal)"),
    "train": ("trainer", "train TD3 on a PyBullet, MuJoCo or gymnasium env (resumable)"),
    "evaluate": ("evaluate", "evaluate a saved agent's deterministic policy"),
    "watch": ("video", "record a video of a saved agent"),
    "build-notebooks": ("build_notebooks", "write notebooks/ from solutions/"),
    "grade": ("grading", "grade a folder of learner notebooks into a gradebook"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (not the usage block, then the error)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message}. Fix: see `{self.prog} --help`.\n")


def main(argv: list[str] | None = None) -> int:
    steady_threads()  # before torch is first imported: that is when OpenMP reads it (openmp.py)
    parser = _Parser(prog="td3-teach", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, (module_name, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == wanted:  # import only the module that will run
            importlib.import_module(f"td3_teach.{module_name}").configure(p)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"td3_teach.{COMMANDS[args.command][0]}")
    from .errors import TD3TeachError
    try:
        return int(module.run(args) or 0)
    except TD3TeachError as e:  # a mistake in the command or its files: one line, not a traceback
        print(f"td3-teach {args.command}: {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # a path that cannot be read or written
        where = f" {e.filename}" if e.filename else ""
        print(f"td3-teach {args.command}: cannot use{where}: {e.strerror or e}. Fix: check the "
              "path exists and you may read (or write) it.", file=sys.stderr)
        return 2


def one_line(error: BaseException) -> str:
    """The error's message on one line (a check's multi-line text joined with "; ")."""
    text_of = getattr(error, "text", None)  # a check's failure: its whole message
    text = text_of() if callable(text_of) else str(error)
    return "; ".join(line.strip() for line in text.splitlines() if line.strip()) \
        or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
