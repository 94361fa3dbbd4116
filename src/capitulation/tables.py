"""The standard tables: column names, dtypes and units in one place (the contract).

Every source returns these tables whatever the venue; venue quirks (inverse options, contract sizes,
percent vs fraction) are removed inside the source module. Conventions:

* times are tz-aware UTC (`time` kind); a daily row is stamped at 00:00 UTC of its date;
* money is USD unless the column says otherwise (`*_btc`, or `quote_currency` for option prices);
* implied vols and rates are fractions (0.55 = 55 vol points; 1e-4 = 0.01 %);
* `validate` coerces a frame to the contract or raises `DataError` naming table, column and row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np
import pandas as pd

from capitulation.errors import DataError
from capitulation.timeutil import DAY_CLOSE, age_days

T = TypeVar("T", pd.Timestamp, pd.Series)
Kind = Literal["str", "float", "int", "time"]

AGGREGATE = "aggregate"
"""The venue of an all-exchange series (perp_metrics, liquidations): never summed with single venues."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    unit: str
    nullable: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TableSpec:
    """A table: its columns, and the time column that says when a row became known.

    `bar_days`: rows are bars of that many days stamped at their start (a daily close is known only at
    the end of its day); 0 for instantaneous rows.
    """

    name: str
    doc: str
    time_column: str
    columns: tuple[Column, ...]
    bar_days: int = 0

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


def _c(name: str, kind: Kind, unit: str = "", doc: str = "", *, null: bool = False) -> Column:
    return Column(name, kind, unit, null, doc)


OPTION_QUOTES = TableSpec(
    "option_quotes",
    "One row per option instrument at one time (a chain snapshot or several).",
    "timestamp",
    (
        _c("timestamp", "time", "UTC", "time of the quote"),
        _c("venue", "str", "", "exchange id, e.g. deribit"),
        _c("instrument", "str", "", "venue instrument name"),
        _c("underlying", "str", "", "underlying asset, e.g. BTC"),
        _c("expiry", "time", "UTC", "settlement time (Deribit: 08:00 UTC)"),
        _c("strike", "float", "USD"),
        _c("option_type", "str", "", "'C' or 'P'"),
        _c("quote_currency", "str", "", "currency of bid/ask/mark (Deribit: BTC)"),
        _c("bid", "float", "quote_currency", null=True),
        _c("ask", "float", "quote_currency", null=True),
        _c("mark", "float", "quote_currency", null=True),
        _c("bid_usd", "float", "USD", null=True),
        _c("ask_usd", "float", "USD", null=True),
        _c("mark_usd", "float", "USD", null=True),
        _c("bid_iv", "float", "fraction", "0 or missing bid -> NaN", null=True),
        _c("ask_iv", "float", "fraction", null=True),
        _c("mark_iv", "float", "fraction"),
        _c("open_interest", "float", "contracts"),
        _c("contract_size", "float", "underlying units per contract (Deribit BTC options: 1 BTC)"),
        _c("volume", "float", "contracts", null=True),
        _c("underlying_price", "float", "USD", "forward of this expiry used for pricing", null=True),
        _c("index_price", "float", "USD", "spot index", null=True),
        _c("venue_delta", "float", "per 1 underlying unit", null=True),
        _c("venue_gamma", "float", "per USD, per 1 underlying unit", null=True),
        _c("venue_vega", "float", "USD per 1 vol point", null=True),
        _c("venue_theta", "float", "USD per calendar day", null=True),
    ),
)

PERP_METRICS = TableSpec(
    "perp_metrics",
    "Perpetual-swap state over time: open interest, funding, mark price, liquidations (when known).",
    "timestamp",
    (
        _c("timestamp", "time", "UTC"),
        _c("venue", "str", "", "exchange id, or 'aggregate' for an all-exchange series"),
        _c("symbol", "str", "", "e.g. BTCUSDT"),
        _c("oi_contracts", "float", "contracts", null=True),
        _c("oi_btc", "float", "BTC", null=True),
        _c("oi_usd", "float", "USD", null=True),
        _c("funding_rate", "float", "fraction per funding interval", null=True),
        _c("funding_interval_h", "float", "hours", null=True),
        _c("mark_price", "float", "USD", null=True),
        _c("long_liq_usd", "float", "USD liquidated longs in the period", null=True),
        _c("short_liq_usd", "float", "USD liquidated shorts in the period", null=True),
    ),
)

