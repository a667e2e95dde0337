"""Read a spec file's bytes and decode them: the part of loading that needs no YAML.

Kept apart from :mod:`.source` (which parses with PyYAML) so that the plan cache can
read and hash a spec without importing a YAML parser.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

from fanout_tui.spec._errors import SpecError, SpecIssue

MAX_SPEC_BYTES = 1024 * 1024
"""Largest spec file read; a real spec is a few kilobytes."""

TOO_LARGE = f"is too large to be a spec (more than {MAX_SPEC_BYTES // 1024} KiB)"
"""What a report says of a spec over :data:`MAX_SPEC_BYTES`."""

LINE_BREAK = "\r\n|[\r\n\x85\u2028\u2029]"
"""What YAML 1.1 (PyYAML and libyaml) counts as a line break: the lines we count ourselves
must be those of its marks (``str.splitlines`` breaks on more). A pattern for
:func:`split_lines`, compiled only when an error needs it (not on a cached start)."""


def read_spec_bytes(path: Path) -> bytes:
    """The bytes of the spec file at ``path``; :class:`SpecError` when it cannot be read."""

    def fail(message: str) -> SpecError:
        return SpecError([SpecIssue(message, path=path)])

    try:
        # Only a regular file is read: a FIFO with no writer, a terminal or a device
        # would block forever (stat itself never blocks).
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise fail(f"is not a regular file ({_kind(mode)}); give the spec as a file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a folder, not a spec file") from None
    except PermissionError:
        raise fail("cannot be read: permission denied") from None
    except OSError as error:
        raise fail(f"cannot be read: {error.strerror or error}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise fail(TOO_LARGE)
    return data


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a block device" if stat.S_ISBLK(mode) else "not a file"


def position_after(text: str) -> tuple[int, int]:
    """The line and column (from 1) where the spec goes on after ``text``, counted as YAML
    counts them (see :data:`LINE_BREAK`)."""
    lines = split_lines(text)
    return len(lines), len(lines[-1]) + 1


def decode_spec(data: bytes, origin: Path | None) -> str:
    """Decode spec bytes as UTF-8 (a byte-order mark is allowed), or say where they are not."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpecError([SpecIssue("is UTF-16 text; save it as UTF-8", path=origin)])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, column = position_after(data[: error.start].decode("utf-8-sig"))
        message = f"is not UTF-8 text (byte 0x{data[error.start]:02x}); is it a binary file?"
        raise SpecError([SpecIssue(message, path=origin, line=line, column=column)]) from None


def split_lines(text: str) -> list[str]:
    """``text`` cut into lines where YAML cuts it (see :data:`LINE_BREAK`)."""
    return re.split(LINE_BREAK, text)
