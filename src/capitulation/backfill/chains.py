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
  `sources.deribit.read_chain_csv`. One without a `date` column (sample.csv: a single chain) is dated by
  its own greeks (`capture_time`, `INFERRED_FROM`).

Tardis fields are normalised as in `sources.deribit`: IV percent -> fraction, `bid_iv == 0` / `ask_iv == 0`
and the 999 ask cap -> NaN, USD premium = BTC premium x underlying_price, rows at or past expiry dropped;
volume and the spot index are not in the layout (NaN). `to_tardis` writes option_quotes in that layout.
"""

from __future__ import annotations

import csv
import gzip
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from capitulation import tables
from capitulation.backfill._kernel import repeated_keys
from capitulation.errors import DataError, SourceError
from capitulation.sources.deribit import (
    OPTION_TYPES,
    drop_expired,
    implied_capture_time,
    iv_fractions,
    read_chain_csv,
    venue_greeks,
)

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


INFERRED_FROM = (
    "the venue's greeks: t = 100 vega vol / (730 |theta|) years to expiry (Black-76), the median over "
    "instruments with |delta| in [0.2, 0.8] expiring over 2 days later"
)
"""How `capture_time` dates a recorded chain without a time column (`sources.deribit.implied_capture_time`)."""
_GREEKS = ("expiry_date", "delta", "theta", "vega", "mark_iv")  # what `implied_capture_time` reads


def capture_time(path: str | Path) -> pd.Timestamp | None:
    """The quote time of a recorded Deribit chain CSV without a `date` column, inferred from its greeks
    (`INFERRED_FROM`; UTC, to the second); None for any other file (a header read; an unreadable file is left
    to `read_chain` to report).

    `DataError` naming the file when the time cannot be inferred (greek columns missing or malformed, no
    instrument with usable greeks); `SourceError` when the file cannot be read.
    """
    path = Path(path)
    try:
        names = _column_names(path)
    except (OSError, UnicodeDecodeError, ValueError, pa.ArrowException):
        return None  # unreadable: `read_chain` says why
    if "instrument_name" not in names or "date" in names:
        return None
    missing = [c for c in _GREEKS if c not in names]
    why = f"no {', '.join(missing)} column(s)" if missing else None
    if why is None:
        try:
            return implied_capture_time(path)
        except DataError as exc:
            why = str(exc).removeprefix(f"{path.name}, ").removeprefix(f"{path.name}: ")
    raise DataError(f"{path.name}: no 'date' column, and its quote time cannot be inferred from the greeks: {why}")


def read_chain(path: str | Path, timestamp: pd.Timestamp | None = None) -> pd.DataFrame:
    """One chain file (any layout in the module docstring) as the `option_quotes` table.

    `timestamp`: the quote time of a recorded Deribit chain without a `date` column (default: `capture_time`).
    `SourceError` when the file cannot be read; `DataError` for an unknown layout or malformed values.
    """
    path = Path(path)
    raw = _read_raw(path)
    cols = set(raw.columns)
    if "instrument_name" in cols:
        when = None if "date" in cols else timestamp if timestamp is not None else capture_time(path)
        return read_chain_csv(path, when)[0]
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
    df = pd.DataFrame(
        {
            "timestamp": _micros(num["timestamp"], "timestamp", name),
            "venue": "deribit",
            "instrument": raw["symbol"].astype("string"),
            "underlying": UNDERLYING,
            "expiry": _micros(num["expiration"], "expiration", name),
            "option_type": kind,
            "quote_currency": "BTC",
            "contract_size": 1.0,
            "volume": np.nan,
            "index_price": np.nan,
            **_quote_values(num),
        }
    )
    return tables.validate("option_quotes", drop_expired(df, name))


def _quote_values(num: Mapping[str, pd.Series]) -> dict[str, pd.Series]:
    """The numeric option_quotes columns of tardis numbers: a bid or ask of 0 -> NaN, USD premium = BTC
    premium x underlying_price, IVs as `iv_fractions`, the venue's greeks (module docstring)."""
    F = num["underlying_price"]
    prices = {side: num[f"{side}_price"].where(num[f"{side}_price"] > 0) for side in ("bid", "ask")}
    prices["mark"] = num["mark_price"]
    return {
        "strike": num["strike_price"],
        **prices,
        **{f"{side}_usd": prices[side] * F for side in ("bid", "ask", "mark")},
        **iv_fractions(num["bid_iv"], num["ask_iv"], num["mark_iv"]),
        "open_interest": num["open_interest"],
        "underlying_price": F,
        **venue_greeks(num),
    }


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


