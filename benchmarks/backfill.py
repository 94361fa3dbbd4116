"""Benchmark: the backfill in one process against Dask on a local cluster of 2 worker processes.

Input: the recorded real Deribit chain (shared/data/deribit_options/full_data_sample.csv, 37 hourly snapshots,
24,562 quotes, 664 per snapshot) converted to the tardis `options_chain` layout, one CSV per UTC day (2 files),
written REPEATS times under different names to a temporary folder: the same real quotes repeated, labelled so,
to give the cluster more than two tasks. Both paths read and compute the same files; their metrics are checked
equal. Times count the backfill call only (best wall of RUNS, with that run's CPU); the cluster's start-up is
timed on its own line. CPU is user + system of every process that works: this one, and for Dask also the
cluster's worker and nanny processes (the scheduler runs in this one). Each local worker runs one numba thread
(`cluster.WORKER_ENV`). A year is 8,760 hourly snapshots at this chain size.

Run: `.venv/bin/python benchmarks/backfill.py` (about 20 s on 2 cores); also part of `benchmarks/run.py`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil

from capitulation.backfill import BackfillResult, backfill, to_tardis
from capitulation.cluster import dask_client
from capitulation.sources.deribit import read_chain_csv

SAMPLE = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deribit_options" / "full_data_sample.csv"
REPEATS = 12
RUNS = 3  # best of
WORKERS = 2
YEAR_SNAPSHOTS = 8_760  # a year of hourly snapshots
GOAL_MS = 4.0  # CPU ms per snapshot of ~664 quotes on one core: a year in under 60 s


def write_input(folder: Path) -> None:
    """The real chain in the tardis layout, one CSV per UTC day, REPEATS copies (rep00_..., rep01_...)."""
    quotes = read_chain_csv(SAMPLE)[0]
    days = quotes["timestamp"].dt.strftime("%Y-%m-%d")
    for day, part in to_tardis(quotes).groupby(days):
        text = part.to_csv(index=False)
        for r in range(REPEATS):
            (folder / f"rep{r:02d}_deribit_options_chain_{day}_OPTIONS.csv").write_text(text)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and every process under it (a local cluster's)."""
    me = psutil.Process()
    total = 0.0
    for p in [me, *me.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def timed(run: Callable[[], BackfillResult]) -> tuple[float, float, BackfillResult]:
    """(wall, CPU) seconds of the fastest of RUNS calls (the first also loads numba's cache in each
    process), and a result."""
    best = (float("inf"), 0.0)
    for _ in range(RUNS):
        c0, t0 = cpu_seconds(), time.perf_counter()
        out = run()
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        best = min(best, (wall, cpu))
    return best[0], best[1], out


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_input(folder)
        wall, cpu, single = timed(lambda: backfill(folder))
        rows = [("single process", wall, cpu)]
        t0 = time.perf_counter()
        with dask_client(workers=WORKERS) as client:
            start = time.perf_counter() - t0
            wall, cpu, on_dask = timed(lambda: backfill(folder, client=client))
            rows.append((f"dask local, {WORKERS} workers", wall, cpu))
    pd.testing.assert_frame_equal(on_dask.metrics, single.metrics, check_exact=False, rtol=1e-12, atol=0)
    n_snap, n_rows = len(single.metrics), single.quote_rows
    print(
        f"\nBackfill: real Deribit chain {SAMPLE.name} (37 hourly snapshots) in the tardis layout, repeated "
        f"{REPEATS}x = {single.files} daily files, {n_snap} snapshots, {n_rows:,} quotes ({n_rows / n_snap:.0f} per "
        f"snapshot); {os.cpu_count()} cores, load average {load:.2f} when started"
    )
    head = ("path", "wall s", "CPU s", "ms/snapshot wall", "ms/snapshot CPU", "year wall (est.)", "vs single")
    print(f"{head[0]:<24}{head[1]:>8}{head[2]:>8}{head[3]:>18}{head[4]:>17}{head[5]:>18}{head[6]:>11}")
    base = rows[0][1]
    for name, wall, cpu in rows:
        ms_wall, ms_cpu = 1000 * wall / n_snap, 1000 * cpu / n_snap
        print(
            f"{name:<24}{wall:>8.2f}{cpu:>8.2f}{ms_wall:>18.2f}{ms_cpu:>17.2f}"
            f"{YEAR_SNAPSHOTS * ms_wall / 1000:>16.1f} s{base / wall:>10.2f}x"
        )
    one_core = 1000 * rows[0][2] / n_snap
    print(
        f"  goal: <= {GOAL_MS:.0f} ms CPU per snapshot on one core ({YEAR_SNAPSHOTS * GOAL_MS / 1000:.0f} s a year) -"
        f" single process {one_core:.2f} ms ({YEAR_SNAPSHOTS * one_core / 1000:.1f} s a year on one core);"
        f" Dask {WORKERS} workers faster than one process - {base / rows[1][1]:.2f}x"
    )
    print(
        f"  best of {RUNS} runs; dask cluster start-up (not in the times): {start:.1f} s; metrics of both paths"
        f" equal to 1e-12; year = {YEAR_SNAPSHOTS:,} snapshots x the time per snapshot at this chain size"
    )


if __name__ == "__main__":
    main()
