"""Benchmark: the backfill in one process against Dask on a local cluster of 2 worker processes.

Input: the recorded real Deribit chain (shared/data/deribit_options/full_data_sample.csv, 37 hourly snapshots,
24,562 quotes) converted to the tardis `options_chain` layout, one CSV per UTC day (2 files), written
REPEATS times under different names to a temporary folder: the same real quotes repeated, labelled so, to give
the cluster more than two tasks. Both paths read and compute the same files; their metrics are checked equal.
Rates count the backfill call only (best of 2); the cluster's start-up is timed on its own line. The year figure scales
the measured time per snapshot by 800 / (quotes per snapshot here), i.e. assumes linear cost in chain size.

Run: `.venv/bin/python benchmarks/backfill.py` (about 20 s on 2 cores); also part of `benchmarks/run.py`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from capitulation.backfill import BackfillResult, backfill, to_tardis
from capitulation.cluster import dask_client
from capitulation.sources.deribit import read_chain_csv

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deribit_options" / "full_data_sample.csv"
REPEATS = 4
RUNS = 2  # best of
WORKERS = 2
YEAR_SNAPSHOTS, YEAR_CHAIN = 8_760, 800  # a year of hourly snapshots of a ~800-option BTC chain


def write_input(folder: Path) -> None:
    """The real chain in the tardis layout, one CSV per UTC day, REPEATS copies (rep00_..., rep01_...)."""
    quotes = read_chain_csv(SAMPLE)[0]
    days = quotes["timestamp"].dt.strftime("%Y-%m-%d")
    for day, part in to_tardis(quotes).groupby(days):
        text = part.to_csv(index=False)
        for r in range(REPEATS):
            (folder / f"rep{r:02d}_deribit_options_chain_{day}_OPTIONS.csv").write_text(text)


def timed(run: Callable[[], BackfillResult]) -> tuple[float, BackfillResult]:
    """Best wall time of RUNS calls (the first also loads numba's cache in each process), and a result."""
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_input(folder)
        secs, single = timed(lambda: backfill(folder))
        rows = [("single process", secs)]
        t0 = time.perf_counter()
        with dask_client(workers=WORKERS) as client:
            start = time.perf_counter() - t0
            secs, on_dask = timed(lambda: backfill(folder, client=client))
            rows.append((f"dask local, {WORKERS} workers", secs))
    pd.testing.assert_frame_equal(on_dask.metrics, single.metrics, check_exact=False, rtol=1e-12, atol=0)
    n_snap, n_rows = len(single.metrics), single.quote_rows
    per_snap = n_rows / n_snap
    print(
        f"\nBackfill: real Deribit chain {SAMPLE.name} (37 hourly snapshots) in the tardis layout, repeated "
        f"{REPEATS}x = {single.files} daily files, {n_snap} snapshots, {n_rows:,} quotes ({per_snap:.0f} per "
        f"snapshot); {os.cpu_count()} cores"
    )
    print(f"{'path':<24}{'seconds':>9}{'rows/s':>10}{'snapshots/s':>13}{'vs single':>11}{'year of hourly (est.)':>24}")
    base = rows[0][1]
    for name, secs in rows:
        year_s = YEAR_SNAPSHOTS * secs / n_snap * YEAR_CHAIN / per_snap
        print(
            f"{name:<24}{secs:>9.2f}{n_rows / secs:>10,.0f}{n_snap / secs:>13.1f}{base / secs:>10.2f}x"
            f"{year_s / 60:>20.1f} min"
        )
    print(
        f"  best of {RUNS} runs; dask cluster start-up (not in the rates): {start:.1f} s;"
        " metrics of both paths equal to 1e-12"
    )
    print(
        f"  year estimate: {YEAR_SNAPSHOTS:,} snapshots x {YEAR_CHAIN} options = "
        f"{YEAR_SNAPSHOTS * YEAR_CHAIN / 1e6:.1f}M rows, time per snapshot scaled by {YEAR_CHAIN}/{per_snap:.0f};"
        " tick-level files hold many rows per instrument and hour, so their reading cost grows with the file"
    )


if __name__ == "__main__":
    main()
