"""How values enter the journal: as masked JSON text, inline when small, in a file when large."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fanout_tui.journal._files import private_dir, write_private
from fanout_tui.spec import Masker

LARGE_VALUE_BYTES = 64 * 1024
"""JSON longer than this goes to a file beside the database instead of a column."""
PIECE_CHARS = 1024 * 1024
"""Characters of a large text escaped and written at a time."""


def dump_value(
    value: Any, masker: Masker, *, root: Path, folder: Path, name: str
) -> tuple[str | None, str | None]:
    """Encode ``value`` for the journal; return ``(inline JSON, file relative to root)``.

    Exactly one of the two is set: large JSON is written to ``folder / name`` (mode 0600;
    the path is built only then, since most values are small).
    """
    if isinstance(value, str) and len(value) > LARGE_VALUE_BYTES:
        # A large text (a merged concatenation): escaped and written piece by piece,
        # never as a second whole copy. A secret in it is masked as a value first.
        return None, _spill(_string_pieces(masker.mask_value(value)), root, folder / name)
    # Masked as a value (a secret with quotes is escaped in JSON text) and then as text
    # (what ``default=str`` made of objects), even though the engine masked it already.
    text = masker.mask(json.dumps(masker.mask_value(value), ensure_ascii=False, default=str))
    if len(text) <= LARGE_VALUE_BYTES // 4 or len(text.encode()) <= LARGE_VALUE_BYTES:
        return text, None
    return None, _spill([text], root, folder / name)


def _spill(pieces: Iterable[str], root: Path, path: Path) -> str:
    """Write ``pieces`` to ``path`` (its folder made private); the path relative to root."""
    spill_to = private_dir(path.parent) / path.name
    write_private(spill_to, pieces)
    return spill_to.relative_to(root).as_posix()


def _string_pieces(text: str) -> Iterator[str]:
    """The JSON string of ``text``, in pieces of :data:`PIECE_CHARS` characters of it
    (each character is escaped on its own, so the pieces join into one valid string)."""
    yield '"'
    for start in range(0, len(text), PIECE_CHARS):
        yield json.dumps(text[start : start + PIECE_CHARS], ensure_ascii=False)[1:-1]
    yield '"'


def load_value(inline: str | None, file: str | None, *, root: Path) -> Any:
    """Decode what :func:`dump_value` stored (``None`` when neither is set)."""
    if file is not None:
        return json.loads((root / file).read_text(encoding="utf-8"))
    if inline is not None:
        return json.loads(inline)
    return None


def relative_path(path: Path | None, root: Path) -> str | None:
    """``path`` relative to the journal ``root`` (absolute) when inside it, so the folder
    can move; otherwise ``path`` made absolute."""
    if path is None:
        return None
    # Plain string work: this runs for every attempt, and pathlib's is ten times dearer.
    text = os.fspath(path)
    if not os.path.isabs(text):
        text = os.path.abspath(text)
    prefix = os.path.join(root, "")
    return text[len(prefix) :] if text.startswith(prefix) else text


def resolve_path(stored: str | None, root: Path) -> Path | None:
    """Undo :func:`relative_path`."""
    if stored is None:
        return None
    return root / stored  # an absolute ``stored`` stays as it is
