"""Benchmark: `capitulation backtest` over one year of daily dates against the same dates through one
`capitulation report --as-of` call per date, in the same run.

Both read the recorded data in ../shared/data. The backtest loads it once and cuts it per date (one
process, then Dask on a local cluster of 2 single-threaded workers, a fresh history store each so nothing
is resumed; its timeline only: the scorecard's second, fixed-threshold timeline doubles it). The per-date
CLI path is timed on SAMPLE dates spread over the year (each a new process: imports, parsing, signals)
and scaled to the year, as a user scripting `report --as-of` would pay. Also times the whole history
2019-2026 on the Dask path (both timelines, as `capitulation backtest --from 2019-01-01` runs them).

Run: `.venv/bin/python benchmarks/backtest.py` (several minutes on 2 cores); also part of `benchmarks/run.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from capitulation.backtest import run
from capitulation.backtest.score import backtest
from capitulation.cluster import dask_client
from capitulation.sources.recorded import build_snapshot
from capitulation.store import HistoryStore

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
YEAR = ("2025-01-01", "2025-12-31")
SAMPLE = 6  # per-date CLI calls timed, spread over the year
WORKERS = 2


def cli_per_date(days: pd.DatetimeIndex) -> float:
    """Mean wall seconds of one `capitulation report --as-of DAY --json --no-store` process computing its
    report: a fresh cache folder whose parsed tables one earlier run (the day before the first) filled, so
    every timed date's document is computed, as for a date never asked before."""
    exe = Path(sys.executable).with_name("capitulation")
    picks = days[:: max(1, len(days) // SAMPLE)][:SAMPLE]
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "CAPITULATION_CACHE_DIR": cache}

        def report(day: pd.Timestamp) -> None:
            args = [str(exe), "report", "--data", str(DATA), "--as-of", f"{day:%Y-%m-%d}", "--json", "--no-store"]
            subprocess.run(args, check=True, capture_output=True, env=env)

        report(days[0] - pd.Timedelta(days=1))
        t0 = time.perf_counter()
        for d in picks:
            report(d)
        return (time.perf_counter() - t0) / len(picks)


def main() -> None:
    t0 = time.perf_counter()
    full = build_snapshot(DATA, "2100-01-01")
    load = time.perf_counter() - t0
    days = run.dates(full, *YEAR)
    run.evaluate_dates(full, days[:1])  # numba kernels compiled / loaded once, as any later date finds them
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run.timeline(full, days, store=HistoryStore(Path(tmp) / "one"))
        single = time.perf_counter() - t0
        with dask_client(workers=WORKERS) as client:
            t0 = time.perf_counter()
            run.timeline(full, days, client=client, store=HistoryStore(Path(tmp) / "dask"))
            dask = time.perf_counter() - t0
            whole = run.dates(full, "2019-01-01")
            t0 = time.perf_counter()
            backtest(
                full, whole, pd.Timestamp("2024-01-01", tz="UTC"), client=client, store=HistoryStore(Path(tmp) / "all")
            )
            history = time.perf_counter() - t0
    per_cli = cli_per_date(days)
    n = len(days)
    print(f"\nBacktest, {n} daily dates {YEAR[0]}..{YEAR[1]} (recorded data loaded once in {load:.1f} s):")
    print("| path | seconds | per date | vs per-date CLI |")
    print("|---|---|---|---|")
    cli_year = per_cli * n
    print(f"| `report --as-of` per date ({SAMPLE} timed, scaled) | {cli_year:.0f} | {per_cli:.2f} s | 1.00x |")
    print(f"| backtest, one process | {single:.1f} | {single / n:.3f} s | {cli_year / single:.1f}x |")
    print(f"| backtest, Dask {WORKERS} workers | {dask:.1f} | {dask / n:.3f} s | {cli_year / dask:.1f}x |")
    print(
        f"Whole history {whole[0]:%Y-%m-%d}..{whole[-1]:%Y-%m-%d} ({len(whole)} dates, both timelines, Dask "
        f"{WORKERS} workers): {history:.0f} s. Goals: a year under 60 s; the whole history under 300 s."
    )


if __name__ == "__main__":
    main()
