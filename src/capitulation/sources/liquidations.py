"""Observed liquidations (`liquidations`) and long/short ratios (`long_short_ratios`) from recorded files.

Formats:

* CoinGlass aggregated liquidations (`coinglass_liquidation_agg_1d.csv`: `symbol, ts_utc, liq_long_usd,
  liq_short_usd`, long format over 7 coins, `ts_utc` = the daily bar's open like '2024-08-05 00:00:00+00',
  USD liquidated during that UTC day) -> venue 'aggregate', long_usd, short_usd, total_usd = long + short.
  The export pads every coin back to 2015 with zeros: rows before a coin's first non-zero day are
  missing, not "no liquidations" (BTC's 2020-03-12 reads 0), and are dropped. Inside the series a row
  whose two sides are both zero or blank is a gap (an all-exchange day without a single liquidation does
  not happen), and a row with one side blank is incomplete: both are dropped and counted; a zero on one
  side beside a positive other side is kept as a real zero.
* Hyperliquid's daily liquidated notional per coin (`hl_stats_daily_notional_liquidated_by_coin.json`:
  `{"chart_data": [{time 'YYYY-MM-DDT00:00:00', coin, daily_notional_liquidated (USD)}]}`) -> venue
  'hyperliquid', total_usd only (no long/short split). The feed lists only the coins liquidated on a
  day: a day that has rows for other coins but none for `coin` is 0 (nothing of that coin was
  liquidated); a day with no row for any coin is missing (the feed recorded nothing that day, e.g.
  2023-09-22..10-02) and stays absent. The series runs from the coin's first row to the file's last day.
  A listed 0 is not something the feed writes (none of its 35,608 recorded rows is 0): a `DataError`.
* CoinGlass long/short ratios (`coinglass_long_short_all_1d.csv`: `symbol, ts_utc, lsr_global,
  lsr_top_accounts, lsr_top_positions`) -> venue 'aggregate'; blank or zero ratios are missing (a ratio
  of longs to shorts is never 0); a row with no ratio at all is dropped.

Each day's row is stamped at 00:00 UTC of its day (`bar_days=1`: known at the day's end).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import (
    check_range,
    conform,
    numbers,
    provenance,
    read_csv_text,
    read_json,
    require_rows,
    times,
)
from capitulation.tables import AGGREGATE, LIQUIDATIONS

COINGLASS_LIQ_COLUMNS = ["symbol", "ts_utc", "liq_long_usd", "liq_short_usd"]
COINGLASS_LSR_COLUMNS = ["symbol", "ts_utc", "lsr_global", "lsr_top_accounts", "lsr_top_positions"]
HYPERLIQUID_FIELDS = ("time", "coin", "daily_notional_liquidated")
HYPERLIQUID = "hyperliquid"
COINGLASS_LICENCE = "none stated (CoinGlass data: read in place, never redistribute)"
HYPERLIQUID_LICENCE = "none stated (Hyperliquid stats API data: read in place, never redistribute)"
_TOTAL = next(c for c in LIQUIDATIONS.columns if c.name == "total_usd")


def _raise_at(path: Path, column: str, bad: np.ndarray, values: pd.Series, what: str, row: str = "row") -> None:
    """`DataError` naming file, column and the first bad row (1-based for CSV rows, 0-based records)."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        n = i + 1 if row == "row" else i
        raise DataError(f"{path}: column {column!r}, {row} {n}: {what} {values.iloc[i]!r}")


def _days(raw: pd.Series, path: Path, column: str, fmt: str, row: str = "row") -> pd.Series:
    """Daily stamps: parsed with `fmt`, required to be 00:00 UTC (a daily bar's open)."""
    t = times(raw, path, column, fmt, row=row)
    _raise_at(path, column, (t != t.dt.floor("D")).to_numpy(), raw, "not a day's 00:00 UTC", row)
    return t


def _one_per_day(
    path: Path, column: str, stamps: pd.Series, mine: np.ndarray, raw: pd.Series, row: str = "row"
) -> None:
    """`DataError` at the first row of the coin (`mine`) whose day already had a row."""
    dup = np.zeros(len(stamps), dtype=bool)
    dup[mine] = stamps[mine].duplicated().to_numpy()
    _raise_at(path, column, dup, raw, "second row for the day", row)


