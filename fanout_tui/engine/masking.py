"""Secret masking at the source: every line, log byte and result passes through a Masker.

A secret's value becomes ``***`` wherever it appears. A secret that spans several lines is
also masked line by line (each of its lines of four characters or more is a secret of its
own), because output is handled a line at a time and a multi-line value may arrive split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
_MIN_PIECE = 4
"""Shortest line of a multi-line secret that is masked on its own."""


class Masker:
    """Replaces secret values with ``***`` in text and in JSON-like values.

    Args:
        secrets: Secret name to value; empty values are ignored.
    """

    __slots__ = ("_longest", "_pattern")

    def __init__(self, secrets: Mapping[str, str]) -> None:
        values: set[str] = set()
        for value in secrets.values():
            if not value:
                continue
            values.add(value)
            lines = value.splitlines()
            if len(lines) > 1:
                values.update(line for line in lines if len(line) >= _MIN_PIECE)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(values, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._longest = len(ordered[0]) if ordered else 0

    @classmethod
    def from_environ(cls, names: Iterable[str], environ: Mapping[str, str] | None = None) -> Masker:
        """Build a masker from the values of the environment variables ``names``.

        Args:
            names: Names of the secret variables (the spec's ``secrets:``).
            environ: Where to read them; the process environment by default.
        """
        import os

        source = os.environ if environ is None else environ
        return cls({name: source.get(name, "") for name in names})

    @property
    def active(self) -> bool:
        """True when there is at least one secret to mask."""
        return self._pattern is not None

    @property
    def longest(self) -> int:
        """Length of the longest secret value (0 when there is none)."""
        return self._longest

    def mask(self, text: str) -> str:
        """Return ``text`` with every secret value replaced by ``***``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def mask_value(self, value: Any) -> Any:
        """Mask every string inside a JSON-like value (dict keys included)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {
                (self.mask(k) if isinstance(k, str) else k): self.mask_value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.mask_value(item) for item in value]
        return value

    def stream(self) -> StreamMasker:
        """A masker for text that arrives in pieces (a secret may straddle two pieces)."""
        return StreamMasker(self)


class StreamMasker:
    """Masks a text stream fed in arbitrary pieces, holding back as little as possible.

    Everything up to the last line break is released at once (a single-line secret cannot
    span a line break, and multi-line secrets are also masked line by line). Of an
    unfinished line, only the last ``longest - 1`` characters are held back, since they
    might be the start of a secret.
    """

    __slots__ = ("_held", "_masker")

    def __init__(self, masker: Masker) -> None:
        self._masker = masker
        self._held = ""

    def feed(self, text: str) -> str:
        """Take the next piece of the stream; return the masked text that is now safe."""
        pattern = self._masker._pattern
        if pattern is None:
            return text
        buffer = self._held + text
        cut = max(buffer.rfind("\n"), buffer.rfind("\r")) + 1
        cut = max(cut, len(buffer) - (self._masker.longest - 1))
        pieces: list[str] = []
        position = 0
        for match in pattern.finditer(buffer):
            if match.start() >= cut:
                break
            pieces.append(buffer[position : match.start()])
            pieces.append(MASK)
            position = match.end()
            cut = max(cut, position)  # a secret that straddles the cut is released whole
        pieces.append(buffer[position:cut])
        self._held = buffer[cut:]
        return "".join(pieces)

    def flush(self) -> str:
        """Release whatever is held at the end of the stream."""
        held, self._held = self._held, ""
        return self._masker.mask(held)
