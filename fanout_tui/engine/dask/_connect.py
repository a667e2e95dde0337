"""From ``dask://HOST:PORT`` to a checked executor, before anything runs."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fanout_tui.engine.dask._executor import DaskExecutor

DASK_EXTRA = "fanout-tui[dask]"
"""What to install for ``--executor dask://…``."""
PROBE_TIMEOUT_S = 5.0


class ExecutorUnavailable(Exception):
    """The executor cannot be used; ``str()`` is one sentence for the operator."""


def scheduler_address(executor: str) -> str:
    """``tcp://HOST:PORT`` for ``dask://HOST:PORT`` (a ``tcp://`` address passes as is).

    Raises:
        ExecutorUnavailable: not a Dask address.
    """
    for prefix in ("dask://", "tcp://"):
        if executor.startswith(prefix) and ":" in executor[len(prefix) :]:
            return "tcp://" + executor[len(prefix) :]
    raise ExecutorUnavailable(f"executor {executor!r} is not dask://HOST:PORT")


def connect_executor(executor: str) -> DaskExecutor:
    """A :class:`DaskExecutor` for ``executor``, once its scheduler answered.

    Raises:
        ExecutorUnavailable: not a Dask address, ``distributed`` is not installed, or the
            scheduler cannot be reached (in :data:`PROBE_TIMEOUT_S`).
    """
    address = scheduler_address(executor)
    if importlib.util.find_spec("distributed") is None:
        raise ExecutorUnavailable(f"--executor {executor} needs Dask: pip install '{DASK_EXTRA}'")
    from distributed import Client

    from fanout_tui.engine.dask._executor import DaskExecutor

    try:
        with Client(address, timeout=PROBE_TIMEOUT_S, set_as_default=False):
            pass
    except (OSError, TimeoutError) as error:
        raise ExecutorUnavailable(
            f"the Dask scheduler at {address} cannot be reached: {error}"
        ) from None
    return DaskExecutor(address)
