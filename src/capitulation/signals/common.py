"""Helpers shared by the signals: BTC closes, its drawdowns, spot and table freshness from a snapshot.

The closes and the drawdowns are histories prepared once per snapshot history (`Snapshot.derived`)."""

from __future__ import annotations

import pandas as pd

from capitulation import tables
from capitulation.analytics.events import Swing, ZigZag, zigzag
from capitulation.snapshot import Derived, Snapshot, cut_days

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


def _btc_zigzag(snap: Snapshot, threshold: float) -> ZigZag:
    return zigzag(closes(snap, BTC), threshold)


def _zigzag_upto(z: ZigZag, as_of: pd.Timestamp) -> ZigZag:
    return z.head(int(z.index.searchsorted(as_of - tables.DAY_CLOSE, side="right")))


BTC_ZIGZAG = Derived("btc_zigzag", _btc_zigzag, _zigzag_upto)


def btc_drawdowns(snap: Snapshot, threshold: float) -> list[Swing]:
    """`analytics.events.drawdowns(closes(snap, BTC), threshold)`: `DataError` with fewer than 2 closes."""
    return snap.derived(BTC_ZIGZAG, threshold).swings()


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


def age_days(snap: Snapshot, table: str) -> float | None:
    """Days between the table's latest row and as_of; None when the table is absent."""
    df = snap.get(table)
    if df is None:
        return None
    latest = df[tables.spec(table).time_column].max()
    return (snap.as_of - latest).total_seconds() / 86400.0


def pct(x: float) -> str:
    """A fraction as a signed percent string: -0.123 -> '-12.3%'."""
    return f"{x * 100:+.1f}%"


def usd(x: float) -> str:
    """USD with a magnitude suffix: 1.23e9 -> '$1.23B'."""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.2f}{suf}"
    return f"${x:,.2f}"