DAILY_PRICES = TableSpec(
    "daily_prices",
    "Daily bars per symbol (BTC-USD, equities, ETFs, indices). Equities close at the NY close.",
    "date",
    (
        _c("date", "time", "UTC midnight of the trading date"),
        _c("symbol", "str", "", "e.g. BTC-USD, MSTR, QQQ, VIX"),
        _c("open", "float", "USD (index points for indices)", null=True),
        _c("high", "float", "USD", null=True),
        _c("low", "float", "USD", null=True),
        _c("close", "float", "USD"),
        _c("volume", "float", "shares, or USD for BTC-USD", null=True),
    ),
    bar_days=1,
)

BTC_NETWORK = TableSpec(
    "btc_network",
    "Bitcoin network per day: height, difficulty, hashrate, fees and subsidy.",
    "date",
    (
        _c("date", "time", "UTC midnight"),
        _c("height", "int", "blocks", null=True),
        _c("difficulty", "float", "dimensionless: expected hashes per block / 2^32", null=True),
        _c("hashrate_ehs", "float", "EH/s (1e18 hashes per second)", null=True),
        _c("fees_btc_per_block", "float", "BTC per block", null=True),
        _c("subsidy_btc", "float", "BTC per block", null=True),
    ),
    bar_days=1,
)

TREASURY_COMPANIES = TableSpec(
    "treasury_companies",
    "Digital-asset-treasury companies' bitcoin and capital stack; each row has its own as_of, publication "
    "time and source.",
    "published",
    (
        _c("as_of", "time", "UTC", "date the figures refer to (filing date, or the quarter end)"),
        _c("published", "time", "UTC", "when the figures became public (filing or earnings date): no look-ahead"),
        _c("name", "str"),
        _c("ticker", "str"),
        _c("btc_held", "float", "BTC"),
        _c("avg_cost_usd", "float", "USD per BTC", null=True),
        _c("shares_basic", "float", "shares", null=True),
        _c("shares_diluted", "float", "shares", null=True),
        _c("share_price_usd", "float", "USD per share", null=True),
        _c("debt_usd", "float", "USD (notional)", null=True),
        _c("preferred_usd", "float", "USD (notional)", null=True),
        _c("cash_usd", "float", "USD", null=True),
        _c("source", "str", "", "filing or file the row came from"),
    ),
)

SECTOR_RETURNS = TableSpec(
    "sector_returns",
    "Daily log returns of sector constituents (long format); baskets are built in analytics/sectors.",
    "date",
    (
        _c("date", "time", "UTC midnight"),
        _c("symbol", "str"),
        _c("sector", "str", "", "source taxonomy label, e.g. eth_scaling"),
        _c("log_return", "float", "natural log return, fraction"),
    ),
    bar_days=1,
)

ETF_FLOWS = TableSpec(
    "etf_flows",
    "US spot bitcoin ETF daily net flows per fund.",
    "date",
    (
        _c("date", "time", "UTC midnight"),
        _c("fund", "str", "", "ticker, e.g. IBIT"),
        _c("flow_usd", "float", "USD (not millions)"),
    ),
    bar_days=1,
)

VOL_INDEX = TableSpec(
    "vol_index",
    "Daily implied-volatility index bars (e.g. Deribit DVOL), as fractions.",
    "date",
    (
        _c("date", "time", "UTC midnight"),
        _c("index", "str", "", "e.g. DVOL-BTC"),
        _c("open", "float", "fraction"),
        _c("high", "float", "fraction"),
        _c("low", "float", "fraction"),
        _c("close", "float", "fraction"),
    ),
    bar_days=1,
)

ONCHAIN = TableSpec(
    "onchain",
    "Whole-market on-chain cost bases per day: realized prices, MVRV, holder supply split and SOPR.",
    "date",
    (
        _c("date", "time", "UTC midnight of the day the figures close"),
        _c("price_usd", "float", "USD per BTC", "the source's BTC price that its ratios use", null=True),
        _c("realized_price_usd", "float", "USD per BTC", "realized cap / supply (last-moved prices)", null=True),
        _c("sth_realized_price_usd", "float", "USD per BTC", "realized price of coins moved in ~155 days", null=True),
        _c("mvrv", "float", "ratio", "market value / realized value = price / realized price", null=True),
        _c("sth_mvrv", "float", "ratio", "price / short-term-holder realized price", null=True),
        _c("lth_supply_btc", "float", "BTC", "supply held by long-term holders (unmoved ~155 days+)", null=True),
        _c("sth_supply_btc", "float", "BTC", "supply held by short-term holders", null=True),
        _c("sth_sopr", "float", "ratio", "short-term holders' SOPR (< 1: selling at a loss)", null=True),
        _c("lth_sopr", "float", "ratio", "long-term holders' spent output profit ratio (SOPR)", null=True),
        _c("source", "str", "", "which file or endpoint each row's figures came from"),
    ),
    bar_days=1,
)