@dataclass(frozen=True)
class ChainArrays:
    """The `option_quotes` columns the backfill reads, as arrays: times in ns since 1970 UTC, `instrument` as
    codes (one per instrument name), `is_call` for option_type 'C'; the others as in the table."""

    timestamp: np.ndarray
    expiry: np.ndarray
    instrument: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    underlying_price: np.ndarray
    index_price: np.ndarray
    mark_iv: np.ndarray
    bid_iv: np.ndarray
    open_interest: np.ndarray
    contract_size: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.size)

    def take(self, rows: np.ndarray | slice) -> ChainArrays:
        """These rows of every column."""
        return ChainArrays(*(getattr(self, f.name)[rows] for f in fields(self)))

    def frame(self) -> pd.DataFrame:
        """The columns as a frame in the table's units (times UTC, option_type 'C'/'P', instrument codes)."""
        cols = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "is_call"}
        for c in ("timestamp", "expiry"):
            cols[c] = pd.to_datetime(cols[c], utc=True)
        return pd.DataFrame({**cols, "option_type": np.where(self.is_call, "C", "P")})


def arrays_of(quotes: pd.DataFrame) -> ChainArrays:
    """An `option_quotes` frame as `ChainArrays`."""

    def ns(col: str) -> np.ndarray:
        return quotes[col].to_numpy(dtype="datetime64[ns]").view("int64")

    def num(col: str) -> np.ndarray:
        return quotes[col].to_numpy(dtype=float)

    return ChainArrays(
        timestamp=ns("timestamp"),
        expiry=ns("expiry"),
        instrument=pd.factorize(quotes["instrument"])[0].astype(np.int64),
        strike=num("strike"),
        is_call=(quotes["option_type"] == "C").to_numpy(dtype=bool),
        underlying_price=num("underlying_price"),
        index_price=num("index_price"),
        mark_iv=num("mark_iv"),
        bid_iv=num("bid_iv"),
        open_interest=num("open_interest"),
        contract_size=num("contract_size"),
    )


def read_arrays(path: str | Path, timestamp: pd.Timestamp | None = None) -> ChainArrays:
    """One chain file as `ChainArrays`, equal to `arrays_of(read_chain(path, timestamp))`.

    A tardis file is parsed once by pyarrow (one thread) and its values checked against the
    `option_quotes` contract with numpy; any file that is not a clean tardis file (another layout, a
    malformed or out-of-range value, an instrument quoted twice at one time) goes through `read_chain`,
    which raises the error naming file, column and row, or drops the repeated rows.
    """
    path = Path(path)
    fast = _tardis_arrays(path)
    return fast if fast is not None else arrays_of(read_chain(path, timestamp))


def _tardis_arrays(path: Path) -> ChainArrays | None:
    """`read_arrays` of a clean tardis file by pyarrow; None for anything `read_chain` must look at."""
    try:
        table = _arrow_table(path)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    if table is None or table.num_rows == 0:
        return None
    venue, _ = _codes(table["exchange"])
    symbol, instrument = _codes(table["symbol"])
    kinds, kind = _codes(table["type"])
    if venue is None or symbol is None or kinds is None or any(v.lower() != "deribit" for v in venue):
        return None
    btc = np.array([v.startswith(f"{UNDERLYING}-") for v in symbol], dtype=bool)[instrument]
    call = np.array([OPTION_TYPES.get(v.strip().lower(), "") for v in kinds])[kind[btc]]
    if not btc.any() or not np.isin(call, ("C", "P")).all():
        return None
    if not btc.all():
        log.info("%s: kept %d BTC option row(s) of %d", path.name, int(btc.sum()), btc.size)
    if table["timestamp"].null_count or table["expiration"].null_count:
        return None
    quoted, expiry = (table[c].to_numpy()[btc] for c in ("timestamp", "expiration"))
    if not ((quoted >= 0) & (quoted < 2**53) & (expiry >= 0) & (expiry < 2**53)).all():
        return None  # times as `read_chain` reads them: floats, exact to 2^53 microseconds
    live = expiry > quoted
    if not live.all():
        log.info("%s: dropped %d expired row(s) (expiry <= quote time)", path.name, int((~live).sum()))
    floats = {c: _floats(table[c], path) for c in _NEEDED if c not in (*_TEXT, "timestamp", "expiration")}
    if any(v is None for v in floats.values()):
        return None
    num = {c: pd.Series(v[btc][live]) for c, v in floats.items()}
    values = {k: v.to_numpy() for k, v in _quote_values(num).items()}
    n = int(live.sum())
    values |= {
        "timestamp": quoted[live] * 1000,
        "expiry": expiry[live] * 1000,
        "contract_size": np.ones(n),
        "volume": np.full(n, np.nan),
        "index_price": np.full(n, np.nan),
    }
    chain = ChainArrays(
        timestamp=values["timestamp"],
        expiry=values["expiry"],
        instrument=pd.factorize(instrument[btc][live])[0].astype(np.int64),  # as `arrays_of` numbers them
        strike=values["strike"],
        is_call=call[live] == "C",
        underlying_price=values["underlying_price"],
        index_price=values["index_price"],
        mark_iv=values["mark_iv"],
        bid_iv=values["bid_iv"],
        open_interest=values["open_interest"],
        contract_size=values["contract_size"],
    )
    if not _in_contract(values) or repeated_keys(chain.timestamp, chain.instrument):
        return None
    return chain


