"""Perpetual-swap state (`perp_metrics`) from recorded files.

Formats:

* aggregate open interest (`open_interest.csv`: UTF-8 BOM, `Date` as 'YYYY.M.D', `Data` = all-exchange
  BTC futures/perp OI in USD) -> venue 'aggregate', symbol 'BTC-ALL', oi_usd;
* Binance USDT-M BTCUSDT OI on the 8h grid (`time_utc, sum_open_interest_btc,
  sum_open_interest_value_usdt`) -> venue 'binance', symbol 'BTCUSDT'; one contract is 1 BTC on
  Binance USDT-M, so oi_contracts = oi_btc; the USDT value is taken as USD (USDT ~ 1 USD);
* daily funding (`date, funding_mean[, funding_abs]`: the day's mean of Binance BTCUSDT's 8h funding
  rates, a fraction per 8h) -> funding_rate = that daily mean, funding_interval_h = 8.

Daily rows are stamped at 00:00 UTC of their date (the table convention); a daily figure is complete
only at the end of that day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import numbers, provenance, read_csv_text, times

_DOTTED = r"^\s*([0-9]{4})\.([0-9]{1,2})\.([0-9]{1,2})\s*$"


def parse_dotted_dates(values: pd.Series) -> pd.Series:
    """'YYYY.M.D' texts (month/day with or without a leading zero) -> UTC midnights; NaT where the text
    is not of that form or is not a calendar date (e.g. '2019.2.30')."""
    parts = values.astype(str).str.extract(_DOTTED)
    ymd = parts.astype("float64")
    ok = ymd.notna().all(axis=1)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if ok.any():
        good = ymd[ok].astype("int64")
        stamps = pd.to_datetime(
            pd.DataFrame({"year": good[0], "month": good[1], "day": good[2]}), errors="coerce", utc=True
        )
        out[ok] = stamps.astype("datetime64[ns, UTC]")
    return out


def _perp(stamps: pd.Series, venue: str, symbol: str, **cols: pd.Series | float) -> pd.DataFrame:
    df = pd.DataFrame({"timestamp": stamps, "venue": venue, "symbol": symbol})
    for name in tables.PERP_METRICS.names[3:]:
        df[name] = cols.get(name, np.nan)
    return tables.validate("perp_metrics", df)


def read_aggregate_oi(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """`Date,Data` ('YYYY.M.D', USD) all-exchange BTC open interest as `perp_metrics` rows."""
    p = Path(path)
    df = read_csv_text(p, ["Date", "Data"])
    stamps = parse_dotted_dates(df["Date"])
    if stamps.isna().any():
        i = int(stamps.isna().to_numpy().nonzero()[0][0])
        raise DataError(f"{p}: column 'Date', row {i + 1}: malformed 'YYYY.M.D' date {df['Date'].iloc[i]!r}")
    out = _perp(stamps, "aggregate", "BTC-ALL", oi_usd=numbers(df["Data"], p, "Data"))
    note = (
        "venue 'aggregate', symbol 'BTC-ALL': all-exchange BTC futures+perp open interest in USD "
        "(source exchange set not documented); dates 'YYYY.M.D' stamped 00:00 UTC."
    )
    return out, provenance(p, out["timestamp"], licence, note)


def read_binance_oi(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """Binance BTCUSDT open interest (`time_utc, sum_open_interest_btc, sum_open_interest_value_usdt`)."""
    p = Path(path)
    cols = ["time_utc", "sum_open_interest_btc", "sum_open_interest_value_usdt"]
    df = read_csv_text(p, cols)
    oi_btc = numbers(df[cols[1]], p, cols[1])
    out = _perp(
        times(df["time_utc"], p, "time_utc", "ISO8601"),
        "binance",
        "BTCUSDT",
        oi_contracts=oi_btc,
        oi_btc=oi_btc,
        oi_usd=numbers(df[cols[2]], p, cols[2]),
    )
    note = (
        "venue 'binance', symbol 'BTCUSDT' (USDT-M perp); oi_contracts = oi_btc (1 contract = 1 BTC); "
        "oi_usd = value in USDT taken as USD."
    )
    return out, provenance(p, out["timestamp"], licence, note)


def read_daily_funding(
    path: str | Path, *, venue: str = "binance", symbol: str = "BTCUSDT", licence: str = "MIT"
) -> tuple[pd.DataFrame, Provenance]:
    """`date, funding_mean` (daily mean of the 8h funding rate, fraction per 8h) as `perp_metrics`."""
    p = Path(path)
    df = read_csv_text(p, ["date", "funding_mean"])
    # The day's last 8h funding settles at 16:00 UTC: the daily mean is known then, not at 00:00.
    out = _perp(
        times(df["date"], p, "date", "%Y-%m-%d") + pd.Timedelta(hours=16),
        venue,
        symbol,
        funding_rate=numbers(df["funding_mean"], p, "funding_mean"),
        funding_interval_h=8.0,
    )
    note = (
        f"venue {venue!r}, symbol {symbol!r}; funding_rate = the DAILY MEAN of the day's 8h funding rates "
        "(fraction per 8h interval), funding_interval_h = 8, stamped 16:00 UTC of the day (its last "
        "settlement, when the mean is known); "
        "funding_abs column not used."
    )
    return out, provenance(p, out["timestamp"], licence, note)
