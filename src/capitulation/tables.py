"""The standard tables: column names, dtypes and units in one place (the contract).

Every source returns these tables whatever the venue; venue quirks (inverse options, contract sizes,
percent vs fraction) are removed inside the source module. Conventions:

* times are tz-aware UTC (`time` kind); a daily row is stamped at 00:00 UTC of its date;
* money is USD unless the column says otherwise (`*_btc`, or `quote_currency` for option prices);
* implied vols and rates are fractions (0.55 = 55 vol points; 1e-4 = 0.01 %);
* `validate` coerces a frame to the contract or raises `DataError` naming table, column and row.

Domain: each column states its valid range (`Column.low`/`high`; prices and strikes > 0; open interest,
volume and hashrate >= 0; IVs and DVOL within `IV_MAX`; times within the data's era, from `GENESIS` for
bitcoin's own tables) and every number must be finite and within `MAGNITUDE`. Each table declares its key
(`TableSpec.key`): rows identical on every column are one row said twice (later copies dropped, counted by
the importer in its provenance notes); rows that share a key but differ are an error naming both.

Row policy (stated once, here): a bad column (missing, wrong type, malformed text) or a bad row of a
series (a price, an OI, a hashrate out of its range, a conflicting duplicate, a NaN where a value is
required) rejects the file with a one-line `DataError` naming file, column and row: a series with a
hole is not silently patched. A file with no data row at all (a header only, an empty record list) is
rejected the same way (`sources._files.require_rows`): it is a lost file, not an empty series. Only an
option chain, a cross-section of many independent quotes, drops a bad quote row (`drop_bad_rows`): each
dropped row is counted in the table's provenance (`Provenance.dropped_rows`, with the rule broken in the
notes) and the options verdict says how many. No value is ever filled in: a gap stays a gap and the signal
that needs that day says it is missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from capitulation.errors import DataError
from capitulation.timeutil import DAY_CLOSE, age_days

T = TypeVar("T", pd.Timestamp, pd.Series)
log = logging.getLogger(__name__)

Kind = Literal["str", "float", "int", "time"]

GENESIS = pd.Timestamp("2009-01-03", tz="UTC")
"""Bitcoin's genesis block: no row of a bitcoin table (chain, market or filing) can be older."""

EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
"""Times of other series (equities since 1993, indices) must be after the Unix epoch: a 0 read as a time."""

MAGNITUDE = 1e15
"""Largest magnitude of any number (USD, shares, contracts): ~10x world GDP in USD; recorded maxima are
below 4e11 (share volume), so 1e15 only catches corrupt cells such as 1e300 or a misplaced exponent."""

PRICE_MAX = 1e8
"""Largest price or strike, USD (or index points): recorded maximum ~1.25e5 (BTC-USD, strikes 3.8e5), so
1e8 is ~800x any recorded price."""

IV_MAX = 5.0
"""Largest mark implied vol and DVOL, as a fraction (500 %): in the recorded data the Deribit chains' mark IV
peaks at 1.71 and DVOL (2021-03 .. 2026-09) at 1.68 (daily high); 500 % leaves room for a wing hours from
expiry while rejecting a percent read as a fraction (999 % -> 9.99) or a typo."""

QUOTE_IV_MAX = 20.0
"""Largest bid/ask implied vol (2000 %): an ask on an illiquid wing is not a fair value (recorded maximum
9.48 = 948 %, below Deribit's 999 % cap which the importer reads as 'no ask')."""

AGGREGATE = "aggregate"
"""The venue of an all-exchange series (perp_metrics, liquidations): never summed with single venues."""


Bound = float | pd.Timestamp | None