def _coin_rows(raw: pd.DataFrame, coin: str) -> np.ndarray:
    return (raw["symbol"].str.strip() == coin).to_numpy()


def read_coinglass_liquidations(
    path: str | Path, coin: str = "BTC", *, licence: str = COINGLASS_LICENCE
) -> tuple[pd.DataFrame, Provenance]:
    """CoinGlass's daily aggregated liquidations of `coin` (USD) as `liquidations` rows (module docstring).

    `DataError` naming file, column and row for a malformed or negative number, a malformed stamp, a
    stamp that is not 00:00 UTC, or a second row for one day.
    """
    p = Path(path)
    raw = read_csv_text(p, COINGLASS_LIQ_COLUMNS)
    mine = _coin_rows(raw, coin)
    # Parsed over the whole file so that an error names the file's own row number.
    long_, short = (numbers(raw[c], p, c, blank_ok=True) for c in COINGLASS_LIQ_COLUMNS[2:])
    for col, values in (("liq_long_usd", long_), ("liq_short_usd", short)):
        _raise_at(p, col, mine & (values < 0).to_numpy(), raw[col], "negative liquidations")
    stamps = _days(raw["ts_utc"], p, "ts_utc", "ISO8601")
    _one_per_day(p, "ts_utc", stamps, mine, raw["ts_utc"])
    order = np.argsort(stamps[mine].to_numpy(), kind="stable")
    long_, short, stamps = (s[mine].iloc[order].reset_index(drop=True) for s in (long_, short, stamps))
    empty = long_.fillna(0).eq(0) & short.fillna(0).eq(0)
    started = (~empty).cummax()
    partial = ~empty & (long_.isna() | short.isna())
    keep = started & ~empty & ~partial
    out = pd.DataFrame(
        {
            "date": stamps[keep],
            "venue": AGGREGATE,
            "symbol": coin,
            "long_usd": long_[keep],
            "short_usd": short[keep],
            "total_usd": (long_ + short)[keep],
        }
    )
    out, repeated = conform("liquidations", out, p)
    leading, gaps, half = int((~started).sum()), int((started & empty).sum()), int(partial.sum())
    note = (
        f"venue 'aggregate', symbol {coin!r}: CoinGlass's exchange-aggregated daily liquidations (USD, the UTC "
        "day of ts_utc, the bar's open); total_usd = long + short. "
        f"Dropped {leading} {coin} row(s) of zeros before the series starts (missing, not 'no liquidations')"
        + (f", {gaps} all-zero/blank row(s) inside it (gaps)" if gaps else "")
        + (f", {half} row(s) with one side blank" if half else "")
        + f".{repeated} Coverage: the exchanges CoinGlass receives liquidation orders from (CME has none; Binance "
        "publishes at most one liquidation order per symbol per second, so its share is a lower bound)."
    )
    return out, provenance(p, out["date"], licence, note)


