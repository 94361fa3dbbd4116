"""BTC perpetual swaps on live venues through ccxt -> the `perp_metrics` table, with a status per venue.

Public endpoints only (no API key), ccxt's rate limiter on. One BTC perpetual per venue:

=============  ===============  ===============  ==========================================================
venue          ccxt symbol      venue id         contract (ccxt `market['contractSize']`, never hard-coded)
=============  ===============  ===============  ==========================================================
binanceusdm    BTC/USDT:USDT    BTCUSDT          linear, 1 BTC
bybit          BTC/USDT:USDT    BTCUSDT          linear, 1 BTC
okx            BTC/USDT:USDT    BTC-USDT-SWAP    linear, 0.01 BTC
deribit        BTC/USD:BTC      BTC-PERPETUAL    inverse, 10 USD
=============  ===============  ===============  ==========================================================

Per venue, three parts, each its own request(s): open interest now with the mark price that converts it
(`fetchOpenInterest`, then `fetchMarkPrice`, else the ticker's `markPrice`), open-interest history
(`fetchOpenInterestHistory`, where ccxt has it; Deribit has none) and funding-rate history
(`fetchFundingRateHistory`). Rows are keyed by (timestamp, venue, symbol), parts that share a timestamp
share a row; `venue` is the ccxt id, `symbol` the venue's own id.

Venue quirks die here:

* open interest: ccxt reports a contract count (`openInterestAmount`: Binance, Bybit linear, OKX) or, for
  inverse contracts, the USD face value only (`openInterestValue`: Deribit), which is turned back into
  contracts with the contract size. Then `normalise_oi`: linear, oi_btc = contracts x size (BTC) and
  oi_usd = oi_btc x mark; inverse, oi_usd = contracts x size (USD) and oi_btc = oi_usd / mark. A count
  without a contract size is refused (`DataError`), never guessed. History rows have no mark: a linear
  row takes the venue's own USD value when it sends one (Binance `sumOpenInterestValue`, OKX `oiUsd`),
  otherwise the side that needs a price is NaN. USDT is taken as USD.
* the open-interest-now row is stamped at the later of the OI time and the mark time (when both were
  known) and carries the mark used to convert it; a mark without a venue time gets the retrieval time.
* funding: a fraction per funding interval; `funding_interval_h` is the median spacing of the venue's own
  funding times (8 h on the three USDT venues; `VenueSpec.funding_interval_h` for a single record).
  Deribit's perpetual accrues funding continuously and publishes it per hour: each record has
  `interest_1h` (funding over that hour) and `interest_8h` (the trailing 8-hour sum, which ccxt returns as
  `fundingRate`). Trailing sums overlap from one hourly row to the next, so the source stores
  `interest_1h` with a 1-hour interval: rows add up to the funding paid, and annualising (rate x 8760 /
  interval) treats every venue alike.
* liquidations: `long_liq_usd` / `short_liq_usd` stay NaN. ccxt reads no side-resolved liquidation volume
  from these venues' public REST endpoints: it has no `fetchLiquidations` for Binance, Bybit or OKX
  (Binance and Bybit publish liquidations as websocket streams; OKX's REST liquidation-orders endpoint is
  not wrapped), and Deribit's `fetchLiquidations` returns bankruptcy settlements (insurance-fund amounts,
  without a side), which are not liquidated volume.

Bad input never stops the other venues, and nothing is stored in its place:

* rate limited (ccxt `DDoSProtection` / `RateLimitExceeded`, or any HTTP 418/429 answer: ccxt's okx maps
  a bare 429 to `ExchangeNotAvailable`) or an HTTP 5xx answer: retried with exponential backoff
  (`http.Backoff`; once under an `http.budget`); still refused -> the venue is left for this run;
* under an `http.budget`, each request's timeout is cut to the time left, and a venue reached when no time is
  left is not asked ('out of time');
* unreachable (ccxt `NetworkError`: connection, timeout, `ExchangeNotAvailable`, a 5xx that outlasted the
  retries): the venue is left;
* a venue error (ccxt `ExchangeError`) or bad data (no contract size, no number, malformed payload): that
  part is dropped, the venue's other parts go on (open interest now needs both the OI and the mark);
* an empty history: the part is reported empty.

`VenueStatus.state`: 'ok' (every part it tried gave rows), 'partial' (rows, but a part failed or was
empty; the message says which), 'error' (no rows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import ccxt
import numpy as np
import pandas as pd
import requests

from capitulation import tables
from capitulation.errors import CapitulationError, DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources import http
from capitulation.sources.http import RETRY_STATUSES, Backoff

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["ok", "partial", "error"]

TIMEOUT_MS = 15_000
DEFAULT_VENUES = ("binanceusdm", "bybit", "okx", "deribit")
DEFAULT_BACKOFF = Backoff()
_METRICS = tables.PERP_METRICS.names[3:]


@dataclass(frozen=True)
class VenueSpec:
    """How to read one venue's BTC perpetual.

    `oi_timeframe`/`oi_limit`: bar and records of one open-interest history request (Binance keeps 30 days
    of history, 500 x 1h ~ 21 days; Bybit 200 x 4h ~ 33 days; OKX 100 x 1d). `funding_limit`: records per
    funding request (None: ccxt's default window). `funding_field`: raw venue field read instead of ccxt's
    `fundingRate`. `options`: ccxt options (load only the market types needed).
    """

    symbol: str
    funding_interval_h: float
    oi_timeframe: str = "1h"
    oi_limit: int | None = None
    funding_limit: int | None = None
    funding_field: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


VENUES: dict[str, VenueSpec] = {
    "binanceusdm": VenueSpec("BTC/USDT:USDT", 8.0, "1h", 500, 1000),
    "bybit": VenueSpec("BTC/USDT:USDT", 8.0, "4h", 200, 200, options={"fetchMarkets": {"types": ["linear"]}}),
    "okx": VenueSpec("BTC/USDT:USDT", 8.0, "1d", 100, 100, options={"fetchMarkets": {"types": ["swap"]}}),
    "deribit": VenueSpec("BTC/USD:BTC", 1.0, funding_field="interest_1h"),
}


@dataclass(frozen=True)
class VenueStatus:
    """How one venue's fetch went: state ('ok' / 'partial' / 'error'), a one-line message, the rows it
    contributed and the ccxt methods that gave them."""

    venue: str
    state: State
    message: str
    rows: int
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class PerpFetch:
    """The `perp_metrics` rows of every venue that answered, and one status per venue asked."""

    table: pd.DataFrame
    statuses: tuple[VenueStatus, ...]
    retrieved_at: pd.Timestamp

    def status(self, venue: str) -> VenueStatus:
        """The status of `venue`; `KeyError` when it was not asked."""
        for s in self.statuses:
            if s.venue == venue:
                return s
        raise KeyError(venue)

    def to_snapshot_part(self) -> tuple[pd.DataFrame, Provenance]:
        """The table and its provenance (source: ccxt version, venues and the methods that gave rows)."""
        used = [f"{s.venue} {','.join(s.endpoints)}" for s in self.statuses if s.rows]
        notes = " ".join(f"{s.venue}: {s.state}, {s.rows} row(s); {s.message}." for s in self.statuses) + (
            " Live public endpoints through ccxt. Open interest normalised by contract size (linear: BTC = "
            "contracts x size, USD = BTC x mark; inverse: USD = contracts x size, BTC = USD / mark); USDT taken "
            "as USD; Deribit funding is its hourly interest_1h (1 h interval); liquidation columns not published."
        )
        source = f"ccxt {ccxt.__version__}: " + ("; ".join(used) or "no venue answered")
        return self.table, Provenance(
            source=source,
            retrieved_at=self.retrieved_at.isoformat(),
            licence="venues' public market data (each venue's terms of use)",
            notes=notes,
        )


class _AbandonError(SourceError):
    """The venue refused (rate limit) or could not be reached: stop asking it for this run."""


def exchange(venue: str) -> ccxt.Exchange:
    """A ccxt client for `venue`: public endpoints (no API key), ccxt's rate limiter on, 15 s timeout."""
    return getattr(ccxt, venue)({"enableRateLimit": True, "timeout": TIMEOUT_MS, "options": dict(_spec(venue).options)})


def fetch_perps(
    venues: Sequence[str] = DEFAULT_VENUES,
    *,
    exchanges: Mapping[str, ccxt.Exchange] | None = None,
    since: str | pd.Timestamp | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> PerpFetch:
    """Fetch every venue's BTC perpetual into one validated `perp_metrics` table, with a status per venue.

    `exchanges`: ready ccxt clients by venue (e.g. with a replaying transport); the others are built by
    `exchange`. `since` (UTC; naive is UTC): start of the histories, else each venue's latest page.
    `SourceError` for a venue this module does not know; every other failure is a venue status.
    """
    given = exchanges or {}
    clients = [given[v] if v in given else exchange(v) for v in venues]
    for venue, ex in zip(venues, clients, strict=True):
        if ex.id != venue:
            raise SourceError(f"exchanges[{venue!r}] is a {ex.id!r} client")
    since_ms = None if since is None else int(utc(since).timestamp() * 1000)
    retrieved_at = http.utc_now()
    fetched = [_fetch_venue(ex, since_ms, retrieved_at, backoff) for ex in clients]
    table = _merge([rows for rows, _ in fetched])
    statuses = tuple(status for _, status in fetched)
    return PerpFetch(table, statuses, retrieved_at)


def fetch_perp_metrics(venues: Sequence[str] | None = None) -> tuple[pd.DataFrame, Provenance]:
    """`perp_metrics` of `venues` (None: `DEFAULT_VENUES` as they are when called) and its provenance, the
    shape of every live source; `SourceError` when no venue gave a row."""
    fetch = fetch_perps(DEFAULT_VENUES if venues is None else venues)
    if fetch.table.empty:
        raise SourceError("no venue answered: " + "; ".join(f"{s.venue}: {s.message}" for s in fetch.statuses))
    return fetch.to_snapshot_part()


def normalise_oi(
    contracts: np.ndarray | float, contract_size: float, price: np.ndarray | float, *, inverse: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Open interest (oi_btc in BTC, oi_usd in USD) from a contract count.

    Linear: `contract_size` is BTC per contract, oi_btc = contracts x size, oi_usd = oi_btc x price.
    Inverse: `contract_size` is USD per contract, oi_usd = contracts x size, oi_btc = oi_usd / price.
    `price`: USD per BTC; NaN where unknown makes the side that needs it NaN.
    """
    c, p = np.asarray(contracts, float), np.asarray(price, float)
    if inverse:
        usd = c * contract_size
        return usd / p, usd
    btc = c * contract_size
    return btc, btc * p


def read_mark_price(
    ex: ccxt.Exchange, retrieved_at: pd.Timestamp, backoff: Backoff = DEFAULT_BACKOFF
) -> tuple[pd.Timestamp, float]:
    """(time, mark price in USD per BTC) of the venue's BTC perpetual; the venue's time, else `retrieved_at`."""
    symbol, method = _spec(ex.id).symbol, _mark_method(ex)
    fn = ex.fetch_mark_price if method == "fetchMarkPrice" else ex.fetch_ticker
    ticker = _call(backoff, ex, method, lambda: fn(symbol))
    mark = _positive(ticker.get("markPrice"), f"{ex.id} {method}: mark price")
    when = ticker.get("timestamp")
    return (retrieved_at if when is None else _ms(when, f"{ex.id} {method}")), mark


def read_open_interest_now(
    ex: ccxt.Exchange, retrieved_at: pd.Timestamp, backoff: Backoff = DEFAULT_BACKOFF
) -> pd.DataFrame:
    """Open interest now and the mark price as one `perp_metrics` row.

    The open interest is read first, then the mark (`read_mark_price`) that converts it; the row is stamped
    at the later of the two times (when both were known).
    """
    market = _market(ex, backoff)
    oi = _call(backoff, ex, "fetchOpenInterest", lambda: ex.fetch_open_interest(market["symbol"]))
    when, mark = read_mark_price(ex, retrieved_at, backoff)
    contracts, btc, usd = _oi_values(oi, market, mark, f"{ex.id} fetchOpenInterest")
    if oi.get("timestamp") is not None:
        when = max(when, _ms(oi["timestamp"], f"{ex.id} fetchOpenInterest"))
    return _rows(ex, market, [when], oi_contracts=contracts, oi_btc=btc, oi_usd=usd, mark_price=mark)


def read_open_interest_history(
    ex: ccxt.Exchange, since_ms: int | None = None, backoff: Backoff = DEFAULT_BACKOFF
) -> pd.DataFrame:
    """Open-interest history (`VenueSpec.oi_timeframe` bars) as `perp_metrics` rows; no mark price."""
    spec, market = _spec(ex.id), _market(ex, backoff)
    history = _call(
        backoff,
        ex,
        "fetchOpenInterestHistory",
        lambda: ex.fetch_open_interest_history(market["symbol"], spec.oi_timeframe, since_ms, spec.oi_limit),
    )
    what = f"{ex.id} fetchOpenInterestHistory"
    values = [_oi_values(h, market, np.nan, what) for h in history]
    return _rows(
        ex,
        market,
        [_ms(h.get("timestamp"), what) for h in history],
        oi_contracts=[v[0] for v in values],
        oi_btc=[v[1] for v in values],
        oi_usd=[v[2] for v in values],
    )


def read_funding_history(
    ex: ccxt.Exchange, since_ms: int | None = None, backoff: Backoff = DEFAULT_BACKOFF
) -> pd.DataFrame:
    """Funding-rate history as `perp_metrics` rows: fraction per interval and the interval in hours."""
    spec, market = _spec(ex.id), _market(ex, backoff)
    history = _call(
        backoff,
        ex,
        "fetchFundingRateHistory",
        lambda: ex.fetch_funding_rate_history(market["symbol"], since_ms, spec.funding_limit),
    )
    raw = [
        (h.get("info") or {}).get(spec.funding_field) if spec.funding_field else h.get("fundingRate") for h in history
    ]
    what = f"{ex.id} fetchFundingRateHistory"
    kept = [
        (_ms(h.get("timestamp"), what), _number(r, what)) for h, r in zip(history, raw, strict=True) if r is not None
    ]
    kept.sort()
    hours = np.diff([t.value for t, _ in kept]) / 3.6e12
    interval = float(np.median(hours)) if len(hours) else spec.funding_interval_h
    return _rows(
        ex,
        market,
        [t for t, _ in kept],
        funding_rate=[r for _, r in kept],
        funding_interval_h=interval,
    )


def _fetch_venue(
    ex: ccxt.Exchange, since_ms: int | None, retrieved_at: pd.Timestamp, backoff: Backoff
) -> tuple[pd.DataFrame, VenueStatus]:
    """One venue: its parts in order, each failure noted; a refusal or an unreachable venue ends the run."""
    parts: list[tuple[str, tuple[str, ...], Callable[[], pd.DataFrame]]] = [
        (
            "open interest now",
            ("fetchOpenInterest", _mark_method(ex)),
            lambda: read_open_interest_now(ex, retrieved_at, backoff),
        )
    ]
    notes = []
    if ex.has.get("fetchOpenInterestHistory"):
        parts.append(
            (
                "open-interest history",
                ("fetchOpenInterestHistory",),
                lambda: read_open_interest_history(ex, since_ms, backoff),
            )
        )
    else:
        notes.append("no open-interest history at this venue")
    parts.append(("funding history", ("fetchFundingRateHistory",), lambda: read_funding_history(ex, since_ms, backoff)))

    frames, endpoints, problems = [], [], []
    for i, (name, methods, part) in enumerate(parts):
        try:
            rows = part()
        except _AbandonError as exc:
            skipped = [n for n, _, _ in parts[i + 1 :]]
            problems.append(f"{name}: {exc}" + (f"; not asked: {', '.join(skipped)}" if skipped else ""))
            break
        except CapitulationError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if rows.empty:
            problems.append(f"{name}: empty")
        else:
            frames.append(rows)
            endpoints.extend(methods)

    table = _merge(frames)
    state: State = "error" if table.empty else ("partial" if problems else "ok")
    message = "; ".join(problems + notes) or "all parts answered"
    if problems:
        log.warning("%s: %s (%s)", ex.id, state, message)
    return table, VenueStatus(ex.id, state, message, len(table), tuple(endpoints))


def _mark_method(ex: ccxt.Exchange) -> str:
    return "fetchMarkPrice" if ex.has.get("fetchMarkPrice") else "fetchTicker"


def _call(backoff: Backoff, ex: ccxt.Exchange, method: str, fn: Callable[[], T]) -> T:
    """Run one ccxt call, retrying rate-limit refusals; ccxt errors become `SourceError` / `DataError`, and so
    does a body that is not JSON (ccxt would read it as an empty answer)."""
    what = f"{ex.id} {method}"
    ex.last_http_response = None
    try:
        fit_timeout(ex, what)
        result = backoff.call(fn, retryable, what)
        _check_json(ex.last_http_response, what)  # ccxt reads a body that is not JSON as an empty answer
        return result
    except http.RefusedError as exc:  # out of time
        raise _AbandonError(str(exc)) from exc
    except ccxt.BaseError as exc:
        name = f"{type(exc).__name__}: {exc}"
        if _rate_limited(exc):
            raise _AbandonError(f"rate limited: {what} refused {backoff.tries} time(s) ({name})") from exc
        if isinstance(exc, ccxt.NetworkError):
            raise _AbandonError(f"unreachable: {what} failed ({name})") from exc
        raise SourceError(f"venue error: {what} ({name})") from exc
    except (LookupError, TypeError, ValueError) as exc:
        raise DataError(f"malformed response: {what} ({type(exc).__name__}: {exc})") from exc


def fit_timeout(ex: ccxt.Exchange, what: str) -> None:
    """Under an `http.budget`: the client's timeout (ms) cut to the time left; `http.RefusedError` ('out of
    time') when none is left. Outside a budget the client is left as it is."""
    if http.current_budget() is not None:
        ex.timeout = min(ex.timeout, max(1, int(http.request_timeout(what, ex.timeout / 1000) * 1000)))


def _check_json(body: str | None, what: str) -> None:
    """`DataError` when the last HTTP body of a call was not JSON (None: the call made no request)."""
    if not body:
        return
    try:
        json.loads(body)
    except ValueError:
        raise DataError(f"malformed response: {what} answered a body that is not JSON: {body[:60]!r}") from None


def _rate_limited(exc: Exception) -> bool:
    """A rate-limit refusal: ccxt's `DDoSProtection` family, or an HTTP 418/429 answer whatever ccxt class the
    venue module gave it (ccxt's okx turns a 429 without an OKX error code into `ExchangeNotAvailable`)."""
    return isinstance(exc, ccxt.DDoSProtection) or http_status(exc) in (418, 429)


def retryable(exc: Exception) -> bool:
    """A refusal worth asking again: a rate limit (`_rate_limited`) or an HTTP 5xx answer."""
    return isinstance(exc, ccxt.DDoSProtection) or http_status(exc) in RETRY_STATUSES


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a ccxt error (ccxt raises from inside `requests`' HTTPError), if any."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, requests.HTTPError) and cause.response is not None:
            return cause.response.status_code
        cause = cause.__cause__ or cause.__context__
    return None


def _spec(venue: str) -> VenueSpec:
    try:
        return VENUES[venue]
    except KeyError:
        raise SourceError(f"unsupported perp venue {venue!r}; supported: {', '.join(VENUES)}") from None


def _market(ex: ccxt.Exchange, backoff: Backoff) -> dict:
    """The ccxt market of the venue's BTC perpetual (markets loaded once per client)."""
    _call(backoff, ex, "loadMarkets", ex.load_markets)
    symbol = _spec(ex.id).symbol
    return _call(backoff, ex, "market", lambda: ex.market(symbol))


def _oi_values(oi: dict, market: dict, price: float, what: str) -> tuple[float, float, float]:
    """(contracts, BTC, USD) from a ccxt open-interest structure; see the module notes."""
    amount, value, size = oi.get("openInterestAmount"), oi.get("openInterestValue"), market.get("contractSize")
    inverse = bool(market.get("inverse"))
    if amount is None and value is None:
        raise DataError(f"{what}: no open interest in the response")
    if size is None:
        raise DataError(
            f"{what}: open interest for {market['id']} but the market has no contract size; cannot convert to BTC/USD"
        )
    size = _positive(size, f"{what}: contract size")
    contracts = _number(value, what) / size if amount is None else _number(amount, what)
    btc, usd = normalise_oi(contracts, size, price, inverse=inverse)
    if not inverse and np.isnan(usd) and value is not None:
        usd = np.asarray(_number(value, what))
    return contracts, float(btc), float(usd)


def _rows(ex: ccxt.Exchange, market: dict, stamps: Iterable[pd.Timestamp], **cols: Any) -> pd.DataFrame:
    df = pd.DataFrame({"timestamp": pd.to_datetime(list(stamps), utc=True)})
    df["venue"] = ex.id
    df["symbol"] = market["id"]
    for name in _METRICS:
        df[name] = cols.get(name, np.nan)
    return tables.validate("perp_metrics", df)


def _merge(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per (timestamp, venue, symbol): parts that share a time fill each other's columns."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return tables.empty("perp_metrics")
    both = pd.concat(frames, ignore_index=True)
    merged = both.groupby(["timestamp", "venue", "symbol"], sort=True, as_index=False).first()
    return tables.validate("perp_metrics", merged)


def _ms(value: Any, what: str) -> pd.Timestamp:
    """A venue time in ms since the epoch -> UTC timestamp; `DataError` when missing or not a number."""
    return pd.Timestamp(int(_number(value, f"{what}: time")), unit="ms", tz="UTC")


def _number(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{what}: not a number: {value!r}") from None
    if not np.isfinite(x):
        raise DataError(f"{what}: not a finite number: {value!r}")
    return x


def _positive(value: Any, what: str) -> float:
    x = _number(value, what)
    if x <= 0:
        raise DataError(f"{what} must be positive, got {value!r}")
    return x
