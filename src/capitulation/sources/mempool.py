"""Bitcoin network per day (`btc_network`) live from the mempool.space REST API (public, no API key).

mempool.space is rate limited, so three GETs, each through `http.get_json` (429/418/5xx retried with backoff):

===============================  ===============================================  ==================================
endpoint                         fields read                                      gives
===============================  ===============================================  ==================================
/api/v1/mining/hashrate/3m       hashrates[].timestamp, .avgHashrate (H/s)        hashrate_ehs = H/s / 1e18
(required)                       difficulty[].time, .difficulty                   difficulty
                                 currentHashrate (H/s), currentDifficulty         the day in progress
/api/v1/mining/blocks/fees/3m    [].timestamp, .avgFees (sats), .avgHeight        fees_btc_per_block = sats / 1e8;
                                                                                  height of past days
/api/blocks/tip/height           a bare integer                                   height of the day in progress
===============================  ===============================================  ==================================

One row per UTC day, stamped at 00:00 UTC; mempool.space quirks die here:

* daily hashrate: mempool.space stamps each day's estimate (Bitcoin Core `getnetworkhashps` over that day's
  blocks) at the midnight that *ends* the day, so the entry stamped D 00:00 is the row of day D-1. An
  `avgHashrate` of 0 (no block indexed that day) is read as missing.
* difficulty: `difficulty[]` lists the adjustments in the window (`time`: the first block at the new
  difficulty); a day's difficulty is the last adjustment before the end of that day. Days before the
  window's first adjustment have NaN difficulty (not inferred).
* fees: `/mining/blocks/fees/3m` averages the total fees of each block (sats per block, subsidy excluded)
  over 2-hour buckets aligned on UTC (7200 s divides a day, so a bucket lies within one UTC day); a day's
  fees_btc_per_block is the unweighted mean of its buckets' `avgFees` / 1e8 (the API does not give the blocks
  per bucket; about 12 each).
* height: the day in progress gets the tip height (exact, at retrieval); a past day gets the largest
  `avgHeight` of its fee buckets, i.e. the mean height of the blocks in its last 2-hour bucket: approximate,
  a few blocks (about 6, at most a bucket's worth) below the day's last block. NaN without fee buckets.
* subsidy_btc: `analytics.mining.subsidy_at_height` (50 BTC halved every 210,000 blocks) at that height;
  without a height, the recorded importer's halving-by-date schedule (`sources.network.subsidy_btc`). On a
  halving day whose halving block falls in the day's last bucket, the bucket height still pays the old subsidy.
* the day in progress (today, UTC) is a partial bar: hashrate_ehs = `currentHashrate` / 1e18 (Bitcoin Core
  `getnetworkhashps`, trailing 120 blocks), difficulty = `currentDifficulty` (mempool.space sends 0 for both
  when its node is unavailable: read as missing), fees from today's buckets so far. By the table's bar
  convention it is known only at the end of the day, so `Snapshot.upto(now)` leaves it out.

Bad input:

* the hashrate endpoint is required: an HTTP error, a rate limit outlasting the backoff or an unreachable host
  raise `SourceError`; a body that is not JSON, not the documented shape, or a missing/renamed field raise
  `DataError` naming the endpoint and the field; an empty `hashrates` list raises `SourceError`.
* the fees and tip endpoints are auxiliary: any failure is named in the provenance notes and their columns
  stay NaN; a rate limit outlasting the backoff leaves the endpoints not yet asked unasked.
* a null, NaN, infinite or negative number (or a zero hashrate/difficulty) drops its entry, counted in the
  notes; a number of the wrong type (text, boolean, object) is schema drift (`DataError`).
* stale data: the latest daily hashrate older than `STALE_DAILY` or the latest fee bucket older than
  `STALE_FEES` before retrieval is said in the notes ("stale: ...").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import requests

from capitulation import tables
from capitulation.analytics.mining import subsidy_at_height
from capitulation.errors import CapitulationError, DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources import http
from capitulation.sources.http import Backoff
from capitulation.sources.network import subsidy_btc as subsidy_by_date

log = logging.getLogger(__name__)

DEFAULT_BACKOFF = Backoff()
PERIOD = "3m"
HASHRATE_PATH = f"/api/v1/mining/hashrate/{PERIOD}"
FEES_PATH = f"/api/v1/mining/blocks/fees/{PERIOD}"
TIP_PATH = "/api/blocks/tip/height"
H_PER_EH = 1e18
SATS_PER_BTC = 1e8
STALE_DAILY = pd.Timedelta(days=2)
"""The latest daily hashrate is stamped at the last midnight (normally < 1 day old); older than this: stale."""
STALE_FEES = pd.Timedelta(hours=6)
"""The latest 2-hour fee bucket is normally < 2 h old (plus a block interval); older than this: stale."""
LICENCE = "mempool.space public API (terms of service)"
_DAY = pd.Timedelta(days=1)
_TIME = pd.DatetimeTZDtype("ns", "UTC")


@dataclass(frozen=True)
class HashratePart:
    """The parsed hashrate answer: daily rows (date, hashrate_ehs), adjustments (time, difficulty), the current
    hashrate (EH/s) and difficulty (NaN when not sent), and how many entries were dropped."""

    daily: pd.DataFrame
    adjustments: pd.DataFrame
    current_ehs: float
    current_difficulty: float
    dropped_hashrates: int
    dropped_adjustments: int


@dataclass(frozen=True)
class FeePart:
    """The parsed fee answer per UTC day: date, fees_btc_per_block (BTC), height (blocks, approximate),
    the latest bucket time, and how many buckets were dropped."""

    daily: pd.DataFrame
    latest: pd.Timestamp | None
    dropped: int
    buckets: int


def fetch_network(
    *,
    base_url: str = "https://mempool.space",
    session: requests.Session | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    now: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, Provenance]:
    """A validated `btc_network` table (one row per UTC day of the last ~3 months, plus today in progress)
    and its provenance, from mempool.space (see the module docstring for the mapping and units).

    `base_url`: the API host (scheme and host, no path). `session`: a `requests` session (default
    `http.session()`). `now`: the retrieval time (UTC; naive is UTC; None: the clock), which says which day
    is today and how old the data is. Raises `SourceError` / `DataError` only for the required hashrate
    endpoint; a failing fees or tip endpoint is noted in the provenance.
    """
    s = session or http.session()
    base = base_url.rstrip("/")
    retrieved_at = http.utc_now() if now is None else utc(now)
    today = retrieved_at.normalize()

    def get(path: str) -> Any:
        return http.get_json(s, base + path, backoff=backoff, what=f"mempool.space {path}")

    hr = parse_hashrate(get(HASHRATE_PATH), f"mempool.space {HASHRATE_PATH}")
    answered, notes = [HASHRATE_PATH], []
    aux: dict[str, Any] = {}
    parsers: dict[str, Callable[[Any], Any]] = {
        FEES_PATH: lambda b: parse_fees(b, f"mempool.space {FEES_PATH}"),
        TIP_PATH: lambda b: parse_tip(b, f"mempool.space {TIP_PATH}"),
    }
    refused = False
    for path, parse in parsers.items():
        if refused:
            notes.append(f"{path} not asked (rate limited)")
            continue
        try:
            aux[path] = parse(get(path))
            answered.append(path)
        except CapitulationError as exc:
            notes.append(f"{path} failed ({exc})")
            log.warning("mempool.space: %s failed: %s", path, exc)
            refused = isinstance(exc, http.RefusedError) and exc.rate_limited

    fees: FeePart | None = aux.get(FEES_PATH)
    tip: int | None = aux.get(TIP_PATH)
    out, outside = _assemble(hr, fees, tip, today)
    out = tables.validate("btc_network", out)
    notes = _notes(out, hr, fees, tip, retrieved_at, outside) + notes
    host = "" if base == "https://mempool.space" else f" at {base}"
    source = "mempool.space REST API: " + ", ".join(answered) + host
    return out, Provenance(source, retrieved_at.isoformat(), LICENCE, "; ".join(notes))


# ---- parsing: one answer each, units converted, bad numbers dropped and counted ------------------------------


def parse_hashrate(body: Any, what: str = f"mempool.space {HASHRATE_PATH}") -> HashratePart:
    """`/api/v1/mining/hashrate/:period` -> daily hashrate in EH/s (row date = entry midnight - 1 day),
    difficulty adjustments, the current hashrate (EH/s) and difficulty. `SourceError` for an empty
    `hashrates` list; `DataError` for a wrong shape, a missing field or no usable daily hashrate."""
    obj = _object(body, what)
    hashrates = _list(_field(obj, "hashrates", what), f"{what} 'hashrates'")
    adjustments = _list(_field(obj, "difficulty", what), f"{what} 'difficulty'")
    if not hashrates:
        raise SourceError(f"{what} returned no daily hashrates (empty list)")
    days, ehs = [], []
    for i, e in enumerate(hashrates):
        t = _number(_field(e, "timestamp", what, "hashrates", i), what, "hashrates[].timestamp")
        h = _number(_field(e, "avgHashrate", what, "hashrates", i), what, "hashrates[].avgHashrate")
        if t is not None and h is not None and h > 0:
            days.append((_seconds(t) - _DAY).normalize())
            ehs.append(h / H_PER_EH)
    if not days:
        raise DataError(f"{what}: all {len(hashrates)} daily hashrates are null, NaN, negative or zero")
    daily = (
        pd.DataFrame({"date": _times(days), "hashrate_ehs": ehs}).groupby("date", as_index=False)["hashrate_ehs"].mean()
    )
    times, diffs = [], []
    for i, e in enumerate(adjustments):
        t = _number(_field(e, "time", what, "difficulty", i), what, "difficulty[].time")
        d = _number(_field(e, "difficulty", what, "difficulty", i), what, "difficulty[].difficulty")
        if t is not None and d is not None and d > 0:
            times.append(_seconds(t))
            diffs.append(d)
    adj = pd.DataFrame({"time": _times(times), "difficulty": np.asarray(diffs, float)}).sort_values("time")
    cur_h = _number(_field(obj, "currentHashrate", what), what, "currentHashrate")
    cur_d = _number(_field(obj, "currentDifficulty", what), what, "currentDifficulty")
    return HashratePart(
        daily=daily,
        adjustments=adj.reset_index(drop=True),
        current_ehs=cur_h / H_PER_EH if cur_h else math.nan,
        current_difficulty=cur_d if cur_d else math.nan,
        dropped_hashrates=len(hashrates) - len(days),
        dropped_adjustments=len(adjustments) - len(times),
    )


def parse_fees(body: Any, what: str = f"mempool.space {FEES_PATH}") -> FeePart:
    """`/api/v1/mining/blocks/fees/:period` -> per UTC day the mean of the buckets' `avgFees` in BTC per block
    and the largest `avgHeight`. An empty list gives no rows; `DataError` for a wrong shape or missing field."""
    buckets = _list(body, what)
    fees, heights, stamps = [], [], []
    for i, e in enumerate(buckets):
        t = _number(_field(e, "timestamp", what, "", i), what, "timestamp")
        f = _number(_field(e, "avgFees", what, "", i), what, "avgFees")
        h = _number(_field(e, "avgHeight", what, "", i), what, "avgHeight")
        if t is not None and f is not None and h is not None:
            stamps.append(_seconds(t))
            fees.append(f / SATS_PER_BTC)
            heights.append(h)
    days = _times([t.normalize() for t in stamps])
    frame = pd.DataFrame({"date": days, "fees_btc_per_block": fees, "height": np.asarray(heights, float)})
    daily = frame.groupby("date", as_index=False).agg(
        fees_btc_per_block=("fees_btc_per_block", "mean"), height=("height", "max")
    )
    return FeePart(daily, max(stamps) if stamps else None, len(buckets) - len(stamps), len(buckets))


def parse_tip(body: Any, what: str = f"mempool.space {TIP_PATH}") -> int:
    """`/api/blocks/tip/height` -> the tip height (a non-negative integer); `DataError` otherwise."""
    if isinstance(body, bool) or not isinstance(body, int | float) or not math.isfinite(body):
        raise DataError(f"{what}: expected a block height, got {body!r:.80}")
    if body < 0 or body != int(body):
        raise DataError(f"{what}: expected a non-negative whole block height, got {body!r}")
    return int(body)


def hashrate_ehs(hashes_per_second: np.ndarray | float) -> np.ndarray | float:
    """H/s -> EH/s (1 EH/s = 1e18 hashes per second)."""
    return np.asarray(hashes_per_second, float) / H_PER_EH


def subsidy_from_height(heights: np.ndarray | pd.Series, dates: pd.Series) -> np.ndarray:
    """Block subsidy in BTC per block at each height (`analytics.mining.subsidy_at_height`); where the height
    is missing, by date from the halving schedule (`sources.network.subsidy_btc`)."""
    h = pd.Series(heights, dtype="Float64").reset_index(drop=True)
    by_date = subsidy_by_date(pd.Series(dates).reset_index(drop=True))
    return np.array([by_date[i] if pd.isna(v) else subsidy_at_height(int(v)) for i, v in enumerate(h)], dtype=float)


# ---- assembly --------------------------------------------------------------------------------------------------


def _assemble(hr: HashratePart, fees: FeePart | None, tip: int | None, today: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """The table's rows (one per daily-hashrate day, plus today) and the fee days outside them."""
    days = pd.DataFrame({"date": _times(sorted({*hr.daily["date"], today}))})
    out = days.merge(hr.daily, on="date", how="left")
    is_today = out["date"] == today
    if not math.isnan(hr.current_ehs):
        out.loc[is_today & out["hashrate_ehs"].isna(), "hashrate_ehs"] = hr.current_ehs
    # a day's difficulty: the last adjustment before the end of the day (strictly: the next midnight is not in it)
    ends = pd.DataFrame({"time": out["date"] + _DAY})
    diff = pd.merge_asof(ends, hr.adjustments, on="time", allow_exact_matches=False)["difficulty"]
    out["difficulty"] = diff.to_numpy()
    if not math.isnan(hr.current_difficulty):
        out.loc[is_today, "difficulty"] = hr.current_difficulty
    outside = 0
    if fees is not None:
        out = out.merge(fees.daily, on="date", how="left")
        outside = int((~fees.daily["date"].isin(out["date"])).sum())
    else:
        out["fees_btc_per_block"], out["height"] = np.nan, np.nan
    if tip is not None:
        out.loc[is_today, "height"] = float(tip)
    out["subsidy_btc"] = subsidy_from_height(out["height"], out["date"])
    return out[tables.BTC_NETWORK.names], outside


