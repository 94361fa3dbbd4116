"""Daily price bars (`daily_prices`) from recorded files.

Formats:

* Yahoo-style CSV: `Date,Close` (optionally `Open,High,Low,Volume`, as in a Yahoo download); the
  symbol is the file stem (`MSTR.csv` -> 'MSTR'); missing bar fields are NaN.
* `btc_price_volume.csv`: `date,price,volume` -> symbol 'BTC-USD', close = price, volume in USD.
* Glassnode-style OHLC CSV (`btc_ohlc.csv`: `t,open,high,low,close`) -> 'BTC-USD', volume NaN.
* dat-tracker OHLCV JSON: `{ticker, currency, prices: [{date, open, high, low, close, volume}]}`;
  only USD files fit the table (a JPY file such as 3350_T.json is refused with `DataError`).
* Macro series CSV (`vix.csv`: `date,vix`; `dxy.csv`: `date,dxy`) -> 'VIX' / 'DXY' in index points;
  blank values (non-trading days in dxy.csv) are skipped with a logged count.

Every row is stamped at 00:00 UTC of its trading date (the table convention; an equity close is the
NY close of that date).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import (
    combine,
    conform,
    drop_blank_rows,
    numbers,
    one_per_key,
    present,
    provenance,
    read_csv_text,
    read_json,
    repeats_note,
    require_rows,
    times,
)

log = logging.getLogger(__name__)

BTC_PRICE_VOLUME = "btc_price_volume.csv"
BTC_OHLC = "btc_ohlc.csv"
_DAY = "%Y-%m-%d"


def _bars(path: Path, date: pd.Series, symbol: str, **cols: pd.Series | float) -> tuple[pd.DataFrame, str]:
    """The file's bars as `daily_prices` (`conform`: errors name the file) and the note on repeated rows."""
    df = pd.DataFrame({"date": date, "symbol": symbol})
    for name in ("open", "high", "low", "close", "volume"):
        df[name] = cols.get(name, np.nan)
    return conform("daily_prices", df, path)