def read_hyperliquid_liquidations(
    path: str | Path, coin: str = "BTC", *, licence: str = HYPERLIQUID_LICENCE
) -> tuple[pd.DataFrame, Provenance]:
    """Hyperliquid's daily liquidated notional of `coin` (USD) as `liquidations` rows, total only.

    Absent days are 0 when the feed has rows for other coins that day, missing when it has none (module
    docstring). `DataError` naming file, field and record for a missing field, a malformed, negative or
    zero number (the feed lists a coin only on a day it was liquidated), a malformed or non-midnight time,
    or a second record of `coin` for one day.
    """
    p = Path(path)
    doc = read_json(p)
    records = doc.get("chart_data") if isinstance(doc, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DataError(f"{p}: expected {{'chart_data': [{{time, coin, daily_notional_liquidated}}, ...]}}")
    require_rows(records, p, "records in 'chart_data'")
    df = pd.DataFrame({k: [r.get(k) for r in records] for k in HYPERLIQUID_FIELDS}, dtype=object)
    for k in HYPERLIQUID_FIELDS:
        missing = df[k].isna().to_numpy()
        if missing.any():
            raise DataError(f"{p}: record {int(np.flatnonzero(missing)[0])}: missing field {k!r}")
    text = df["daily_notional_liquidated"].astype(str)
    value = numbers(text, p, "daily_notional_liquidated", row="record")
    _raise_at(p, "daily_notional_liquidated", (value < 0).to_numpy(), text, "negative liquidations", "record")
    check_range(value, _TOTAL, p, "daily_notional_liquidated", row="record")  # inf, 1e300
    listed_zero = (value == 0).to_numpy()
    _raise_at(
        p,
        "daily_notional_liquidated",
        listed_zero,
        text,
        "listed with 0 (the feed lists a coin only on a day it is liquidated):",
        "record",
    )
    stamps = _days(df["time"].astype(str), p, "time", "%Y-%m-%dT%H:%M:%S", row="record")
    mine = (df["coin"].astype(str) == coin).to_numpy()
    _one_per_day(p, "time", stamps, mine, df["time"], row="record")
    recorded = pd.DatetimeIndex(stamps.unique())
    got = pd.Series(value[mine].to_numpy(), index=pd.DatetimeIndex(stamps[mine]))
    days = pd.DatetimeIndex([]) if got.empty else recorded[(recorded >= got.index.min())].sort_values()
    total = got.reindex(days, fill_value=0.0)
    out, _ = conform(  # one row per recorded day by construction
        "liquidations",
        pd.DataFrame({"date": days, "venue": HYPERLIQUID, "symbol": coin, "long_usd": np.nan, "short_usd": np.nan})
        .assign(total_usd=total.to_numpy())
        .reset_index(drop=True),
        p,
    )
    span = pd.date_range(days.min(), days.max(), freq="D") if len(days) else days
    note = (
        f"venue 'hyperliquid', symbol {coin!r}: Hyperliquid's daily liquidated notional (USD), no long/short "
        f"split. {int((total == 0).sum())} day(s) listed for other coins but not {coin} are 0 (the feed lists "
        f"only coins liquidated that day); {len(span) - len(days)} day(s) with no record for any coin are "
        "missing and absent."
    )
    return out, provenance(p, out["date"], licence, note)


def read_coinglass_long_short(
    path: str | Path, coin: str = "BTC", *, licence: str = COINGLASS_LICENCE
) -> tuple[pd.DataFrame, Provenance]:
    """CoinGlass's daily long/short ratios of `coin` as `long_short_ratios` rows (module docstring).

    `DataError` naming file, column and row for a malformed or negative ratio, a malformed or non-midnight
    stamp, or a second row for one day.
    """
    p = Path(path)
    raw = read_csv_text(p, COINGLASS_LSR_COLUMNS)
    mine = _coin_rows(raw, coin)
    ratios = {}
    for col in COINGLASS_LSR_COLUMNS[2:]:
        r = numbers(raw[col], p, col, blank_ok=True)
        _raise_at(p, col, mine & (r < 0).to_numpy(), raw[col], "negative ratio")
        ratios[col] = r.where(r > 0)
    stamps = _days(raw["ts_utc"], p, "ts_utc", "ISO8601")
    _one_per_day(p, "ts_utc", stamps, mine, raw["ts_utc"])
    frame = pd.DataFrame({"date": stamps, "venue": AGGREGATE, "symbol": coin, **ratios})[mine]
    known = frame[COINGLASS_LSR_COLUMNS[2:]].notna().any(axis=1)
    out, repeated = conform("long_short_ratios", frame[known].sort_values("date"), p)
    blank_global = int(out["lsr_global"].isna().sum())
    note = (
        f"venue 'aggregate', symbol {coin!r}: CoinGlass's daily long/short ratios as exported (the file does not "
        "name the exchange set; the top-trader ratios are Binance's notion). Zero or blank ratios are missing; "
        f"dropped {int((~known).sum())} {coin} row(s) with no ratio; lsr_global blank on {blank_global} day(s)."
        + repeated
    )
    return out, provenance(p, out["date"], licence, note)
