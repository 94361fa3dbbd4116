"""Signal 5, sector rotation: in a fall, has crypto leadership narrowed to a few sectors (or to BTC alone)?

The sector table (`sectors`) ranks monthly-rebalanced equal-weight baskets (`analytics.sectors`) by their
return relative to BTC over 7/30/90 days. BTC is the return panel's own BTC perp when the panel has it
(same OKX 16:00-UTC candles as the baskets), otherwise BTC-USD's daily closes. The thesis names five hot
sectors; the table says which of them the recorded data covers, and a sector without data is "not enough
data", never a zero.

The verdict holds when the breadth (the share of sectors beating BTC over 30 days) is at or below the
breadth at the median past trough (confirmed 20 %+ drawdowns before as_of: walk-forward) while BTC is in a
fall: money has left the alt sectors but for a few narratives. At a top the sectors lead (alt season).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
import pandas as pd

from capitulation.analytics.sectors import Basket, baskets, breadth, constituent_counts, relative_strength
from capitulation.formats import pct
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, btc_drawdowns, closes, drawdown
from capitulation.snapshot import Derived, Snapshot, cut_days
from capitulation.tables import DAY_CLOSE
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "sector_rotation", "Sector rotation"
DAYS = (7, 30, 90)
PANEL_BTC = "BTC"
# The sectors the thesis names: the source label that stands for each (None: not covered) and why.
NAMED_SECTORS: dict[str, tuple[str | None, str]] = {
    "prediction markets": (
        "prediction-markets",
        "CoinGecko category prediction-markets (live source); no such label in the recorded quantbai taxonomy",
    ),
    "RWA": (
        "real-world-assets-rwa",
        "CoinGecko category real-world-assets-rwa (live source); not in the recorded quantbai taxonomy",
    ),
    "L2": ("eth_scaling", "quantbai eth_scaling (Ethereum layer 2s); live: CoinGecko layer-2"),
    "GameFi": ("metaverse_gaming", "quantbai metaverse_gaming; live: CoinGecko gaming"),
    "SocialFi": ("socialfi", "CoinGecko category socialfi (live source); not in the recorded quantbai taxonomy"),
}
"""Thesis sector -> (the `sector` label its rows carry, where the label comes from)."""
EXCLUDED = {"OTHER": "quantbai's residual bucket of near-dead chains, not a sector"}
WEIGHTING = (
    "equal weight, fixed constituents rebalanced monthly: the return panel has no market caps, and the "
    "only recorded caps (CoinGecko, from 2026-05-15, 50 of 232 symbols) would be look-ahead before then"
)


@dataclass(frozen=True)
class Thresholds:
    # None: the median breadth (share of sectors beating BTC over 30 days) at past confirmed troughs of 20 %+
    # drawdowns, learned from the history before as_of; `fallback_breadth` (at most a fifth of the sectors
    # lead) while fewer than `min_troughs` troughs have breadth data.
    max_breadth: float | None = None
    fallback_breadth: float = 0.2
    min_troughs: int = 4
    # Narrowing only means capitulation in a fall: BTC 10 %+ below its 90-day high (as signal 1).
    min_drawdown: float = 0.10
    drawdown_days: int = 90
    max_age_days: float = 3.0


def _panel_btc(snap: Snapshot) -> pd.Series:
    sr = snap.tables["sector_returns"]
    return sr[sr["symbol"] == PANEL_BTC].set_index("date")["log_return"].sort_index()


def _sector_baskets(snap: Snapshot) -> dict[str, Basket]:
    sr = snap.tables["sector_returns"]
    return baskets(sr[~sr["sector"].isin(list(EXCLUDED))])


@dataclass(frozen=True)
class SectorSeries:
    """One sector's basket as known at any as_of, read off without rebuilding it: its `dates`, their
    `positions` in the union of all sectors' dates, `reporting` (its symbols with a return, per date) and its
    log returns (`Basket.log_returns`) per stretch of dates over which its symbols stay the same: `returns[e]`
    are those of the basket of its first `ends[e]` dates. The basket of its first n dates has the symbols of
    the first stretch with ends >= n, so its log returns are that stretch's first n values, bit for bit (the
    same sums over the same symbols)."""

    dates: pd.DatetimeIndex
    positions: np.ndarray
    reporting: np.ndarray
    ends: np.ndarray
    returns: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, basket: Basket, union: pd.DatetimeIndex) -> SectorSeries:
        ends = np.r_[np.unique(basket.first)[1:], len(basket.dates)]  # where a symbol first reports: a new stretch
        returns = tuple(basket.head(int(e)).log_returns().to_numpy() for e in ends)
        return cls(basket.dates, union.get_indexer(basket.dates), basket.present.sum(axis=1), ends, returns)

    def head(self, n: int) -> SectorSeries:
        """The sector as known on its first `n` dates."""
        e = int(self.ends.searchsorted(n))  # the stretch holding date n
        returns = (*self.returns[:e], self.returns[e][:n])
        return SectorSeries(self.dates[:n], self.positions[:n], self.reporting[:n], np.r_[self.ends[:e], n], returns)


@dataclass(frozen=True)
class SectorReturns:
    """Every sector's `SectorSeries` (the excluded buckets left out) and the union of their `dates`."""

    dates: pd.DatetimeIndex
    sectors: dict[str, SectorSeries]

    def frame(self) -> pd.DataFrame:
        """Wide (date x sector) basket log returns: `analytics.sectors.basket_log_returns` of the rows known."""
        cols = {}
        for sector, sec in self.sectors.items():
            cols[sector] = np.full(len(self.dates), np.nan)
            cols[sector][sec.positions] = sec.returns[-1]
        return pd.DataFrame(cols, index=self.dates)

    def constituents(self) -> pd.Series:
        """`analytics.sectors.basket_constituents` of the baskets known."""
        return constituent_counts({s: (sec.dates, sec.reporting) for s, sec in self.sectors.items()})


