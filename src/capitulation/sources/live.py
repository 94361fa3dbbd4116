"""A live snapshot: every source fetched concurrently, one status per source, failures left out.

A source is a fetcher returning one standard table and its provenance, keyed by the table's name. A fetcher
that raises (or returns a table that breaks the table's contract, or no rows) is marked stale with its error
and its table is left out; the others are kept. The statuses travel with the snapshot (`Snapshot.sources`)
into its folder and the history store. Only when every source fails is there no snapshot
(`SourceError`). A full snapshot costs about the slowest source.

For `watch`, two more rules keep a cycle short when the network is down or a provider refuses:

* `budget_s`: each source gets an `http.budget` of that many seconds (each request tried once, its timeout
  cut to the time left, nothing asked once it is spent), and the snapshot waits for no source longer than
  `budget_s + GRACE_S`; a source still running then is stale ("no answer within ...") and its late answer is
  dropped.
* `retry` (`SourceRetry`): a source that failed is asked again only after a delay that grows with each
  failure in a row; until then it is stale with its last reason, without being asked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field

import pandas as pd

from capitulation import tables
from capitulation.errors import SourceError, describe
from capitulation.snapshot import Provenance, Snapshot, SourceStatus, parse_as_of, utc
from capitulation.sources import http, tape

log = logging.getLogger(__name__)

Fetcher = Callable[[], tuple[pd.DataFrame, Provenance]]
Fetched = tuple[tuple[pd.DataFrame, Provenance] | None, SourceStatus]
SourceDone = Callable[[SourceStatus, float], None]
"""Told once per source asked, in the calling thread, as it finishes: its status (name, state, rows, message)
and its seconds (a source given up on after `budget_s + GRACE_S`: stale, with the seconds waited)."""

GRACE_S = 5.0
"""Seconds a snapshot under a budget waits past `budget_s` for a source (a request that ignores its timeout)."""


@dataclass
class _Failures:
    """A source's failures in a row, when it is asked again, and its last reason."""

    count: int
    retry_at: pd.Timestamp
    reason: str


@dataclass
class SourceRetry:
    """When a failed source is asked again, across snapshots (`watch` cycles): after its n-th failure in a row,
    not before `first_delay` x `factor`**(n-1) (at most `max_delay`) from the start of the cycle it failed in.
    Until then it is stale with its last reason; an answer clears its count."""

    first_delay: pd.Timedelta
    max_delay: pd.Timedelta
    factor: float = 2.0
    failures: dict[str, _Failures] = field(default_factory=dict)

    def delay(self, count: int) -> pd.Timedelta:
        """The wait after the `count`-th failure in a row (count >= 1)."""
        return min(self.first_delay * self.factor ** (count - 1), self.max_delay)

    def held(self, now: pd.Timestamp) -> dict[str, SourceStatus]:
        """The sources not to ask at `now`, each with a stale status carrying its last reason."""
        return {
            name: SourceStatus(
                name,
                "stale",
                f"not asked until {f.retry_at:%Y-%m-%d %H:%M:%S} UTC after {f.count} failure(s) in a row: {f.reason}",
            )
            for name, f in self.failures.items()
            if now < f.retry_at
        }

    def update(self, asked: Mapping[str, SourceStatus], now: pd.Timestamp) -> None:
        """Record the statuses of the sources asked in the cycle that started at `now`."""
        for name, status in asked.items():
            if status.state == "ok" or status.message.startswith(RECORDED_ONLY_PREFIX):  # asking one costs nothing
                self.failures.pop(name, None)
                continue
            count = self.failures[name].count + 1 if name in self.failures else 1
            self.failures[name] = _Failures(count, now + self.delay(count), status.message)


def live_snapshot(
    fetchers: Mapping[str, Fetcher],
    now: str | pd.Timestamp | None = None,
    *,
    budget_s: float | None = None,
    retry: SourceRetry | None = None,
    started: pd.Timestamp | None = None,
    on_source: SourceDone | None = None,
) -> Snapshot:
    """Run every fetcher concurrently; a Snapshot at `now` of the tables that came back, with one
    `SourceStatus` per source asked (in the order asked) in `Snapshot.sources`.

    `fetchers`: standard table name -> fetcher; they run one after another while a tape records or replays.
    `now`: the snapshot's as_of (`parse_as_of`: naive is UTC, a bare date the end of that UTC day); None: the
    time once every source has answered, so no row is stamped after it. `budget_s`: each source's time (see
    the module notes; not enforced by waiting under a tape, which runs the sources in turn). `retry`: which
    failed sources to leave unasked, updated with this cycle's statuses, on the clock of `started` (the
    cycle's start, UTC; None: the clock now). `on_source`: told as each source asked finishes (`SourceDone`;
    not for one held back). `SourceError` when every source fails (or is held back), naming each with its
    reason.
    """
    if not fetchers:
        raise SourceError("no live source to fetch")
    start = http.utc_now() if started is None else utc(started)
    held = retry.held(start) if retry is not None else {}
    asked = {name: fetch for name, fetch in fetchers.items() if name not in held}
    fetched = _fetch_all(asked, budget_s, on_source if on_source is not None else lambda status, seconds: None)
    if retry is not None:
        retry.update({name: status for name, (_, status) in fetched.items()}, start)
    statuses = tuple(held[name] if name in held else fetched[name][1] for name in fetchers)
    parts = {name: part for name, (part, _) in fetched.items() if part is not None}
    if not parts:
        raise SourceError("every source failed: " + "; ".join(f"{s.name}: {s.message}" for s in statuses))
    as_of = http.utc_now() if now is None else parse_as_of(now)
    return Snapshot(as_of, {n: df for n, (df, _) in parts.items()}, {n: p for n, (_, p) in parts.items()}, statuses)


