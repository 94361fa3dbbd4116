"""Leverage flush: open interest (OI) against price, in coin (BTC) and in USD terms.

USD OI falls mechanically when price falls, so a USD measure can call a flush that has not happened;
the decision is taken in BTC. Over a lookback window ending at the last row:

    peak       = the window's highest OI
    base       = the lowest OI before the peak (the low the build-up started from)
    flush      = (peak - now) / (peak - base)     fraction of the build-up removed (can be < 0 or > 1)
    now/peak   = now / peak                       fraction of the peak still open
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.errors import DataError
from capitulation.tables import AGGREGATE, PERP_METRICS


@dataclass(frozen=True)
class Flush:
    unit: str
    peak_time: pd.Timestamp
    peak: float
    base_time: pd.Timestamp
    base: float
    now_time: pd.Timestamp
    now: float
    flush_ratio: float
    now_over_peak: float


def flush_ratio(oi: pd.Series, lookback_days: int = 180, unit: str = "BTC") -> Flush:
    """Flush of a time-indexed OI series (see module formula) over the last `lookback_days`."""
    s = oi.dropna()
    if len(s) < 3:
        raise DataError(f"leverage: need at least 3 OI observations in {unit}, got {len(s)}")
    s = s[s.index >= s.index[-1] - pd.Timedelta(days=lookback_days)]
    peak_t = s.idxmax()
    before = s[s.index <= peak_t]
    base_t = before.idxmin()
    peak, base, now = float(s[peak_t]), float(s[base_t]), float(s.iloc[-1])
    built = peak - base
    ratio = (peak - now) / built if built > 0 else math.nan
    return Flush(unit, peak_t, peak, base_t, base, s.index[-1], now, ratio, now / peak)


def oi_vs_price(oi_btc: pd.Series, price: pd.Series, days: tuple[int, ...] = (1, 7, 30)) -> pd.DataFrame:
    """Percent-change (fraction) of OI in BTC and of price over each horizon, ending at the last row.

    Both series are time-indexed; each horizon compares the last value with the last value at or before
    (end - days). Rows: days; columns: oi_change, price_change (NaN where the history is too short).
    """
    end = min(oi_btc.index[-1], price.index[-1])
    rows = []
    for d in days:
        start = end - pd.Timedelta(days=d)
        rows.append((d, _change(oi_btc, start, end), _change(price, start, end)))
    return pd.DataFrame(rows, columns=["days", "oi_change", "price_change"]).set_index("days")


def _change(s: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> float:
    a, b = s[s.index <= start], s[s.index <= end]
    if a.empty or b.empty:
        return np.nan
    return float(b.iloc[-1] / a.iloc[-1] - 1.0)


def annualised_funding(funding_rate: pd.Series, interval_h: float = 8.0, days: int = 30) -> float:
    """Mean funding over the last `days`, annualised: mean rate x (24 / interval_h) x 365 (fraction/yr)."""
    s = funding_rate.dropna()
    if s.empty:
        return math.nan
    s = s[s.index > s.index[-1] - pd.Timedelta(days=days)]
    return float(s.mean() * 24.0 / interval_h * 365.0)


def venue_summary(perps: pd.DataFrame, as_of: pd.Timestamp, max_age_days: float = 2.0) -> pd.DataFrame:
    """Latest OI and funding per (venue, symbol) from `perp_metrics`, with its age and freshness.

    Columns: venue, symbol, oi_time, oi_btc, oi_usd, funding_time, funding_rate (fraction per interval),
    funding_interval_h, age_days (of the OI), fresh (age <= max_age_days).
    """
    rows = []
    for (venue, symbol), g in perps.groupby(["venue", "symbol"], sort=True):
        oi = g.dropna(subset=["oi_usd"]).sort_values("timestamp")
        fu = g.dropna(subset=["funding_rate"]).sort_values("timestamp")
        if oi.empty and fu.empty:
            continue
        last_oi = oi.iloc[-1] if not oi.empty else None
        last_fu = fu.iloc[-1] if not fu.empty else None
        age = PERP_METRICS.age_days(as_of, last_oi["timestamp"]) if last_oi is not None else math.nan
        rows.append(
            {
                "venue": venue,
                "symbol": symbol,
                "oi_time": None if last_oi is None else last_oi["timestamp"],
                "oi_btc": math.nan if last_oi is None else float(last_oi["oi_btc"]),
                "oi_usd": math.nan if last_oi is None else float(last_oi["oi_usd"]),
                "funding_time": None if last_fu is None else last_fu["timestamp"],
                "funding_rate": math.nan if last_fu is None else float(last_fu["funding_rate"]),
                "funding_interval_h": math.nan if last_fu is None else float(last_fu["funding_interval_h"]),
                "age_days": age,
                "fresh": bool(age <= max_age_days),
            }
        )
    return pd.DataFrame(rows)


def oi_weighted_funding(summary: pd.DataFrame) -> float:
    """Annualised funding weighted by USD OI over fresh single venues (all-exchange aggregates left out):
    sum(w x rate x 24/interval x 365) / sum(w)."""
    venues = summary[summary["fresh"] & (summary["venue"] != AGGREGATE)]
    s = venues.dropna(subset=["oi_usd", "funding_rate", "funding_interval_h"])
    if s.empty:
        return math.nan
    annual = s["funding_rate"] * 24.0 / s["funding_interval_h"] * 365.0
    return float((annual * s["oi_usd"]).sum() / s["oi_usd"].sum())


FUNDING_PRIORITY: tuple[tuple[str, str], ...] = (("binance", "BTCUSDT"), (AGGREGATE, "BTC-FR-AVG"))
"""Funding histories in order of preference: Binance's own BTCUSDT rate (the deepest perp; its daily mean
back to 2019), then the cross-venue average (2022-05 on); other venues after, by name."""


@dataclass(frozen=True)
class FundingHistory:
    """One venue's funding rates (fraction per interval) indexed by time, with its interval in hours."""

    venue: str
    symbol: str
    rates: pd.Series
    interval_h: float


