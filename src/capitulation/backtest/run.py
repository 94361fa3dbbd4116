"""The verdict timeline: the eight verdicts at every date of a range, from recorded data loaded once.

Each date's snapshot is `full.upto(the end of that UTC day)` and its verdicts `signals.evaluate_all`: the
code of `report --as-of`, so a date's rows are that command's verdicts. Dates run in chunks of
`CHUNK_DATES`, here one after another or one Dask task per chunk (a local cluster or a scheduler; the
snapshot is sent to each worker once). Each finished chunk is written to the history store under the
run's key (`run_key`: the data's provenance, the thresholds and the package's code), so an interrupted
run resumes where it stopped and a changed input starts a new run.

Timeline rows (`TIMELINE_COLUMNS`), one per date and signal: as_of (UTC, the end of the day), signal,
status, headline, the key metric (the signal's first metric: name, value, unit, as `history --signal`)
and every metric as JSON (`metrics_json`: the verdict's `metrics` list).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm import tqdm

from capitulation.errors import DataError, StoreError
from capitulation.signals import ALL_SIGNALS, Thresholds, evaluate_all
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot, parse_as_of
from capitulation.tables import DAY_CLOSE
from capitulation.timeutil import parse_duration
from capitulation.verdict import Verdict

if TYPE_CHECKING:
    from distributed import Client

    from capitulation.store import HistoryStore

CHUNK_DATES = 30
TIMELINE_COLUMNS = ["as_of", "signal", "status", "headline", "key_metric", "key_value", "key_unit", "metrics_json"]
PACKAGE = Path(__file__).resolve().parents[1]


def parse_every(every: str) -> int:
    """A date step such as '1d', '7d' or '1w' in whole days (`timeutil.parse_duration`); `DataError` otherwise."""
    return parse_duration(every, "--every", whole_days=True).days


def data_range(full: Snapshot) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dates a backtest can run on: from the first to the last BTC-USD daily close (the price history it
    is scored against); `DataError` without BTC closes."""
    btc = closes(full, BTC)
    if btc.empty:
        raise DataError("backtest: the data has no BTC-USD daily closes to run and score on")
    return btc.index[0], btc.index[-1]


def dates(full: Snapshot, start: str | None = None, end: str | None = None, every: str = "1d") -> pd.DatetimeIndex:
    """The as_of of each backtest date: the end of every `every`-th UTC day from `start` to `end` (default:
    the data's range). `DataError` naming the data's range for a date outside it or an empty range."""
    first, last = data_range(full)
    lo = first if start is None else parse_as_of(start).floor("D")
    hi = last if end is None else parse_as_of(end).floor("D")
    span = f"the data's BTC-USD closes run {first:%Y-%m-%d}..{last:%Y-%m-%d}"
    if lo < first or hi > last:
        raise DataError(f"backtest range {lo:%Y-%m-%d}..{hi:%Y-%m-%d} is outside the data: {span}")
    if lo > hi:
        raise DataError(f"backtest range is empty: --from {lo:%Y-%m-%d} is after --to {hi:%Y-%m-%d}")
    return pd.date_range(lo, hi, freq=f"{parse_every(every)}D") + DAY_CLOSE


def run_key(full: Snapshot, thresholds: Thresholds | None) -> str:
    """The identity of a backtest's results: a digest of each table's provenance and size, the thresholds
    given (None: the defaults) and every source file of the package (a code change is a new run)."""
    h = hashlib.sha256()
    for name in sorted(full.tables):
        h.update(json.dumps([name, len(full.tables[name]), asdict(full.provenance[name])], sort_keys=True).encode())
    th = None if thresholds is None else {k: repr(v) for k, v in sorted(thresholds.items())}
    h.update(json.dumps(th).encode())
    for f in sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.toml")):
        h.update(f.relative_to(PACKAGE).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:20]


