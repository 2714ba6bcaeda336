"""``td3-teach lab``: open the course in JupyterLab, set up as the course needs it.

Three things a plain ``jupyter lab`` does not give:

1. **Widget state saved with the notebook.** JupyterLab's widget manager saves no widget state by
   default, so a saved notebook reopens with "Error displaying widget: model not found" where its
   sliders, pictures and progress bars were. The course's default (``td3_teach/jupyter/
   td3-teach.json``: ``saveState: true``) is written once into this environment's JupyterLab
   settings, ``<sys.prefix>/share/jupyter/lab/settings/overrides.d/`` (the place meant for
   packages' defaults; a non-editable install puts it there itself). Your own settings still win.
2. **"Busy" while a cell runs.** JupyterLab 4.6 sends widget comms over kernel subshells by
   default; opening one (a progress bar appearing during training) is a control-channel
   request, ipykernel 7 answers it with its own busy/idle, and the status bar then says "Idle"
   although training still runs. The same file sets ``commsOverSubshells: "disabled"`` (the
   classic behaviour: widget messages wait until the cell is done, which none of the course's
   widgets needs). Measured in the browser: Idle from 8 s into a training cell before, Busy for
   all of 40 s after.
3. **A terminal where the course's commands work.** JupyterLab's terminal starts a fresh shell,
   in which the virtual environment is not active. The server is started with this
   environment's ``bin/`` first on PATH (and VIRTUAL_ENV set), so ``td3-teach train ...`` works
   there as written, from the course's top folder, where ``runs/`` is.

Run it from the course's top folder: JupyterLab's root (its file browser, its terminal) is that
folder, and it opens ``notebooks/00_introduction.ipynb``.

Command line: ``td3-teach lab [FOLDER] [JUPYTER OPTIONS]`` (FOLDER: ``notebooks``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

SETTINGS = Path(__file__).resolve().parent / "jupyter" / "td3-teach.json"


def overrides_dir(prefix: str | os.PathLike = sys.prefix) -> Path:
    return Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d"


def install_settings(prefix: str | os.PathLike = sys.prefix) -> Path | None:
    """Put the course's JupyterLab defaults into ``prefix``'s settings; return the file, or None
    (with a note on stderr) when that folder cannot be written."""
    target = overrides_dir(prefix) / SETTINGS.name
    try:
        if not target.exists() or target.read_bytes() != SETTINGS.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(SETTINGS, target)
    except OSError as e:
        print(f"td3-teach lab: could not write {target} ({e.strerror}); widgets will not be saved "
              "with notebooks. Turn on Settings > Jupyter Widgets > Save widget state.",
              file=sys.stderr)
        return None
    return target


def lab_environment(environ: dict | None = None) -> dict:
    """The server's environment: this Python's bin/ first on PATH, so its terminal runs the
    course's ``td3-teach`` and ``python``."""
    env = dict(os.environ if environ is None else environ)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, *[p for p in env.get("PATH", "").split(os.pathsep)
                                               if p and p != bin_dir]])
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return env


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", nargs="?", default="notebooks",
                        help="the folder to open (notebooks, in the course's top folder)")
    parser.add_argument("jupyter_args", nargs=argparse.REMAINDER,
                        help="further options for jupyter lab (e.g. --port 8890 --no-browser)")


def run(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.exists():
        print(f"td3-teach lab: no folder {folder}/ here. Run it from the course's top folder "
              f"(the one holding notebooks/), or name the folder to open.", file=sys.stderr)
        return 2
    install_settings()
    # The server's root is this folder (the file browser and the terminal see runs/ next to
    # notebooks/); the page opens on the folder's first notebook, if it has one.
    first = folder / "00_introduction.ipynb"
    page = (first if first.exists() else folder).resolve().relative_to(Path.cwd().resolve())
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path.cwd()}",
           f"--LabApp.default_url=/lab/tree/{page.as_posix()}", *args.jupyter_args]
    try:
        return subprocess.call(cmd, env=lab_environment())
    except KeyboardInterrupt:  # Ctrl-C stops JupyterLab: it has already said so
        return 0
