"""Moving bytes through a process's pipes without blocking the event loop or growing memory.

:class:`OutputPump` reads one output pipe to its end: 64 KiB at a time, and 1 MiB at a
time (the pipe enlarged) once a read comes back full, which is a flood. The bytes stay
bytes on their way: masked only when a secret is declared (a secret split across two
reads is still masked), appended to the log file as they came (up to its cap, the cut
marked), counted in lines with ``bytes.count``; only the last :data:`TAIL_LINES` lines of
each read, all the panel can show, are decoded and split into display lines. The result
is read back from the stdout log when the attempt ends (kept in memory only without a
log), so a flood costs neither memory nor per-line work.
"""

from __future__ import annotations

import codecs
import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import anyio
import anyio.lowlevel

from fanout_tui.engine._lines import LineSplitter
from fanout_tui.spec import Masker

READ_CHUNK = 64 * 1024
"""Bytes asked of a pipe per read."""
FLOOD_CHUNK = 1024 * 1024
"""Bytes asked per read (and the pipe's size) once a read came back full."""
LOG_BUFFER = 1024 * 1024
"""Bytes a log file buffers while its process prints faster than it is read; whenever the
pipe runs dry, the buffer is written out."""
TAIL_LINES = 1000
"""Most lines of one read that become display lines (the panel shows no more); the
others are only counted."""
HELD_IN_MEMORY = 1024 * 1024
"""Bytes of a result held in memory; past them it is read back from the stdout log (when
that log is sound and its cap holds the whole result)."""
_SIGNAL = b"::fanout::"
"""A chunk of stderr with a signal line in it is split whole: every signal is read."""


class OutputSink:
    """Where one stream's bytes go.

    Each piece is masked, then appended to the log, counted and split into display lines
    (one ``on_lines`` call per piece) and, up to a cap, kept for the result.

    Args:
        on_lines: Called with the display lines a piece completed (never both empty) and
            how many lines before them it completed too but are not shown.
        masker: Masks the bytes before they go anywhere.
        log: Receives the full masked output, or ``None``.
        keep_limit: Bytes of output kept for the result (0: keep nothing).
        every_line: Split every line of a piece that holds a ``::fanout::`` signal.
    """

    def __init__(
        self,
        *,
        on_lines: Callable[[list[str], int], None],
        masker: Masker,
        log: LogFile | None,
        keep_limit: int = 0,
        every_line: bool = False,
    ) -> None:
        self._on_lines = on_lines
        self._masker = masker.byte_stream() if masker.active else None
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._splitter = LineSplitter()
        self._log = log
        self._keep_limit = keep_limit
        self._kept: list[bytes] | None = [] if keep_limit else None
        self._spooled = False
        """True once the kept output is left to the log (past :data:`HELD_IN_MEMORY`)."""
        self._every_line = every_line
        self._received = 0
        self._finished = False

    @property
    def overflowed(self) -> bool:
        """True when more than ``keep_limit`` bytes arrived (and the kept text was dropped)."""
        return self._keep_limit > 0 and self._received > self._keep_limit

    def result(self) -> str | None:
        """The kept output, masked, decoded (invalid UTF-8 replaced): empty when nothing is
        kept or it overflowed; ``None`` when its log, which keeps it, could not be written."""
        if not self._keep_limit or self.overflowed:
            return ""
        if self._spooled:
            assert self._log is not None, "only a log keeps a spooled result"
            data = self._log.read_back()
        else:
            data = b"".join(self._kept or ())
        return None if data is None else data.decode("utf-8", "replace")

    def feed(self, data: bytes) -> None:
        """Take the next piece of the stream, as it came."""
        self._received += len(data)
        self._pass(data, final=False)

    def take(self, text: str, size: int) -> None:
        """Take text printed by an in-process call (``size``: its length, unused: the
        sink counts the UTF-8 bytes itself)."""
        self.feed(text.encode("utf-8", "surrogateescape"))

    def finish(self) -> None:
        """Release what is held back (a character, a line, a secret); idempotent."""
        if not self._finished:
            self._finished = True
            self._pass(b"", final=True)

    def flush_log(self) -> None:
        """Write out what the log holds, so that a reader of the file sees it all so far."""
        stopped = self._log.flush() if self._log is not None else None
        if stopped is not None:
            self._on_lines([stopped], 0)

    def _pass(self, data: bytes, *, final: bool) -> None:
        if self._masker is not None:
            data = self._masker.feed(data)
            if final:
                data += self._masker.flush()
        stopped = None
        if self._log is not None:
            stopped = self._log.write(data) if data else None
            if final:
                stopped = stopped or self._log.flush()
        if self._kept is not None:
            if self._received > self._keep_limit:
                self._kept = None  # over the cap: the result fails, keep draining only
            elif data:
                self._kept.append(data)
                if self._received > HELD_IN_MEMORY and self._spools_to(self._log):
                    self._kept, self._spooled = None, True
        lines, skipped = self._split(data, final=final)
        if stopped is not None:
            lines.append(stopped)
        if lines or skipped:
            self._on_lines(lines, skipped)

    def _spools_to(self, log: LogFile | None) -> bool:
        return log is not None and log.keeps_all and log.cap >= self._keep_limit

    def _split(self, data: bytes, *, final: bool) -> tuple[list[str], int]:
        """The display lines ``data`` completes, and how many lines before them it skips."""
        skipped = 0
        count = data.count(b"\n")
        if count > TAIL_LINES and not (self._every_line and _SIGNAL in data):
            # Only the tail is shown: the unfinished line and the head are only counted.
            start = len(data.rsplit(b"\n", TAIL_LINES + 1)[0]) + 1
            skipped = count - TAIL_LINES
            data = data[start:]
            self._decoder.reset()
            self._splitter = LineSplitter()
        lines = self._splitter.feed(self._decoder.decode(data, final))
        if final:
            lines.extend(self._splitter.flush())
        return lines, skipped


