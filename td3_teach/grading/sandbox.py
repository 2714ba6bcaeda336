"""The walls around a learner's code while ``td3-teach grade`` runs it.

Each submission runs in a fresh temporary folder (``Sandbox``): ``work/`` is its current folder,
holding a copy of the learner's files, and ``home/`` is its HOME, TMPDIR, IPYTHONDIR and
MPLCONFIGDIR. Its processes get a clean environment, a memory limit (``RLIMIT_AS``), a file-size
limit, and a deadline enforced from outside (the grader kills the whole process group).

The OS sandbox, where bubblewrap works (``bwrap_command``): every run in its own namespaces,
seeing only the system, Python and td3_teach read-only, with the submission's copy on a
size-limited tmpfs as the only writable place besides the grader's own ``private/`` folder, no
network, and nothing outliving it. Inside the process, the audit hook of ``guard`` stays as a
second layer (and is the only one where bubblewrap is missing: see ``bwrap``).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .guard import _under

SANDBOX_FILE_BYTES = 200 << 20  # the learner's files copied into a sandbox, in all


@dataclass
class Sandbox:
    """A fresh temporary folder for one submission: ``work`` (cwd), ``home`` (HOME, TMPDIR,
    caches) and ``private`` (the grader's files: results, logs; unreadable to learner code)."""

    root: Path
    skipped: list[tuple[Path, int]] = field(default_factory=list)  # (file, bytes) not copied

    @property
    def box(self) -> Path:
        return self.root / "box"

    @property
    def work(self) -> Path:
        return self.box / "work"

    @property
    def home(self) -> Path:
        return self.box / "home"

    @property
    def private(self) -> Path:
        return self.root / "private"

    @classmethod
    def create(cls, files: list[Path] | list[tuple[Path, Path]], base: Path | None = None,
               max_bytes: int = SANDBOX_FILE_BYTES, mpl_seed: Path | None = None) -> "Sandbox":
        """Copy ``files`` (the learner's notebook and the other files in their folder, up to
        ``max_bytes`` in all, the notebook first; links are not followed) into a fresh
        ``work/``. What did not fit is listed in ``skipped`` (the feedback says so)."""
        root = Path(tempfile.mkdtemp(prefix="td3-grade-", dir=base))
        sb = cls(root)
        for d in (sb.work, sb.home / "tmp", sb.home / ".ipython" / "profile_default" / "startup",
                  sb.home / ".config" / "matplotlib", sb.private / "runtime", root / "seed"):
            d.mkdir(parents=True, exist_ok=True)
        budget = max_bytes
        pairs = [f if isinstance(f, tuple) else (f, Path(f.name)) for f in files]
        pairs.sort(key=lambda p: p[1].suffix != ".ipynb")  # notebooks first
        for src, rel in pairs:
            try:
                if src.is_symlink() or not src.is_file():
                    continue
                size = src.stat().st_size
                if size > budget:
                    sb.skipped.append((rel, size))
                    continue
                budget -= size
                (sb.work / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, sb.work / rel)
            except OSError:
                continue
        if mpl_seed is not None and mpl_seed.is_dir():  # matplotlib's font cache, built once
            for f in mpl_seed.glob("*.json"):
                shutil.copyfile(f, sb.home / ".config" / "matplotlib" / f.name)
        return sb

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A clean environment: nothing from the grader's own (no paths to the solutions, no
        tokens), one thread per process, headless plotting, the course's short budget."""
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        base.update({
            "HOME": str(self.home), "TMPDIR": str(self.home / "tmp"),
            "IPYTHONDIR": str(self.home / ".ipython"),
            "MPLCONFIGDIR": str(self.home / ".config" / "matplotlib"), "MPLBACKEND": "Agg",
            "XDG_CACHE_HOME": str(self.home / ".cache"), "PYTHONNOUSERSITE": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2",
            "TD3_TEACH_BUDGET": "short", "PYTHONDONTWRITEBYTECODE": "1",
        })
        base.update(extra or {})
        return base

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def limit_process(memory_mb: int, file_mb: int = 256) -> None:
    """In a fresh child: its own process group (so the grader can kill all of it), a memory
    limit inherited by everything it starts, a file-size limit that fails writes instead of
    killing, and no stdin."""
    os.setsid()
    for limit, value in ((resource.RLIMIT_AS, memory_mb << 20), (resource.RLIMIT_FSIZE, file_mb << 20),
                         (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # e.g. macOS does not enforce RLIMIT_AS
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.close(devnull)


def start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot), to tell it from a later one that got
    the same pid; "" when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def kill_group(pid: int | None, started: str | None = None) -> None:
    """SIGKILL the process group led by ``pid``; with ``started``, only if that process is still
    the one that started then (see ``start_time``)."""
    if not pid:
        return
    if started is not None and start_time(pid) != started:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def die_with_parent() -> None:
    """Linux: be killed when the process that started this one dies (best effort)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# --------------------------------------------------------------------------- the OS sandbox
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
             "nsswitch.conf", "hosts", "ssl", "ca-certificates", "alternatives", "fonts",
             "mime.types", "matplotlibrc")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_BWRAP: dict[str, str | None] = {}


def bwrap() -> str | None:
    """The path of bubblewrap when it is installed and works here (checked once: a PID and
    network namespace and a read-only bind), else None. ``TD3_GRADE_NO_BWRAP=1`` turns it off."""
    if "path" not in _BWRAP:
        import subprocess
        path = shutil.which("bwrap")
        if path and not os.environ.get("TD3_GRADE_NO_BWRAP"):
            try:
                ok = subprocess.run([path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc",
                                     "/proc", "--unshare-pid", "--unshare-net", "--die-with-parent",
                                     "true"], capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            path = path if ok else None
        else:
            path = None
        _BWRAP["path"] = path
    return _BWRAP["path"]


def sandbox_description() -> str:
    """One line for the summary and the feedback: which walls this run had."""
    if bwrap():
        return ("bubblewrap: each run in its own mount, PID, network and IPC namespace; only the "
                "system, Python and td3_teach visible, read-only; the submission's copy on a "
                "size-limited tmpfs; killed with the grader")
    return ("no OS sandbox (bubblewrap is not installed or does not work here): the audit hook, "
            "resource limits and process groups only")


def git_dirs(course: Path) -> list[Path]:
    """A course checkout's .git, and where a worktree's ``.git`` file points (its object store
    holds every version of the solutions)."""
    out = [course / ".git"]
    dot = course / ".git"
    if dot.is_file():
        text = dot.read_text(errors="replace").strip()
        if text.startswith("gitdir:"):
            gitdir = (course / text.split(":", 1)[1].strip()).resolve()
            out.append(gitdir)
            common = gitdir / "commondir"
            if common.is_file():
                out.append((gitdir / common.read_text().strip()).resolve())
    return out


def bwrap_command(root: Path, hidden: list[str], disk_mb: int) -> list[str]:
    """The bubblewrap prefix for one run whose sandbox folder is ``root`` (see ``Sandbox``).

    Visible, read-only: the system's libraries, a few files of /etc, Python (the venv and its
    base) and the td3_teach package folder alone (not the course folder around it, so not
    solutions/ or .git). Writable: ``root/box`` (a fresh tmpfs of ``disk_mb``, filled from the
    copy made outside, which is bound read-only at ``root/seed``) and ``root/private`` (the
    grader's records), and a private /tmp (a tmpfs of ``disk_mb`` too); the root is remounted
    read-only. Hidden even if they lie inside something visible: ``hidden``. New PID, network,
    IPC and UTS namespaces, its own /proc and /dev; the run dies with its parent, and everything
    in its PID namespace dies with it."""
    import sys
    exe = bwrap()
    assert exe is not None
    cmd = [exe, "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
           "--unshare-uts", "--unshare-cgroup-try", "--new-session", "--hostname", "td3-grade"]
    # The private /tmp first: bubblewrap mounts in order, and the course (its venv, td3_teach and
    # the sandbox folders) may itself live under /tmp; bound after, those stay visible in it.
    quota = str(int(disk_mb) << 20)
    cmd += ["--dev", "/dev", "--proc", "/proc", "--size", quota, "--tmpfs", "/tmp"]
    for d in SYSTEM_DIRS:
        cmd += ["--ro-bind-try", d, d]
    for f in ETC_FILES:
        cmd += ["--ro-bind-try", f"/etc/{f}", f"/etc/{f}"]
    package = Path(__file__).resolve().parents[1]  # td3_teach/
    python = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    python.add(Path(sys.executable).resolve().parent.parent)
    for entry in sys.path:  # installed packages only: never the course folder, tests/...
        p = Path(entry).resolve() if entry else None
        if p is not None and p.is_dir() and p.name in ("site-packages", "dist-packages"):
            python.add(p)
    keep = sorted(p for p in python if not any(q != p and q in p.parents for q in python))
    for p in keep:
        if not str(p).startswith(SYSTEM_DIRS):
            cmd += ["--ro-bind", str(p), str(p)]
    cmd += ["--ro-bind", str(package), str(package)]
    visible = [str(p) for p in keep] + [str(package)]
    for h in hidden:
        if not os.path.exists(h) or not _under(os.path.realpath(h), tuple(visible)):
            continue
        cmd += ["--tmpfs", h] if os.path.isdir(h) else ["--ro-bind", "/dev/null", h]
    root = root.resolve()
    cmd += ["--ro-bind", str(root / "box"), str(root / "seed"),
            "--bind", str(root / "private"), str(root / "private"),
            "--size", quota, "--tmpfs", str(root / "box"),
            "--remount-ro", "/",  # the root bubblewrap built the mounts in: read-only too
            "--chdir", str(root)]
    return cmd


def fill_box(root: str) -> None:
    """Inside the OS sandbox, before any learner code: copy the submission from ``seed``
    (read-only) into ``box`` (the size-limited tmpfs)."""
    shutil.copytree(os.path.join(root, "seed"), os.path.join(root, "box"), symlinks=True,
                    dirs_exist_ok=True)
