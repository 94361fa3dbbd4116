"""Skew and dealer-gamma metrics per historical chain snapshot, in one process or on a Dask cluster.

A snapshot is one time bucket of `every` (default 1 h, floor of each quote's timestamp, UTC): the latest
quote of each instrument in the bucket, all stamped with the bucket's latest quote time (the chain's as-of;
instruments at or past expiry then are dropped). A recorded hourly chain has one timestamp per bucket, so
its snapshots are its own chains. `every` must divide a day, so no bucket spans two daily files.

Per snapshot, with the analytics the `options` command uses (`signals.options_stress.summarize`):

* atm_iv_7d, rr15_1d, rr25_1d, rr15_7d, rr25_7d: `smile.constant_maturity(smile.risk_reversals(chain))`
  at 1 and 7 days (fractions: 0.05 = 5 vol points);
* spot (USD): `gex.reference_spot`; gex_usd_per_1pct: `gex.gex_by_strike` total, dealers "classic"
  (long calls, short puts); gamma_flip (USD): `gex.gamma_profile`'s flip, the zero crossing of the
  sticky-strike profile over spot x (1 -/+ 0.2) in 201 steps nearest spot, solved to a cent by Brent's
  method; call_wall, put_wall (USD strikes): `gex.walls`.

Those are the definitions; the computation is array-wise and gives the same numbers bit for bit (tested
against `summarize` on every recorded hour). A file is parsed once into arrays (`chains.read_arrays`:
pyarrow for a tardis file), its snapshots selected in one pass (`_kernel.select_snapshots`), each row
prepared once for every metric (year fraction, call delta, gamma at S0), then every metric of every
snapshot computed in one numba pass (`_kernel.snapshot_kernel`), which evaluates the GEX profile only at
the grid spots the nearest crossing needs.

A file's snapshots go through the kernel `CHUNK` at a time (each snapshot is computed on its own rows
alone, so the chunking changes no number); after each chunk `file_metrics` reports its progress.

One task per chain file: `backfill` runs them in this process, or on a `dask.distributed.Client` (a local
cluster or a real scheduler) with the same function, so both paths give the same numbers. Every kernel is
single-threaded: a local cluster's workers run one numba thread each (`cluster.WORKER_ENV`); start a real
cluster's workers with NUMBA_NUM_THREADS=1 too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from capitulation.analytics import black76, gex, smile
from capitulation.analytics.smile import latest
from capitulation.backfill import _kernel
from capitulation.backfill.chains import ChainArrays, arrays_of, capture_time, chain_files, read_arrays
from capitulation.errors import DataError, StoreError
from capitulation.timeutil import DAYS_PER_YEAR, SECONDS_PER_YEAR, parse_duration

if TYPE_CHECKING:
    from distributed import Client

DAYS = (1, 7)
DELTAS = (0.15, 0.25)
GRID = np.linspace(1 - gex.PROFILE_GRID, 1 + gex.PROFILE_GRID, gex.PROFILE_POINTS)  # `gamma_profile`'s spots / S0
NS_PER_SECOND = 1_000_000_000
CHUNK = 8
"""Snapshots per kernel call: the step of the progress inside a file (a day of 15-minute snapshots: 12 steps)."""
COLUMNS = (
    "timestamp",
    "n_quotes",
    "spot",
    "atm_iv_7d",
    "rr15_1d",
    "rr25_1d",
    "rr15_7d",
    "rr25_7d",
    "gex_usd_per_1pct",
    "gamma_flip",
    "call_wall",
    "put_wall",
)


@dataclass(frozen=True)
class BackfillResult:
    """Metrics (one row per snapshot, `COLUMNS`, oldest first), the input they came from, and the quote time
    inferred for each file that records none (file path -> UTC time, `chains.capture_time`)."""

    metrics: pd.DataFrame
    files: int
    quote_rows: int
    inferred: dict[str, pd.Timestamp] = field(default_factory=dict)


@dataclass(frozen=True)
class Progress:
    """Where a backfill stands: files finished of all, and snapshots finished of those known so far (a file's
    snapshots are known once it is read: in this process as it starts, on Dask as its task ends)."""

    files_done: int
    files: int
    snapshots_done: int
    snapshots: int


FileMetrics = tuple[pd.DataFrame, int, pd.Timestamp | None]
"""One file's metrics, its number of quote rows, and its inferred quote time (None: recorded in the file)."""


