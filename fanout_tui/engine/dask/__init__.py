"""Running a spec's attempts on a Dask distributed cluster (``pip install 'fanout-tui[dask]'``).

:class:`DaskExecutor` is an :class:`~fanout_tui.engine.Executor`: give it to the
:class:`~fanout_tui.engine.Engine` and every attempt runs as a Dask task on a worker, in
its own process group there, its output streamed back live. :func:`connect_executor`
checks the address and the cluster before a run starts.

Importing this package needs nothing; :class:`DaskExecutor` needs ``distributed``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fanout_tui.engine.dask._connect import (
        DASK_EXTRA,
        ExecutorUnavailable,
        connect_executor,
        scheduler_address,
    )
    from fanout_tui.engine.dask._executor import DaskExecutor

_HOMES = {
    "DASK_EXTRA": "_connect",
    "DaskExecutor": "_executor",
    "ExecutorUnavailable": "_connect",
    "connect_executor": "_connect",
    "scheduler_address": "_connect",
}

__all__ = [
    "DASK_EXTRA",
    "DaskExecutor",
    "ExecutorUnavailable",
    "connect_executor",
    "scheduler_address",
]


def __getattr__(name: str) -> Any:
    """Import an exported name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