@dataclass(frozen=True)
class Column:
    """A column: name, kind, unit, whether NaN is allowed, and its valid range [low, high] (`low_open`: the
    low end excluded, e.g. a price > 0). Numbers are also bounded by +-`MAGNITUDE`."""

    name: str
    kind: Kind
    unit: str
    nullable: bool = False
    doc: str = ""
    low: Bound = None
    high: Bound = None
    low_open: bool = False

    def out_of_range(self, s: pd.Series) -> pd.Series:
        """True where a (coerced, non-NaN) value breaks the range; NaN is checked by `nullable`."""
        bad = pd.Series(False, index=s.index)
        if self.kind in ("float", "int"):
            bad |= s.abs() > MAGNITUDE
        if self.low is not None:
            bad |= (s <= self.low) if self.low_open else (s < self.low)
        if self.high is not None:
            bad |= s > self.high
        return bad.fillna(False).astype(bool)

    def range_text(self) -> str:
        """The valid range in words, e.g. '> 0 and <= 1e+08'."""
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_show(self.low)}")
        if self.high is not None:
            parts.append(f"<= {_show(self.high)}")
        if self.kind in ("float", "int") and self.high is None:
            parts.append(f"|x| <= {MAGNITUDE:g}")
        return " and ".join(parts)


def _show(v: float | pd.Timestamp) -> str:
    return v.date().isoformat() if isinstance(v, pd.Timestamp) else f"{v:g}"


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns, and the time column that says when a row became known.

    `bar_days`: rows are bars of that many days stamped at their start (a daily close is known only at
    the end of its day); 0 for instantaneous rows. `key`: the columns that identify a row (one value per
    key); empty where two identical rows can be two real things (two tranches of one instrument).
    """

    name: str
    doc: str
    time_column: str
    columns: tuple[Column, ...]
    bar_days: int = 0
    key: tuple[str, ...] = ()

    def known_at(self, df: pd.DataFrame) -> pd.Series:
        """When each row became known: its time, or the last second of its bar."""
        return self.known_at_time(df[self.time_column])

    def known_at_time(self, t: T) -> T:
        """When a row stamped `t` (a time or a Series of them) became known: `t`, or its bar's last second."""
        return t + pd.Timedelta(days=self.bar_days - 1) + DAY_CLOSE if self.bar_days else t  # type: ignore[return-value]

    def age_days(self, as_of: pd.Timestamp, t: pd.Timestamp) -> float:
        """Age in days at `as_of` of this table's row stamped `t`: `timeutil.age_days` from its `known_at`
        (a daily close stamped 2026-02-05 is 0 days old at 2026-02-05 23:59:59, 1 day old a day later)."""
        return age_days(as_of, self.known_at_time(t))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(
    name: str,
    kind: Kind,
    unit: str = "",
    doc: str = "",
    *,
    null: bool = False,
    gt: Bound = None,
    ge: Bound = None,
    le: Bound = None,
) -> Column:
    """A column; `gt`/`ge`: the lowest value (excluded / included), `le`: the highest."""
    low = ge if gt is None else gt
    return Column(name, kind, unit, null, doc, low, le, gt is not None)


def _btc_time(name: str, unit: str = "UTC", doc: str = "", *, null: bool = False) -> Column:
    """A time of the bitcoin era: from the genesis block."""
    return _c(name, "time", unit, doc, null=null, ge=GENESIS)


def _price(name: str, unit: str = "USD", doc: str = "", *, null: bool = False) -> Column:
    """A price: > 0 and <= PRICE_MAX."""
    return _c(name, "float", unit, doc, null=null, gt=0.0, le=PRICE_MAX)


def _amount(name: str, unit: str, doc: str = "", *, null: bool = False) -> Column:
    """A non-negative amount (open interest, volume, holdings, USD notional)."""
    return _c(name, "float", unit, doc, null=null, ge=0.0)