def parse_every(every: str) -> pd.Timedelta:
    """A snapshot interval such as '1h' or '15m' (`timeutil.parse_duration`); `DataError` unless it is positive
    and divides a day."""
    return parse_duration(every, "--every", divides_day=True)


def file_metrics(
    path: str | Path, every: str = "1h", progress: Callable[[int, int], None] | None = None
) -> FileMetrics:
    """One task: the metrics of every snapshot in one chain file (`FileMetrics`). `progress(done, total)` is
    called after each `CHUNK` of the file's `total` snapshots, `done` of them finished."""
    when = capture_time(path)
    chain = read_arrays(path, when)
    rows, starts, times = _kernel.select_snapshots(
        chain.timestamp, chain.instrument, chain.expiry, parse_every(every).value
    )
    snaps, parts = chain.take(rows), []
    for a in range(0, max(times.size, 1), CHUNK):
        b = min(a + CHUNK, times.size)
        parts.append(chain_metrics(snaps.take(slice(starts[a], starts[b])), starts[a : b + 1] - starts[a], times[a:b]))
        if progress is not None:
            progress(b, times.size)
    return pd.concat(parts, ignore_index=True), len(chain), when


def snapshot_metrics(chain: pd.DataFrame) -> dict[str, object]:
    """The metrics of one chain (its latest timestamp), keyed by `COLUMNS`; `DataError` for an unusable chain."""
    q = arrays_of(latest(chain, "backfill snapshot"))
    when = q.timestamp.max()
    return chain_metrics(q, np.array([0, len(q)]), np.array([when])).iloc[0].to_dict()


def chain_metrics(chain: ChainArrays, starts: np.ndarray, times: np.ndarray) -> pd.DataFrame:
    """The metrics (`COLUMNS`) of chains laid end to end: rows starts[s]..starts[s+1] are the chain at
    times[s] (ns since 1970 UTC), as `_kernel.select_snapshots` lays out a file.

    One preparation for every metric: year fractions, call deltas (`smile.with_call_delta`), S0 and gammas
    at S0, then one kernel pass (`_kernel.snapshot_kernel`) and the flip solved in its bracket.
    """
    counts = np.diff(starts)
    at = np.repeat(times, counts)
    F, K, vol = chain.underlying_price, chain.strike, chain.mark_iv
    t = (chain.expiry - at) / NS_PER_SECOND / SECONDS_PER_YEAR  # timeutil.year_fraction on ns times
    s0 = _kernel.reference_spots(starts, times, chain.expiry, F, chain.index_price)
    if np.isnan(s0).any():
        when = pd.Timestamp(times[np.flatnonzero(np.isnan(s0))[0]], tz="UTC")
        raise DataError(
            f"snapshot {when:%Y-%m-%d %H:%M:%S} UTC: reference_spot: no index price and no forward "
            "(underlying_price) in the chain"
        )
    s0_row = np.repeat(s0, counts)
    quoted = ~np.isnan(chain.bid_iv) | (chain.open_interest > 0)
    call_delta = black76.delta(F, K, t, vol, True)
    atm, rr, tied, total, walls, flip, rows, weight, gex_starts = _kernel.snapshot_kernel(
        starts,
        s0,
        (chain.expiry, K, F, vol, t, quoted, chain.is_call, call_delta),
        chain.open_interest,
        chain.contract_size,
        black76.gamma(F * s0_row / s0_row, K, t, vol),
        np.array(DELTAS),
        np.array([n / DAYS_PER_YEAR for n in DAYS]),
        GRID,
        gex.MOVE,
    )
    for s in np.flatnonzero(tied):  # a tie among call deltas decides a vol: the smile as `smile` sorts it
        part = chain.take(slice(starts[s], starts[s + 1])).frame()
        atm[s], rr[s] = _smile(part.assign(timestamp=pd.Timestamp(times[s], tz="UTC")))
    flips = flip[:, 1].copy()
    g = (F[rows], K[rows], t[rows], vol[rows], weight)
    for s in np.flatnonzero(flip[:, 0] == 2):  # a crossing between two grid spots: solved as `gamma_profile`
        part = tuple(a[gex_starts[s] : gex_starts[s + 1]] for a in g)
        flips[s] = brentq(_kernel.total_gex, flip[s, 2], flip[s, 3], args=(s0[s], *part), xtol=gex.FLIP_XTOL_USD)
    metrics = {
        "timestamp": pd.to_datetime(times, utc=True),
        "n_quotes": counts,
        "spot": s0,
        "atm_iv_7d": atm[:, DAYS.index(7)],
        **{f"rr{round(d * 100)}_{n}d": rr[:, i, j] for i, n in enumerate(DAYS) for j, d in enumerate(DELTAS)},
        "gex_usd_per_1pct": total,
        "gamma_flip": flips,
        "call_wall": walls[:, 0],
        "put_wall": walls[:, 1],
    }
    return _frame(pd.DataFrame(metrics, columns=list(COLUMNS)))


