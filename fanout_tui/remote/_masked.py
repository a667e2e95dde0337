"""What leaves the run for viewers carries no secret: every string in it is masked.

A plan holds commands with secrets interpolated into them (``${{ env.TOKEN }}``); events
are masked by the engine already. The snapshot a viewer gets, and the final state left on
disk, go through :func:`masked` so that no secret reaches a viewer's screen or a file.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any, TypeVar

from fanout_tui.spec import Masker

T = TypeVar("T")


def masked(value: T, masker: Masker) -> T:
    """``value`` with every secret in its strings replaced (dataclasses, containers and
    paths are rebuilt; anything else is kept as it is)."""
    if not masker.active:
        return value
    return _mask(value, masker)  # type: ignore[no-any-return]


def _mask(value: Any, masker: Masker) -> Any:
    if isinstance(value, str):
        return masker.mask(value)
    if isinstance(value, PurePath):
        return type(value)(masker.mask(str(value)))
    if isinstance(value, tuple):
        items = [_mask(item, masker) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [_mask(item, masker) for item in value]
    if isinstance(value, dict):
        return {_mask(key, masker): _mask(item, masker) for key, item in value.items()}
    if isinstance(value, frozenset):
        return frozenset(_mask(item, masker) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: _mask(getattr(value, field.name), masker)
            for field in dataclasses.fields(value)
            if field.init
        }
        return dataclasses.replace(value, **changes)
    return value
