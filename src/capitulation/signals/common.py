"""Helpers shared by the signals: closes, BTC's drawdowns, returns aligned to the NY close, spot and table
freshness from a snapshot.

The closes, drawdowns and aligned returns are histories prepared once per snapshot history
(`Snapshot.derived`)."""

from __future__ import annotations

import pandas as pd

from capitulation import tables
from capitulation.analytics import cross_asset as xa
from capitulation.analytics.events import OiSeries, Swing, ZigZag, oi_histories, zigzag
from capitulation.analytics.leverage import funding_groups
from capitulation.snapshot import Derived, Snapshot, cut_days, cut_times

BTC = "BTC-USD"


def _closes(snap: Snapshot, symbol: str) -> pd.Series:
    px = snap.tables["daily_prices"]
    s = px[px["symbol"] == symbol].set_index("date")["close"].sort_index()
    return s[~s.index.duplicated(keep="last")]


CLOSES = Derived("closes", _closes, cut_days)


def closes(snap: Snapshot, symbol: str) -> pd.Series:
    """Daily closes of `symbol` (USD), indexed by date; empty when absent. The same Series on every call:
    do not modify it."""
    if snap.get("daily_prices") is None:
        return pd.Series(dtype=float)
    return snap.derived(CLOSES, symbol)


def _wide(snap: Snapshot, symbols: tuple[str, ...]) -> pd.DataFrame:
    return xa.closes(snap.tables["daily_prices"], symbols)


def _wide_upto(wide: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    known = cut_days(wide, as_of)
    return known.loc[:, known.notna().any().to_numpy()]  # the symbols with a close by then


WIDE_CLOSES = Derived("wide_closes", _wide, _wide_upto)


def wide_closes(snap: Snapshot, symbols: tuple[str, ...]) -> pd.DataFrame:
    """`analytics.cross_asset.closes` of the snapshot's `daily_prices` (present) for `symbols`."""
    return snap.derived(WIDE_CLOSES, symbols)


def _pair(snap: Snapshot, symbols: tuple[str, ...], base: str, other: str) -> pd.DataFrame:
    return xa.aligned_returns(wide_closes(snap, symbols), base, other).dropna()


PAIR_RETURNS = Derived("aligned_returns", _pair, cut_days)


def aligned_returns(snap: Snapshot, symbols: tuple[str, ...], base: str, other: str) -> pd.DataFrame:
    """`analytics.cross_asset.aligned_returns` of `base` and `other` (two of `symbols`, both with closes in
    the snapshot's `daily_prices`; the pair's returns do not depend on the other symbols: `symbols` names the
    `wide_closes` they are taken from), NaN rows dropped: log returns between the dates on which both closed,
    dated by the later one."""
    return snap.derived(PAIR_RETURNS, symbols, base, other)


def _btc_zigzag(snap: Snapshot, threshold: float) -> ZigZag:
    return zigzag(closes(snap, BTC), threshold)


def _zigzag_upto(z: ZigZag, as_of: pd.Timestamp) -> ZigZag:
    return z.head(int(z.index.searchsorted(as_of - tables.DAY_CLOSE, side="right")))


BTC_ZIGZAG = Derived("btc_zigzag", _btc_zigzag, _zigzag_upto)


def btc_drawdowns(snap: Snapshot, threshold: float) -> list[Swing]:
    """`analytics.events.drawdowns(closes(snap, BTC), threshold)`: `DataError` with fewer than 2 closes."""
    return snap.derived(BTC_ZIGZAG, threshold).swings()


def _oi(snap: Snapshot) -> list[OiSeries]:
    return oi_histories(snap.tables["perp_metrics"], closes(snap, BTC))


def _oi_upto(histories: list[OiSeries], as_of: pd.Timestamp) -> list[OiSeries]:
    out = []
    for h in histories:
        oi_btc = cut_times(h.oi_btc, as_of)
        if len(oi_btc):
            out.append(OiSeries(h.name, oi_btc, None if h.oi_usd is None else cut_times(h.oi_usd, as_of)))
    return out


OI_HISTORIES = Derived("oi_histories", _oi, _oi_upto)


def oi_series(snap: Snapshot) -> list[OiSeries]:
    """`analytics.events.oi_histories` of the snapshot's `perp_metrics` (present), BTC converted at its closes."""
    return snap.derived(OI_HISTORIES)


def _funding(snap: Snapshot) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    return funding_groups(snap.tables["perp_metrics"])


def _funding_upto(
    groups: list[tuple[tuple[str, str], pd.DataFrame]], as_of: pd.Timestamp
) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    cut = [(k, g[g["timestamp"] <= as_of]) for k, g in groups]
    return [(k, g) for k, g in cut if len(g)]


FUNDING_GROUPS = Derived("funding_groups", _funding, _funding_upto)


def funding_rows(snap: Snapshot) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """`analytics.leverage.funding_groups` of the snapshot's `perp_metrics` (present)."""
    return snap.derived(FUNDING_GROUPS)


def _liquidations(snap: Snapshot) -> pd.DataFrame:
    liq = snap.tables["liquidations"]
    agg = liq[(liq["venue"] == tables.AGGREGATE) & (liq["symbol"] == "BTC")].dropna(subset=["long_usd"])
    return agg.set_index("date").sort_index()[["long_usd", "short_usd", "total_usd"]]


AGGREGATE_LIQUIDATIONS = Derived("aggregate_liquidations", _liquidations, cut_days)


def aggregate_liquidations(snap: Snapshot) -> pd.DataFrame:
    """The all-exchange aggregate's daily BTC liquidations (USD: long_usd, short_usd, total_usd by day; the
    days with a long figure) of the snapshot's `liquidations` (present); empty when it has none."""
    return snap.derived(AGGREGATE_LIQUIDATIONS)


def spot(snap: Snapshot) -> float | None:
    """Last BTC-USD close at or before as_of (USD), None without BTC prices."""
    s = closes(snap, BTC)
    return float(s.iloc[-1]) if not s.empty else None


def drawdown(snap: Snapshot, days: int) -> float | None:
    """BTC's last close against its highest close of the last `days` days (fraction, <= 0); None without
    BTC prices."""
    s = closes(snap, BTC)
    if s.empty:
        return None
    recent = s[s.index > s.index[-1] - pd.Timedelta(days=days)]
    return float(recent.iloc[-1] / recent.max() - 1.0)
