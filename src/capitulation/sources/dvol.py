"""Deribit's BTC volatility index (DVOL) live -> the `vol_index` table, as the recorded importer fills it
(`sources.vol_index.read_dvol_csv`: index 'DVOL-BTC', daily bars stamped 00:00 UTC, vol points / 100).

One public endpoint, no API key, through `http.get_json` (429/418/5xx retried with backoff):

    GET https://www.deribit.com/api/v2/public/get_volatility_index_data
        ?currency=BTC&start_timestamp=<ms>&end_timestamp=<ms>&resolution=1D

Its JSON-RPC answer is `{"result": {"data": [[ts_ms, open, high, low, close], ...], "continuation": ms|null}}`
(Deribit API docs): candles oldest first, in vol points (47.76 = 47.76 %); a non-null `continuation` means
more candles lie before it and is sent as the next request's `end_timestamp` (pages are followed at most
`MAX_PAGES` times). A candle's ts is the UTC midnight opening its day, so the last one is today's partial bar;
by the table's bar convention it is known only at the end of the day (`Snapshot.upto` leaves it out).

Bad input: an HTTP error or a refusal that outlasts the backoff -> `SourceError`; a body that is not JSON, has
no `result.data` list, a candle that is not 5 numbers, a level outside (0, `IV_MAX`] after / 100 or below
`MIN_VOL_POINTS` (a fraction sent where vol points were expected), or high < low -> `DataError` naming the
field and the candle; a day sent twice with different bars -> `DataError`, twice the same -> kept once;
no candle at all -> `SourceError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import requests

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources import http
from capitulation.sources.http import Backoff
from capitulation.sources.vol_index import OHLC, VOL_POINTS_PER_UNIT

BASE_URL = "https://www.deribit.com/api/v2"
ENDPOINT = "/public/get_volatility_index_data"
INDEX = "DVOL-BTC"
LICENCE = "Deribit public market data (Deribit terms of use)"
DEFAULT_BACKOFF = Backoff()
DEFAULT_DAYS = 400
"""Days of history asked: the options signal ranks DVOL over a year (`dvol_rank_1y`), plus a margin."""
MAX_PAGES = 10
MIN_VOL_POINTS = 1.0
"""DVOL has never closed below ~20 vol points; a level under 1 is a fraction where vol points were expected."""
_MS_PER_DAY = 86_400_000


def fetch_dvol(
    currency: str = "BTC",
    *,
    days: int = DEFAULT_DAYS,
    base_url: str = BASE_URL,
    session: requests.Session | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    now: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, Provenance]:
    """Daily DVOL bars of `currency` for the last `days` days up to `now` (UTC; None: the clock), as a validated
    `vol_index` table (index 'DVOL-<currency>', fractions) with its provenance. See the module notes."""
    if days < 1:
        raise SourceError(f"deribit DVOL: days must be >= 1, got {days}")
    s = session or http.session()
    code = currency.upper()
    retrieved_at = http.utc_now() if now is None else utc(now)
    end_ms = int(retrieved_at.value // 1_000_000)
    start_ms = end_ms - days * _MS_PER_DAY
    url = base_url.rstrip("/") + ENDPOINT
    pages: list[list[list[float]]] = []
    end: int | None = end_ms
    while end is not None and len(pages) < MAX_PAGES:
        params = {"currency": code, "start_timestamp": start_ms, "end_timestamp": end, "resolution": "1D"}
        body = http.get_json(s, url, params, backoff=backoff, what=f"deribit {ENDPOINT}")
        candles, end = parse_page(body)
        pages.append(candles)
        if end is not None and (end <= start_ms or not candles):
            end = None
    table = candles_table([c for page in reversed(pages) for c in page], f"DVOL-{code}")
    more = "" if end is None else f"; stopped after {MAX_PAGES} pages (continuation {end} not followed)"
    first, last = table["date"].iloc[0].date(), table["date"].iloc[-1].date()
    notes = (
        f"{len(table)} daily bar(s) {first}..{last} in {len(pages)} page(s){more}; index {table['index'].iloc[0]!r}; "
        "vol points / 100 -> fractions; daily bars stamped 00:00 UTC (the last one is the day in progress)."
    )
    source = f"Deribit API v2 {ENDPOINT}?currency={code}&resolution=1D"
    return table, Provenance(source, retrieved_at.isoformat(), LICENCE, notes)


def parse_page(body: Any) -> tuple[list[list[float]], int | None]:
    """One answer -> its candles ([ts_ms, open, high, low, close] as floats) and its continuation (ms or None).
    `DataError` naming the field for a body of another shape or a candle that is not 5 finite numbers."""
    what = f"deribit {ENDPOINT}"
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, dict):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise DataError(f"malformed response: {what} has no 'result' object ({keys})")
    if "data" not in result:
        raise DataError(f"malformed response: {what}: missing field 'result.data' (fields: {', '.join(result)})")
    data = result["data"]
    if not isinstance(data, list):
        raise DataError(f"malformed response: {what}: field 'result.data' is not a list: {data!r:.80}")
    candles = []
    shape = "is not [ts, open, high, low, close]"
    for i, c in enumerate(data):
        if not isinstance(c, list) or len(c) != 5:
            raise DataError(f"malformed response: {what}: result.data[{i}] {shape}: {c!r:.80}")
        if any(isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in c):
            raise DataError(f"malformed response: {what}: result.data[{i}] holds a non-number: {c!r:.80}")
        candles.append([float(v) for v in c])
    cont = result.get("continuation")
    if cont is not None and (isinstance(cont, bool) or not isinstance(cont, int | float)):
        raise DataError(f"malformed response: {what}: field 'result.continuation' is not a time: {cont!r:.80}")
    return candles, None if cont is None else int(cont)


def candles_table(candles: list[list[float]], index: str = INDEX) -> pd.DataFrame:
    """[ts_ms, open, high, low, close] candles in vol points -> validated `vol_index` rows (fractions), one per UTC
    day, oldest first. `SourceError` for none; `DataError` for a level out of range, high < low, or one day sent
    twice with different bars (the same bar twice is kept once)."""
    what = f"deribit {ENDPOINT}"
    if not candles:
        raise SourceError(f"{what} returned no candle")
    raw = np.asarray(candles, float)
    levels = raw[:, 1:]
    for j, name in enumerate(OHLC):
        bad = ~((levels[:, j] >= MIN_VOL_POINTS) & (levels[:, j] / VOL_POINTS_PER_UNIT <= tables.IV_MAX))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{what}: candle {i}: {name} {levels[i, j]:g} vol points is outside [{MIN_VOL_POINTS:g}, "
                f"{tables.IV_MAX * VOL_POINTS_PER_UNIT:g}]"
            )
    inverted = levels[:, 1] < levels[:, 2]
    if inverted.any():
        i = int(np.flatnonzero(inverted)[0])
        raise DataError(f"{what}: candle {i}: high {levels[i, 1]:g} < low {levels[i, 2]:g}")
    df = pd.DataFrame(levels / VOL_POINTS_PER_UNIT, columns=list(OHLC))
    df.insert(0, "index", index)
    df.insert(0, "date", pd.to_datetime(raw[:, 0].astype("int64"), unit="ms", utc=True).normalize())
    df = df.drop_duplicates().sort_values("date", kind="stable", ignore_index=True)
    twice = df["date"].duplicated(keep=False)
    if twice.any():
        raise DataError(f"{what}: the day {df.loc[twice, 'date'].iloc[0]:%Y-%m-%d} sent twice with different bars")
    return tables.validate("vol_index", df[tables.VOL_INDEX.names])
