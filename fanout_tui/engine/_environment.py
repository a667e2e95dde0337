"""A branch's environment, encoded for ``exec`` once per run rather than once per attempt."""

from __future__ import annotations

import os
from collections.abc import Mapping

_encoded_last: tuple[Mapping[str, str] | None, dict[bytes, bytes]] = (None, {})
"""The last inherited environment and its encoding (a run's copy: every attempt of the
run starts from it, and encoding its ~80 variables per attempt was a third of a start)."""


def branch_environment(
    overrides: Mapping[str, str], inherited: Mapping[str, str] | None = None
) -> dict[bytes, bytes]:
    """The environment of a branch, encoded for ``exec``: ``inherited`` (ours by default,
    as it is now), its variables on top. The inherited mapping is encoded once while it
    stays the same object; do not change it in place meanwhile (a run's copy never is)."""
    global _encoded_last
    if inherited is None:
        base = dict(os.environb)
    elif _encoded_last[0] is inherited:
        base = _encoded_last[1]
    else:
        base = {os.fsencode(key): os.fsencode(value) for key, value in inherited.items()}
        _encoded_last = (inherited, base)
    if not overrides:
        return base
    return {**base, **{os.fsencode(key): os.fsencode(value) for key, value in overrides.items()}}