def _sector_returns(snap: Snapshot) -> SectorReturns:
    kept = _sector_baskets(snap)
    union = reduce(pd.Index.union, (b.dates for b in kept.values())) if kept else pd.DatetimeIndex([], tz="UTC")
    return SectorReturns(union, {s: SectorSeries.of(b, union) for s, b in kept.items()})


def _returns_upto(prepared: SectorReturns, as_of: pd.Timestamp) -> SectorReturns:
    end = as_of - DAY_CLOSE
    out = {}
    for sector, sec in prepared.sectors.items():
        n = int(sec.dates.searchsorted(end, side="right"))
        if n:
            out[sector] = sec.head(n)
    return SectorReturns(prepared.dates[: prepared.dates.searchsorted(end, side="right")], out)


PANEL_BTC_RETURNS = Derived("sector_panel_btc", _panel_btc, cut_days)
"""The return panel's own BTC log returns, by date."""
SECTOR_RETURNS = Derived("sector_returns", _sector_returns, _returns_upto)
"""Each sector's basket log returns and constituents (`SectorReturns`)."""


@dataclass(frozen=True)
class Sectors:
    """Ranked sectors (index: label; return_Nd, vs_btc_Nd, rank_Nd, members), BTC's own returns, the
    thesis-sector coverage (one row per named sector) and where the numbers come from."""

    table: pd.DataFrame
    btc: dict[int, float]
    end: pd.Timestamp
    benchmark: str
    coverage: pd.DataFrame
    tables: tuple[str, ...]  # the snapshot tables the figures come from
    breadth: pd.Series  # share of sectors beating BTC over 30 days, per basket date (analytics.sectors.breadth)


def sectors(snap: Snapshot, th: Thresholds = Thresholds()) -> Sectors | str:
    """The sector table for `snap`, or why there is none."""
    sr = snap.get("sector_returns")
    if sr is None:
        return "no sector returns"
    age = snap.age_days("sector_returns")
    if age is not None and age > th.max_age_days:
        return f"sector returns are {age:.0f} days old (latest {sr['date'].max():%Y-%m-%d})"
    panel_btc = snap.derived(PANEL_BTC_RETURNS)
    if not panel_btc.empty:
        btc, benchmark = panel_btc, "BTC perp in the same return panel (same OKX candles as the baskets)"
        used: tuple[str, ...] = ("sector_returns",)
    else:
        px = closes(snap, BTC)
        if px.empty:
            return "no BTC returns (neither in the sector panel nor BTC-USD closes)"
        btc, benchmark = np.log(px).diff().dropna(), "BTC-USD daily closes (UTC days; the panel has no BTC)"
        used = ("sector_returns", "daily_prices")
    prepared = snap.derived(SECTOR_RETURNS)
    returns = prepared.frame()
    table, btc_ret = relative_strength(returns, btc, DAYS)
    table["members"] = prepared.constituents().reindex(table.index)
    end = sr["date"].max()
    rows = []
    for name, (label, note) in NAMED_SECTORS.items():
        r = table.loc[label] if label is not None and label in table.index else None
        covered = r is not None and bool(np.isfinite(r["vs_btc_30d"]))
        row: dict[str, object] = {
            "sector": name,
            "label": label,
            "status": "covered" if covered else "not enough data",
            "members": None if r is None else r["members"],
            "note": note,
        }
        for d in DAYS:
            row[f"vs_btc_{d}d"] = None if r is None or not np.isfinite(r[f"vs_btc_{d}d"]) else float(r[f"vs_btc_{d}d"])
        rows.append(row)
    return Sectors(table, btc_ret, end, benchmark, pd.DataFrame(rows), used, breadth(returns, btc, 30))


