"""The attach protocol: a JSON hello each way, then length-prefixed pickle frames.

Each side first sends one line of JSON, ``{"fanout": ..., "protocol": N, "version": V}``.
A viewer that finds another protocol or another fanout-tui version on the other side says
so in one line and goes; only then are frames exchanged.

Why pickle and not JSON for the frames: a viewer needs the run's plan and its events as
the engine made them (frozen dataclasses with enums, paths, and results of any JSON
shape), and pickle carries them exactly, with no second encoding of every event type to
keep in step. Its risk, that reading a frame can run code, is bounded twice: the socket
is the owner's only (0600, in a folder of the owner's only), so the peer is a process of
the same user, who can run code as that user anyway; and nothing is unpickled before the
hellos show the same fanout-tui version on both sides.

Frames, run to viewer: ``("snapshot", Snapshot)`` once, then ``("event", event)`` for each event,
``("reply", request_id, result)`` and at most one ``("dropped", sentence)`` before the run
closes the connection. Viewer to run: ``("command", request_id, name, args)``.
"""

from __future__ import annotations

import json
import pickle
import struct
from dataclasses import dataclass
from typing import Any

from anyio.abc import ByteStream

from fanout_tui import __version__
from fanout_tui.engine import Event, RunOutcome
from fanout_tui.spec import Plan

PROTOCOL_VERSION = 1
"""Bumped whenever a frame changes; both sides must speak the same one."""

SOCKET_NAME = "control.sock"
"""The control socket's name in the run's folder."""

FINAL_STATE_NAME = "final-state.pickle"
"""Where a served run leaves its last snapshot, in its folder, for viewers that come later."""

MAX_HELLO = 4096
"""Bytes a hello line may take."""

_LENGTH = struct.Struct("!I")

COMMANDS = frozenset({"retry", "cancel", "retry_failed", "cancel_all", "shutdown"})
"""The engine commands a viewer may send."""


class ProtocolMismatch(Exception):
    """The other side speaks another protocol or is another fanout-tui; ``str`` is one line."""


@dataclass(frozen=True)
class Snapshot:
    """Everything a viewer joining mid-run needs before the events that follow."""

    run_id: str
    plan: Plan
    events: tuple[Event, ...]
    """The run's events so far, in order, with only the last lines of each branch's output."""
    outcome: RunOutcome
    """The run as of the snapshot (final once the events include ``RunFinished``)."""
    finished: bool = False
    """Whether the run was over when the snapshot was taken."""


def hello(role: str, **more: Any) -> bytes:
    """This side's hello line (``role``: ``"run"`` or ``"viewer"``)."""
    fields = {"fanout": role, "protocol": PROTOCOL_VERSION, "version": __version__, **more}
    return (json.dumps(fields) + "\n").encode()


def check_hello(line: bytes, *, expected_role: str) -> dict[str, Any]:
    """The other side's hello, parsed.

    Raises:
        ProtocolMismatch: it is no fanout-tui hello, or another protocol or version.
    """
    try:
        fields = json.loads(line)
    except ValueError:
        fields = None
    if not isinstance(fields, dict) or fields.get("fanout") != expected_role:
        raise ProtocolMismatch("the other side is not a fanout-tui run")
    protocol, version = fields.get("protocol"), fields.get("version")
    if protocol != PROTOCOL_VERSION or version != __version__:
        them = "the run" if expected_role == "run" else "the viewer"
        raise ProtocolMismatch(
            f"{them} speaks attach protocol {protocol} (fanout-tui {version}), this "
            f"fanout-tui speaks {PROTOCOL_VERSION} ({__version__}): use the fanout-tui "
            "that started the run"
        )
    return fields


def encode(frame: tuple[Any, ...]) -> bytes:
    """One frame, length-prefixed."""
    body = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


class Decoder:
    """Lines and frames out of the bytes received so far (no input or output of its own:
    the blocking handshake and the async follow-up read through the same one)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        self._buffer += data

    def line(self) -> bytes | None:
        """The next whole line (without its newline), or ``None`` until it has come.

        Raises:
            ProtocolMismatch: the line is longer than a hello may be.
        """
        end = self._buffer.find(b"\n")
        if end < 0:
            if len(self._buffer) > MAX_HELLO:
                raise ProtocolMismatch("the other side is not a fanout-tui run")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def frame(self) -> tuple[Any, ...] | None:
        """The next whole frame, or ``None`` until it has come."""
        if len(self._buffer) < _LENGTH.size:
            return None
        (size,) = _LENGTH.unpack_from(self._buffer)
        if len(self._buffer) < _LENGTH.size + size:
            return None
        body = bytes(self._buffer[_LENGTH.size : _LENGTH.size + size])
        del self._buffer[: _LENGTH.size + size]
        frame: tuple[Any, ...] = pickle.loads(body)
        return frame


async def read_line(stream: ByteStream, decoder: Decoder) -> bytes:
    """The next line from ``stream``.

    Raises:
        ProtocolMismatch: the line is longer than a hello may be.
        anyio.EndOfStream: the other side closed first.
    """
    while (line := decoder.line()) is None:
        decoder.feed(await stream.receive())
    return line


async def read_frame(stream: ByteStream, decoder: Decoder) -> tuple[Any, ...]:
    """The next frame from ``stream``.

    Raises:
        anyio.EndOfStream: the other side closed.
    """
    while (frame := decoder.frame()) is None:
        decoder.feed(await stream.receive())
    return frame
