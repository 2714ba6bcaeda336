"""``td3-teach``: the course's command line. Each subcommand lives in the module named for it.

A module listed in COMMANDS provides ``configure(parser)`` (adds its arguments) and
``run(args) -> int`` (does the work, returns the exit code). Modules are imported only when their
command runs, so ``td3-teach --help`` is instant and one broken module never hides the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module in td3_teach, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("trainer", "train TD3 on a PyBullet, MuJoCo or gymnasium env (resumable)"),
    "evaluate": ("evaluate", "evaluate a saved agent's deterministic policy"),
    "watch": ("video", "record a video of a saved agent"),
    "build-notebooks": ("build_notebooks", "write notebooks/ from solutions/"),
    "grade": ("grading", "grade a folder of learner notebooks into a gradebook"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="td3-teach", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else argv
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        if name == wanted:  # import only the module that will run
            importlib.import_module(f"td3_teach.{module}").configure(p)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(f"td3_teach.{COMMANDS[args.command][0]}")
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
