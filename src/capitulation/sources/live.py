"""A live snapshot: every source fetched concurrently, one status per source, failures left out.

A source is a fetcher returning one standard table and its provenance, keyed by the table's name. A fetcher
that raises (or returns a table that breaks the table's contract, or no rows) is marked stale with its error
and its table is left out; the others are kept. The statuses travel with the snapshot (`Snapshot.sources`)
into its folder and the history store. Only when every source fails is there no snapshot
(`SourceError`). A full snapshot costs about the slowest source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from capitulation import tables
from capitulation.errors import SourceError, describe
from capitulation.snapshot import Provenance, Snapshot, SourceStatus, utc
from capitulation.sources import http, tape

log = logging.getLogger(__name__)

Fetcher = Callable[[], tuple[pd.DataFrame, Provenance]]


def live_snapshot(fetchers: Mapping[str, Fetcher], now: str | pd.Timestamp | None = None) -> Snapshot:
    """Run every fetcher concurrently; a Snapshot at `now` of the tables that came back, with one
    `SourceStatus` per source asked (in the order asked) in `Snapshot.sources`.

    `fetchers`: standard table name -> fetcher; they run one after another while a tape records or replays.
    `now`: the snapshot's as_of (UTC; naive is UTC); None: the time once every source has answered, so no row
    is stamped after it. `SourceError` when every source fails.
    """
    if not fetchers:
        raise SourceError("no live source to fetch")
    workers = 1 if tape.active() else len(fetchers)  # vcrpy is not thread-safe: one at a time under a tape
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_fetch, name, fetch) for name, fetch in fetchers.items()}
        fetched = {name: f.result() for name, f in futures.items()}
    statuses = tuple(status for _, status in fetched.values())
    parts = {name: part for name, (part, _) in fetched.items() if part is not None}
    if not parts:
        raise SourceError("every source failed: " + "; ".join(f"{s.name}: {s.message}" for s in statuses))
    as_of = http.utc_now() if now is None else utc(now)
    return Snapshot(as_of, {n: df for n, (df, _) in parts.items()}, {n: p for n, (_, p) in parts.items()}, statuses)


def default_fetchers() -> dict[str, Fetcher]:
    """Every live source, by the standard table it fills; public endpoints only, no API key.

    option_quotes: Deribit's BTC option chain (book summaries + instruments, ccxt); perp_metrics: BTC
    perpetuals on Binance USD-M, Bybit, OKX and Deribit (ccxt); daily_prices: Yahoo through yfinance;
    btc_network: mempool.space; sector_returns: CoinGecko categories. Not fetched live: treasury_companies
    (filings), etf_flows and vol_index.
    """
    from capitulation.sources import coingecko, deribit_options, mempool, perps, yahoo

    return {
        tables.OPTION_QUOTES.name: deribit_options.fetch_option_chain,
        tables.PERP_METRICS.name: perps.fetch_perp_metrics,
        tables.DAILY_PRICES.name: yahoo.fetch_daily_prices,
        tables.BTC_NETWORK.name: mempool.fetch_network,
        tables.SECTOR_RETURNS.name: coingecko.fetch_sector_returns,
    }


def _fetch(name: str, fetch: Fetcher) -> tuple[tuple[pd.DataFrame, Provenance] | None, SourceStatus]:
    """One source: its validated table and provenance, or None and a stale status saying why."""
    try:
        df, prov = fetch()
        df = tables.validate(name, df)
        if df.empty:
            raise SourceError("no rows")
    except Exception as exc:  # any failure of one source must leave the others standing
        msg = tape.unrecorded(exc) or describe(exc)
        log.warning("live source %s is stale: %s", name, msg)
        return None, SourceStatus(name, "stale", msg)
    return (df, prov), SourceStatus(name, "ok", rows=len(df))
