"""Daily bars from Yahoo Finance through yfinance -> the `daily_prices` table, one ticker at a time.

Tickers are Yahoo's; each becomes the table symbol the recorded importer (`sources.prices`) uses, so the
signals find the same series live and recorded:

============================  ==========  ==============================================================
Yahoo ticker                  symbol      what, units
============================  ==========  ==============================================================
BTC-USD                       BTC-USD     bitcoin, Yahoo's UTC day; OHLC in USD, volume in USD
^VIX                          VIX         CBOE volatility index, index points; volume NaN (none traded)
DX-Y.NYB (not by default)     DXY         US dollar index, index points; volume NaN
QQQ, SPY                      same        Nasdaq-100 / S&P 500 ETFs; USD per share, volume in shares
GLD, SLV                      same        gold / silver ETFs; USD per share, volume in shares
IBIT                          same        spot bitcoin ETF; USD per share, volume in shares
MSTR and treasury companies   same        tickers of data/treasuries.toml + `US_TREASURY_PEERS`
============================  ==========  ==============================================================

Conventions (venue quirks end here):

* close: Yahoo's `Close` with `auto_adjust=False`: split-adjusted (Yahoo restates every bar for all splits up
  to the retrieval date, e.g. NVDA's 2021-02-01 close is 529.48 / 40 after its 4:1 and 10:1 splits), NOT
  adjusted for dividends or distributions; `Adj Close` is not used. A split after a stored snapshot
  restates the bars Yahoo serves later.
* date: the trading date in the exchange's time zone (yfinance indexes daily bars at exchange-local
  midnight), stamped 00:00 UTC; BTC-USD's exchange zone is UTC. Converting the local midnight to UTC
  instead would move every European or Asian bar to the day before.
* the table holds USD prices: a ticker whose chart quotes another currency (Yahoo's meta `currency`, kept
  in the frame's `attrs`) is refused. Indices (`^` tickers) get NaN volume: Yahoo reports 0.
* while a market is open, today's bar is Yahoo's running price (the table's daily bars are known only at
  the end of their day, `DAILY_PRICES.bar_days`).

Record/replay: each ticker's raw yfinance frame passes `tape.frame(f"history-{ticker}-{period}", ...)`, the
adapter boundary where Yahoo is recorded (Parquet) and replayed: yfinance's curl_cffi traffic escapes vcrpy.

A failing ticker never stops the others; it is named in the provenance notes with why:

* rate limited (yfinance `YFRateLimitError`): retried with `http.Backoff` (once under an `http.budget`); still
  refused -> that ticker and the ones not yet asked are left for this run (Yahoo limits per client, so asking
  on only deepens it);
* unreachable (a connection error or timeout, raised by yfinance or logged by it as "Failed to get ticker"
  before it returns an empty frame) or, under an `http.budget`, out of time: that ticker and the ones not yet
  asked are left for this run, with yfinance's own reason (e.g. "Could not resolve host");
* any other exception escaping yfinance (e.g. its parser on a malformed chart) or the tape (a key not
  recorded): the ticker is left;
* an empty frame: yfinance's answer, by default, for an unknown or delisted ticker or no bars in the period
  (the reason it logged is kept, e.g. "possibly delisted"); no `Close` column (schema drift); a non-USD
  currency: the ticker is left;
* rows without a close (NaN) and repeated dates (the last row of a date is kept) are dropped and counted.

Every ticker failing is a `SourceError`. yfinance's log records never reach the terminal from here: those of a
download are kept as the ticker's reason (the CLI shows third-party logs only with -v).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import requests
import yfinance as yf
from yfinance.exceptions import YFRateLimitError

from capitulation import tables
from capitulation.errors import DataError, SourceError, describe
from capitulation.snapshot import Provenance
from capitulation.sources import http, tape
from capitulation.sources.http import Backoff
from capitulation.sources.treasuries import BUNDLED_STACK_FILE, read_stack_file

log = logging.getLogger(__name__)

MARKET_TICKERS = ("BTC-USD", "^VIX", "QQQ", "SPY", "GLD", "SLV", "IBIT", "MSTR")
"""BTC, fear gauge, stocks, precious metals, the largest spot ETF and Strategy (signals 2, 4, 7, markets)."""

US_TREASURY_PEERS = ("MARA", "XXI", "NAKA", "ASST", "SMLR")
"""USD-listed bitcoin-treasury companies the recorded treasury data tracks (dat-tracker price files): their
share prices feed the treasury signal's peer count."""

