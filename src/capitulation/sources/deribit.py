"""Deribit BTC option chains recorded as CSV -> the `option_quotes` table; recorded trades -> a trades frame.

Reads the files in shared/data/deribit_options (columns `[date,] instrument_name, expiry_name, expiry_date,
strike, type, volume, open_interest, rho, theta, vega, gamma, delta, bid_iv, ask_iv, mark_iv`).
Deribit's conventions die here:

* IVs are percent -> fraction; `bid_iv == 0` / `ask_iv == 0` mean no quote -> NaN; `ask_iv == 999` is
  Deribit's cap (the ask is above the highest vol it reports) -> NaN;
* a quote row that breaks the table's contract (strike <= 0, negative open interest, mark IV out of
  (0, 5], ...) is dropped and counted (`Provenance.dropped_rows`, rules in the notes): the row policy of
  `tables`; a malformed number or time still rejects the file; a row repeating an earlier row is dropped
  and counted, a second row of one (time, instrument) with other values is a `DataError` naming the file
  and both rows (0-based data rows, as every error of this module);
* `type` call/put -> 'C'/'P'; expiry = `expiry_date` at 08:00 UTC (Deribit's settlement); `date` is
  naive UTC (or every row with its offset, converted; a mix of both is refused); time to expiry is
  ACT/365, t = (expiry - quote time) in seconds / (365 x 86400), exact to
  the second (recorded times are whole minutes);
* greeks go to `venue_*` unchanged: Black-76 greeks of the USD option (not adjusted for the inverse
  payoff) - delta and gamma per 1 BTC contract, vega USD per 1 vol point, theta USD per calendar day
  (tests/analytics/test_deribit_validation.py checks each against ours);
* options pay in BTC (inverse): premium_usd = premium_btc x underlying; one contract = 1 BTC.

The files record neither the underlying (forward) nor the index price nor any premium. Derived columns:

* `underlying_price` (the forward of each timestamp and expiry): each instrument's venue delta and mark
  IV give the forward at which Black-76 reproduces that delta (`black76.forward_from_delta`, t ACT/365
  from the quote time to expiry); the median over instruments with call-equivalent delta in [0.15, 0.85]
  (put: delta + 1) is used. Put-call parity cannot be used: it needs premiums, which are not recorded.
  Deltas carry 5 decimals and the venue computed them ~0.45 h after the file's hourly label (see
  `implied_capture_time`); still, Black-76 at this forward reproduces the venue's deltas to a median
  2e-5, and the nearest expiry's forward at 24 Jan 00:00 is 0.09 % from the BTC-USD close of 23 Jan
  (tests/sources/test_deribit.py);
* `mark_usd`, `bid_usd`, `ask_usd`: undiscounted Black-76 at that forward with mark/bid/ask IV;
  `mark`, `bid`, `ask` (BTC) = USD price / forward;
* `index_price` is NaN (not recorded).

`read_trades_json` reads a public/get_last_trades_by_* JSON-RPC response into the trades frame that
`analytics.gex` signs dealer positions with: timestamp (UTC), instrument, direction ('buy'/'sell', the
taker's side), amount (contracts: the `contracts` field, else `amount`, which for options is in BTC = 1
contract; for perpetuals and inverse futures `amount` is USD, so there `contracts` is needed), price
(the instrument's quote currency: BTC for options), trade_id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources._files import check_complete, check_not_after_written, cut_short_note, read_json, require_file
from capitulation.timeutil import DAYS_PER_YEAR, year_fraction

log = logging.getLogger(__name__)

VENUE = "deribit"
EXPIRY_HOUR_UTC = 8
ASK_IV_CAP = 999.0  # Deribit's reported ceiling for ask IV, percent: not a real quote
FORWARD_DELTA_BAND = (0.15, 0.85)  # call-equivalent deltas trusted for the forward
MAX_LISTED_YEARS = 5.0  # Deribit lists BTC options about 1.5 years out at most
_NUMERIC = ("strike", "volume", "open_interest", "theta", "vega", "gamma", "delta", "bid_iv", "ask_iv", "mark_iv")
_REQUIRED = ("instrument_name", "expiry_date", "type", *_NUMERIC)
OPTION_TYPES = {"call": "C", "put": "P"}  # Deribit option type -> the table's option_type


def iv_fractions(bid_pct: pd.Series, ask_pct: pd.Series, mark_pct: pd.Series) -> dict[str, pd.Series]:
    """Deribit's IVs (percent) as fractions: a 0 bid/ask IV means no quote, an ask at the 999 cap too."""
    return {
        "bid_iv": bid_pct.where(bid_pct > 0) / 100.0,
        "ask_iv": ask_pct.where((ask_pct > 0) & (ask_pct < ASK_IV_CAP)) / 100.0,
        "mark_iv": mark_pct / 100.0,
    }


