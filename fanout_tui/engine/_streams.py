"""Moving bytes through a process's pipes without blocking the event loop or growing memory.

:class:`OutputPump` reads one output pipe to its end in 64 KiB chunks. Each chunk is
decoded (invalid UTF-8 replaced), masked, appended to the log file, split into display
lines (one :class:`~fanout_tui.engine._events.OutputLines` per chunk) and, for stdout, kept
for the result up to a cap. Past the cap nothing more is kept but the pipe is still
drained to the log, so the process never blocks on a full pipe.
"""

from __future__ import annotations

import codecs
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import anyio
import anyio.lowlevel

from fanout_tui.engine._lines import LineSplitter
from fanout_tui.spec import Masker

READ_CHUNK = 64 * 1024
"""Bytes asked of a pipe per read."""
LOG_BUFFER = 1024 * 1024
"""Bytes a log file buffers while its process prints faster than it is read; whenever the
pipe runs dry, the buffer is written out."""


class OutputSink:
    """Where one stream's decoded text goes.

    Each piece is masked, then appended to the log, split into display lines (one
    ``on_lines`` call per piece) and, up to a cap, kept for the result.

    Args:
        on_lines: Called with the complete lines of each piece (never empty).
        masker: Masks the text before it goes anywhere.
        log: Receives the full masked output, or ``None``.
        keep_limit: Bytes of output kept for the result (0: keep nothing).
    """

    def __init__(
        self,
        *,
        on_lines: Callable[[list[str]], None],
        masker: Masker,
        log: LogFile | None,
        keep_limit: int = 0,
    ) -> None:
        self._on_lines = on_lines
        self._masker = masker.stream()
        self._splitter = LineSplitter()
        self._log = log
        self._keep_limit = keep_limit
        self._kept: list[str] | None = [] if keep_limit else None
        self._received = 0
        self._finished = False

    @property
    def overflowed(self) -> bool:
        """True when more than ``keep_limit`` bytes arrived (and the kept text was dropped)."""
        return self._keep_limit > 0 and self._received > self._keep_limit

    @property
    def text(self) -> str:
        """The kept output, masked (empty when nothing is kept or it overflowed)."""
        return "".join(self._kept) if self._kept else ""

    def take(self, text: str, size: int) -> None:
        """Take the next piece of text, decoded from ``size`` bytes."""
        self._received += size
        self._pass(text, final=False)

    def finish(self, text: str = "") -> None:
        """Take the last piece and release what is held back (a line, a secret); idempotent."""
        if not self._finished:
            self._finished = True
            self._pass(text, final=True)

    def flush_log(self) -> None:
        """Write out what the log holds, so that a reader of the file sees it all so far."""
        stopped = self._log.flush() if self._log is not None else None
        if stopped is not None:
            self._on_lines([stopped])

    def _pass(self, text: str, *, final: bool) -> None:
        masked = self._masker.feed(text)
        if final:
            masked += self._masker.flush()
        stopped = None
        if self._log is not None:
            stopped = self._log.write(masked) if masked else None
            if final:
                stopped = stopped or self._log.flush()
        if self._kept is not None:
            if self._received > self._keep_limit:
                self._kept = None  # over the cap: the result fails, keep draining only
            elif masked:
                self._kept.append(masked)
        lines = self._splitter.feed(masked)
        if final:
            lines.extend(self._splitter.flush())
        if stopped is not None:
            lines.append(stopped)
        if lines:
            self._on_lines(lines)


class OutputPump:
    """Reads one output pipe to its end into an :class:`OutputSink`, decoding as it goes.

    Args:
        fd: Non-blocking read end of the pipe (owned by the caller).
        sink: Where the decoded text goes.
    """

    def __init__(self, fd: int, sink: OutputSink) -> None:
        self._fd = fd
        self.sink = sink
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.eof = anyio.Event()
        """Set once the pipe reached its end (every writer closed it)."""

    async def run(self) -> None:
        """Read until the end of the pipe; cancel to stop early (then call :meth:`finish`)."""
        fd = self._fd
        while True:
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                # Caught up with the process: its log on disk catches up too (the log
                # screen reads it while the branch runs), at no cost to a flood, which
                # never waits here.
                self.sink.flush_log()
                await anyio.wait_readable(fd)
                continue
            if not data:
                break
            self.sink.take(self._decoder.decode(data), len(data))
            # A pipe that is always full would otherwise keep the loop to itself.
            await anyio.lowlevel.checkpoint()
        self.eof.set()

    def finish(self) -> None:
        """Release what is held back (a partial character, line or secret); idempotent."""
        self.sink.finish(self._decoder.decode(b"", final=True))


class LogFile:
    """One stream's log file, created on the first write, which never fails the attempt.

    An attempt that prints nothing leaves no file (a missing log reads as empty): most
    branches of a large run print nothing on stderr, and creating files is what costs.
    The file and its folder are private to the user (0600 and 0700). A failure to create
    or write it (a full disk) closes the log and is reported once by :meth:`write`; the
    branch goes on, and the operator sees why its log stops short.

    Args:
        path: The file to create (or truncate) on the first write; its folder is made too.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: TextIO | None = None
        self._failed = False

    def write(self, text: str) -> str | None:
        """Append ``text``; on the first failure, return a line saying why the log stopped."""
        return self._attempt(lambda handle: handle.write(text))

    def flush(self) -> str | None:
        """Write out the buffer; on the first failure, return why the log stopped."""
        if self._handle is None:
            return None
        return self._attempt(lambda handle: handle.flush())

    def _attempt(self, action: Callable[[TextIO], object]) -> str | None:
        if self._failed:
            return None
        try:
            if self._handle is None:
                self._handle = _create_private(self._path)
            action(self._handle)
        except OSError as error:
            self.close()
            self._failed = True
            return f"[fanout-tui] the log file stopped here: {error.strerror or error}"
        return None

    def close(self) -> None:
        """Flush and close; idempotent (a failing flush loses only the log's tail)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()


def _create_private(path: Path) -> TextIO:
    """Create (or truncate) ``path`` readable by its owner only, making its folder as needed
    (only then: it usually exists, and this runs for every attempt that prints)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    return open(fd, "w", encoding="utf-8", newline="", buffering=LOG_BUFFER)


async def write_all(fd: int, data: bytes) -> bool:
    """Write ``data`` to a non-blocking pipe; ``False`` if the reader closed it first."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view[:READ_CHUNK])
        except BlockingIOError:
            await anyio.wait_writable(fd)
            continue
        except BrokenPipeError:
            return False
        view = view[written:]
    return True


async def read_channel(fd: int, limit: int) -> bytes | None:
    """Read a non-blocking pipe to its end; ``None`` if it carried more than ``limit`` bytes."""
    chunks: list[bytes] | None = []
    size = 0
    while True:
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
            continue
        if not data:
            return None if chunks is None else b"".join(chunks)
        size += len(data)
        if size > limit:
            chunks = None
        elif chunks is not None:
            chunks.append(data)