SYMBOLS = {"^VIX": "VIX", "DX-Y.NYB": "DXY"}
"""Yahoo tickers whose table symbol differs (the names `prices.read_macro_csv` gives vix.csv and dxy.csv);
every other ticker is its own symbol."""

DEFAULT_PERIOD = "2y"
DEFAULT_BACKOFF = Backoff()
SOURCE = f"yfinance {yf.__version__}: Yahoo Finance chart API"
LICENCE = "Yahoo Finance terms (personal use)"
TIMEOUT_S = 10.0  # yfinance's own default for a history request
EMPTY_WHY = "yfinance returned an empty frame: unknown or delisted ticker, no bars in {period}, or Yahoo unreachable"
"""yfinance (its default `hide_exceptions`) logs why and returns an empty frame; the reason it logged, when there
is one, replaces this text (`download`'s `attrs[WHY_EMPTY]`)."""
WHY_EMPTY = "why_empty"
UNREACHABLE_LOG = "Failed to get ticker"
"""How yfinance's log starts when a request raised (connection error, timeout) and it returned an empty frame."""
try:
    from curl_cffi.requests import exceptions as curl_errors

    _CURL_ERRORS: tuple[type[Exception], ...] = (curl_errors.ConnectionError, curl_errors.Timeout)
except ImportError:  # yfinance installed without curl_cffi falls back to `requests`
    _CURL_ERRORS = ()
CONNECTION_ERRORS = (ConnectionError, TimeoutError, requests.ConnectionError, requests.Timeout, *_CURL_ERRORS)
"""A connection error or timeout escaping yfinance, from its curl_cffi session or its `requests` fallback."""

CLOSE_NOTE = (
    "close = Yahoo's Close (auto_adjust=False): split-adjusted, not dividend-adjusted; date = the exchange-local "
    "trading date at 00:00 UTC; USD (VIX/DXY in index points), volume in shares (USD for BTC-USD, NaN for indices)."
)


class UnreachableError(SourceError):
    """Yahoo could not be reached (or the budget is spent): stop asking it for this run."""


def treasury_tickers(path: str | Path = BUNDLED_STACK_FILE) -> tuple[str, ...]:
    """Tickers of the capital-stack file's company, coupon and charges entries, in file order, once each."""
    stack = read_stack_file(path)
    found = [*stack.companies["ticker"], *stack.coupons["ticker"], *stack.charges["ticker"]]
    return tuple(dict.fromkeys(str(t) for t in found))


DEFAULT_SYMBOLS: tuple[str, ...] = tuple(dict.fromkeys((*MARKET_TICKERS, *treasury_tickers(), *US_TREASURY_PEERS)))


def table_symbol(ticker: str) -> str:
    """The `daily_prices` symbol of a Yahoo ticker (`^VIX` -> 'VIX'; most tickers are their own symbol)."""
    return SYMBOLS.get(ticker, ticker)


