"""Unix sockets at paths of any length, the owner's only.

A Unix socket's path may take at most 107 bytes, and a run folder deep in a project can
be longer. Past that, the socket is bound and reached through the folder opened as a
file descriptor (``/proc/self/fd/N/control.sock``, Linux), which is short whatever the
folder's own path; changing the process's working folder instead would disturb every
thread of it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

MAX_PATH = 107
"""Bytes a Unix socket's path may take (``sun_path`` holds 108, with its terminating NUL)."""

SOCKET_MODE = 0o600


@contextlib.contextmanager
def _short(path: Path) -> Iterator[str]:
    """``path``, or while the block runs a short path that names the same file."""
    if len(os.fsencode(path)) <= MAX_PATH:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def bind_unix(path: Path) -> socket.socket:
    """A listening, non-blocking socket at ``path`` (a stale one there is replaced), 0600.

    The mode is set just after binding; a run folder is the owner's only, so no one else
    can reach the socket in between.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _short(path) as where:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(where)
            listener.bind(where)
            os.chmod(where, SOCKET_MODE)
        listener.listen()
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


def connect_unix(path: Path) -> socket.socket:
    """A blocking connection to the socket at ``path``.

    Raises:
        OSError: nothing listens there (``ConnectionRefusedError``, ``FileNotFoundError``)
            or it cannot be reached.
    """
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _short(path) as where:
            connection.connect(where)
    except BaseException:
        connection.close()
        raise
    return connection
