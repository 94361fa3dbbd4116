"""Skew and dealer-gamma metrics per historical chain snapshot, in one process or on a Dask cluster.

A snapshot is one time bucket of `every` (default 1 h, floor of each quote's timestamp, UTC): the latest
quote of each instrument in the bucket, all stamped with the bucket's latest quote time (the chain's as-of;
instruments at or past expiry then are dropped). A recorded hourly chain has one timestamp per bucket, so
its snapshots are its own chains. `every` must divide a day, so no bucket spans two daily files.

Per snapshot, with the analytics the `options` command uses (`signals.options_stress.summarize`):

* atm_iv_7d, rr15_1d, rr25_1d, rr15_7d, rr25_7d: `smile.constant_maturity(smile.risk_reversals(chain))`
  at 1 and 7 days (fractions: 0.05 = 5 vol points);
* spot (USD): `gex.reference_spot`; gex_usd_per_1pct: `gex.gex_by_strike` total, dealers "classic"
  (long calls, short puts); gamma_flip (USD): `gex.gamma_flip` of a sticky-strike `gex_profile` over
  spot x (1 -/+ 0.2) in 201 steps, the crossing nearest spot; call_wall, put_wall (USD strikes): `gex.walls`.

One task per chain file: `backfill` runs them in this process, or on a `dask.distributed.Client` (a local
cluster or a real scheduler) with the same function, so both paths give the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from tqdm import tqdm

from capitulation.analytics import gex, smile
from capitulation.backfill.chains import chain_files, read_chain
from capitulation.errors import DataError, StoreError

if TYPE_CHECKING:
    from distributed import Client

DAYS = (1, 7)
DELTAS = (0.15, 0.25)
DEALER: gex.Dealer = "classic"
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
    """A snapshot interval such as '1h' or '15min'; `DataError` unless it is positive and divides a day."""
    try:
        step = pd.Timedelta(every)
    except (TypeError, ValueError):
        raise DataError(f"--every must be a duration such as 1h or 15min, got {every!r}") from None
    if step <= pd.Timedelta(0) or pd.Timedelta(days=1) % step != pd.Timedelta(0):
        raise DataError(f"--every must be positive and divide one day (e.g. 5min, 1h, 1D), got {every!r}")
    return step


def snapshots(quotes: pd.DataFrame, every: pd.Timedelta) -> Iterator[pd.DataFrame]:
    """The chain of each `every` bucket of an `option_quotes` frame, oldest first (see module docstring)."""
    q = quotes.sort_values("timestamp", kind="stable")
    for _, g in q.groupby(q["timestamp"].dt.floor(every), sort=True):
        last = g.drop_duplicates("instrument", keep="last")
        chain = last.assign(timestamp=last["timestamp"].max())
        yield chain[chain["expiry"] > chain["timestamp"]].reset_index(drop=True)


def snapshot_metrics(chain: pd.DataFrame) -> dict[str, object]:
    """The metrics of one chain (one timestamp), keyed by `COLUMNS`; `DataError` for an unusable chain."""
    when = chain["timestamp"].max()
    try:
        cm = smile.constant_maturity(smile.risk_reversals(chain, DELTAS), DAYS).set_index("days")
        s0 = gex.reference_spot(chain)
        g = gex.gex_by_strike(chain, dealer=DEALER, s0=s0)
        flip = gex.gamma_profile(chain, DEALER, "strike", s0=s0).flip  # as `summarize`: one flip everywhere
    except DataError as exc:
        raise DataError(f"snapshot {when:%Y-%m-%d %H:%M:%S} UTC: {exc}") from None
    w = gex.walls(g.by_strike)
    return {
        "timestamp": when,
        "n_quotes": len(chain),
        "spot": s0,
        "atm_iv_7d": float(cm.loc[7, "atm_iv"]),
        **{f"rr{d}_{n}d": float(cm.loc[n, f"rr{d}"]) for n in DAYS for d in (15, 25)},
        "gex_usd_per_1pct": g.total_usd,
        "gamma_flip": flip,
        "call_wall": w.call_wall,
        "put_wall": w.put_wall,
    }


def file_metrics(path: str | Path, every: str = "1h") -> tuple[pd.DataFrame, int]:
    """One task: the metrics of every snapshot in one chain file, and its number of quote rows."""
    quotes = read_chain(path)
    rows = [snapshot_metrics(c) for c in snapshots(quotes, parse_every(every))]
    return _frame(rows), len(quotes)


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


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    return df.astype({"n_quotes": "int64", **{c: "float64" for c in COLUMNS[2:]}}).astype(
        {"timestamp": pd.DatetimeTZDtype("ns", "UTC")}
    )