class OutputPump:
    """Reads one output pipe to its end into an :class:`OutputSink`.

    Args:
        fd: Non-blocking read end of the pipe (owned by the caller).
        sink: Where the bytes go.
    """

    def __init__(self, fd: int, sink: OutputSink) -> None:
        self._fd = fd
        self.sink = sink
        self.eof = anyio.Event()
        """Set once the pipe reached its end (every writer closed it)."""

    async def run(self) -> None:
        """Read until the end of the pipe; cancel to stop early (then call :meth:`finish`)."""
        fd = self._fd
        size = READ_CHUNK
        while True:
            try:
                data = os.read(fd, size)
            except BlockingIOError:
                # Caught up with the process: its log on disk catches up too (the log
                # screen reads it while the branch runs), at no cost to a flood, which
                # never waits here.
                self.sink.flush_log()
                await anyio.wait_readable(fd)
                continue
            if not data:
                break
            if len(data) == READ_CHUNK == size:
                size = _enlarge(fd)
            self.sink.feed(data)
            # A pipe that is always full would otherwise keep the loop to itself.
            await anyio.lowlevel.checkpoint()
        self.eof.set()

    def finish(self) -> None:
        """Release what is held back (a partial character, line or secret); idempotent."""
        self.sink.finish()


def _enlarge(fd: int) -> int:
    """Make a flooding pipe hold :data:`FLOOD_CHUNK` (fewer, larger reads); the read size."""
    with contextlib.suppress(OSError, AttributeError):  # over the user's pipe quota: as it is
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, FLOOD_CHUNK)
    return FLOOD_CHUNK