OPTION_QUOTES = TableSpec(
    "option_quotes",
    "One row per option instrument at one time (a chain snapshot or several).",
    "timestamp",
    (
        _btc_time("timestamp", doc="time of the quote"),
        _c("venue", "str", "", "exchange id, e.g. deribit"),
        _c("instrument", "str", "", "venue instrument name"),
        _c("underlying", "str", "", "underlying asset, e.g. BTC"),
        _btc_time("expiry", doc="settlement time (Deribit: 08:00 UTC)"),
        _price("strike"),
        _c("option_type", "str", "", "'C' or 'P'"),
        _c("quote_currency", "str", "", "currency of bid/ask/mark (Deribit: BTC)"),
        _amount("bid", "quote_currency", null=True),
        _amount("ask", "quote_currency", null=True),
        _amount("mark", "quote_currency", null=True),
        _amount("bid_usd", "USD", null=True),
        _amount("ask_usd", "USD", null=True),
        _amount("mark_usd", "USD", null=True),
        _c("bid_iv", "float", "fraction", "0 or missing bid -> NaN", null=True, ge=0.0, le=QUOTE_IV_MAX),
        _c("ask_iv", "float", "fraction", null=True, ge=0.0, le=QUOTE_IV_MAX),
        _c("mark_iv", "float", "fraction", gt=0.0, le=IV_MAX),
        _amount("open_interest", "contracts"),
        _c("contract_size", "float", "underlying units per contract (Deribit BTC options: 1 BTC)", gt=0.0),
        _amount("volume", "contracts", null=True),
        _price("underlying_price", doc="forward of this expiry used for pricing", null=True),
        _price("index_price", doc="spot index", null=True),
        _c("venue_delta", "float", "per 1 underlying unit", null=True, ge=-1.0, le=1.0),
        _amount("venue_gamma", "per USD, per 1 underlying unit", null=True),
        _amount("venue_vega", "USD per 1 vol point", null=True),
        _c("venue_theta", "float", "USD per calendar day", null=True),
    ),
    key=("timestamp", "venue", "instrument"),
)

FUNDING_MAX = 0.05
"""Largest |funding rate| per interval (5 %): recorded extremes are -0.13 % and +0.17 % per 8 h."""

PERP_METRICS = TableSpec(
    "perp_metrics",
    "Perpetual-swap state over time: open interest, funding, mark price, liquidations (when known).",
    "timestamp",
    (
        _btc_time("timestamp"),
        _c("venue", "str", "", "exchange id, or 'aggregate' for an all-exchange series"),
        _c("symbol", "str", "", "e.g. BTCUSDT"),
        _amount("oi_contracts", "contracts", null=True),
        _amount("oi_btc", "BTC", null=True),
        _amount("oi_usd", "USD", null=True),
        _c("funding_rate", "float", "fraction per funding interval", null=True, ge=-FUNDING_MAX, le=FUNDING_MAX),
        _c("funding_interval_h", "float", "hours", null=True, gt=0.0, le=24.0),
        _price("mark_price", null=True),
        _amount("long_liq_usd", "USD liquidated longs in the period", null=True),
        _amount("short_liq_usd", "USD liquidated shorts in the period", null=True),
    ),
    key=("timestamp", "venue", "symbol"),
)

DAILY_PRICES = TableSpec(
    "daily_prices",
    "Daily bars per symbol (BTC-USD, equities, ETFs, indices). Equities close at the NY close.",
    "date",
    (
        _c("date", "time", "UTC midnight of the trading date", gt=EPOCH),
        _c("symbol", "str", "", "e.g. BTC-USD, MSTR, QQQ, VIX"),
        _price("open", "USD (index points for indices)", null=True),
        _price("high", "USD", null=True),
        _price("low", "USD", null=True),
        _price("close", "USD"),
        _amount("volume", "shares, or USD for BTC-USD", null=True),
    ),
    bar_days=1,
    key=("date", "symbol"),
)

HASHRATE_MAX_EHS = 1e6
"""Largest hashrate, EH/s: recorded maximum ~1.3e3 EH/s (2025-2026)."""

BTC_NETWORK = TableSpec(
    "btc_network",
    "Bitcoin network per day: height, difficulty, hashrate, fees and subsidy.",
    "date",
    (
        _btc_time("date", "UTC midnight"),
        _c("height", "int", "blocks", null=True, ge=0.0),
        _c("difficulty", "float", "dimensionless: expected hashes per block / 2^32", null=True, ge=1.0),
        _c("hashrate_ehs", "float", "EH/s (1e18 hashes per second)", null=True, ge=0.0, le=HASHRATE_MAX_EHS),
        _amount("fees_btc_per_block", "BTC per block", null=True),
        _c("subsidy_btc", "float", "BTC per block", null=True, ge=0.0, le=50.0),
    ),
    bar_days=1,
    key=("date",),
)