_TEXT = ("exchange", "symbol", "type")
_CSV_TYPES = {
    **{c: pa.dictionary(pa.int32(), pa.string()) for c in _TEXT},
    **{c: pa.float64() for c in _NEEDED if c not in _TEXT},
    "timestamp": pa.int64(),
    "expiration": pa.int64(),
}


def _arrow_table(path: Path) -> pa.Table | None:
    """The tardis columns of a tardis file read by pyarrow; None for another layout."""
    names = _column_names(path)
    if "instrument_name" in names or not all(c in names for c in _NEEDED):
        return None  # `read_chain` reads it as a recorded Deribit chain, or names the missing columns
    if path.name.endswith(".parquet"):
        return pq.read_table(path, columns=list(_NEEDED), use_threads=False)
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False),
        convert_options=pacsv.ConvertOptions(
            include_columns=list(_NEEDED), column_types=_CSV_TYPES, null_values=[""], strings_can_be_null=False
        ),
    )


def _column_names(path: Path) -> list[str]:
    """A chain file's column names: a Parquet file's schema, a CSV file's header line."""
    if path.name.endswith(".parquet"):
        return pq.read_schema(path).names
    with (gzip.open if path.name.endswith(".gz") else open)(path, "rt", newline="") as f:
        return next(csv.reader(f), [])


def _codes(col: pa.ChunkedArray) -> tuple[list[str] | None, np.ndarray]:
    """A text column as (its distinct values, each row's index into them); (None, ...) with a missing value."""
    if col.null_count:
        return None, np.empty(0, np.int64)
    enc = col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)
    enc = pa.chunked_array(enc.chunks, enc.type).unify_dictionaries() if enc.num_chunks > 1 else enc
    if enc.num_chunks == 0:
        return [], np.empty(0, np.int64)
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in enc.chunks])
    return [str(v) for v in enc.chunk(0).dictionary.to_pylist()], codes


def _floats(col: pa.ChunkedArray, path: Path) -> np.ndarray | None:
    """A numeric column as float64, a missing value as NaN; None for a text 'nan' in a CSV (which `read_chain`
    rejects as malformed) or a non-numeric Parquet column."""
    if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
        return None
    out = col.to_numpy().astype(float)
    if not path.name.endswith(".parquet") and np.isnan(out).sum() > col.null_count:
        return None
    return out


def _in_contract(values: Mapping[str, np.ndarray]) -> bool:
    """Whether `tables.validate` finds no fault in these `option_quotes` columns (all but the text ones,
    times in ns): no NaN where not allowed, no infinity, each value in its column's range."""
    for col in tables.spec("option_quotes").columns:
        if col.kind == "str":
            continue
        if col.name not in values or col.kind not in ("float", "time"):
            return False
        v = values[col.name]
        low, high = (b.as_unit("ns").value if isinstance(b, pd.Timestamp) else b for b in (col.low, col.high))
        if col.kind == "float":
            nan = np.isnan(v)
            if np.isinf(v).any() or (nan.any() and not col.nullable) or (np.abs(v[~nan]) > tables.MAGNITUDE).any():
                return False
        if low is not None and ((v <= low) if col.low_open else (v < low)).any():
            return False
        if high is not None and (v > high).any():
            return False
    return True


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
