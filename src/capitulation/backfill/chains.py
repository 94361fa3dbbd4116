"""Historical option chains, one file per day, -> the `option_quotes` table.

A backfill input is a chain file or a folder of them (`*.csv`, `*.csv.gz`, `*.parquet`, taken in name
order; tardis.dev names its daily files by date, so name order is time order). Each file is one of:

* the tardis.dev `options_chain` layout (CSV or Parquet): exchange, symbol, timestamp, local_timestamp,
  type, strike_price, expiration, open_interest, last_price, bid_price, bid_amount, bid_iv, ask_price,
  ask_amount, ask_iv, mark_price, mark_iv, underlying_index, underlying_price, delta, gamma, vega, theta,
  rho. One row per ticker update of one instrument (tick level). Assumed conventions (tardis relays
  Deribit's ticker fields unchanged; no tardis sample is recorded here, so this follows the layout named
  in issue 7): timestamp, local_timestamp and expiration are microseconds since 1970 UTC; prices
  (last/bid/ask/mark) are BTC per contract of 1 BTC; IVs are percent; underlying_price is the USD forward
  the venue priced that expiry with; greeks are Deribit's (delta and gamma per BTC, vega USD per vol point,
  theta USD per calendar day). Only exchange `deribit` is accepted (other venues quote in other units),
  and only BTC options (symbols BTC-...) are kept: a daily file holds ETH, SOL, ... options too;
* the `option_quotes` table itself (Parquet with exactly its columns), taken as is after validation;
* a recorded Deribit chain CSV with an `instrument_name` column (shared/data/deribit_options), read by
  `sources.deribit.read_chain_csv`.

Tardis fields are normalised as in `sources.deribit`: IV percent -> fraction, `bid_iv == 0` / `ask_iv == 0`
and the 999 ask cap -> NaN, USD premium = BTC premium x underlying_price, rows at or past expiry dropped;
volume and the spot index are not in the layout (NaN). `to_tardis` writes option_quotes in that layout.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.sources.deribit import OPTION_TYPES, drop_expired, iv_fractions, read_chain_csv, venue_greeks

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".csv.gz", ".parquet")
UNDERLYING = "BTC"  # Deribit's daily files hold every currency's options; BTC ones are kept
TARDIS_COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "last_price",
    "bid_price",
    "bid_amount",
    "bid_iv",
    "ask_price",
    "ask_amount",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_index",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
    "rho",
)
_NEEDED = (
    "exchange",
    "symbol",
    "timestamp",
    "type",
    "strike_price",
    "expiration",
    "open_interest",
    "bid_price",
    "bid_iv",
    "ask_price",
    "ask_iv",
    "mark_price",
    "mark_iv",
    "underlying_price",
    "delta",
    "gamma",
    "vega",
    "theta",
)


def chain_files(path: str | Path) -> list[Path]:
    """The chain files of a backfill input: `path` itself, or its chain files in name order.

    `SourceError` when `path` does not exist; `DataError` when it holds no chain file.
    """
    p = Path(path)
    if not p.exists():
        raise SourceError(f"backfill input not found: {p}")
    files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file() and f.name.endswith(SUFFIXES))
    if not files or not files[0].name.endswith(SUFFIXES):
        raise DataError(f"no option chain files ({', '.join(SUFFIXES)}) in {p}")
    return files


def read_chain(path: str | Path) -> pd.DataFrame:
    """One chain file (any layout in the module docstring) as the `option_quotes` table.

    `SourceError` when the file cannot be read; `DataError` for an unknown layout or malformed values.
    """
    path = Path(path)
    raw = _read_raw(path)
    cols = set(raw.columns)
    if "instrument_name" in cols:
        return read_chain_csv(path)[0]
    if cols == set(tables.spec("option_quotes").names):
        return tables.validate("option_quotes", raw)
    if cols & {"exchange", "strike_price", "expiration"}:  # tardis-like: name what is missing
        return from_tardis(raw, path.name)
    raise DataError(f"{path.name}: not an option chain (neither the tardis options_chain layout nor option_quotes)")


def from_tardis(raw: pd.DataFrame, name: str = "tardis") -> pd.DataFrame:
    """tardis.dev `options_chain` rows (Deribit) -> `option_quotes`; conventions in the module docstring."""
    missing = [c for c in _NEEDED if c not in raw.columns]
    if missing:
        raise DataError(f"{name}: missing tardis options_chain column(s) {', '.join(missing)}")
    if raw.empty:
        raise DataError(f"empty option chain: {name} has a header but no quotes")
    venue = raw["exchange"].astype("string").str.lower()
    if not (venue == "deribit").all():
        raise DataError(f"{name}: only exchange 'deribit' is supported, got {venue[venue != 'deribit'].iloc[0]!r}")
    btc = raw["symbol"].astype("string").str.startswith(f"{UNDERLYING}-").fillna(False)
    if not btc.all():
        log.info("%s: kept %d BTC option row(s) of %d", name, int(btc.sum()), len(raw))
        raw = raw[btc.to_numpy()].reset_index(drop=True)
        if raw.empty:
            raise DataError(f"{name}: no {UNDERLYING} options (symbols {UNDERLYING}-...)")
    num = {c: _numbers(raw[c], c, name) for c in _NEEDED if c not in ("exchange", "symbol", "type")}
    kind = raw["type"].astype("string").str.strip().str.lower().map(OPTION_TYPES)
    if kind.isna().any():
        i = int(np.flatnonzero(kind.isna().to_numpy())[0])
        raise DataError(f"{name}, column 'type', row {i}: expected call/put, got {raw['type'].iloc[i]!r}")
    F = num["underlying_price"]
    prices = {side: num[f"{side}_price"].where(num[f"{side}_price"] > 0) for side in ("bid", "ask")}
    prices["mark"] = num["mark_price"]
    df = pd.DataFrame(
        {
            "timestamp": _micros(num["timestamp"], "timestamp", name),
            "venue": "deribit",
            "instrument": raw["symbol"].astype("string"),
            "underlying": UNDERLYING,
            "expiry": _micros(num["expiration"], "expiration", name),
            "strike": num["strike_price"],
            "option_type": kind,
            "quote_currency": "BTC",
            **prices,
            **{f"{side}_usd": prices[side] * F for side in ("bid", "ask", "mark")},
            **iv_fractions(num["bid_iv"], num["ask_iv"], num["mark_iv"]),
            "open_interest": num["open_interest"],
            "contract_size": 1.0,
            "volume": np.nan,
            "underlying_price": F,
            "index_price": np.nan,
            **venue_greeks(num),
        }
    )
    return tables.validate("option_quotes", drop_expired(df, name))


def to_tardis(quotes: pd.DataFrame) -> pd.DataFrame:
    """`option_quotes` rows (Deribit, BTC premiums) in the tardis `options_chain` layout.

    Times -> microseconds, IVs -> percent, a missing bid/ask IV -> 0 (Deribit's "no quote");
    last_price, bid/ask amounts and rho are not in option_quotes and are left empty; underlying_index is
    the expiry's future name (e.g. BTC-13FEB26). `from_tardis(to_tardis(q))` gives back q but for volume.
    """
    micros = {c: quotes[c].astype("int64") // 1000 for c in ("timestamp", "expiry")}
    empty = np.full(len(quotes), np.nan)
    return pd.DataFrame(
        {
            "exchange": quotes["venue"],
            "symbol": quotes["instrument"],
            "timestamp": micros["timestamp"],
            "local_timestamp": micros["timestamp"],
            "type": quotes["option_type"].map({"C": "call", "P": "put"}),
            "strike_price": quotes["strike"],
            "expiration": micros["expiry"],
            "open_interest": quotes["open_interest"],
            "last_price": empty,
            "bid_price": quotes["bid"],
            "bid_amount": empty,
            "bid_iv": quotes["bid_iv"].fillna(0.0) * 100.0,
            "ask_price": quotes["ask"],
            "ask_amount": empty,
            "ask_iv": quotes["ask_iv"].fillna(0.0) * 100.0,
            "mark_price": quotes["mark"],
            "mark_iv": quotes["mark_iv"] * 100.0,
            "underlying_index": quotes["underlying"] + "-" + quotes["expiry"].dt.strftime("%-d%b%y").str.upper(),
            "underlying_price": quotes["underlying_price"],
            "delta": quotes["venue_delta"],
            "gamma": quotes["venue_gamma"],
            "vega": quotes["venue_vega"],
            "theta": quotes["venue_theta"],
            "rho": empty,
        },
        columns=list(TARDIS_COLUMNS),
    )


def _read_raw(path: Path) -> pd.DataFrame:
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read option chain file {path}: {str(exc).splitlines()[0]}") from None


def _numbers(s: pd.Series, col: str, name: str) -> pd.Series:
    """Numbers from text or numeric columns; an empty cell is NaN, any other non-number a `DataError`."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    text = s.astype("string").str.strip()
    out = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = out.isna() & text.notna() & (text != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{name}, column {col!r}, row {i}: malformed number {s.iloc[i]!r}")
    return out


def _micros(us: pd.Series, col: str, name: str) -> pd.Series:
    if us.isna().any():
        i = int(np.flatnonzero(us.isna().to_numpy())[0])
        raise DataError(f"{name}, column {col!r}, row {i}: missing time (microseconds since 1970 UTC)")
    return pd.to_datetime(us.astype("int64"), unit="us", utc=True)