LIQUIDATIONS = TableSpec(
    "liquidations",
    "Observed forced liquidations per day (not model estimates): an all-exchange aggregate or one venue.",
    "date",
    (
        _c("date", "time", "UTC midnight of the day"),
        _c("venue", "str", "", "'aggregate' for an all-exchange series (e.g. CoinGlass), else an exchange id"),
        _c("symbol", "str", "", "underlying, e.g. BTC"),
        _c("long_usd", "float", "USD", "longs liquidated during the day (NaN: not split by side)", null=True),
        _c("short_usd", "float", "USD", "shorts liquidated during the day (NaN: not split by side)", null=True),
        _c("total_usd", "float", "USD", "all liquidations during the day (long + short where split)"),
    ),
    bar_days=1,
)

LONG_SHORT_RATIOS = TableSpec(
    "long_short_ratios",
    "Long/short ratios of perp traders per day (accounts long / accounts short; positions for the top-trader "
    "position ratio).",
    "date",
    (
        _c("date", "time", "UTC midnight of the day"),
        _c("venue", "str", "", "'aggregate' or an exchange id"),
        _c("symbol", "str", "", "underlying, e.g. BTC"),
        _c("lsr_global", "float", "ratio", "all accounts: long / short", null=True),
        _c("lsr_top_accounts", "float", "ratio", "top traders by account: long / short", null=True),
        _c("lsr_top_positions", "float", "ratio", "top traders by position size: long / short", null=True),
    ),
    bar_days=1,
)

TREASURY_INSTRUMENTS = TableSpec(
    "treasury_instruments",
    "Dilutive instruments of treasury companies (convertible notes, convertible preferred, warrants, options, "
    "RSUs); whether one counts as shares depends on the share price of the day (analytics.treasury.dilute).",
    "known",
    (
        _c("known", "time", "UTC", "when the instrument became public: its issue date, else its source's date"),
        _c("ticker", "str"),
        _c("kind", "str", "", "convertible, preferred, warrant, option, rsu or free_shares"),
        _c("face_value_usd", "float", "USD (notional)", null=True),
        _c("strike_usd", "float", "USD per share", "conversion or exercise price", null=True),
        _c("potential_shares", "float", "shares", "shares if converted or exercised", null=True),
        _c("issued", "time", "UTC", null=True),
        _c("expiration", "time", "UTC", null=True),
        _c("coupon", "float", "fraction per year", "annual coupon of a note (NaN: unknown)", null=True),
        _c("source", "str", "", "filing or file the row came from"),
    ),
)

TREASURY_CHARGES = TableSpec(
    "treasury_charges",
    "Annual interest and preferred dividends of treasury companies, as of a date.",
    "as_of",
    (
        _c("as_of", "time", "UTC", "date the figures refer to and became public"),
        _c("ticker", "str"),
        _c("annual_interest_usd", "float", "USD per year", null=True),
        _c("annual_preferred_dividends_usd", "float", "USD per year", null=True),
        _c("source", "str", "", "filing or file the row came from"),
    ),
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


def validate(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Coerce `df` to table `name`'s contract: exact columns in spec order, dtypes, non-null checks.

    Raises `DataError` for an unknown table, missing or unexpected columns, malformed numbers or times,
    infinities, and NaN in a non-nullable column (naming table, column and row position).
    """
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
    out = {}
    for col in ts.columns:
        s = _coerce(name, col, df[col.name])
        if not col.nullable and s.isna().any():
            i = _first_bad(s.isna())
            raise DataError(f"table {name!r}, column {col.name!r}, row {i}: missing value (NaN) not allowed")
        out[col.name] = s
    return pd.DataFrame(out, columns=ts.names)
