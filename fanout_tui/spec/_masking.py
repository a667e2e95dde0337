"""The one secret masker: every line, log byte, result and message passes through it.

A secret's value becomes ``***`` wherever it appears. Values shorter than
:data:`MIN_MASKED_LENGTH` are not hunted for (masking "1" everywhere hides nothing and
garbles everything); a run refuses such a secret (:func:`too_short_to_mask`). A secret that
spans several lines is also masked line by line (each of its long-enough lines is a secret
of its own), because output streams are masked a line at a time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any, AnyStr, Generic

MASK = "***"
MIN_MASKED_LENGTH = 4
"""Shorter values are not hunted for in free text (masking "1" everywhere hides nothing
and garbles everything); a run refuses such a secret (:func:`too_short_to_mask`)."""


def too_short_to_mask(names: Iterable[str], environ: Mapping[str, str] | None = None) -> str | None:
    """Why the secrets ``names`` cannot be used, when some value is set but shorter than
    :data:`MIN_MASKED_LENGTH` (it could not be hidden in output: a run and ``check``
    refuse it); ``None`` when all are fine."""
    environ = os.environ if environ is None else environ
    short = [name for name in names if 0 < len(environ.get(name, "")) < MIN_MASKED_LENGTH]
    if not short:
        return None
    which = f"secret {short[0]} is" if len(short) == 1 else f"secrets {', '.join(short)} are"
    return (
        f"the {which} shorter than {MIN_MASKED_LENGTH} characters, too short to hide in "
        "output without garbling it; use a longer value, or leave it out of 'secrets'"
    )


class Masker:
    """Replaces secret values with ``***`` in text and in JSON-like values.

    Args:
        secrets: Secret name to value; values shorter than four characters are ignored.
    """

    __slots__ = (
        "_byte_pattern",
        "_line_pattern",
        "_longest_byte_line",
        "_longest_line",
        "_pattern",
    )

    def __init__(self, secrets: Mapping[str, str]) -> None:
        whole: set[str] = set()
        single_line: set[str] = set()
        for value in secrets.values():
            if len(value) < MIN_MASKED_LENGTH:
                continue
            whole.add(value)
            lines = value.splitlines()
            if len(lines) > 1:
                single_line.update(line for line in lines if len(line) >= MIN_MASKED_LENGTH)
            else:
                single_line.add(value)
        self._pattern = _alternation(whole | single_line)
        self._line_pattern = _alternation(single_line)
        self._longest_line = max(map(len, single_line), default=0)
        encoded = {line.encode("utf-8", "surrogateescape") for line in single_line}
        self._byte_pattern = _alternation(encoded)
        self._longest_byte_line = max(map(len, encoded), default=0)

    @classmethod
    def from_environ(cls, names: Iterable[str], environ: Mapping[str, str] | None = None) -> Masker:
        """Build a masker from the values of the environment variables ``names``.

        Args:
            names: Names of the secret variables (the spec's ``secrets:``).
            environ: Where to read them; the process environment by default.
        """
        source = os.environ if environ is None else environ
        return cls({name: source.get(name, "") for name in names})

    @property
    def active(self) -> bool:
        """True when there is at least one secret to mask."""
        return self._pattern is not None

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

    def stream(self) -> StreamMasker[str]:
        """A masker for text that arrives in pieces (a secret may straddle two pieces)."""
        return StreamMasker(self._line_pattern, self._longest_line)

    def byte_stream(self) -> StreamMasker[bytes]:
        """A masker for bytes that arrive in pieces (output as it came, UTF-8 or not): a
        secret is masked where its UTF-8 bytes appear."""
        return StreamMasker(self._byte_pattern, self._longest_byte_line, b"")


class StreamMasker(Generic[AnyStr]):
    """Masks a text (or byte) stream fed in arbitrary pieces, holding back as little as possible.

    Streams are masked with single-line secrets only (a multi-line secret by its lines),
    so no secret spans a line break: everything up to the last line break is released
    at once, masked by the regex engine in one pass. Of the unfinished line, only the
    last ``longest - 1`` characters are held back (they might start a secret), unless a
    secret found there straddles that point, which is then released whole.
    """

    __slots__ = ("_held", "_longest", "_mask", "_newline", "_pattern")

    def __init__(self, pattern: re.Pattern[AnyStr] | None, longest: int, empty: Any = "") -> None:
        self._pattern: re.Pattern[AnyStr] | None = pattern
        self._longest = longest
        text = isinstance(empty, str)
        self._held: AnyStr = empty
        self._newline: AnyStr = "\n" if text else b"\n"  # type: ignore[assignment]
        self._mask: AnyStr = MASK if text else MASK.encode()  # type: ignore[assignment]

    def feed(self, text: AnyStr) -> AnyStr:
        """Take the next piece of the stream; return the masked text that is now safe."""
        pattern = self._pattern
        if pattern is None:
            return text
        buffer = self._held + text
        line_start = buffer.rfind(self._newline) + 1
        cut = max(line_start, len(buffer) - (self._longest - 1))
        # Scanning from a line start matches what a scan of the whole stream finds there.
        for match in pattern.finditer(buffer, line_start):
            if match.start() >= cut:
                break
            if match.end() > cut:
                cut = match.end()
                break
        self._held = buffer[cut:]
        return pattern.sub(self._mask, buffer[:cut])

    def flush(self) -> AnyStr:
        """Release whatever is held at the end of the stream."""
        held, self._held = self._held, self._held[:0]
        return held if self._pattern is None else self._pattern.sub(self._mask, held)


def _alternation(values: set[AnyStr]) -> re.Pattern[AnyStr] | None:
    """One regex matching any of ``values``, longest first (a secret inside another loses)."""
    if not values:
        return None
    ordered = sorted(values, key=len, reverse=True)
    bar = "|" if isinstance(ordered[0], str) else b"|"
    return re.compile(bar.join(map(re.escape, ordered)))