BTC_SUPPLY_MAX = 21e6
"""No amount of bitcoin can exceed the 21 million cap."""

TREASURY_COMPANIES = TableSpec(
    "treasury_companies",
    "Digital-asset-treasury companies' bitcoin and capital stack; each row has its own as_of, publication "
    "time and source.",
    "published",
    (
        _btc_time("as_of", doc="date the figures refer to (filing date, or the quarter end)"),
        _btc_time("published", doc="when the figures became public (filing or earnings date): no look-ahead"),
        _c("name", "str"),
        _c("ticker", "str"),
        _c("btc_held", "float", "BTC", ge=0.0, le=BTC_SUPPLY_MAX),
        _price("avg_cost_usd", "USD per BTC", null=True),
        # >= 0, not > 0: signals.treasury keeps a company with 0 shares as a row that says why it has no mNAV
        _amount("shares_basic", "shares", null=True),
        _amount("shares_diluted", "shares", null=True),
        _price("share_price_usd", "USD per share", null=True),
        _amount("debt_usd", "USD (notional)", null=True),
        _amount("preferred_usd", "USD (notional)", null=True),
        _amount("cash_usd", "USD", null=True),
        _c("source", "str", "", "filing or file the row came from"),
    ),
    key=("published", "ticker", "as_of", "source"),
)

LOG_RETURN_MAX = 10.0
"""Largest |daily log return| (x e^10 = 22,000 in a day): recorded extremes are -1.50 and +1.39."""

SECTOR_RETURNS = TableSpec(
    "sector_returns",
    "Daily log returns of sector constituents (long format); baskets are built in analytics/sectors.",
    "date",
    (
        _btc_time("date", "UTC midnight"),
        _c("symbol", "str"),
        _c("sector", "str", "", "source taxonomy label, e.g. eth_scaling"),
        _c("log_return", "float", "natural log return, fraction", ge=-LOG_RETURN_MAX, le=LOG_RETURN_MAX),
    ),
    bar_days=1,
    key=("date", "symbol", "sector"),
)

ETF_FLOWS = TableSpec(
    "etf_flows",
    "US spot bitcoin ETF daily net flows per fund.",
    "date",
    (
        _btc_time("date", "UTC midnight"),
        _c("fund", "str", "", "ticker, e.g. IBIT"),
        _c("flow_usd", "float", "USD (not millions)"),
    ),
    bar_days=1,
    key=("date", "fund"),
)


def _vol(name: str) -> Column:
    """An implied-vol index level: a fraction in (0, IV_MAX]."""
    return _c(name, "float", "fraction", gt=0.0, le=IV_MAX)


VOL_INDEX = TableSpec(
    "vol_index",
    "Daily implied-volatility index bars (e.g. Deribit DVOL), as fractions.",
    "date",
    (
        _btc_time("date", "UTC midnight"),
        _c("index", "str", "", "e.g. DVOL-BTC"),
        _vol("open"),
        _vol("high"),
        _vol("low"),
        _vol("close"),
    ),
    bar_days=1,
    key=("date", "index"),
)


def _ratio(name: str, doc: str) -> Column:
    """A positive ratio (MVRV, SOPR, long/short), NaN allowed."""
    return _c(name, "float", "ratio", doc, null=True, gt=0.0)


ONCHAIN = TableSpec(
    "onchain",
    "Whole-market on-chain cost bases per day: realized prices, MVRV, holder supply split and SOPR.",
    "date",
    (
        _btc_time("date", "UTC midnight of the day the figures close"),
        _price("price_usd", "USD per BTC", "the source's BTC price that its ratios use", null=True),
        _price("realized_price_usd", "USD per BTC", "realized cap / supply (last-moved prices)", null=True),
        _price("sth_realized_price_usd", "USD per BTC", "realized price of coins moved in ~155 days", null=True),
        _ratio("mvrv", "market value / realized value = price / realized price"),
        _ratio("sth_mvrv", "price / short-term-holder realized price"),
        _c(
            "lth_supply_btc",
            "float",
            "BTC",
            "supply held by long-term holders (unmoved ~155 days+)",
            null=True,
            ge=0.0,
            le=BTC_SUPPLY_MAX,
        ),
        _c("sth_supply_btc", "float", "BTC", "supply held by short-term holders", null=True, ge=0.0, le=BTC_SUPPLY_MAX),
        _ratio("sth_sopr", "short-term holders' SOPR (< 1: selling at a loss)"),
        _ratio("lth_sopr", "long-term holders' spent output profit ratio (SOPR)"),
        _c("source", "str", "", "which file or endpoint each row's figures came from"),
    ),
    bar_days=1,
    key=("date",),
)