def download(ticker: str, period: str) -> pd.DataFrame:
    """yfinance's daily bars of `ticker` over `period` (e.g. '2y'): unadjusted (`auto_adjust=False`), no action
    columns, indexed at exchange-local midnight; the chart's quote currency in `attrs['currency']`; for an empty
    frame, the reason yfinance logged (if any) in `attrs[WHY_EMPTY]` (recorded and replayed with the frame).

    `UnreachableError` for a connection error or timeout yfinance raises, or a budget already spent. The request
    timeout is `TIMEOUT_S`, cut to an `http.budget`'s time left."""
    what = f"yfinance history {ticker} {period}"
    try:
        timeout = http.request_timeout(what, TIMEOUT_S)
    except http.RefusedError as exc:
        raise UnreachableError(str(exc)) from exc
    t = yf.Ticker(ticker)
    with _yfinance_errors() as logged:
        try:
            df = t.history(period=period, interval="1d", auto_adjust=False, actions=False, timeout=timeout)
            meta = t.history_metadata  # yfinance's HistoryMetadata: `in` and `[]`, no `.get`
        except CONNECTION_ERRORS as exc:
            raise UnreachableError(f"unreachable: {what} ({_short(describe(exc))})") from exc
    df.attrs["currency"] = meta["currency"] if "currency" in meta else None  # noqa: SIM401
    if df.empty and logged:  # the request that failed first, else yfinance's last word
        df.attrs[WHY_EMPTY] = _short(next((m for m in logged if m.startswith(UNREACHABLE_LOG)), logged[-1]))
    return df


class _ThreadErrors(logging.Handler):
    """The messages of the ERROR records one thread logs (yfinance logs a failed request, then returns an empty
    frame); nothing is printed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _yfinance_errors() -> Iterator[list[str]]:
    """Within the block: yfinance's error messages on this thread, in order."""
    handler = _ThreadErrors()
    logger = logging.getLogger("yfinance")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _short(reason: str) -> str:
    """A curl reason without its trailing pointer to the libcurl docs."""
    return reason.split(" See https://curl.se/", 1)[0].strip()


def normalise(raw: pd.DataFrame, symbol: str) -> tuple[pd.DataFrame, list[str]]:
    """One ticker's raw yfinance frame as validated `daily_prices` rows of `symbol`, sorted by date, and notes
    on what was dropped (rows with no close, repeated dates) or missing (bar fields other than Close). An empty
    frame gives no rows. `DataError`: no Close column (schema drift), an index that is not dates, a currency
    other than USD, or a value the table refuses (e.g. a non-numeric close).
    """
    if raw.empty:
        return tables.empty("daily_prices"), []
    if "Close" not in raw.columns:
        raise DataError(f"schema drift: no 'Close' column (columns: {', '.join(map(str, raw.columns)) or 'none'})")
    currency = raw.attrs.get("currency")
    if currency not in (None, "USD"):
        raise DataError(f"prices in {currency}; the daily_prices table holds USD prices only")
    idx = raw.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError(f"schema drift: index is {idx.dtype}, not dates")
    local = idx.tz_localize(None) if idx.tz is not None else idx
    df = pd.DataFrame({"date": local.normalize().tz_localize("UTC"), "symbol": symbol})
    notes = []
    for col in ("Open", "High", "Low", "Close", "Volume"):
        if col in raw.columns:
            df[col.lower()] = raw[col].to_numpy()
        else:
            df[col.lower()] = np.nan
            notes.append(f"no {col} column")
    if _is_index(symbol):
        df["volume"] = np.nan
    no_close = df["close"].isna()
    if no_close.any():
        days = ", ".join(f"{d:%Y-%m-%d}" for d in df.loc[no_close, "date"])
        notes.append(f"{int(no_close.sum())} row(s) without a close dropped ({days})")
        df = df[~no_close]
    df = df.sort_values("date", kind="stable")
    repeated = df["date"].duplicated(keep="last")
    if repeated.any():
        days = ", ".join(sorted({f"{d:%Y-%m-%d}" for d in df.loc[repeated, "date"]}))
        notes.append(f"{int(repeated.sum())} repeated-date row(s) dropped, the last kept ({days})")
        df = df[~repeated]
    return tables.validate("daily_prices", df), notes