def _notes(
    out: pd.DataFrame,
    hr: HashratePart,
    fees: FeePart | None,
    tip: int | None,
    retrieved_at: pd.Timestamp,
    outside: int,
) -> list[str]:
    """Provenance notes: rows, mapping, dropped entries, stale data (failures are appended by the caller)."""
    first, last = out["date"].iloc[0].date(), out["date"].iloc[-1].date()
    notes = [
        f"{len(out)} daily row(s) {first}..{last}, the last the UTC day in progress (current hashrate and "
        "difficulty, tip height)",
        "hashrate H/s / 1e18 (entry stamped at the midnight ending its day); difficulty = last adjustment before "
        "the end of the day; fees = mean of the day's 2-hour buckets of per-block fees, sats / 1e8; past heights "
        "= the day's last fee bucket's mean height (approximate); subsidy from height (50 BTC halved every "
        "210,000 blocks), by date where no height",
    ]
    if hr.dropped_hashrates:
        notes.append(f"{hr.dropped_hashrates} daily hashrate entr(ies) dropped (null, NaN, negative or zero)")
    if hr.dropped_adjustments:
        notes.append(f"{hr.dropped_adjustments} difficulty adjustment(s) dropped (null, NaN, negative or zero)")
    if hr.adjustments.empty:
        notes.append("no difficulty adjustment in the window: past difficulty unknown")
    if math.isnan(hr.current_ehs) or math.isnan(hr.current_difficulty):
        notes.append("current hashrate or difficulty not sent (null or 0): today's taken from the daily data or NaN")
    latest_daily = hr.daily["date"].max() + _DAY
    if retrieved_at - latest_daily > STALE_DAILY:
        notes.append(f"stale: latest daily hashrate is for {(latest_daily - _DAY).date()}, retrieved {retrieved_at}")
    if fees is not None:
        if fees.buckets == 0:
            notes.append(f"{FEES_PATH} returned an empty list: fees_btc_per_block NaN")
        if fees.dropped:
            notes.append(f"{fees.dropped} of {fees.buckets} fee bucket(s) dropped (null, NaN or negative)")
        if outside:
            notes.append(f"{outside} fee day(s) without a daily hashrate row dropped")
        if fees.latest is not None and retrieved_at - fees.latest > STALE_FEES:
            notes.append(f"stale: latest fee bucket at {fees.latest}, retrieved {retrieved_at}")
    if fees is None or tip is None:
        notes.append("missing part(s): " + ", ".join(p for p, v in ((FEES_PATH, fees), (TIP_PATH, tip)) if v is None))
    return notes