LIQUIDATIONS = TableSpec(
    "liquidations",
    "Observed forced liquidations per day (not model estimates): an all-exchange aggregate or one venue.",
    "date",
    (
        _btc_time("date", "UTC midnight of the day"),
        _c("venue", "str", "", "'aggregate' for an all-exchange series (e.g. CoinGlass), else an exchange id"),
        _c("symbol", "str", "", "underlying, e.g. BTC"),
        _amount("long_usd", "USD", "longs liquidated during the day (NaN: not split by side)", null=True),
        _amount("short_usd", "USD", "shorts liquidated during the day (NaN: not split by side)", null=True),
        _amount("total_usd", "USD", "all liquidations during the day (long + short where split)"),
    ),
    bar_days=1,
    key=("date", "venue", "symbol"),
)

LONG_SHORT_RATIOS = TableSpec(
    "long_short_ratios",
    "Long/short ratios of perp traders per day (accounts long / accounts short; positions for the top-trader "
    "position ratio).",
    "date",
    (
        _btc_time("date", "UTC midnight of the day"),
        _c("venue", "str", "", "'aggregate' or an exchange id"),
        _c("symbol", "str", "", "underlying, e.g. BTC"),
        _ratio("lsr_global", "all accounts: long / short"),
        _ratio("lsr_top_accounts", "top traders by account: long / short"),
        _ratio("lsr_top_positions", "top traders by position size: long / short"),
    ),
    bar_days=1,
    key=("date", "venue", "symbol"),
)

TREASURY_INSTRUMENTS = TableSpec(
    "treasury_instruments",
    "Dilutive instruments of treasury companies (convertible notes, convertible preferred, warrants, options, "
    "RSUs); whether one counts as shares depends on the share price of the day (analytics.treasury.dilute).",
    "known",
    (
        _btc_time("known", doc="when the instrument became public: its issue date, else its source's date"),
        _c("ticker", "str"),
        _c("kind", "str", "", "convertible, preferred, warrant, option, rsu or free_shares"),
        _amount("face_value_usd", "USD (notional)", null=True),
        _c(
            "strike_usd",
            "float",
            "USD per share",
            "conversion or exercise price (0: an RSU)",
            null=True,
            ge=0.0,
            le=PRICE_MAX,
        ),
        _amount("potential_shares", "shares", "shares if converted or exercised", null=True),
        _c("issued", "time", "UTC", null=True, gt=EPOCH),
        _c("expiration", "time", "UTC", null=True, gt=EPOCH),
        _c("coupon", "float", "fraction per year", "annual coupon of a note (NaN: unknown)", null=True, ge=0.0, le=1.0),
        _c("source", "str", "", "filing or file the row came from"),
    ),
)

TREASURY_CHARGES = TableSpec(
    "treasury_charges",
    "Annual interest and preferred dividends of treasury companies, as of a date.",
    "as_of",
    (
        _btc_time("as_of", doc="date the figures refer to and became public"),
        _c("ticker", "str"),
        _amount("annual_interest_usd", "USD per year", null=True),
        _amount("annual_preferred_dividends_usd", "USD per year", null=True),
        _c("source", "str", "", "filing or file the row came from"),
    ),
    key=("as_of", "ticker", "source"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        OPTION_QUOTES,
        PERP_METRICS,
        DAILY_PRICES,
        BTC_NETWORK,
        TREASURY_COMPANIES,
        SECTOR_RETURNS,
        ETF_FLOWS,
        VOL_INDEX,
        ONCHAIN,
        LIQUIDATIONS,
        LONG_SHORT_RATIOS,
        TREASURY_INSTRUMENTS,
        TREASURY_CHARGES,
    )
}


