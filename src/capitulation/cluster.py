"""A Dask client for the commands that spread tasks (`backfill`, `backtest`): a scheduler's, or a new local
cluster's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distributed import Client

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
"""Each local worker process is one thread: numba's and BLAS's own thread pools would compete with the
other workers for the same cores."""


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Client]:
    """A Dask client: of the scheduler at `scheduler` (e.g. tcp://host:8786), else of a new local cluster
    of `workers` single-threaded processes (`WORKER_ENV`); closed (cluster included) on exit."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, env=WORKER_ENV
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
