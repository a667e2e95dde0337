"""Files the journal writes, readable by the owner only (folders 0700, files 0600).

The journal never changes the process umask (branches inherit it); it creates every file
with an explicit mode and tightens the files SQLite makes beside the database. The
engine creates each attempt's log files private itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents, each the owner's only; return it.

    A folder that already exists keeps its mode: it may be one the operator named with
    ``--journal`` (even the working folder); what the journal puts in it is private.
    """
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it does not exist, and make it the owner's only; return it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def write_private(path: Path, pieces: Iterable[str]) -> None:
    """Write the text of ``pieces`` to ``path`` atomically (a temporary file, then a
    rename), mode 0600."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        stream.writelines(pieces)
    os.replace(temporary, path)


def make_private(path: Path) -> None:
    """Tighten an existing file that another layer created; ignore a missing one."""
    try:
        os.chmod(path, FILE_MODE)
    except FileNotFoundError:
        return