def spec(name: str) -> TableSpec:
    """The spec of table `name`; `DataError` for an unknown table."""
    try:
        return TABLES[name]
    except KeyError:
        raise DataError(f"unknown table {name!r}; known tables: {', '.join(sorted(TABLES))}") from None


def empty(name: str) -> pd.DataFrame:
    """A zero-row frame with the table's columns and dtypes."""
    return validate(name, pd.DataFrame({c: [] for c in spec(name).names}))


def _first_bad(mask: np.ndarray | pd.Series) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


_TIME = pd.DatetimeTZDtype("ns", "UTC")


def _coerce(table: str, col: Column, s: pd.Series) -> pd.Series:
    """`s` as the column's dtype; a column already of that dtype only has its values checked."""
    where = f"table {table!r}, column {col.name!r}"
    if col.kind == "time":
        if s.dtype == _TIME:
            return s
        try:
            out = pd.to_datetime(s, utc=True, errors="coerce", format="mixed")
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: not a time ({exc})") from None
        bad = out.isna() & s.notna()
        if bad.any():
            i = _first_bad(bad)
            raise DataError(f"{where}, row {i}: malformed time {s.iloc[i]!r}")
        return out.astype(_TIME)
    if col.kind in ("float", "int"):
        if pd.api.types.is_bool_dtype(s):
            raise DataError(f"{where}: expected numbers, got booleans")
        if pd.api.types.is_numeric_dtype(s):
            out = s.astype("float64")
        else:
            out = pd.to_numeric(s, errors="coerce").astype("float64")
            bad = out.isna() & s.notna() & ~s.astype(str).str.lower().isin(["nan", "none", ""])
            if bad.any():
                i = _first_bad(bad)
                raise DataError(f"{where}, row {i}: malformed number {s.iloc[i]!r}")
        inf = np.isinf(out.to_numpy())
        if inf.any():
            raise DataError(f"{where}, row {_first_bad(inf)}: infinite value")
        if col.kind == "int":
            frac = out.notna() & (out % 1 != 0)
            if frac.any():
                i = _first_bad(frac)
                raise DataError(f"{where}, row {i}: expected an integer, got {s.iloc[i]!r}")
            return out.astype("Int64")
        return out
    if isinstance(s.dtype, pd.StringDtype):
        return s if s.dtype == "string" else s.astype("string")
    nonstr = s.notna().to_numpy() & ~np.array([isinstance(v, str) for v in s], dtype=bool)
    if nonstr.any():
        i = _first_bad(nonstr)
        raise DataError(f"{where}, row {i}: expected text, got {s.iloc[i]!r}")
    return s.astype("string")


def _coerced(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """`df` with exactly the table's columns, in spec order, each coerced to its kind (column-level faults
    raise: missing or unexpected columns, malformed numbers or times, infinities)."""
    ts = spec(name)
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"table {name!r}: expected a DataFrame, got {type(df).__name__}")
    missing = [c for c in ts.names if c not in df.columns]
    if missing:
        raise DataError(f"table {name!r}: missing column(s) {', '.join(missing)}")
    extra = [str(c) for c in df.columns if c not in ts.names]
    if extra:
        raise DataError(f"table {name!r}: unexpected column(s) {', '.join(extra)}")
    df = df.reset_index(drop=True)
    return pd.DataFrame({col.name: _coerce(name, col, df[col.name]) for col in ts.columns}, columns=ts.names)


Fault = tuple[str, pd.Series, str]


def _faults(ts: TableSpec, df: pd.DataFrame, not_after: pd.Timestamp | None) -> list[Fault]:
    """Each rule a row can break, as (column, rows breaking it, what the rule says)."""
    out: list[Fault] = []
    for col in ts.columns:
        s = df[col.name]
        if not col.nullable:
            out.append((col.name, s.isna(), "missing value (NaN) not allowed"))
        out.append((col.name, col.out_of_range(s), f"out of range (valid: {col.range_text()})"))
    if not_after is not None:
        late = df[ts.time_column] > not_after
        out.append((ts.time_column, late, f"after the data was retrieved ({not_after.isoformat()})"))
    return out