class LogFile:
    """One stream's log file, created on the first write, which never fails the attempt.

    An attempt that prints nothing leaves no file (a missing log reads as empty): most
    branches of a large run print nothing on stderr, and creating files is what costs.
    The file and its folder are private to the user (0600 and 0700). It holds the bytes
    as they came, up to ``cap``; there a line says the log was cut, and at the end how
    much was left out. A failure to create or write it (a full disk) closes the log and
    is reported once by :meth:`write`; the branch goes on, and the operator sees why its
    log stops short.

    Args:
        path: The file to create (or truncate) on the first write; its folder is made too.
        cap: Most bytes of output written to it.
    """

    def __init__(self, path: Path, cap: int) -> None:
        self._path = path
        self.cap = cap
        self._handle: BinaryIO | None = None
        self._failed = False
        self._why_failed = ""
        """What stopped the log (a full disk), for the line that marks the cut."""
        self._written = 0
        self._left_out = 0

    def write(self, data: bytes) -> str | None:
        """Append ``data`` up to the cap; on the first failure, or at the cut, return a
        line saying why the log stopped."""
        if self._failed:
            self._left_out += len(data)
            return None
        room = self.cap - self._written
        if len(data) <= room:
            self._written += len(data)
            return self._attempt(lambda handle: handle.write(data))
        self._left_out += len(data) - max(room, 0)
        if room < 0:
            return None
        self._written = self.cap + 1
        cut = f"\n[fanout-tui] the log was cut here, at its cap of {self.cap} bytes\n"
        return self._attempt(lambda handle: handle.write(data[:room] + cut.encode())) or (
            cut.strip()
        )

    @property
    def keeps_all(self) -> bool:
        """True while every byte written so far is in the file (not failed, not cut)."""
        return not (self._failed or self._left_out)

    def note(self, text: str) -> None:
        """Append a line of fanout-tui's own (why the attempt ended), past any cap."""
        self._attempt(lambda handle: handle.write(text.encode("utf-8", "replace")))

    def flush(self) -> str | None:
        """Write out the buffer; on the first failure, return why the log stopped."""
        if self._handle is None:
            return None
        return self._attempt(lambda handle: handle.flush())

    def read_back(self) -> bytes | None:
        """Everything written so far; ``None`` when the file failed or was cut."""
        if not self.keeps_all or self._handle is None or self.flush() is not None:
            return None
        try:
            return self._path.read_bytes()
        except OSError:
            return None

    def _attempt(self, action: Callable[[BinaryIO], object]) -> str | None:
        if self._failed:
            return None
        try:
            if self._handle is None:
                self._handle = _create_private(self._path)
            action(self._handle)
        except OSError as error:
            handle, self._handle = self._handle, None
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()  # what its buffer held is lost with the rest
            self._failed = True
            self._why_failed = error.strerror or str(error)
            return (
                f"[fanout-tui] the log of this attempt could not be written: "
                f"{self._why_failed}; the branch goes on, and the log will say where it "
                "was cut"
            )
        return None

    def close(self) -> None:
        """Say how much the cap left out, flush and close; idempotent (a failing flush
        loses only the log's tail)."""
        if self._failed:
            self._mark_cut()
        elif self._left_out:
            left_out, self._left_out = self._left_out, 0
            self.note(f"[fanout-tui] {left_out} more bytes were not written to this log\n")
        handle, self._handle = self._handle, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.close()

    def _mark_cut(self) -> None:
        """Append, if there is room again, the line that says where and why the log was
        cut (once); without room the log ends short and the operator was told at once."""
        why, self._why_failed = self._why_failed, ""
        if not why:
            return
        more = f", and {self._left_out} more bytes after it" if self._left_out else ""
        line = f"\n[fanout-tui] the log was cut here: {why}; what was being written{more} is lost\n"
        with contextlib.suppress(OSError), open(self._path, "ab") as handle:
            handle.write(line.encode("utf-8", "replace"))


def _create_private(path: Path) -> BinaryIO:
    """Create (or truncate) ``path`` readable by its owner only, making its folder as needed
    (only then: it usually exists, and this runs for every attempt that prints)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    return open(fd, "wb", buffering=LOG_BUFFER)


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
