"""The output pump: however a stream is cut into reads, it decodes, masks, logs and splits alike."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanout_tui.engine._lines import LineSplitter
from fanout_tui.engine._streams import LogFile, OutputPump, OutputSink
from fanout_tui.spec._masking import Masker

MASKER = Masker({"TOKEN": "tok3n"})


Feed = Callable[[int, list[str]], Awaitable[None]]
"""Writes to the pipe's write end while the pump runs; sees the lines delivered so far."""


def _pumped(feed: Feed, log_path: Path, keep_limit: int = 0) -> tuple[list[str], str, bool]:
    """Pump a real pipe that ``feed`` writes to (and which is closed after it) to its end."""
    lines: list[str] = []
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    log = LogFile(log_path, cap=1 << 30)
    sink = OutputSink(
        on_lines=lambda got, _skipped: lines.extend(got),
        masker=MASKER,
        log=log,
        keep_limit=keep_limit,
    )
    pump = OutputPump(read_end, sink)

    async def run() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pump.run)
            await feed(write_end, lines)
            os.close(write_end)

    try:
        anyio.run(run)
    finally:
        pump.finish()
        kept = sink.result()
        log.close()
        os.close(read_end)
    assert kept is not None
    return lines, kept, sink.overflowed


def _pump(chunks: list[bytes], log_path: Path, keep_limit: int) -> tuple[list[str], str, bool]:
    """Feed ``chunks`` through a real pipe, one write per chunk, and pump it to the end."""

    async def feed(write_end: int, _: list[str]) -> None:
        for chunk in chunks:
            os.write(write_end, chunk)
            await anyio.lowlevel.checkpoint()  # the pump may read each write apart

    return _pumped(feed, log_path, keep_limit)


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(
        st.binary(max_size=40).map(lambda b: b.replace(b"\r", b""))
        | st.sampled_from(
            [b"tok", b"3n\n", "é".encode(), b"\xc3", b"\xa9\n", b"tok3n", b"\n", b"\xff"]
        ),
        max_size=12,
    )
)
def test_any_cut_of_a_stream_gives_the_same_lines_log_and_text(
    tmp_path_factory: pytest.TempPathFactory, chunks: list[bytes]
) -> None:
    log_path = tmp_path_factory.mktemp("pump") / "stdout.log"
    lines, text, overflowed = _pump(chunks, log_path, keep_limit=1 << 20)

    whole = MASKER.mask(b"".join(chunks).decode("utf-8", errors="replace"))
    splitter = LineSplitter()
    assert lines == splitter.feed(whole) + splitter.flush()
    assert text == whole
    # The log keeps the bytes as they came (masked); decoded, it reads as the lines do.
    logged = log_path.read_bytes() if log_path.exists() else b""
    assert logged.decode("utf-8", errors="replace") == whole
    assert not overflowed


def test_past_the_keep_limit_nothing_is_kept_but_everything_is_logged(tmp_path: Path) -> None:
    lines, text, overflowed = _pump([b"a" * 10 + b"\n"] * 3, tmp_path / "log", keep_limit=20)
    assert overflowed and text == ""
    assert lines == ["a" * 10] * 3
    assert (tmp_path / "log").read_text() == ("a" * 10 + "\n") * 3


def test_the_log_on_disk_holds_everything_read_once_the_pipe_is_quiet(tmp_path: Path) -> None:
    on_disk: list[str] = []

    async def feed(write_end: int, lines: list[str]) -> None:
        os.write(write_end, b"first\nsecond\n")
        while len(lines) < 2:  # the pump read it and is waiting for more
            await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        on_disk.append((tmp_path / "out.log").read_text())

    _pumped(feed, tmp_path / "out.log")
    assert on_disk == ["first\nsecond\n"]