def _row_text(ts: TableSpec, df: pd.DataFrame, i: int) -> str:
    """Row `i` named by its key (or time) values, e.g. 'date 2026-02-05, symbol BTC-USD'."""
    cols = ts.key or (ts.time_column,)
    return ", ".join(f"{c} {_value_text(df[c].iloc[i])}" for c in cols)


def _value_text(v: object) -> str:
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if (v.hour, v.minute, v.second) != (0, 0, 0) else v.date().isoformat()
    return str(v)


def validate(name: str, df: pd.DataFrame, *, not_after: pd.Timestamp | None = None) -> pd.DataFrame:
    """Coerce `df` to table `name`'s contract: exact columns in spec order, dtypes, non-null and range
    checks, one row per key.

    Raises `DataError` for an unknown table, missing or unexpected columns, malformed numbers or times,
    infinities, NaN in a non-nullable column, a value out of its column's range, a row time after
    `not_after` (when the data was retrieved, where known), and two rows with one key but different values
    (naming table, column and row position, and the row's key). Rows identical to an earlier row are
    dropped (one row said twice): `len(df) - len(result)` counts them.
    """
    ts = spec(name)
    out = _coerced(name, df)
    for column, mask, what in _faults(ts, out, not_after):
        if mask.any():
            i = _first_bad(mask)
            value = _value_text(out[column].iloc[i])
            raise DataError(f"table {name!r}, column {column!r}, row {i}: {what}: {value} [{_row_text(ts, out, i)}]")
    return _drop_repeats(ts, out)


def drop_bad_rows(
    name: str, df: pd.DataFrame, *, not_after: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """`df` coerced to the contract without the rows that break a row rule, and how many rows each rule
    dropped ('column: rule' -> count; a row is counted under the first rule it breaks). Column-level faults
    still raise. For a table of independent quotes (an option chain) only: see the row policy above."""
    ts = spec(name)
    out = _coerced(name, df)
    bad = pd.Series(False, index=out.index)
    counts: dict[str, int] = {}
    for column, mask, what in _faults(ts, out, not_after):
        new = mask & ~bad
        if new.any():
            counts[f"{column}: {what}"] = int(new.sum())
            bad |= mask
    return out[~bad].reset_index(drop=True), counts


def _drop_repeats(ts: TableSpec, df: pd.DataFrame) -> pd.DataFrame:
    return drop_repeats(df, list(ts.key), f"table {ts.name!r}") if ts.key else df


def drop_repeats(df: pd.DataFrame, key: list[str], where: str, *, first_row: int = 0) -> pd.DataFrame:
    """`df` without rows identical to an earlier one (logged); `DataError` naming both rows (positions in
    `df`, the first numbered `first_row`: 1 for a CSV file's data rows) when two rows share `key` but differ.
    `where` starts the message (e.g. "table 'daily_prices'")."""
    if not df.duplicated(key).any():
        return df
    df = df.reset_index(drop=True)
    rest = df[~df.duplicated(keep="first")]
    clash = rest.duplicated(key, keep=False)
    if clash.any():
        i = int(rest.index[_first_bad(clash)])
        same = (rest[key] == df.loc[i, key]).all(axis=1)
        j = int(rest.index[same.to_numpy()][1])
        a, b = df.loc[i], df.loc[j]
        diff = [c for c in df.columns if not (a[c] == b[c] or (pd.isna(a[c]) and pd.isna(b[c])))]
        shown = "; ".join(f"{c} {_value_text(a[c])} vs {_value_text(b[c])}" for c in diff)
        named = ", ".join(f"{c} {_value_text(a[c])}" for c in key)
        raise DataError(
            f"{where}, rows {i + first_row} and {j + first_row} [{named}]: the same key twice with different values "
            f"({shown})"
        )
    log.info("%s: dropped %d row(s) repeating an earlier row", where, len(df) - len(rest))
    return rest.reset_index(drop=True)
