"""Running a spec's attempts on a Dask distributed cluster (``pip install 'fanout-tui[dask]'``).

:class:`DaskExecutor` is an :class:`~fanout_tui.engine.Executor`: give it to the
:class:`~fanout_tui.engine.Engine` and every attempt runs as a Dask task on a worker, in
its own process group there, its output streamed back live. :func:`connect_executor`
checks the address and the cluster before a run starts.

Importing this package needs nothing; :class:`DaskExecutor` needs ``distributed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fanout_tui.engine._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
