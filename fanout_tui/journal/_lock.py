"""Which fanout-tui holds a run: an exclusive ``flock`` on ``runs/<id>/lock``.

A run holds the lock on its own folder from before its row is committed until it ends;
a resume holds the lock of the run it resumes for as long as it runs. So a resume of a
run that is still going, or that another resume is taking over, is refused, and of two
resumes of one killed run at once only one goes on.

Why ``flock`` on a file rather than a row with a pid and a start time: the kernel drops
the lock when its holder dies, however it dies (``kill -9`` included), so there is no
stale lock to detect or clean up, no pid that could be reused, no schema change, and
taking it is atomic. The file holds the holder's pid, only to name it in the refusal.
The descriptor is not inherited by the run's processes (Python opens it close-on-exec),
so a branch left running cannot keep the lock of a run that is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from fanout_tui.journal._files import FILE_MODE

LOCK_NAME = "lock"


class RunBusy(Exception):
    """Another fanout-tui holds the run's lock.

    Attributes:
        pid: The holder's pid as it wrote it, or ``None`` when it is not known yet.
    """

    def __init__(self, pid: int | None) -> None:
        super().__init__(pid)
        self.pid = pid

    def holder(self) -> str:
        """``fanout-tui pid 123`` (or ``another fanout-tui``), for a sentence."""
        return "another fanout-tui" if self.pid is None else f"fanout-tui pid {self.pid}"


class RunLock:
    """The held lock of one run's folder; :meth:`release` lets it go (idempotent)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, run_dir: Path) -> RunLock:
        """Take the lock of the run whose folder is ``run_dir``, without waiting.

        Raises:
            RunBusy: another process holds it.
            OSError: the lock file cannot be made.
        """
        fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise RunBusy(pid) from None
        except OSError:
            os.close(fd)
            raise
        with contextlib.suppress(OSError):  # the pid only names the holder
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd)

    def release(self) -> None:
        """Let the lock go."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
