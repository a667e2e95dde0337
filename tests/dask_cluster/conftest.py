"""A real Dask cluster for the Dask executor's tests: two worker processes of one thread."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def cluster() -> Iterator[distributed.LocalCluster]:
    """One cluster for all the tests (a worker a test kills is restarted by its nanny)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def address(cluster: distributed.LocalCluster) -> str:
    """The scheduler as ``--executor`` takes it."""
    return "dask://" + cluster.scheduler_address.removeprefix("tcp://")
