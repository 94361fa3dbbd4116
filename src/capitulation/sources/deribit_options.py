"""The live Deribit option chain through ccxt -> the `option_quotes` table, with its provenance.

Public endpoints only (no API key), through ccxt's deribit client (its rate limiter, HTTP error mapping and
`requests` transport, so a tape records and replays it), two JSON-RPC calls by ccxt's implicit API:

* `public/get_book_summary_by_currency` (currency, kind=option): one summary per live option;
* `public/get_instruments` (currency, kind=option, expired=false): strike, expiry, type, contract size.

ccxt's `fetchOptionChain` reads the same summaries but keeps no IVs and no strike, expiry or type, so the
raw results are read here and joined on `instrument_name`. Field mapping and units:

==================  ================================================  =============================================
column              Deribit field                                     unit / rule
==================  ================================================  =============================================
timestamp           summary `creation_timestamp`                      ms since 1970 -> UTC
instrument          summary `instrument_name`                         e.g. BTC-28MAR25-90000-C
underlying          instrument `base_currency`                        e.g. BTC
expiry              instrument `expiration_timestamp`                 ms -> UTC (Deribit settles at 08:00 UTC)
strike              instrument `strike`                               USD
option_type         instrument `option_type`                          call/put -> 'C'/'P'
quote_currency      instrument `quote_currency`                       BTC for the inverse BTC options
bid, ask, mark      summary `bid_price`, `ask_price`, `mark_price`    quote currency; a 0 or missing side -> NaN
*_usd               price x underlying_price (inverse: quote = base)  USD; a USD/USDC quote is taken as USD (x 1)
bid_iv, ask_iv      summary `bid_iv`, `ask_iv`                        percent -> fraction; 0, the 999 ask cap, or
                                                                      no price on that side -> NaN
mark_iv             summary `mark_iv`                                 percent -> fraction
open_interest       summary `open_interest` / contract_size           contracts (the venue counts options in base
                                                                      currency units: BTC)
volume              summary `volume` / contract_size                  contracts traded over 24 h
contract_size       instrument `contract_size`                        base units per contract, never assumed
underlying_price    summary `underlying_price`                        USD, the forward of the expiry (the index
                                                                      for the front expiry)
index_price         summary `estimated_delivery_price`                USD, the delivery (spot) index
venue_* greeks      not in book summaries                             NaN
==================  ================================================  =============================================

*_usd follows `sources.deribit` (the recorded chains): USD = BTC premium x the expiry's forward.

Bad input is refused loudly or counted, never silently lost:

* HTTP 429/418 (ccxt `DDoSProtection`) and 5xx are retried with `http.Backoff` (once under an
  `http.budget`, each timeout cut to the time left, nothing asked when none is left); still refused, another
  HTTP error, or the venue unreachable -> `SourceError` naming the endpoint;
* a body that is not JSON or has no `result` list -> `DataError`; an empty result -> `SourceError`
  ("no option quotes" / "no option instruments");
* schema drift: a required field absent from every row (removed or renamed) -> `DataError` naming the
  field; a row whose required field is missing, None or NaN, or whose field is malformed (not a finite
  number, out of range) is dropped and counted by reason in the provenance notes;
* a summary without a usable live instrument, and an expired one (expiry <= its quote time): dropped, counted;
* crossed quotes (bid > ask): the row is kept for its mark, bid/ask and their IVs and USD prices are nulled,
  counted.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import ccxt
import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance
from capitulation.sources import deribit, http, perps
from capitulation.sources.deribit import OPTION_TYPES
from capitulation.sources.http import Backoff

log = logging.getLogger(__name__)

T = TypeVar("T")

SUMMARIES = "public/get_book_summary_by_currency"
INSTRUMENTS = "public/get_instruments"
LICENCE = "Deribit public market data (Deribit terms of use)"
DEFAULT_BACKOFF = Backoff()
USD_QUOTES = frozenset({"USD", "USDC"})  # quote currencies taken as USD (USDC at par)


@dataclass(frozen=True)
class _Field:
    """One venue field: text or number, required or optional, and the range a number must lie in."""

    kind: Literal["str", "number"]
    required: bool
    bound: Literal["positive", "non-negative", ""] = ""


SUMMARY_FIELDS: dict[str, _Field] = {
    "instrument_name": _Field("str", True),
    "creation_timestamp": _Field("number", True, "positive"),
    "mark_price": _Field("number", True, "non-negative"),
    "mark_iv": _Field("number", True, "positive"),
    "underlying_price": _Field("number", True, "positive"),
    "open_interest": _Field("number", True, "non-negative"),
    "bid_price": _Field("number", False, "non-negative"),
    "ask_price": _Field("number", False, "non-negative"),
    "bid_iv": _Field("number", False, "non-negative"),
    "ask_iv": _Field("number", False, "non-negative"),
    "volume": _Field("number", False, "non-negative"),
    "estimated_delivery_price": _Field("number", False, "positive"),
}
INSTRUMENT_FIELDS: dict[str, _Field] = {
    "instrument_name": _Field("str", True),
    "base_currency": _Field("str", True),
    "quote_currency": _Field("str", True),
    "option_type": _Field("str", True),
    "strike": _Field("number", True, "positive"),
    "expiration_timestamp": _Field("number", True, "positive"),
    "contract_size": _Field("number", True, "positive"),
}


@dataclass(frozen=True)
class ParsedChain:
    """The validated `option_quotes` rows, and what happened to the others.

    `dropped`: reason -> summary rows dropped; `crossed`: rows kept with bid/ask nulled (bid > ask);
    `summaries`, `instruments`: rows received from each endpoint.
    """

    table: pd.DataFrame
    dropped: Mapping[str, int]
    crossed: int
    summaries: int
    instruments: int

    def notes(self) -> str:
        """One line of counts: rows received, kept, dropped by reason, crossed quotes nulled."""
        return (
            f"{self.summaries} book summary row(s), {self.instruments} instrument(s); {len(self.table)} row(s) kept; "
            f"dropped {_counts(self.dropped)}; crossed quotes (bid > ask): {self.crossed} row(s) "
            "kept for the mark with bid/ask nulled."
        )


def fetch_option_chain(
    currency: str = "BTC", *, exchange: ccxt.Exchange | None = None, backoff: Backoff = DEFAULT_BACKOFF
) -> tuple[pd.DataFrame, Provenance]:
    """The live Deribit option chain of `currency` as a validated `option_quotes` table, with its provenance.

    `exchange`: a ready ccxt deribit client (else `perps.exchange('deribit')`: public, rate limiter on, 15 s
    timeout). Book summaries are asked first, then the live instruments. `SourceError` for HTTP errors, a
    refusal that outlasts `backoff`, or an empty result; `DataError` for a malformed body, a required field
    missing from every row, or no row left after dropping bad ones (see the module notes).
    """
    ex = perps.exchange("deribit") if exchange is None else exchange
    if ex.id != "deribit":
        raise SourceError(f"fetch_option_chain needs a ccxt deribit client, got {ex.id!r}")
    code = currency.upper()
    summary_params = {"currency": code, "kind": "option"}
    instrument_params = {"currency": code, "kind": "option", "expired": "false"}
    retrieved_at = http.utc_now()
    summaries = _result(
        _request(backoff, ex, SUMMARIES, lambda: ex.public_get_get_book_summary_by_currency(summary_params)), SUMMARIES
    )
    if not summaries:
        raise SourceError(f"no option quotes: deribit {SUMMARIES} returned an empty result for {code}")
    instruments = _result(
        _request(backoff, ex, INSTRUMENTS, lambda: ex.public_get_get_instruments(instrument_params)), INSTRUMENTS
    )
    if not instruments:
        raise SourceError(f"no option instruments: deribit {INSTRUMENTS} returned an empty result for {code}")
    parsed = parse_chain(summaries, instruments)
    if parsed.dropped or parsed.crossed:
        log.warning("deribit %s options: %s", code, parsed.notes())
    asked = ((SUMMARIES, summary_params), (INSTRUMENTS, instrument_params))
    source = f"ccxt {ccxt.__version__} deribit: " + "; ".join(
        f"{endpoint}?" + "&".join(f"{k}={v}" for k, v in params.items()) for endpoint, params in asked
    )
    notes = parsed.notes() + (
        " Live public endpoints through ccxt. Prices in quote_currency (BTC: inverse options); "
        "*_usd = price x underlying_price (the expiry's forward); IVs percent -> fraction (0, the 999 ask cap, "
        "or no price on that side -> NaN); open_interest and volume = venue amount (base currency) / "
        "contract_size (contracts); index_price = estimated_delivery_price; venue greeks not in book "
        "summaries (NaN)."
    )
    return parsed.table, Provenance(source=source, retrieved_at=retrieved_at.isoformat(), licence=LICENCE, notes=notes)


def parse_chain(summaries: Sequence[Any], instruments: Sequence[Any]) -> ParsedChain:
    """Join book summaries to instruments into `option_quotes` rows (see the module table for units).

    `DataError` when a row is not an object, a required field is absent from every row (schema drift), or
    no row is left; single bad rows are dropped and counted by reason.
    """
    dropped: Counter[str] = Counter()
    rows, bad_rows = _clean(summaries, SUMMARY_FIELDS, SUMMARIES)
    dropped.update(bad_rows.values())
    listed, bad_instruments = _clean(instruments, INSTRUMENT_FIELDS, INSTRUMENTS)
    by_name = {r["instrument_name"]: r for r in listed}
    bad_names = {instruments[i].get("instrument_name"): why for i, why in bad_instruments.items()}

    joined = []
    for row in rows:
        name = row["instrument_name"]
        if name in by_name:
            joined.append({**by_name[name], **row})
        else:
            dropped["instrument " + bad_names[name] if name in bad_names else "not in the live instrument list"] += 1
    live = pd.DataFrame()
    if joined:
        df = _frame(pd.DataFrame(joined))
        live = deribit.drop_expired(df, f"deribit {SUMMARIES}")
        if len(live) < len(df):
            dropped["expired (expiry <= quote time)"] += len(df) - len(live)
    if live.empty:
        raise DataError(f"no option quotes left: all {len(summaries)} book summary row(s) dropped ({_counts(dropped)})")
    live = live.sort_values(["timestamp", "expiry", "strike", "option_type", "instrument"], kind="stable")
    table, bad = tables.drop_bad_rows("option_quotes", live[tables.OPTION_QUOTES.names])
    for rule, n in bad.items():
        dropped[f"bad quote ({rule})"] += n
    table = tables.validate("option_quotes", table)
    return ParsedChain(table, dict(dropped), int(live["crossed"].sum()), len(summaries), len(instruments))


def _counts(dropped: Mapping[str, int]) -> str:
    """'N: n1 reason1, n2 reason2' (reasons in alphabetical order), or 'N: none'."""
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(dropped.items())) or "none"
    return f"{sum(dropped.values())}: {why}"


def _frame(raw: pd.DataFrame) -> pd.DataFrame:
    """Joined venue rows -> option_quotes columns, plus `crossed` (bid > ask, both quoted: quotes nulled)."""
    size = raw["contract_size"]
    fwd = raw["underlying_price"]
    usd_per_unit = fwd.where(raw["quote_currency"] == raw["base_currency"], 1.0)
    bid, ask = (raw[f"{side}_price"].where(raw[f"{side}_price"] > 0) for side in ("bid", "ask"))
    ivs = deribit.iv_fractions(raw["bid_iv"], raw["ask_iv"], raw["mark_iv"])
    crossed = bid > ask
    bid, ask = bid.mask(crossed), ask.mask(crossed)
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(raw["creation_timestamp"], unit="ms", utc=True),
            "venue": deribit.VENUE,
            "instrument": raw["instrument_name"],
            "underlying": raw["base_currency"],
            "expiry": pd.to_datetime(raw["expiration_timestamp"], unit="ms", utc=True),
            "strike": raw["strike"],
            "option_type": raw["option_type"].map(OPTION_TYPES),
            "quote_currency": raw["quote_currency"],
            "bid": bid,
            "ask": ask,
            "mark": raw["mark_price"],
            "bid_usd": bid * usd_per_unit,
            "ask_usd": ask * usd_per_unit,
            "mark_usd": raw["mark_price"] * usd_per_unit,
            "bid_iv": ivs["bid_iv"].where(bid.notna()),
            "ask_iv": ivs["ask_iv"].where(ask.notna()),
            "mark_iv": ivs["mark_iv"],
            "open_interest": raw["open_interest"] / size,
            "contract_size": size,
            "volume": raw["volume"] / size,
            "underlying_price": fwd,
            "index_price": raw["estimated_delivery_price"],
            **{f"venue_{g}": np.nan for g in ("delta", "gamma", "vega", "theta")},
            "crossed": crossed,
        }
    )
    return df


def _clean(
    records: Sequence[Any], fields: Mapping[str, _Field], endpoint: str
) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The rows whose every field parses (numbers as floats, NaN for a missing optional one), and the reason
    each other row (by position) was dropped. `DataError` for a row that is not an object or a required
    field absent from every row."""
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise DataError(f"malformed response: deribit {endpoint} result row {i} is not an object: {r!r:.80}")
    for name, f in fields.items():
        if f.required and not any(name in r for r in records):
            raise DataError(
                f"schema drift: deribit {endpoint}: required field {name!r} is in none of the {len(records)} "
                "row(s) (removed or renamed)"
            )
    kept, bad = [], {}
    for i, r in enumerate(records):
        row, why = _parse_row(r, fields)
        if why:
            bad[i] = why
        else:
            kept.append(row)
    return kept, bad


