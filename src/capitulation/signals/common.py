"""Helpers shared by the signals: BTC closes, spot and table freshness from a snapshot."""

from __future__ import annotations

import pandas as pd

from capitulation import tables
from capitulation.snapshot import Snapshot

BTC = "BTC-USD"


def closes(snap: Snapshot, symbol: str) -> pd.Series:
    """Daily closes of `symbol` (USD), indexed by date; empty when absent."""
    px = snap.get("daily_prices")
    if px is None:
        return pd.Series(dtype=float)
    s = px[px["symbol"] == symbol].set_index("date")["close"].sort_index()
    return s[~s.index.duplicated(keep="last")]


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
