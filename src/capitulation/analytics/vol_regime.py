"""Implied-vol stress from a daily vol index (Deribit DVOL): its level against its own trailing year.

For a daily close series v (fraction) and BTC daily closes p, at a day d:

    recent_high   = max v over the `window_days` ending at d          (the spike, not just today's close)
    rank          = mid-rank of recent_high among the trailing `history_days` closes:
                    (count(< recent_high) + count(== recent_high) / 2) / n                (0..1; flat -> 0.5)
    change        = v(d) - v(d - window_days)                          (vol points / 100)
    btc_return    = p(d) / p(d - window_days) - 1                      (fraction)

Implied vol also rises into melt-ups (calls bid at a top), so the stress reading needs BTC falling over the
same window: `stressed = rank >= threshold and btc_return < 0`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class VolState:
    """The vol index at day `date` (its close, fraction), the window's high and its rank in the trailing
    history, the window's change and BTC's return over it; `history` is the number of closes ranked."""

    date: pd.Timestamp
    close: float
    recent_high: float
    rank: float
    change: float
    btc_return: float
    history: int


def _at_or_before(s: pd.Series, day: pd.Timestamp) -> float:
    before = s[s.index <= day]
    return float(before.iloc[-1]) if len(before) else math.nan


def vol_state(
    vol: pd.Series, btc: pd.Series, day: pd.Timestamp, window_days: int = 14, history_days: int = 365
) -> VolState | None:
    """The `VolState` at `day` from daily series indexed by date (00:00 UTC); None when `vol` has no close
    on or before `day`. Only closes up to `day` are used."""
    v = vol[vol.index <= day].dropna()
    if v.empty:
        return None
    last = v.index[-1]
    window = v[v.index > last - pd.Timedelta(days=window_days)]
    year = v[v.index > last - pd.Timedelta(days=history_days)]
    high = float(window.max())
    start = last - pd.Timedelta(days=window_days)
    return VolState(
        date=last,
        close=float(v.iloc[-1]),
        recent_high=high,
        rank=float(((year < high).sum() + (year == high).sum() / 2) / len(year)),
        change=float(v.iloc[-1]) - _at_or_before(v, start),
        btc_return=_at_or_before(btc, last) / _at_or_before(btc, start) - 1.0,
        history=len(year),
    )


def ranks_at(vol: pd.Series, btc: pd.Series, days: Iterable[pd.Timestamp], **kw: int) -> np.ndarray:
    """`VolState.rank` at each of `days` (NaN where the index has no history yet), e.g. at past troughs."""
    states = [vol_state(vol, btc, d, **kw) for d in days]
    return np.array([np.nan if s is None else s.rank for s in states])