def _parse_row(record: Mapping[str, Any], fields: Mapping[str, _Field]) -> tuple[dict[str, Any], str]:
    """(parsed fields, '') or ({}, the first reason the row is unusable)."""
    row: dict[str, Any] = {}
    for name, f in fields.items():
        v = record.get(name)
        if f.kind == "str":
            if v is None or v == "":
                return {}, f"{name} missing"
            if not isinstance(v, str):
                return {}, f"{name} not text"
            row[name] = v
            continue
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if f.required:
                return {}, f"{name} missing"
            row[name] = math.nan
            continue
        if isinstance(v, bool) or not isinstance(v, int | float) or math.isinf(v):
            return {}, f"{name} not a finite number"
        if (f.bound == "positive" and v <= 0) or (f.bound == "non-negative" and v < 0):
            return {}, f"{name} not {f.bound}"
        row[name] = float(v)
    if "option_type" in row and row["option_type"] not in OPTION_TYPES:
        return {}, "option_type not call/put"
    if "quote_currency" in row and row["quote_currency"] not in {row["base_currency"], *USD_QUOTES}:
        return {}, "quote_currency not convertible to USD"
    return row, ""


def _request(backoff: Backoff, ex: ccxt.Exchange, endpoint: str, fn: Callable[[], T]) -> T:
    """One ccxt call of `ex`; 429/418 and 5xx answers retried with `backoff`; ccxt errors become `SourceError`;
    under an `http.budget` the client's timeout is cut to the time left (`perps.fit_timeout`)."""
    what = f"deribit {endpoint}"
    try:
        perps.fit_timeout(ex, what)
        return backoff.call(fn, perps.retryable, what)
    except ccxt.BaseError as exc:
        status, detail = perps.http_status(exc), f"{type(exc).__name__}: {str(exc)[:200]}"
        if isinstance(exc, ccxt.DDoSProtection) or status in (418, 429):
            raise SourceError(f"rate limited: {what} refused {backoff.tries} time(s) ({detail})") from exc
        if status is not None and status >= 500:
            raise SourceError(f"server error: {what} answered HTTP {status} {backoff.tries} time(s)") from exc
        if isinstance(exc, ccxt.NetworkError) and status is None:
            raise SourceError(f"unreachable: {what} ({detail})") from exc
        answered = "" if status is None else f" answered HTTP {status}"
        raise SourceError(f"venue error: {what}{answered} ({detail})") from exc


def _result(body: Any, endpoint: str) -> list[Any]:
    """The JSON-RPC `result` list; `DataError` for a body that is not JSON or has no such list."""
    what = f"deribit {endpoint}"
    if isinstance(body, str | bytes):
        raise DataError(f"malformed response: {what} is not JSON: {body[:80]!r}")
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, list):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise DataError(f"malformed response: {what} has no 'result' list ({keys})")
    return result
