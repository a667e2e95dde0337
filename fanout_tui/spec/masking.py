"""Hide the values of secret environment variables in text meant for people."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

MASK = "***"
MIN_MASKED_LENGTH = 4
"""Shorter values are not hunted for in free text (masking "1" everywhere hides nothing
and garbles everything); a run refuses such a secret (:func:`too_short_to_mask`)."""


def too_short_to_mask(names: Iterable[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets whose value is set but shorter than :data:`MIN_MASKED_LENGTH`: they could
    not be hidden in output, so a run refuses to start with them."""
    environ = os.environ if environ is None else environ
    return [name for name in names if 0 < len(environ.get(name, "")) < MIN_MASKED_LENGTH]


class SecretMask:
    """Replaces every value of the named variables (taken from the environment) with ``***``."""

    def __init__(self, names: Iterable[str], environ: Mapping[str, str] | None = None) -> None:
        environ = os.environ if environ is None else environ
        self.names = frozenset(names)
        values = sorted(
            {
                environ[name]
                for name in self.names
                if len(environ.get(name, "")) >= MIN_MASKED_LENGTH
            },
            key=len,
            reverse=True,
        )
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None

    def __call__(self, text: str) -> str:
        """``text`` with every secret value masked."""
        return self._pattern.sub(MASK, text) if self._pattern else text
