"""Files that are always complete: every file the course writes for keeps goes through here.

The new content is written to ``<name>.tmp``, flushed and fsync'ed, and only then renamed over
``<name>`` with ``os.replace`` (atomic on POSIX and Windows). A run killed halfway through a
write (``kill -9``, a full disk, an exception) leaves the old file as it was and no ``.tmp``
behind, so a checkpoint, a saved agent, a CSV of evaluations or ``my_td3.py`` is either the old
one or the new one, never half of each.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_kwargs: Any) -> Iterator[IO]:
    """``with atomic_file(path) as f: ...``: ``f`` is open on ``path``'s ``.tmp``; when the block
    ends without an error the file takes ``path``'s name, otherwise it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)``, atomically (state dicts and tensors: read back with
    ``weights_only=True``)."""
    import torch

    with atomic_file(path) as f:
        torch.save(obj, f)
    return Path(path)


def atomic_write_text(text: str, path: str | os.PathLike) -> Path:
    """``Path(path).write_text(text)``, atomically."""
    with atomic_file(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
