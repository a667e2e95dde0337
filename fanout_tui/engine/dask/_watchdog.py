"""A worker's watchdog: when the worker process dies, its branches' process groups die too.

A Dask worker can die at any moment (killed by the OOM killer, its nanny, an operator's
``kill -9``); its branches' processes lead their own sessions and would live on. Each worker
process starts one watchdog process (lazily, with its first attempt) and keeps the write end
of a pipe to its stdin; it writes ``+PGID`` when an attempt's group starts and ``-PGID``
when it is gone. The kernel closes that pipe when the worker dies, however it dies, so the
watchdog reads end-of-file and SIGKILLs every group still registered.

Chosen over ``PR_SET_PDEATHSIG``: the death signal fires when the *thread* that forked the
child exits (a Dask worker's task threads come and go) and reaches only that child, not
the grandchildren of a shell command; the pipe costs one small process per worker, no
polling, and covers the whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading


class Watchdog:
    """The worker's side: starts the watchdog process, registers and forgets groups.

    Thread-safe (the worker runs attempts on several threads).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def watch(self, pgid: int) -> None:
        """Have the watchdog end group ``pgid`` if this process dies."""
        self._send(f"+{pgid}\n")

    def forget(self, pgid: int) -> None:
        """Group ``pgid`` is gone (or ended by us): nothing to do for it any more."""
        self._send(f"-{pgid}\n")

    def start(self) -> subprocess.Popen[bytes]:
        """The watchdog process, started now unless it runs already."""
        with self._lock:
            return self._started()

    def _started(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                start_new_session=True,  # a signal to the worker's group spares it
            )
        return self._proc

    def _send(self, line: str) -> None:
        with self._lock:
            proc = self._started()
            assert proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.write(line.encode())
                proc.stdin.flush()


WATCHDOG = Watchdog()
"""This worker process's watchdog."""


def main() -> None:
    """Read ``+PGID``/``-PGID`` lines until end-of-file, then SIGKILL what is left."""
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        text = line.decode().strip()
        if text[:1] == "+":
            groups.add(int(text[1:]))
        elif text[:1] == "-":
            groups.discard(int(text[1:]))
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


if __name__ == "__main__":
    main()
