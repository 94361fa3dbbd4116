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

One task per chain file: `backfill` runs them in this process, or on a `dask.distributed.Client` (a local
cluster or a real scheduler) with the same function, so both paths give the same numbers. Every kernel is
single-threaded: a local cluster's workers run one numba thread each (`cluster.WORKER_ENV`); start a real
cluster's workers with NUMBA_NUM_THREADS=1 too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from tqdm import tqdm

from capitulation.analytics import black76, gex, smile
from capitulation.analytics.smile import latest
from capitulation.backfill import _kernel
from capitulation.backfill.chains import ChainArrays, arrays_of, chain_files, read_arrays
from capitulation.errors import DataError, StoreError
from capitulation.timeutil import DAYS_PER_YEAR, SECONDS_PER_YEAR, parse_duration

if TYPE_CHECKING:
    from distributed import Client

DAYS = (1, 7)
DELTAS = (0.15, 0.25)
GRID = np.linspace(1 - gex.PROFILE_GRID, 1 + gex.PROFILE_GRID, gex.PROFILE_POINTS)  # `gamma_profile`'s spots / S0
NS_PER_SECOND = 1_000_000_000
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
    """Metrics (one row per snapshot, `COLUMNS`, oldest first) and the input they came from."""

    metrics: pd.DataFrame
    files: int
    quote_rows: int


def parse_every(every: str) -> pd.Timedelta:
    """A snapshot interval such as '1h' or '15m' (`timeutil.parse_duration`); `DataError` unless it is positive
    and divides a day."""
    return parse_duration(every, "--every", divides_day=True)


def file_metrics(path: str | Path, every: str = "1h") -> tuple[pd.DataFrame, int]:
    """One task: the metrics of every snapshot in one chain file, and its number of quote rows."""
    chain = read_arrays(path)
    rows, starts, times = _kernel.select_snapshots(
        chain.timestamp, chain.instrument, chain.expiry, parse_every(every).value
    )
    return chain_metrics(chain.take(rows), starts, times), len(chain)


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
    path: str | Path, every: str = "1h", client: Client | None = None, progress: bool = False
) -> BackfillResult:
    """Metrics of every snapshot under `path` (a chain file or a folder of daily files).

    Without `client`, files run one after another here; with one, one Dask task per file. `progress`
    shows a tqdm bar over files on stderr when it is a terminal, cleared when done. The package's errors
    (`SourceError`, `DataError`) propagate as raised, also from Dask workers.
    """
    parse_every(every)
    files = chain_files(path)
    bar = tqdm(total=len(files), unit="file", desc="backfill", leave=False, disable=None if progress else True)
    with bar:
        if client is None:
            parts = []
            for f in files:
                parts.append(file_metrics(f, every))
                bar.update()
        else:
            from distributed import as_completed

            futures = client.map(file_metrics, [str(f) for f in files], every=every, pure=False)
            for fut in as_completed(futures):
                fut.result()  # raises the task's own error
                bar.update()
            parts = client.gather(futures)
    metrics = pd.concat([p[0] for p in parts], ignore_index=True).sort_values("timestamp", kind="stable")
    return BackfillResult(metrics.reset_index(drop=True), len(files), sum(p[1] for p in parts))


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