RECORDED_ONLY_PREFIX = "recorded-only: "
"""How the reason of a table no live source fills begins; `SourceRetry` never holds such a table back (asking it
costs nothing), so each snapshot gives its reason first."""

RECORDED_ONLY: dict[str, str] = {
    tables.ONCHAIN.name: (
        RECORDED_ONLY_PREFIX + "no public no-key source of daily on-chain cost bases (Bitcoin Magazine Pro and "
        "CryptoQuant need an API key; bitcoin-data.com gives history to paid tiers only and a few requests an "
        "hour without a token; checkonchain has no API): use recorded data (--data)"
    ),
    tables.ETF_FLOWS.name: (
        RECORDED_ONLY_PREFIX + "no public no-key API of per-fund spot ETF flows (Farside Investors publishes an HTML "
        "table with no API and no reuse licence): use recorded data (--data)"
    ),
}
"""Tables no live source fills, with why: a live snapshot lists each as stale with this reason."""


def recorded_only(name: str) -> Fetcher:
    """The fetcher of a table in `RECORDED_ONLY`: it asks nothing and fails with the table's reason."""

    def fetch() -> tuple[pd.DataFrame, Provenance]:
        raise SourceError(RECORDED_ONLY[name])

    return fetch


def default_fetchers() -> dict[str, Fetcher]:
    """Every live source, by the standard table it fills; public endpoints only, no API key.

    option_quotes: Deribit's BTC option chain (book summaries + instruments, ccxt); perp_metrics: BTC
    perpetuals on Binance USD-M, Bybit, OKX and Deribit (ccxt); daily_prices: Yahoo through yfinance;
    btc_network: mempool.space; sector_returns: CoinGecko categories; vol_index: Deribit's DVOL
    (public/get_volatility_index_data); treasury_companies: SEC EDGAR XBRL company facts (holdings from XBRL
    or the bundled capital-stack TOML). onchain and etf_flows: recorded-only, each stale with why
    (`RECORDED_ONLY`). Not asked live: treasury_instruments, treasury_charges, liquidations, long_short_ratios.
    """
    from capitulation.sources import coingecko, deribit_options, dvol, edgar, mempool, perps, yahoo

    return {
        tables.OPTION_QUOTES.name: deribit_options.fetch_option_chain,
        tables.PERP_METRICS.name: perps.fetch_perp_metrics,
        tables.DAILY_PRICES.name: yahoo.fetch_daily_prices,
        tables.BTC_NETWORK.name: mempool.fetch_network,
        tables.SECTOR_RETURNS.name: coingecko.fetch_sector_returns,
        tables.VOL_INDEX.name: dvol.fetch_dvol,
        tables.TREASURY_COMPANIES.name: edgar.fetch_treasury_companies,
        **{name: recorded_only(name) for name in RECORDED_ONLY},
    }


def _fetch_all(fetchers: Mapping[str, Fetcher], budget_s: float | None, done: SourceDone) -> dict[str, Fetched]:
    """Each source's `_fetch`: in turn under a tape (vcrpy is not thread-safe), else each in a thread of its own
    (daemon: one that never answers cannot hold the process), waited for at most `budget_s + GRACE_S`; `done`
    told of each as it finishes (`SourceDone`)."""
    out: dict[str, Fetched] = {}
    if tape.active():
        for name, fetch in fetchers.items():
            t0 = time.perf_counter()
            out[name] = _fetch(name, fetch, budget_s)
            done(out[name][1], time.perf_counter() - t0)
        return out
    t0 = time.perf_counter()
    futures = {_start(name, fetch, budget_s): name for name, fetch in fetchers.items()}
    limit = None if budget_s is None else budget_s + GRACE_S
    try:
        for future in as_completed(futures, timeout=limit):
            out[futures[future]] = future.result()
            done(out[futures[future]][1], time.perf_counter() - t0)
    except TimeoutError:
        late = f"no answer within {limit:g} s; its late answer is dropped"
        for name in [n for n in fetchers if n not in out]:
            out[name] = (None, SourceStatus(name, "stale", late))
            done(out[name][1], time.perf_counter() - t0)
    return {name: out[name] for name in fetchers}


def _start(name: str, fetch: Fetcher, budget_s: float | None) -> Future[Fetched]:
    """`_fetch` of one source in a daemon thread; its result in the returned future."""
    future: Future[Fetched] = Future()

    def run() -> None:
        try:
            future.set_result(_fetch(name, fetch, budget_s))
        except BaseException as exc:  # e.g. SystemExit inside a fetcher: the waiting thread must not hang
            future.set_exception(exc)

    threading.Thread(target=run, name=f"live-{name}", daemon=True).start()
    return future


def _fetch(name: str, fetch: Fetcher, budget_s: float | None) -> Fetched:
    """One source: its validated table and provenance, or None and a stale status saying why."""
    try:
        with nullcontext() if budget_s is None else http.budget(budget_s):
            df, prov = fetch()
        df = tables.validate(name, df)
        if df.empty:
            raise SourceError("no rows")
    except Exception as exc:  # any failure of one source must leave the others standing
        msg = tape.unrecorded(exc) or describe(exc)
        log.warning("live source %s is stale: %s", name, msg)
        return None, SourceStatus(name, "stale", msg)
    return (df, prov), SourceStatus(name, "ok", rows=len(df))