def venue_greeks(num: Mapping[str, pd.Series]) -> dict[str, pd.Series]:
    """Deribit's published greeks (delta, gamma per 1 BTC; vega, theta in USD) as the venue_* columns."""
    return {f"venue_{g}": num[g] for g in ("delta", "gamma", "vega", "theta")}


def drop_expired(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows whose expiry is after their quote time (expired ones dropped and counted in the log)."""
    live = df["expiry"] > df["timestamp"]
    if not live.all():
        log.info("%s: dropped %d expired row(s) (expiry <= quote time)", name, int((~live).sum()))
    return df[live].reset_index(drop=True)


def read_chain_csv(path: str | Path, timestamp: str | pd.Timestamp | None = None) -> tuple[pd.DataFrame, Provenance]:
    """Read a recorded Deribit chain CSV into the `option_quotes` table, with its provenance.

    `timestamp` (UTC; naive is taken as UTC) is the quote time for a file without a `date` column and must
    be None for a file with one. Expired rows (expiry <= quote time) are dropped and counted in the log.
    `SourceError` when the file cannot be read; `DataError` for missing columns, malformed values, an empty
    chain, or a file without a `date` column read without `timestamp`.
    """
    path = Path(path)
    raw = _read(path)
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DataError(f"{path.name}: missing input column(s) {', '.join(missing)}")
    if raw.empty:
        raise DataError(f"empty option chain: {path} has a header but no quotes")
    times = _quote_times(raw, path, timestamp)
    num = {c: _numbers(raw[c], c, path) for c in _NUMERIC}
    expiry = _expiries(raw["expiry_date"], path)
    kind = raw["type"].astype("string").str.strip().str.lower().map(OPTION_TYPES)
    if kind.isna().any():
        i = int(np.flatnonzero(kind.isna().to_numpy())[0])
        raise DataError(f"{path.name}, column 'type', row {i}: expected call/put, got {raw['type'].iloc[i]!r}")
    df = pd.DataFrame(
        {
            "timestamp": times,
            "venue": VENUE,
            "instrument": raw["instrument_name"].astype("string"),
            "underlying": "BTC",
            "expiry": expiry,
            "strike": num["strike"],
            "option_type": kind,
            "quote_currency": "BTC",
            **iv_fractions(num["bid_iv"], num["ask_iv"], num["mark_iv"]),
            "open_interest": num["open_interest"],
            "contract_size": 1.0,
            "volume": num["volume"],
            "index_price": np.nan,
            **venue_greeks(num),
        }
    )
    derived = {c: np.nan for c in ("underlying_price", "bid", "ask", "mark", "bid_usd", "ask_usd", "mark_usd")}
    # Repeats first, on the file's rows (positions = its 0-based data rows), before they weigh in a forward.
    key = list(tables.OPTION_QUOTES.key)
    unique = tables.drop_repeats(df, key, f"{path}: table 'option_quotes'")
    n_repeated = len(df) - len(unique)
    try:
        df, bad = tables.drop_bad_rows("option_quotes", unique.assign(**derived)[tables.OPTION_QUOTES.names])
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    if df.empty:
        raise DataError(f"{path}: no valid quote left ({_rules(bad)})")
    quoted = len(df)
    df = drop_expired(df, path.name)
    df = _with_forward_and_prices(df)
    out = tables.validate("option_quotes", df[tables.OPTION_QUOTES.names])
    return out, _provenance(path, out, expired=quoted - len(df), bad=bad, repeated=n_repeated)


def read_trades_json(path: str | Path) -> tuple[pd.DataFrame, Provenance]:
    """Trades from a Deribit public/get_last_trades_by_* response (`result.trades`), oldest first.

    Columns: timestamp (UTC, from milliseconds), instrument, direction, amount (contracts), price,
    trade_id. `SourceError` when the file cannot be read; `DataError` for a payload without trades or a
    trade missing a field.
    """
    path = Path(path)
    doc = read_json(path)
    result = doc.get("result") if isinstance(doc, dict) else None
    trades = result.get("trades") if isinstance(result, dict) else None
    if not isinstance(trades, list) or not trades:
        raise DataError(f"{path.name}: no result.trades list in the Deribit response")
    need = ("timestamp", "instrument_name", "direction", "amount", "price", "trade_id")
    for i, tr in enumerate(trades):
        missing = [k for k in need if not isinstance(tr, dict) or k not in tr]
        if missing:
            raise DataError(f"{path.name}, trade {i}: missing field(s) {', '.join(missing)}")
    raw = pd.DataFrame(trades)
    size = raw["contracts"].fillna(raw["amount"]) if "contracts" in raw.columns else raw["amount"]
    ms = pd.to_numeric(raw["timestamp"], errors="coerce")
    if ms.isna().any():
        raise DataError(f"{path.name}: trade timestamps must be milliseconds since 1970 (UTC)")
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(ms, unit="ms", utc=True),
            "instrument": raw["instrument_name"].astype("string"),
            "direction": raw["direction"].astype("string"),
            "amount": pd.to_numeric(size, errors="coerce").astype(float),
            "price": pd.to_numeric(raw["price"], errors="coerce").astype(float),
            "trade_id": raw["trade_id"].astype("string"),
        }
    )
    if df["amount"].isna().any() or not df["direction"].isin(["buy", "sell"]).all():
        raise DataError(f"{path.name}: every trade needs a numeric amount and direction 'buy' or 'sell'")
    df = df.sort_values("timestamp", kind="stable").reset_index(drop=True)
    notes = (
        "Deribit public trades: direction is the taker's side; amount = `contracts` if given, else `amount` "
        f"(options: BTC = contracts). {len(df)} trade(s), {df['instrument'].nunique()} instrument(s)."
    )
    return df, Provenance(source=str(path), retrieved_at=df["timestamp"].max().isoformat(), notes=notes)


def implied_capture_time(path: str | Path) -> pd.Timestamp:
    """The quote time the venue's own greeks imply, for files that do not record it (UTC).

    Black-76 gives vega / |theta| = 2 t / vol (vega per vol point, theta per day: t = 100 vega vol /
    (730 |theta|) years), so each live instrument's greeks date its snapshot; the median over instruments
    with |delta| in [0.2, 0.8] and expiry more than 2 days later is returned (the front expiry uses a
    different clock at Deribit). On full_data_sample.csv this lands ~0.45 h after the recorded `date`.
    """
    raw = _read(Path(path))
    num = {c: _numbers(raw[c], c, Path(path)) for c in ("theta", "vega", "delta", "mark_iv")}
    expiry = _expiries(raw["expiry_date"], Path(path))
    with np.errstate(divide="ignore", invalid="ignore"):
        t_years = 100.0 * num["vega"] * (num["mark_iv"] / 100.0) / (730.0 * -num["theta"])
    use = (num["theta"] < 0) & num["delta"].abs().between(0.2, 0.8) & (t_years > 2.0 / DAYS_PER_YEAR)
    use &= t_years < MAX_LISTED_YEARS  # a theta near 0 implies no listed expiry (and overflows a timedelta)
    if not use.any():
        raise DataError(f"{Path(path).name}: no instrument with usable greeks to date the snapshot")
    when = expiry[use] - pd.to_timedelta(t_years[use] * DAYS_PER_YEAR, unit="D")
    return pd.Timestamp(when.median()).floor("s")


def _read(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(require_file(path), dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"cannot read Deribit chain file {path}: {exc}") from None
    check_complete(path, raw)
    return raw


def _numbers(s: pd.Series, col: str, path: Path) -> pd.Series:
    out = pd.to_numeric(s.str.strip(), errors="coerce").astype("float64")
    bad = out.isna() | np.isinf(out)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path.name}, column {col!r}, row {i}: malformed number {s.iloc[i]!r}")
    return out


def _expiries(s: pd.Series, path: Path) -> pd.Series:
    day = pd.to_datetime(s.str.strip(), format="%Y-%m-%d", errors="coerce", utc=True)
    if day.isna().any():
        i = int(np.flatnonzero(day.isna().to_numpy())[0])
        raise DataError(f"{path.name}, column 'expiry_date', row {i}: malformed date {s.iloc[i]!r}")
    return day + pd.Timedelta(hours=EXPIRY_HOUR_UTC)


def _quote_times(raw: pd.DataFrame, path: Path, timestamp: str | pd.Timestamp | None) -> pd.Series:
    if "date" in raw.columns:
        if timestamp is not None:
            raise DataError(f"{path.name} has its own 'date' column; do not pass timestamp")
        text = raw["date"].str.strip()
        zoned = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
        if zoned.any() and not zoned.all():
            i = int(np.flatnonzero(zoned != zoned[0])[0])
            raise DataError(
                f"{path}, column 'date', row {i}: {text.iloc[i]!r} mixes times with and without a UTC offset "
                f"(row 0: {text.iloc[0]!r}); naive times are UTC, so write all of them one way"
            )
        t = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        if t.isna().any():
            i = int(np.flatnonzero(t.isna().to_numpy())[0])
            raise DataError(f"{path.name}, column 'date', row {i}: malformed time {raw['date'].iloc[i]!r}")
        return t
    if timestamp is None:
        raise DataError(
            f"{path.name} has no 'date' column: pass timestamp= (the quote time, UTC); "
            "implied_capture_time(path) estimates it from the venue's greeks"
        )
    return pd.Series(utc(timestamp), index=raw.index)


def _with_forward_and_prices(df: pd.DataFrame) -> pd.DataFrame:
    """Add underlying_price (the derived forward) and the USD and BTC premiums."""
    from capitulation.analytics import black76  # numba's kernels load only when a chain is parsed

    t = year_fraction(df["timestamp"], df["expiry"])
    is_call = (df["option_type"] == "C").to_numpy()
    call_delta = df["venue_delta"].to_numpy() + np.where(is_call, 0.0, 1.0)
    lo, hi = FORWARD_DELTA_BAND
    fwd = black76.forward_from_delta(df["strike"].to_numpy(), t, df["mark_iv"].to_numpy(), call_delta)
    fwd = np.where((call_delta >= lo) & (call_delta <= hi), fwd, np.nan)
    keys = [df["timestamp"], df["expiry"]]
    forward = pd.Series(fwd, index=df.index).groupby(keys).transform("median").to_numpy()
    n_none = int(np.isnan(forward).sum())
    if n_none:
        log.warning("%d row(s) in expiries without a delta in %s: no forward, no prices", n_none, FORWARD_DELTA_BAND)
    df = df.assign(underlying_price=forward)
    K = df["strike"].to_numpy()
    for side in ("mark", "bid", "ask"):
        usd = black76.price(forward, K, t, df[f"{side}_iv"].to_numpy(), is_call)
        df[f"{side}_usd"] = usd
        df[side] = usd / forward
    return df


def _rules(bad: Mapping[str, int]) -> str:
    """'n1 rule1; n2 rule2' for the bad quote rows dropped, or 'none'."""
    return "; ".join(f"{n} {rule}" for rule, n in bad.items()) or "none"


def _provenance(path: Path, df: pd.DataFrame, *, expired: int, bad: Mapping[str, int], repeated: int) -> Provenance:
    when = df["timestamp"].max().isoformat() if len(df) else ""
    notes = (
        "Recorded Deribit public-API BTC option chain (see PROVENANCE.md beside the file). "
        "retrieved_at is the latest recorded quote time. Venue fields: mark/bid/ask IV (percent -> fraction; "
        "0 and the 999 ask cap -> NaN), open interest, volume, greeks (venue_*). DERIVED, not recorded: "
        "underlying_price = per (timestamp, expiry) median of the Black-76 forwards that reproduce each "
        f"instrument's venue delta at its mark IV (call-equivalent delta in {list(FORWARD_DELTA_BAND)}, "
        "t ACT/365 to expiry 08:00 UTC); mark/bid/ask_usd = undiscounted Black-76 at that forward and the "
        "row's IV; mark/bid/ask (BTC) = USD / forward. index_price not recorded (NaN). "
        f"{expired} expired row(s) dropped; {repeated} row(s) repeating an earlier row dropped; "
        f"{sum(bad.values())} bad quote row(s) dropped (row policy, see tables): {_rules(bad)}."
    ) + cut_short_note(path)
    check_not_after_written(path, df["timestamp"])
    return Provenance(source=str(path), retrieved_at=when, notes=notes, dropped_rows=sum(bad.values()))
