"""Hide the values of secret environment variables in text meant for people."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

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