def fetch_daily_prices(
    symbols: Sequence[str] = DEFAULT_SYMBOLS, *, period: str = DEFAULT_PERIOD, backoff: Backoff = DEFAULT_BACKOFF
) -> tuple[pd.DataFrame, Provenance]:
    """Daily bars of Yahoo tickers `symbols` over `period` (yfinance periods: '1mo', '1y', '2y', 'max', ...) as one
    validated `daily_prices` table, sorted by symbol and date, with its provenance (see the module notes).

    `SourceError` when no ticker is given, two tickers map to one symbol, or no ticker gives a row.
    """
    tickers = list(dict.fromkeys(symbols))
    if not tickers:
        raise SourceError("no Yahoo ticker to fetch")
    by_symbol: dict[str, str] = {}
    for t in tickers:
        other = by_symbol.setdefault(table_symbol(t), t)
        if other != t:
            raise SourceError(f"Yahoo tickers {other!r} and {t!r} both give symbol {table_symbol(t)!r}")
    retrieved_at = http.utc_now()
    parts: list[pd.DataFrame] = []
    kept: list[str] = []
    failed: list[str] = []
    for i, ticker in enumerate(tickers):
        symbol = table_symbol(ticker)
        label = ticker if symbol == ticker else f"{ticker} -> {symbol}"
        try:
            raw = _raw_frame(ticker, period, backoff)
        except (YFRateLimitError, UnreachableError) as exc:
            limited = isinstance(exc, YFRateLimitError)
            why = f"rate limited, refused {backoff.tries} time(s) ({describe(exc)})" if limited else str(exc)
            failed.append(f"{label}: {why}")
            skipped = tickers[i + 1 :]
            if skipped:
                after = "after the rate limit" if limited else "in this run"
                failed.append(f"not asked {after}: {', '.join(skipped)}")
            break
        except Exception as exc:  # whatever one ticker raises, the others stand
            failed.append(f"{label}: {describe(exc)}")
            continue
        try:
            rows, notes = normalise(raw, symbol)
        except DataError as exc:
            failed.append(f"{label}: {exc}")
            continue
        if rows.empty:
            extra = f" ({'; '.join(notes)})" if notes else ""
            why = raw.attrs.get(WHY_EMPTY)
            reason = f"yfinance: {why}" if why else EMPTY_WHY.format(period=period)
            failed.append(f"{label}: no rows ({reason}){extra}")
            continue
        parts.append(rows)
        kept.append(f"{label}: {len(rows)} row(s)" + "".join(f"; {n}" for n in notes))
    if failed:
        log.warning("yahoo: %s", "; ".join(failed))
    if not parts:
        raise SourceError("Yahoo: no ticker gave rows: " + "; ".join(failed))
    table = pd.concat(parts, ignore_index=True).sort_values(["symbol", "date"], kind="stable")
    notes = (
        f"daily bars, period {period}, {len(parts)} of {len(tickers)} ticker(s) kept: {'; '.join(kept)}. "
        + (f"Left out: {'; '.join(failed)}. " if failed else "")
        + CLOSE_NOTE
    )
    return tables.validate("daily_prices", table), Provenance(SOURCE, retrieved_at.isoformat(), LICENCE, notes)


def _raw_frame(ticker: str, period: str, backoff: Backoff) -> pd.DataFrame:
    """The raw yfinance frame through the tape (recorded, replayed, or live with rate limits retried);
    `UnreachableError` when yfinance could not get the ticker at all (an empty frame it logged
    `UNREACHABLE_LOG` for)."""
    what = f"yfinance history {ticker} {period}"
    df = tape.frame(
        f"history-{ticker}-{period}",
        lambda: backoff.call(lambda: download(ticker, period), lambda e: isinstance(e, YFRateLimitError), what),
    )
    why = df.attrs.get(WHY_EMPTY)
    if df.empty and isinstance(why, str) and why.startswith(UNREACHABLE_LOG):
        raise UnreachableError(f"unreachable: {what} (yfinance: {why})")
    return df


def _is_index(symbol: str) -> bool:
    return symbol in SYMBOLS.values() or symbol.startswith("^")
