"""A Dask client for the commands that spread tasks (`backfill`, `backtest`): a scheduler's, or a new local
cluster's. Imported by those commands only (distributed is a heavy import)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from distributed.diagnostics.plugin import WorkerPlugin

if TYPE_CHECKING:
    from distributed import Client, Worker

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
"""Each local worker process is one thread: numba's and BLAS's own thread pools would compete with the
other workers for the same cores."""


class QuietWorkers(WorkerPlugin):
    """A Dask worker plugin: each local worker logs at this process's level (`-v` or not), and distributed's
    own "Compute Failed" traceback is kept back, as the task's error comes back to the client and is
    reported there once (the CLI's one-line message)."""

    name = "capitulation-quiet-workers"

    def __init__(self, level: int) -> None:
        self.level = level

    def setup(self, worker: Worker) -> None:
        logging.getLogger().setLevel(self.level)
        logging.getLogger("distributed").setLevel(self.level if self.level <= logging.INFO else logging.CRITICAL)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Client]:
    """A Dask client: of the scheduler at `scheduler` (e.g. tcp://host:8786), else of a new local cluster
    of `workers` single-threaded processes (`WORKER_ENV`, `QuietWorkers`, the scheduler's HTTP endpoint on a
    free port with no dashboard); closed (cluster included) on exit."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # With dashboard_address None the scheduler's HTTP server still binds its default 8787, and warns
            # "Port 8787 is already in use" (distributed.node, warnings.warn) when another program holds it:
            # a free port (":0") instead, never warned about (tests/backfill: 8787 held by a socket)
            scheduler_kwargs={"dashboard_address": ":0"},
            env=WORKER_ENV,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(QuietWorkers(logging.getLogger().level))
        yield client