def rows(verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    """Timeline rows of one date's verdicts (`TIMELINE_COLUMNS`)."""
    out = []
    for v in verdicts:
        d = v.as_dict()
        first = d["metrics"][0] if d["metrics"] else {"name": None, "value": None, "unit": None}
        out.append(
            {
                "as_of": v.as_of,
                "signal": v.signal,
                "status": v.status.value,
                "headline": v.headline,
                "key_metric": first["name"],
                "key_value": first["value"],
                "key_unit": first["unit"],
                "metrics_json": json.dumps(d["metrics"], allow_nan=False),
            }
        )
    return out


def evaluate_dates(full: Snapshot, days: Sequence[pd.Timestamp], thresholds: Thresholds | None = None) -> pd.DataFrame:
    """One task: the timeline rows of `days` (as_of times), each from `full` cut at that time."""
    out = [r for d in days for r in rows(evaluate_all(full.upto(d), thresholds))]
    return frame(out)


def frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Timeline rows as a typed frame (`TIMELINE_COLUMNS`)."""
    df = pd.DataFrame(records, columns=TIMELINE_COLUMNS)
    return df.astype({"as_of": pd.DatetimeTZDtype("ns", "UTC"), "key_value": "float64"})


@dataclass(frozen=True)
class Timeline:
    """A backtest's rows (`TIMELINE_COLUMNS`, oldest first), its run key, and how many dates were computed
    now or taken from the store (`resumed`)."""

    rows: pd.DataFrame
    key: str
    computed: int
    resumed: int

    def statuses(self) -> pd.DataFrame:
        """Wide: one row per as_of, one column per signal (status text), and `holds`: the count that holds."""
        wide = self.rows.pivot(index="as_of", columns="signal", values="status").reindex(columns=list(ALL_SIGNALS))
        return wide.assign(holds=(wide == "holds").sum(axis=1))


def timeline(
    full: Snapshot,
    days: pd.DatetimeIndex,
    thresholds: Thresholds | None = None,
    *,
    client: Client | None = None,
    store: HistoryStore | None = None,
    progress: bool = False,
) -> Timeline:
    """The eight verdicts at every as_of in `days` (see module docstring); dates already in `store` under
    this run's key are read back, not recomputed. The package's errors propagate as raised, also from
    Dask workers; chunks finished before an error stay stored."""
    key = run_key(full, thresholds)
    done = store.backtest_timeline(key) if store is not None else pd.DataFrame(columns=TIMELINE_COLUMNS)
    have = set(done["as_of"]) if not done.empty else set()
    todo = [d for d in days if d not in have]
    chunks = [todo[i : i + CHUNK_DATES] for i in range(0, len(todo), CHUNK_DATES)]
    parts = [done[done["as_of"].isin(days)]] if not done.empty else []
    bar = tqdm(total=len(todo), unit="date", desc="backtest", leave=False, disable=None if progress else True)
    with bar:
        if client is None:
            results = (evaluate_dates(full, c, thresholds) for c in chunks)
        else:
            from distributed import as_completed

            shared = client.scatter(full, broadcast=True)
            futures = client.map(evaluate_dates, [shared] * len(chunks), chunks, thresholds=thresholds, pure=False)
            results = (f.result() for f in as_completed(futures))
        for part in results:
            if store is not None:
                store.write_backtest(key, part)
            parts.append(part)
            bar.update(part["as_of"].nunique())
    out = pd.concat(parts, ignore_index=True) if parts else frame([])
    out = out.sort_values(["as_of", "signal"], key=_signal_order, kind="stable", ignore_index=True)
    return Timeline(out, key, len(todo), len(days) - len(todo))


def _signal_order(col: pd.Series) -> pd.Series:
    return col.map({s: i for i, s in enumerate(ALL_SIGNALS)}) if col.name == "signal" else col


def write_parquet(rows: pd.DataFrame, path: str | Path) -> Path:
    """Write timeline rows to `path` atomically (temp file + rename); `StoreError` when it cannot."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        rows.to_parquet(tmp, index=False)
        os.replace(tmp, target)
    except OSError as exc:
        raise StoreError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target
