"""Sector rotation: fixed-constituent sector baskets rebalanced monthly, their returns relative to BTC, ranked.

Basket (per sector, per calendar month m):
    constituents  = the sector's symbols with a return on the month's first date (fixed for the month)
    weights       = equal, 1/n at that first date's open, then drifting with each member's price
    value         V_t = (1/n) sum_i G_i,t,   G_i,t = prod over the month's dates s <= t of (1 + r_i,s)
                  (r = exp(log return) - 1; a member without a return that day is carried at its last value)
    log return    ln(V_t / V_prev), V_prev = 1 on the month's first date      (fraction)
A day with fewer than `min_members` constituents reporting, or a month with fewer constituents, is NaN.

Equal weights, not market-cap weights: the recorded return panel (quantbai, 232 OKX perps) carries no
market caps. The only caps recorded (CoinGecko, in the crypto-sector-board snapshots) start on 2026-05-15,
after the monitor's reference date (cap weights taken from them would be look-ahead) and cover 50 of the
232 symbols (none of metaverse_gaming), so they cannot weight these baskets.

Over N days ending at the last basket date (windows of N calendar days: dates in (end - N, end]):
    return            = exp(sum of basket log returns) - 1                   (fraction)
    relative to BTC   = (1 + sector return) / (1 + BTC return) - 1
A horizon with fewer than 90 % of its days is NaN (not enough data), never a partial sum.

Breadth (`breadth`): on each date, the share of sectors whose N-day return beats BTC's (sectors with a
NaN horizon left out): 1 = every sector leads BTC (alt season), 0 = BTC leads them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capitulation.errors import DataError

COVERAGE = 0.9  # share of a window's days that must be present


def basket_log_returns(sector_returns: pd.DataFrame, min_members: int = 3) -> pd.DataFrame:
    """Wide frame (date x sector) of the monthly-rebalanced equal-weight basket log returns (see module)."""
    out = {}
    for sector, g in sector_returns.groupby("sector", sort=True):
        r = g.pivot_table(index="date", columns="symbol", values="log_return").sort_index()
        month = np.asarray(r.index.strftime("%Y-%m"))
        present = r.notna()
        # constituents: the members with a return on each month's first date, broadcast over the month
        first = present.groupby(month).head(1)
        members = first.set_axis(first.index.strftime("%Y-%m")).reindex(month).to_numpy()
        growth = np.exp(r.fillna(0.0).groupby(month).cumsum().to_numpy())  # prod(1 + r) = exp(sum of log r)
        n = members.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = (growth * members).sum(axis=1) / n
        prev = np.r_[1.0, value[:-1]]
        starts = np.r_[True, month[1:] != month[:-1]]
        prev[starts] = 1.0
        lr = np.log(value / prev)
        reporting = (present.to_numpy() & members).sum(axis=1)
        lr[(n < min_members) | (reporting < min_members)] = np.nan
        out[sector] = pd.Series(lr, index=r.index)
    return pd.DataFrame(out)


def constituents(sector_returns: pd.DataFrame) -> pd.Series:
    """Per sector: the number of constituents of the latest month's basket (members with a return on the
    month's first date)."""
    last = sector_returns["date"].max()
    month_start = sector_returns[sector_returns["date"] >= last.normalize().replace(day=1)]
    first = month_start[month_start["date"] == month_start["date"].min()]
    return first.groupby("sector")["symbol"].nunique()


def window_return(log_returns: pd.Series, end: pd.Timestamp, days: int) -> float:
    """exp(sum of the log returns dated in (end - days, end]) - 1; NaN below 90 % of the days present."""
    w = log_returns[(log_returns.index > end - pd.Timedelta(days=days)) & (log_returns.index <= end)].dropna()
    return float(np.expm1(w.sum())) if len(w) >= COVERAGE * days else np.nan


def relative_strength(
    baskets: pd.DataFrame, btc_log_returns: pd.Series, days: Sequence[int] = (7, 30, 90)
) -> tuple[pd.DataFrame, dict[int, float]]:
    """Per sector: return_Nd, vs_btc_Nd and rank_Nd (1 = strongest vs BTC; NaN rows unranked) for each
    horizon, sorted by the middle horizon; and BTC's own return per horizon. All windows end at the last
    basket date. `DataError` when there are no basket returns."""
    if baskets.empty or baskets.dropna(how="all").empty:
        raise DataError("sectors: no basket returns")
    end = baskets.dropna(how="all").index[-1]
    btc = {d: window_return(btc_log_returns, end, d) for d in days}
    out: dict[str, pd.Series] = {}
    for d in days:
        sec = pd.Series({s: window_return(baskets[s], end, d) for s in baskets.columns}, dtype=float)
        rel = (1.0 + sec) / (1.0 + btc[d]) - 1.0
        out[f"return_{d}d"], out[f"vs_btc_{d}d"] = sec, rel
        out[f"rank_{d}d"] = rel.rank(ascending=False, method="min")
    key = f"vs_btc_{days[len(days) // 2]}d"
    return pd.DataFrame(out).sort_values(key, ascending=False, na_position="last"), btc


def breadth(baskets: pd.DataFrame, btc_log_returns: pd.Series, days: int = 30) -> pd.Series:
    """Share of sectors beating BTC over the `days` calendar days ending at each basket date (fraction;
    NaN where no sector or BTC has `COVERAGE` of the window). Same windows as `relative_strength`:
    beating BTC <=> sum of the sector's log returns > BTC's."""
    need = int(np.ceil(COVERAGE * days))
    window = f"{days}D"
    sums = baskets.rolling(window, min_periods=need).sum()
    btc = btc_log_returns.reindex(baskets.index).rolling(window, min_periods=need).sum()
    rel = sums.sub(btc, axis=0)
    counted = rel.notna().sum(axis=1)
    share = (rel > 0).sum(axis=1) / counted.where(counted > 0)
    return share.where(btc.notna())
