"""Perpetual-swap state (`perp_metrics`) from recorded files.

Formats:

* aggregate open interest (`open_interest.csv`: UTF-8 BOM, `Date` as 'YYYY.M.D', `Data` = all-exchange
  BTC futures/perp OI in USD, the day's close) -> venue 'aggregate', symbol 'BTC-ALL', oi_usd;
* CoinGlass aggregated futures OI (`coinglass_futures_oi_agg_1d.csv`, long format over 7 coins, `ts_utc`
  = the daily bar's open, closes in USD; zero or empty before each series starts = missing) -> venue
  'aggregate', symbol 'BTC-CG' (oi_total_close) and 'BTC-CG-COINM' (oi_coinm_close, the coin-margined
  part); `oi_stable_close` is not used (its unit is not USD and is not documented);
* Binance USDT-M BTCUSDT OI on the 8h grid (`time_utc, sum_open_interest_btc,
  sum_open_interest_value_usdt`) -> venue 'binance', symbol 'BTCUSDT'; one contract is 1 BTC on
  Binance USDT-M, so oi_contracts = oi_btc; the USDT value is taken as USD (USDT ~ 1 USD);
* daily funding (`date, funding_mean[, funding_abs]`: the day's mean of Binance BTCUSDT's 8h funding
  rates, a fraction per 8h) -> funding_rate = that daily mean, funding_interval_h = 8;
* Bitcoin Magazine Pro's cross-venue average funding (`bmp_fr_average.json`, `{date, funding_rate,
  price}`) -> venue 'aggregate', symbol 'BTC-FR-AVG', funding_rate per 8h (calibrated: see
  `funding_calibration`).

perp_metrics rows are instants, so a daily close is stamped at the last second of its day
(`DAY_CLOSE`, as a daily bar's `known_at`): it is not known before the day ends. Binance's 8h rows keep
their own stamps; Binance's daily mean funding is stamped at its last settlement (16:00 UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import conform, numbers, provenance, read_csv_text, read_json, require_rows, times
from capitulation.tables import AGGREGATE, DAY_CLOSE

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


OI_COLUMNS = ("oi_contracts", "oi_btc", "oi_usd")


def _perp(
    path: Path, stamps: pd.Series, venue: str, symbol: str, **cols: pd.Series | float
) -> tuple[pd.DataFrame, str]:
    """The file's rows as `perp_metrics` (`conform`: errors name the file) and the note on repeated rows.

    An open interest of 0 is a `DataError`: the OI of a traded BTC contract is never 0, so a 0 in a series
    is a missing value written as 0 (files that pad with zeros drop them before, saying so)."""
    df = pd.DataFrame({"timestamp": stamps, "venue": venue, "symbol": symbol})
    for name in tables.PERP_METRICS.names[3:]:
        df[name] = cols.get(name, np.nan)
    for name in OI_COLUMNS:
        zero = (df[name] == 0).to_numpy()
        if zero.any():
            i = int(zero.nonzero()[0][0])
            when = df["timestamp"].iloc[i].isoformat()
            raise DataError(f"{path}: {name} 0 at {when}: not a reading of open interest")
    return conform("perp_metrics", df, path)


def read_aggregate_oi(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """`Date,Data` ('YYYY.M.D', USD) all-exchange BTC open interest as `perp_metrics` rows."""
    p = Path(path)
    df = read_csv_text(p, ["Date", "Data"])
    stamps = parse_dotted_dates(df["Date"])
    if stamps.isna().any():
        i = int(stamps.isna().to_numpy().nonzero()[0][0])
        raise DataError(f"{p}: column 'Date', row {i + 1}: malformed 'YYYY.M.D' date {df['Date'].iloc[i]!r}")
    out, repeated = _perp(p, stamps + DAY_CLOSE, AGGREGATE, "BTC-ALL", oi_usd=numbers(df["Data"], p, "Data"))
    note = (
        "venue 'aggregate', symbol 'BTC-ALL': all-exchange BTC futures+perp open interest in USD "
        "(source exchange set not documented); the day's close (its daily changes match CoinGlass's daily "
        "closes on the same date, not the day after), stamped 23:59:59 UTC of its 'YYYY.M.D' date." + repeated
    )
    return out, provenance(p, out["timestamp"], licence, note)


def read_binance_oi(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """Binance BTCUSDT open interest (`time_utc, sum_open_interest_btc, sum_open_interest_value_usdt`)."""
    p = Path(path)
    cols = ["time_utc", "sum_open_interest_btc", "sum_open_interest_value_usdt"]
    df = read_csv_text(p, cols)
    oi_btc = numbers(df[cols[1]], p, cols[1])
    out, repeated = _perp(
        p,
        times(df["time_utc"], p, "time_utc", "ISO8601"),
        "binance",
        "BTCUSDT",
        oi_contracts=oi_btc,
        oi_btc=oi_btc,
        oi_usd=numbers(df[cols[2]], p, cols[2]),
    )
    note = (
        "venue 'binance', symbol 'BTCUSDT' (USDT-M perp); oi_contracts = oi_btc (1 contract = 1 BTC); "
        "oi_usd = value in USDT taken as USD." + repeated
    )
    return out, provenance(p, out["timestamp"], licence, note)


def read_daily_funding(
    path: str | Path, *, venue: str = "binance", symbol: str = "BTCUSDT", licence: str = "MIT"
) -> tuple[pd.DataFrame, Provenance]:
    """`date, funding_mean` (daily mean of the 8h funding rate, fraction per 8h) as `perp_metrics`."""
    p = Path(path)
    df = read_csv_text(p, ["date", "funding_mean"])
    # The day's last 8h funding settles at 16:00 UTC: the daily mean is known then, not at 00:00.
    out, repeated = _perp(
        p,
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
        "funding_abs column not used." + repeated
    )
    return out, provenance(p, out["timestamp"], licence, note)


COINGLASS_OI_COLUMNS = ["symbol", "ts_utc", "oi_total_close", "oi_stable_close", "oi_coinm_close", "unit"]


def read_coinglass_oi(
    path: str | Path, coin: str = "BTC", *, licence: str = "unstated (CoinGlass data)"
) -> tuple[pd.DataFrame, Provenance]:
    """CoinGlass aggregated futures OI closes of `coin` (USD) as `perp_metrics` rows (see module docstring).

    A zero or blank close means missing (the export pads every coin back to 2015 with zeros): such rows
    are dropped and counted in provenance, and so is a zero or blank coin-margined close beside a known
    total (dropped from the '-COINM' series only). A negative close, a malformed number or a unit other than
    'usd' on a kept row is a `DataError` naming file, column and row.
    """
    p = Path(path)
    raw = read_csv_text(p, COINGLASS_OI_COLUMNS)
    mine = (raw["symbol"].str.strip() == coin).to_numpy()
    # Parsed over the whole file so that an error names the file's own row number.
    total = numbers(raw["oi_total_close"], p, "oi_total_close", blank_ok=True)
    coinm = numbers(raw["oi_coinm_close"], p, "oi_coinm_close", blank_ok=True)
    stamps = times(raw["ts_utc"], p, "ts_utc", "ISO8601") + DAY_CLOSE
    checks = (
        ("oi_total_close", mine & (total < 0), "negative open interest", total),
        ("oi_coinm_close", mine & (coinm < 0), "negative open interest", coinm),
        (
            "unit",
            mine & (total > 0) & (raw["unit"].str.strip().str.lower() != "usd"),
            "expected 'usd', got",
            raw["unit"],
        ),
    )
    for name, bad, what, values in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"{p}: column {name!r}, row {i + 1}: {what} {values.iloc[i]!r}")
    total, coinm, stamps = total[mine], coinm[mine], stamps[mine]
    known = total > 0
    coinm_known = known & (coinm > 0)
    parts = [
        _perp(p, stamps[known], AGGREGATE, f"{coin}-CG", oi_usd=total[known]),
        _perp(p, stamps[coinm_known], AGGREGATE, f"{coin}-CG-COINM", oi_usd=coinm[coinm_known]),
    ]
    no_coinm = int((known & ~coinm_known).sum())
    out = pd.concat([df for df, _ in parts], ignore_index=True)
    repeated = "".join(note for _, note in parts)
    first = stamps[known].min()
    gaps = int((~known & (stamps > first)).sum()) if known.any() else 0
    note = (
        f"venue 'aggregate': symbol '{coin}-CG' = CoinGlass aggregated futures OI close (USD), '{coin}-CG-COINM' "
        "its coin-margined part (USD); ts_utc is the daily bar's open, so each close is stamped 23:59:59 UTC of "
        f"that day. Dropped {int((~known).sum())} zero/blank {coin} row(s) (missing, not zero OI): "
        f"{int((~known).sum()) - gaps} before the series starts"
        + (f" and {gaps} inside it" if gaps else "")
        + (
            f"; {no_coinm} day(s) with a zero/blank oi_coinm_close beside a total (missing) dropped from "
            f"'{coin}-CG-COINM'"
            if no_coinm
            else ""
        )
        + "; oi_stable_close not used (unit undocumented, not USD)."
        + repeated
    )
    return out, provenance(p, out["timestamp"], licence, note)


def read_funding_average(
    path: str | Path, *, licence: str = "unstated (Bitcoin Magazine Pro data)"
) -> tuple[pd.DataFrame, Provenance]:
    """Bitcoin Magazine Pro's cross-venue average funding (`[{date, funding_rate, price}]`) as
    `perp_metrics` rows: venue 'aggregate', symbol 'BTC-FR-AVG', a fraction per 8h (the unit its values
    match on the overlap with Binance's daily mean: `funding_calibration`), stamped 23:59:59 UTC of the day."""
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise DataError(f"{p}: expected a JSON list of {{date, funding_rate, price}} records")
    require_rows(doc, p, "records")
    df = pd.DataFrame({k: [r.get(k) for r in doc] for k in ("date", "funding_rate")}, dtype=object)
    for k in ("date", "funding_rate"):
        missing = df[k].isna()
        if missing.any():
            raise DataError(f"{p}: record {int(missing.to_numpy().nonzero()[0][0])}: missing field {k!r}")
    rate = numbers(df["funding_rate"].astype(str), p, "funding_rate", row="record")
    stamps = times(df["date"], p, "date", "%Y-%m-%d", row="record") + DAY_CLOSE
    out, repeated = _perp(p, stamps, AGGREGATE, "BTC-FR-AVG", funding_rate=rate, funding_interval_h=8.0)
    note = (
        "venue 'aggregate', symbol 'BTC-FR-AVG': cross-venue average funding, taken as a fraction per 8h "
        "(calibrated against Binance's daily mean: see the table's notes); stamped 23:59:59 UTC of its date." + repeated
    )
    return out.sort_values("timestamp", ignore_index=True), provenance(p, out["timestamp"], licence, note)


@dataclass(frozen=True)
class FundingCalibration:
    """How an average-funding series compares with a reference on their common days (both fractions per
    8h): n days, correlation, least-squares slope through the origin (reference on average), median ratio
    of the two series' means over 30-day blocks."""

    days: int
    correlation: float
    slope: float
    median_ratio: float

    def describe(self) -> str:
        return (
            f"{self.days} common days: correlation {self.correlation:.2f}, slope through the origin "
            f"{self.slope:.2f}, median 30-day-mean ratio {self.median_ratio:.2f}"
        )


def funding_calibration(average: pd.Series, reference: pd.Series) -> FundingCalibration | None:
    """Compare two daily funding series indexed by day (UTC midnight); None with fewer than 30 common days.

    slope = sum(avg x ref) / sum(ref^2); ratio = mean(avg) / mean(ref) per 30-day block, median over blocks.
    """
    j = pd.concat({"avg": average, "ref": reference}, axis=1, sort=True).dropna()
    if len(j) < 30:
        return None
    slope = float((j["avg"] * j["ref"]).sum() / (j["ref"] ** 2).sum())
    blocks = j.groupby(np.arange(len(j)) // 30).mean()
    ratio = blocks["avg"] / blocks["ref"]
    return FundingCalibration(len(j), float(j["avg"].corr(j["ref"])), slope, float(ratio.median()))