def _smile(chain: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """ATM vol (per maturity in DAYS) and risk reversals (maturity, delta in DELTAS) by `smile` itself."""
    cm = smile.constant_maturity(smile.risk_reversals(chain, DELTAS), DAYS).set_index("days").reindex(list(DAYS))
    rr = np.array([[cm.loc[n, f"rr{round(d * 100)}"] for d in DELTAS] for n in DAYS], dtype=float)
    return cm["atm_iv"].to_numpy(dtype=float), rr


def backfill(
    path: str | Path,
    every: str = "1h",
    client: Client | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> BackfillResult:
    """Metrics of every snapshot under `path` (a chain file or a folder of daily files).

    Without `client`, files run one after another here; with one, one Dask task per file. `progress` is
    called with a `Progress` as each file starts and ends and, in this process, after each `CHUNK` of a
    file's snapshots. The package's errors (`SourceError`, `DataError`) propagate as raised, also from Dask
    workers.
    """
    parse_every(every)
    files = chain_files(path)
    report = progress if progress is not None else lambda _: None
    parts: list[FileMetrics] = []
    done = 0  # snapshots of the finished files
    report(Progress(0, len(files), 0, 0))
    if client is None:
        for i, f in enumerate(files):

            def inside(n: int, total: int, i: int = i, before: int = done) -> None:
                report(Progress(i, len(files), before + n, before + total))

            parts.append(file_metrics(f, every, inside))
            done += len(parts[-1][0])
            report(Progress(i + 1, len(files), done, done))
    else:
        from distributed import as_completed

        futures = client.map(file_metrics, [str(f) for f in files], every=every, pure=False)
        for finished, fut in enumerate(as_completed(futures), 1):
            done += len(fut.result()[0])  # raises the task's own error
            report(Progress(finished, len(files), done, done))
        parts = client.gather(futures)
    metrics = pd.concat([p[0] for p in parts], ignore_index=True).sort_values("timestamp", kind="stable")
    inferred = {str(f): p[2] for f, p in zip(files, parts, strict=True) if p[2] is not None}
    return BackfillResult(metrics.reset_index(drop=True), len(files), sum(p[1] for p in parts), inferred)


def write_parquet(metrics: pd.DataFrame, out: str | Path) -> Path:
    """Write metrics to `out`/backfill_<first>_<last>.parquet atomically (temp file + rename); its path."""
    if metrics.empty:
        raise DataError("no snapshot to write")
    t, folder = metrics["timestamp"], Path(out)
    target = folder / f"backfill_{t.min():%Y%m%dT%H%M}_{t.max():%Y%m%dT%H%M}.parquet"
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        metrics.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({"n_quotes": "int64", **{c: "float64" for c in COLUMNS[2:]}}).astype(
        {"timestamp": pd.DatetimeTZDtype("ns", "UTC")}
    )
