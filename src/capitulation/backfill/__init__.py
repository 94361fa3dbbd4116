"""Historical runs: skew and dealer-gamma metrics per snapshot of day-partitioned option chains, on Dask."""

from capitulation.backfill.chains import chain_files, from_tardis, read_chain, to_tardis
from capitulation.backfill.run import BackfillResult, backfill, snapshot_metrics, write_parquet

__all__ = [
    "BackfillResult",
    "backfill",
    "chain_files",
    "from_tardis",
    "read_chain",
    "snapshot_metrics",
    "to_tardis",
    "write_parquet",
]