def fit(snap: Snapshot, th: Thresholds = Thresholds()) -> Thresholds:
    """`th` with its learned breadth bar fixed at the value `snap`'s history gives; unchanged when configured
    or without sector data at `snap`."""
    if th.max_breadth is not None:
        return th
    sec = sectors(snap, th)
    return th if isinstance(sec, str) else replace(th, max_breadth=_breadth_bar(snap, sec, th)[0])


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    sec = sectors(snap, th)
    if isinstance(sec, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, sec)
    rs = sec.table.dropna(subset=["vs_btc_30d"])
    if rs.empty:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no sector with 30 days of returns")
    t = sec.tables
    leaders = rs[rs["vs_btc_30d"] > 0]
    metrics = [
        Metric(f"{s}_vs_btc_{d}d", float(r[f"vs_btc_{d}d"]), "fraction", t) for s, r in rs.iterrows() for d in DAYS
    ]
    metrics += [
        Metric("sectors_beating_btc_30d", float(len(leaders)), "count", t),
        Metric("btc_return_30d", sec.btc[30], "fraction", t),
    ]
    evidence = [
        f"#{int(r.rank_30d)} {s} ({int(r.members) if pd.notna(r.members) else '?'} coins): vs BTC "
        + ", ".join(f"{d}d {pct(r[f'vs_btc_{d}d'])}" if pd.notna(r[f"vs_btc_{d}d"]) else f"{d}d n/a" for d in DAYS)
        for s, r in rs.iterrows()
    ]
    cov = sec.coverage
    covered = cov[cov["status"] == "covered"]
    evidence.append(
        "thesis sectors covered: "
        + (", ".join(f"{r.sector} ({r.label})" for r in covered.itertuples()) or "none")
        + f"; not enough data for: {', '.join(cov.loc[cov['status'] != 'covered', 'sector']) or 'none'}"
    )
    evidence += [
        f"BTC over 7/30/90d: {', '.join(pct(sec.btc[d]) for d in DAYS)} ({sec.benchmark}); to {sec.end:%Y-%m-%d}",
        f"baskets: {WEIGHTING}; left out: " + "; ".join(f"{k} ({v})" for k, v in EXCLUDED.items()),
    ]
    share = len(leaders) / len(rs)
    bar, why = _breadth_bar(snap, sec, th)
    fall = drawdown(snap, th.drawdown_days)
    falling = fall is not None and fall <= -th.min_drawdown
    metrics += [
        Metric("breadth_30d", share, "fraction of sectors beating BTC", t),
        Metric("breadth_threshold", bar, "fraction", t),
        Metric(f"btc_drawdown_{th.drawdown_days}d", np.nan if fall is None else fall, "fraction", ("daily_prices",)),
    ]
    evidence += [
        f"breadth {share:.0%} ({len(leaders)} of {len(rs)} sectors beat BTC over 30d); bar {bar:.0%}: {why}",
        "BTC no price to tell a fall"
        if fall is None
        else f"BTC {pct(fall)} from its {th.drawdown_days}-day high"
        + ("" if falling else f": not a fall ({th.min_drawdown:.0%}+ down), so narrowing is not capitulation"),
    ]
    holds = share <= bar and falling
    if leaders.empty:
        best = rs.iloc[0]
        headline = f"no sector beats BTC over 30d; closest: {rs.index[0]} {pct(best.vs_btc_30d)}"
    else:
        named = ", ".join(f"{s} {pct(r.vs_btc_30d)}" for s, r in leaders.head(3).iterrows())
        headline = f"{len(leaders)} of {len(rs)} sectors beat BTC over 30d; leading: {named}"
    if fall is not None:
        headline += f"; BTC {pct(fall)} from its {th.drawdown_days}d high"
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))


def _breadth_bar(snap: Snapshot, sec: Sectors, th: Thresholds) -> tuple[float, str]:
    """The breadth at or below which leadership counts as narrow, and where that number comes from."""
    if th.max_breadth is not None:
        return th.max_breadth, "configured"
    history, btc = sec.breadth.dropna(), closes(snap, BTC)
    swings = btc_drawdowns(snap, 0.2) if len(btc) > 1 and not history.empty else []
    troughs = [
        float(history.iloc[history.index.searchsorted(sw.trough_date, "right") - 1])  # the last up to the trough
        for sw in swings
        if sw.confirmed and history.index[0] <= sw.trough_date
    ]
    if len(troughs) < th.min_troughs:
        return th.fallback_breadth, f"fallback: {len(troughs)} past troughs with sector data (need {th.min_troughs})"
    return float(np.median(troughs)), f"median breadth at the {len(troughs)} past confirmed troughs of 20%+ drawdowns"