def read_yahoo_csv(
    path: str | Path, symbol: str | None = None, *, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """A Yahoo-style daily CSV (`Date,Close`, optionally `Open,High,Low,Volume`) as `daily_prices`.

    `symbol` defaults to the file stem. Rows whose Close is blank or 'null' (Yahoo's n/a) are dropped
    with a logged count; any other unparsable value is a `DataError` naming file, column and row.
    """
    p = Path(path)
    raw = read_csv_text(p, ["Date", "Close"])
    df = drop_blank_rows(raw, "Close", p, "no close recorded")
    gaps = sorted(set(raw["Date"].str.strip()) - set(df["Date"].str.strip()))
    sym = symbol or p.stem
    cols = {
        name.lower(): numbers(df[name], p, name, blank_ok=True)
        for name in ("Open", "High", "Low", "Volume")
        if name in df.columns
    }
    cols["close"] = numbers(df["Close"], p, "Close")
    out, repeated = _bars(p, times(df["Date"], p, "Date", _DAY), sym, **cols)
    fields = "close" + "".join(f", {k}" for k in cols if k != "close")
    note = f"symbol {sym!r} = file stem; {fields} from the file, other bar fields NaN.{repeated}" + (
        f" {len(gaps)} day(s) without a close (Yahoo 'null'/blank) left as gaps, not filled: {', '.join(gaps[:10])}."
        if gaps
        else ""
    )
    return out, provenance(p, out["date"], licence, note)


def read_btc_price_volume(
    path: str | Path, symbol: str = "BTC-USD", *, licence: str = "MIT"
) -> tuple[pd.DataFrame, Provenance]:
    """`date,price,volume` (Yahoo BTC-USD close and USD volume) as `daily_prices` for `symbol`."""
    p = Path(path)
    df = read_csv_text(p, ["date", "price", "volume"])
    out, repeated = _bars(
        p,
        times(df["date"], p, "date", _DAY),
        symbol,
        close=numbers(df["price"], p, "price"),
        volume=numbers(df["volume"], p, "volume", blank_ok=True),
    )
    note = f"symbol {symbol!r}; close = price (USD), volume in USD; open/high/low NaN.{repeated}"
    return out, provenance(p, out["date"], licence, note)


def read_ohlc_csv(
    path: str | Path, symbol: str = "BTC-USD", *, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """A Glassnode-style `t,open,high,low,close` CSV as `daily_prices` (volume NaN)."""
    p = Path(path)
    df = read_csv_text(p, ["t", "open", "high", "low", "close"])
    bar = {c: numbers(df[c], p, c) for c in ("open", "high", "low", "close")}
    out, repeated = _bars(p, times(df["t"], p, "t", _DAY), symbol, **bar)
    return out, provenance(p, out["date"], licence, f"symbol {symbol!r}; OHLC in USD; volume NaN.{repeated}")


def read_ohlcv_json(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """A dat-tracker stock-price JSON (`{ticker, currency, prices: [...]}`) as `daily_prices`.

    `DataError` when the currency is not USD (the table is in USD), when a record lacks a field or
    holds a non-number (naming file, field and record index).
    """
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, dict) or "ticker" not in doc or not isinstance(doc.get("prices"), list):
        raise DataError(f"{p}: expected an object with 'ticker' and a 'prices' list")
    currency = str(doc.get("currency", "USD"))
    if currency != "USD":
        raise DataError(f"{p}: prices are in {currency}; the daily_prices table holds USD prices only")
    require_rows(doc["prices"], p, "records in 'prices'")
    fields = ["date", "open", "high", "low", "close", "volume"]
    recs = pd.DataFrame(doc["prices"])
    for f in fields:
        if f not in recs.columns:
            raise DataError(f"{p}: prices: missing field {f!r}")
    recs, updates = _latest_update_per_day(recs, p)
    recs = recs[fields].astype(object)
    bar = {
        f: numbers(recs[f], p, f"prices.{f}", blank_ok=f != "close", row="record")
        for f in ("open", "high", "low", "close", "volume")
    }
    out, repeated = _bars(p, times(recs["date"], p, "prices.date", _DAY, row="record"), str(doc["ticker"]), **bar)
    note = f"symbol {doc['ticker']!r} from the file's ticker; OHLC in USD, volume in shares.{updates}{repeated}"
    return out, provenance(p, out["date"], licence, note)


_DAY_BAR = "24:00"
"""The time a record without one sorts at among a day's updates: the day's final bar."""


def _latest_update_per_day(recs: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, str]:
    """The dat-tracker files re-record a day's bar during the day (records with a `time`, HH:MM, several per
    date: 2026-02-06 .. 2026-02-18 in ASST/SMLR/XXI.json, where ASST's first update still shows the
    pre-reverse-split price): the last update of each date is its bar; the others are dropped and counted.
    A record without a time is the day's final bar (after every update). A record repeating an earlier one
    is dropped and counted; two different records of one date and time (or of one date without a time)
    are a `DataError` naming both records."""
    if "time" not in recs.columns or not recs["date"].duplicated().any():
        return recs, ""
    stamped = recs.assign(time=recs["time"].where(recs["time"].notna(), _DAY_BAR).astype(str))
    stamped, repeated = one_per_key(stamped, ["date", "time"], path, first_row=0)
    order = stamped.sort_values(["date", "time"], kind="stable")
    latest = order[~order["date"].duplicated(keep="last")].sort_index()
    dropped = len(stamped) - len(latest)
    log.info("%s: %d intraday update(s) superseded by a later update of the same day", path, dropped)
    note = f" {dropped} intraday update(s) superseded by the day's last update."
    note += repeats_note(repeated, "record")
    return latest.reset_index(drop=True), note


def read_macro_csv(
    path: str | Path, symbol: str | None = None, column: str | None = None, *, licence: str = "MIT"
) -> tuple[pd.DataFrame, Provenance]:
    """A `date,<value>` macro series (e.g. vix.csv, dxy.csv) as closes of `symbol` (default: the stem,
    upper-cased). `column` defaults to the file's only non-date column. Blank values are skipped with a
    logged count; the count is also stated in the provenance notes."""
    p = Path(path)
    df = read_csv_text(p, ["date"])
    if column is None:
        others = [c for c in df.columns if c != "date"]
        if len(others) != 1:
            raise DataError(f"{p}: expected one value column besides 'date', found {others}; pass column=")
        column = others[0]
    elif column not in df.columns:
        raise DataError(f"{p}: missing column {column!r}")
    sym = symbol or p.stem.upper()
    n = len(df)
    df = drop_blank_rows(df, column, p, "no value recorded")
    out, repeated = _bars(p, times(df["date"], p, "date", _DAY), sym, close=numbers(df[column], p, column))
    note = f"symbol {sym!r}; close = {column} (index points); {n - len(df)} blank row(s) skipped.{repeated}"
    return out, provenance(p, out["date"], licence, note)


def read_prices_folder(
    folder: str | Path, *, licences: dict[str, str] | None = None
) -> tuple[pd.DataFrame, Provenance]:
    """Every CSV of a prices folder as one `daily_prices` table.

    `btc_price_volume.csv` -> 'BTC-USD'; `btc_ohlc.csv` (2016-2022 Glassnode-style OHLC) is read as
    'BTC-USD' only when no other BTC-USD file is present (it would duplicate the Yahoo series with
    slightly different closes), otherwise skipped with a log line; every other CSV is a Yahoo-style file
    whose stem is its symbol. `licences` maps a file name to its licence (default 'unstated', MIT for
    btc_price_volume.csv). `DataError` when the folder holds no CSV.
    """
    d = Path(folder)
    lic = {BTC_PRICE_VOLUME: "MIT", **(licences or {})}
    files = sorted(d.glob("*.csv"))
    if not files:
        raise DataError(f"{d}: no price CSV files")
    parts: list[tuple[pd.DataFrame, Provenance]] = []
    for f in files:
        licence = lic.get(f.name, "unstated")
        if f.name == BTC_OHLC:
            continue
        if f.name == BTC_PRICE_VOLUME:
            parts.append(read_btc_price_volume(f, licence=licence))
        else:
            parts.append(read_yahoo_csv(f, licence=licence))
    ohlc = d / BTC_OHLC
    if present(ohlc):
        if any((df["symbol"] == "BTC-USD").any() for df, _ in parts):
            log.info("%s: skipped (BTC-USD already read from another file)", ohlc)
        else:
            df, prov = read_ohlc_csv(ohlc, licence=lic.get(BTC_OHLC, "unstated"))
            why = f"SUBSTITUTED: 'BTC-USD' read from {BTC_OHLC} because no other file gave BTC-USD rows."
            log.warning("%s: %s", d, why)
            parts.append((df, replace(prov, notes=f"{prov.notes} {why}")))
    if not parts:
        raise DataError(f"{d}: no usable price CSV files")
    return concat_prices(parts)


def concat_prices(parts: list[tuple[pd.DataFrame, Provenance]]) -> tuple[pd.DataFrame, Provenance]:
    """Concatenate price tables, symbol by symbol: a symbol already given by an earlier part is not
    taken again from a later part (whole symbol, so series with different split adjustments are never
    spliced); the dropped symbols are logged and noted in the provenance."""
    kept: list[pd.DataFrame] = []
    provs: list[Provenance] = []
    seen: set[str] = set()
    for df, prov in parts:
        syms = set(df["symbol"].unique())
        dup = sorted(syms & seen)
        if dup:
            log.info("%s: symbol(s) %s already read from an earlier file; not taken again", prov.source, dup)
            df = df[~df["symbol"].isin(dup)]
            prov = Provenance(
                prov.source,
                prov.retrieved_at,
                prov.licence,
                f"{prov.notes} Not used for {', '.join(dup)} (taken from an earlier file).",
                prov.synthetic,
            )
        if df.empty:
            continue
        seen |= syms
        kept.append(df)
        provs.append(prov)
    if not kept:
        raise DataError("daily_prices: no rows in any price file")
    out = pd.concat(kept, ignore_index=True).sort_values(["symbol", "date"], kind="stable")
    return tables.validate("daily_prices", out), combine(provs)