# ---- small checks ---------------------------------------------------------------------------------------------


def _object(body: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise DataError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise DataError(f"{what}: expected a JSON list, got {type(value).__name__}")
    return value


def _field(entry: Any, name: str, what: str, within: str | None = None, i: int | None = None) -> Any:
    """`entry[name]`; `DataError` naming the endpoint, the field and the entry when it is missing (schema drift)."""
    where = f"{what}: {within}[{i}]" if within else (f"{what}: entry {i}" if i is not None else what)
    if not isinstance(entry, dict):
        raise DataError(f"{where} is not a JSON object: {entry!r:.80}")
    if name not in entry:
        raise DataError(f"{where}: missing field {name!r} (fields: {', '.join(map(str, entry))})")
    return entry[name]


def _number(value: Any, what: str, field: str) -> float | None:
    """A finite non-negative number, or None for null / NaN / infinite / negative; `DataError` for a value that
    is not a number at all (text, boolean, object: schema drift)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{what}: field {field!r} is not a number: {value!r:.80}")
    x = float(value)
    return x if math.isfinite(x) and x >= 0 else None


def _seconds(t: float) -> pd.Timestamp:
    return pd.Timestamp(int(t), unit="s", tz="UTC")


def _times(values: list[pd.Timestamp]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype=_TIME)
