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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.errors import DataError

COVERAGE = 0.9  # share of a window's days that must be present


@dataclass(frozen=True)
class Basket:
    """One sector's basket over the panel's dates (module formula), prepared so that the basket as known at an
    earlier date is read off without rebuilding it (`head`): per date x member (in symbol order), `weighted`
    = G_i,t if i is a constituent of the date's month, else 0; `members`, `present` (a return that day);
    `starts` (a month's first date); `first`: each symbol's first date with a return (position)."""

    dates: pd.DatetimeIndex
    symbols: pd.Index
    weighted: np.ndarray
    members: np.ndarray
    present: np.ndarray
    starts: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, sector_rows: pd.DataFrame) -> Basket:
        """The basket of one sector's `sector_returns` rows."""
        r = sector_rows.pivot_table(index="date", columns="symbol", values="log_return").sort_index()
        month = np.asarray(r.index.strftime("%Y-%m"))
        present = r.notna()
        # constituents: the members with a return on each month's first date, broadcast over the month
        first = present.groupby(month).head(1)
        members = first.set_axis(first.index.strftime("%Y-%m")).reindex(month).to_numpy()
        growth = np.exp(r.fillna(0.0).groupby(month).cumsum().to_numpy())  # prod(1 + r) = exp(sum of log r)
        seen = present.to_numpy()
        return cls(
            r.index,
            r.columns,
            np.ascontiguousarray(growth * members),
            members,
            seen,
            np.r_[True, month[1:] != month[:-1]],
            seen.argmax(axis=0),
        )

    def head(self, n: int) -> Basket:
        """The basket of the first `n` dates: the symbols with a return among them (as if built from those
        dates' rows alone)."""
        keep: slice | np.ndarray = np.flatnonzero(self.first < n)
        if len(keep) == len(self.symbols):
            keep = slice(None)  # every symbol: views, no copies
        return Basket(
            self.dates[:n],
            self.symbols[keep],
            np.ascontiguousarray(self.weighted[:n, keep]),
            self.members[:n, keep],
            self.present[:n, keep],
            self.starts[:n],
            self.first[keep],
        )

    def log_returns(self, min_members: int = 3) -> pd.Series:
        """ln(V_t / V_prev) per date (fraction); NaN with fewer than `min_members` constituents or reporting."""
        n = self.members.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = self.weighted.sum(axis=1) / n
        prev = np.r_[1.0, value[:-1]]
        prev[self.starts] = 1.0
        lr = np.log(value / prev)
        reporting = (self.present & self.members).sum(axis=1)
        lr[(n < min_members) | (reporting < min_members)] = np.nan
        return pd.Series(lr, index=self.dates)


def baskets(sector_returns: pd.DataFrame) -> dict[str, Basket]:
    """Per sector (sorted), its `Basket`."""
    return {str(sector): Basket.of(g) for sector, g in sector_returns.groupby("sector", sort=True)}


def basket_log_returns(sector_returns: pd.DataFrame, min_members: int = 3) -> pd.DataFrame:
    """Wide frame (date x sector) of the monthly-rebalanced equal-weight basket log returns (see module)."""
    return pd.DataFrame({s: b.log_returns(min_members) for s, b in baskets(sector_returns).items()})


def constituents(sector_returns: pd.DataFrame) -> pd.Series:
    """Per sector: the number of constituents of the latest month's basket (members with a return on the
    month's first date)."""
    return basket_constituents(baskets(sector_returns))


def basket_constituents(sector_baskets: Mapping[str, Basket]) -> pd.Series:
    """`constituents` from the sectors' `Basket`s: per sector with a return on the first date of the latest
    month (of any sector), the number of symbols with one that day (index: sector; name 'symbol')."""
    return constituent_counts({s: (b.dates, b.present.sum(axis=1)) for s, b in sector_baskets.items()})


def constituent_counts(reporting: Mapping[str, tuple[pd.DatetimeIndex, np.ndarray]]) -> pd.Series:
    """`basket_constituents` from each sector's dates and its number of symbols with a return on each."""
    last = max(dates[-1] for dates, _ in reporting.values())
    start = last.normalize().replace(day=1)
    first = min(dates[dates.searchsorted(start)] for dates, _ in reporting.values() if dates[-1] >= start)
    counts = {s: int(n[dates.get_loc(first)]) for s, (dates, n) in reporting.items() if first in dates}
    return pd.Series(counts, dtype="int64", name="symbol").rename_axis("sector")


def window_return(log_returns: pd.Series, end: pd.Timestamp, days: int) -> float:
    """exp(sum of the log returns dated in (end - days, end]) - 1; NaN below 90 % of the days present."""
    idx, start = log_returns.index, end - pd.Timedelta(days=days)
    if idx.is_monotonic_increasing:
        values = log_returns.to_numpy()[idx.searchsorted(start, side="right") : idx.searchsorted(end, side="right")]
    else:
        values = log_returns.to_numpy()[(idx > start) & (idx <= end)]
    return _compounded(values, days)


def _compounded(values: np.ndarray, days: int) -> float:
    """`window_return` of the log returns of a window of `days` days (NaN for a missing day)."""
    w = values[~np.isnan(values)]
    return float(np.expm1(w.sum())) if len(w) >= COVERAGE * days else np.nan


def relative_strength(
    baskets: pd.DataFrame, btc_log_returns: pd.Series, days: Sequence[int] = (7, 30, 90)
) -> tuple[pd.DataFrame, dict[int, float]]:
    """Per sector: return_Nd, vs_btc_Nd and rank_Nd (1 = strongest vs BTC; NaN rows unranked) for each
    horizon, sorted by the middle horizon; and BTC's own return per horizon. All windows end at the last
    basket date. `DataError` when there are no basket returns."""
    reported = baskets.dropna(how="all")
    if baskets.empty or reported.empty:
        raise DataError("sectors: no basket returns")
    end = reported.index[-1]
    btc = {d: window_return(btc_log_returns, end, d) for d in days}
    idx, values = baskets.index, baskets.to_numpy(dtype=float)
    out: dict[str, pd.Series] = {}
    for d in days:
        if idx.is_monotonic_increasing:  # the window's rows, (end - d, end]
            rows = values[idx.searchsorted(end - pd.Timedelta(days=d), "right") : idx.searchsorted(end, "right")]
            sec = pd.Series({s: _compounded(rows[:, k], d) for k, s in enumerate(baskets.columns)}, dtype=float)
        else:
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