def funding_groups(perps: pd.DataFrame) -> list[tuple[tuple[str, str], pd.DataFrame]]:
    """The rows of `perp_metrics` with a funding rate and interval, per (venue, symbol) in table order: the
    `FUNDING_PRIORITY` ones first in that order, then the others by name."""
    f = perps.dropna(subset=["funding_rate", "funding_interval_h"])
    rank = {k: i for i, k in enumerate(FUNDING_PRIORITY)}
    return sorted(f.groupby(["venue", "symbol"]), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))


def funding_history(perps: pd.DataFrame, as_of: pd.Timestamp, max_age_days: float) -> FundingHistory | None:
    """The first funding history in `FUNDING_PRIORITY` order (then the other venues) whose latest rate is at
    most `max_age_days` old at `as_of`; else the freshest one (the caller judges its age); None without
    any funding rows."""
    return pick_funding(funding_groups(perps[perps["timestamp"] <= as_of]), as_of, max_age_days)


def pick_funding(
    groups: list[tuple[tuple[str, str], pd.DataFrame]], as_of: pd.Timestamp, max_age_days: float
) -> FundingHistory | None:
    """`funding_history` from `funding_groups` of the rows up to `as_of` (each group's interval: its last row's)."""
    found = [
        FundingHistory(
            v, s, g.set_index("timestamp")["funding_rate"].sort_index(), float(g["funding_interval_h"].iloc[-1])
        )
        for (v, s), g in groups
    ]
    if not found:
        return None
    fresh = [h for h in found if PERP_METRICS.age_days(as_of, h.rates.index[-1]) <= max_age_days]
    return fresh[0] if fresh else max(found, key=lambda h: h.rates.index[-1])
