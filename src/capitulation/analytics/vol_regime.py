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


def vol_state(
    vol: pd.Series, btc: pd.Series, day: pd.Timestamp, window_days: int = 14, history_days: int = 365
) -> VolState | None:
    """The `VolState` at `day` from daily series indexed by date (00:00 UTC, ascending); None when `vol` has no
    close on or before `day`. Only closes up to `day` are used."""
    return _states(vol, btc, [day], window_days, history_days)[0]


def ranks_at(vol: pd.Series, btc: pd.Series, days: Iterable[pd.Timestamp], **kw: int) -> np.ndarray:
    """`VolState.rank` at each of `days` (NaN where the index has no history yet), e.g. at past troughs."""
    states = _states(vol, btc, list(days), **kw)
    return np.array([np.nan if s is None else s.rank for s in states])


def _states(
    vol: pd.Series, btc: pd.Series, days: list[pd.Timestamp], window_days: int = 14, history_days: int = 365
) -> list[VolState | None]:
    """`vol_state` at each of `days`, the series' values taken out once."""
    known = np.flatnonzero(vol.notna().to_numpy())  # positions of the closes (NaN left out)
    t, v = vol.index[known], vol.to_numpy(dtype=float)[known]
    btc_v = btc.to_numpy(dtype=float)

    def btc_at(day: pd.Timestamp) -> float:  # the last close at or before `day`
        n = int(btc.index.searchsorted(day, "right"))
        return float(btc_v[n - 1]) if n else math.nan

    out: list[VolState | None] = []
    for day in days:
        n = int(t.searchsorted(day, "right"))  # the closes up to `day`: [0, n)
        if not n:
            out.append(None)
            continue
        last = t[n - 1]
        start = last - pd.Timedelta(days=window_days)
        window = v[t.searchsorted(start, "right") : n]
        year = v[t.searchsorted(last - pd.Timedelta(days=history_days), "right") : n]
        high = float(window.max())
        at_start = int(t.searchsorted(start, "right"))  # the closes up to the window's start
        out.append(
            VolState(
                date=last,
                close=float(v[n - 1]),
                recent_high=high,
                rank=float(((year < high).sum() + (year == high).sum() / 2) / len(year)),
                change=float(v[n - 1]) - (float(v[at_start - 1]) if at_start else math.nan),
                btc_return=btc_at(last) / btc_at(start) - 1.0,
                history=len(year),
            )
        )
    return out
