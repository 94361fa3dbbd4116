"""Signal 1, leverage flush: has the leveraged OI built since the last low been blown out (in BTC)?

The OI history is the most direct one that is fresh at as_of (`analytics.events.current_oi`): a venue's own
BTC count (Binance BTCUSDT, 8h, 2025-08 on), else the all-exchange aggregates in USD converted at the BTC
close known then (CoinGlass 2020-02..2025-09, the older aggregate 2019-03..2024-11). The verdict holds
when the share of the BTC-denominated build-up removed (`analytics.leverage.flush_ratio`) reaches the
threshold the event study sets on the snapshot's own history (confirmed declines only: the open one
never feeds its own bar) while BTC is in a fall (a long flush; coin OI falling in a rally is shorts
covering). Observed long liquidations (`liquidations`) and funding are the evidence
beside it: the day's and the 3-day sum against their trailing one-year distribution.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from capitulation.analytics import events
from capitulation.analytics.leverage import annualised_funding, flush_ratio, oi_vs_price, pick_funding
from capitulation.formats import pct, usd
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import (
    BTC,
    aggregate_liquidations,
    btc_drawdowns,
    closes,
    drawdown,
    funding_rows,
    oi_series,
)
from capitulation.snapshot import Snapshot
from capitulation.tables import LIQUIDATIONS, PERP_METRICS
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "leverage_flush", "Leverage flush"


@dataclass(frozen=True)
class Thresholds:
    # None: taken from the event study on the snapshot's own history (the lower quartile of the flush
    # ratios at the troughs of past confirmed declines that ended in an OI flush); `fallback` when fewer than
    # four such declines are known (50 %: half the build-up gone).
    flush_ratio: float | None = None
    fallback: float = 0.5
    lookback_days: int = 180  # the build-up since the last low: a half-year, about one leg of a cycle
    max_age_days: float = 2.0  # OI and funding older than two days are not "now"
    min_history_days: float = 30.0  # a shorter OI history cannot show a build-up and its removal
    liq_window_days: int = 3  # liquidation cascades settle within a few days
    liq_history_days: int = 365  # the trailing year the liquidations are ranked in
    min_liq_days: int = 90  # days of observed liquidations needed before a percentile means anything
    liq_max_age_days: float = 2.0
    # A long flush happens in a fall: BTC at least 10 % below its 90-day high (a correction by the usual
    # market definition, as signal 2). Coin OI falling in a rally is shorts covering, not longs flushed: on
    # the recorded history the flush ratio alone reached the bar at 4 of 15 pre-decline peaks since 2020.
    min_drawdown: float = 0.10
    drawdown_days: int = 90


@dataclass(frozen=True)
class Study:
    """The event study on a snapshot: one row per drawdown (see analytics.events.study)."""

    table: pd.DataFrame
    flushes: int
    known: int
    threshold: float | None


def event_study(snap: Snapshot, threshold: float = 0.2) -> Study | None:
    """Every BTC drawdown of at least `threshold` in the snapshot with OI and funding into its trough."""
    perps, btc = snap.get("perp_metrics"), closes(snap, BTC)
    if perps is None or len(btc) < 2:
        return None
    fh = pick_funding(funding_rows(snap), snap.as_of, max_age_days=np.inf)  # = leverage.funding_history
    funding = fh.rates if fh is not None else None
    table = events.study(btc_drawdowns(snap, threshold), oi_series(snap), funding)
    flushes, known = events.flush_share(table)
    return Study(table, flushes, known, events.flush_threshold(table))


@dataclass(frozen=True)
class Liquidations:
    """Observed long liquidations (USD) of the last day and the last `window` days, each with its
    percentile rank (fraction) in the trailing year's days / rolling windows."""

    last_date: pd.Timestamp
    day_usd: float
    day_rank: float
    window_usd: float
    window_rank: float
    window: int
    days: int


def observed_long_liquidations(snap: Snapshot, th: Thresholds) -> Liquidations | str:
    """The all-exchange long liquidations at as_of against their trailing year, or why there are none.

    rank = share of the trailing year's values (days, or rolling `window`-day sums) at or below today's.
    """
    if snap.get("liquidations") is None:
        return "no observed liquidations recorded"
    s = aggregate_liquidations(snap)["long_usd"]
    if s.empty:
        return "no all-exchange BTC long liquidations recorded"
    age = LIQUIDATIONS.age_days(snap.as_of, s.index[-1])  # a day's total is known at its end
    if age > th.liq_max_age_days:
        return f"observed liquidations end {s.index[-1]:%Y-%m-%d}, {age:.0f} days before as_of"
    year = s[s.index > s.index[-1] - pd.Timedelta(days=th.liq_history_days)]
    if len(year) < th.min_liq_days:
        return f"only {len(year)} days of observed liquidations (need {th.min_liq_days})"
    sums = year.rolling(th.liq_window_days).sum().dropna()
    return Liquidations(
        s.index[-1],
        float(year.iloc[-1]),
        float((year <= year.iloc[-1]).mean()),
        float(sums.iloc[-1]),
        float((sums <= sums.iloc[-1]).mean()),
        th.liq_window_days,
        len(year),
    )


def fit(snap: Snapshot, th: Thresholds = Thresholds()) -> Thresholds:
    """`th` with its learned threshold fixed at the value `snap`'s history gives (the event study's lower
    quartile, else the fallback); a configured value is kept."""
    if th.flush_ratio is not None:
        return th
    study = event_study(snap)
    learned = study.threshold if study is not None and study.threshold is not None else th.fallback
    return replace(th, flush_ratio=learned)


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    perps = snap.get("perp_metrics")
    if perps is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no perp open-interest data")
    px = closes(snap, BTC)
    cur = events.current_oi(oi_series(snap), snap.as_of, th.max_age_days, th.min_history_days)
    if cur is None:
        return not_enough_data(
            SIGNAL,
            TITLE,
            snap.as_of,
            f"no open-interest history in BTC terms that is fresh (<= {th.max_age_days:g} days old) and spans "
            f"{th.min_history_days:g} days",
        )
    f_btc = flush_ratio(cur.oi_btc, th.lookback_days, "BTC")
    t = ("perp_metrics",) if cur.name.endswith("(BTC)") else ("perp_metrics", "daily_prices")
    metrics = [
        Metric("oi_btc", f_btc.now, "BTC", t),
        Metric("flush_ratio_btc", f_btc.flush_ratio, "fraction", t),
        Metric("oi_btc_vs_peak", f_btc.now_over_peak, "fraction", t),
    ]
    window = (f_btc.now_time - cur.oi_btc.index[0]).days
    short = f"; its history spans only {window} days" if window < th.lookback_days else ""
    evidence = [
        f"{cur.name}: OI {f_btc.now:,.0f} BTC at {f_btc.now_time:%Y-%m-%d %H:%M} UTC{short}",
        f"BTC terms: build-up from {f_btc.base:,.0f} ({f_btc.base_time:%Y-%m-%d}) to peak {f_btc.peak:,.0f} "
        f"({f_btc.peak_time:%Y-%m-%d}); {f_btc.flush_ratio:.0%} of it removed, OI at {f_btc.now_over_peak:.0%} of peak",
    ]
    in_usd = ""
    if cur.oi_usd is not None and cur.oi_usd.notna().sum() >= 3:
        f_usd = flush_ratio(cur.oi_usd, th.lookback_days, "USD")
        metrics += [
            Metric("oi_usd", f_usd.now, "USD", ("perp_metrics",)),
            Metric("flush_ratio_usd", f_usd.flush_ratio, "fraction", ("perp_metrics",)),
            Metric("oi_usd_vs_peak", f_usd.now_over_peak, "fraction", ("perp_metrics",)),
        ]
        evidence.append(
            f"USD terms: OI {usd(f_usd.now)}, {f_usd.now_over_peak:.0%} of its peak ({f_usd.peak_time:%Y-%m-%d}), "
            f"flush ratio {f_usd.flush_ratio:.0%}; USD OI falls with price, so the decision is taken in BTC"
        )
        in_usd = f", {f_usd.now_over_peak:.0%} in USD"
    if not px.empty:
        moves = oi_vs_price(cur.oi_btc, px)
        for d, row in moves.iterrows():
            metrics += [
                Metric(f"oi_change_{d}d", row.oi_change, "fraction", t),
                Metric(f"price_change_{d}d", row.price_change, "fraction", ("daily_prices",)),
            ]
        evidence.append(
            "OI (BTC) vs price: "
            + "; ".join(f"{d}d {pct(r.oi_change)} vs {pct(r.price_change)}" for d, r in moves.iterrows())
        )
    groups = funding_rows(snap)
    fh = pick_funding(groups, snap.as_of, th.max_age_days)
    if fh is not None and PERP_METRICS.age_days(snap.as_of, fh.rates.index[-1]) <= th.max_age_days:
        ann = annualised_funding(fh.rates, fh.interval_h)
        metrics.append(Metric("funding_annualised_30d", ann, "fraction per year", ("perp_metrics",)))
        # the preferred histories passed over (`pick_funding`: each older than max_age_days): said, not hidden
        passed = groups[: [k for k, _ in groups].index((fh.venue, fh.symbol))]
        evidence.append(
            f"funding {fh.venue} {fh.symbol} (30-day mean, annualised) {pct(ann)}; latest "
            f"{fh.rates.iloc[-1] * 100:+.4f}% per {fh.interval_h:g}h"
            + "".join(f"; {v} {s} ends {g['timestamp'].max():%Y-%m-%d}: stale, not used" for (v, s), g in passed)
        )
    liq = observed_long_liquidations(snap, th)
    if isinstance(liq, Liquidations):
        lt = ("liquidations",)
        metrics += [
            Metric("long_liquidations_day_usd", liq.day_usd, "USD", lt),
            Metric("long_liquidations_day_rank_1y", liq.day_rank, "fraction", lt),
            Metric(f"long_liquidations_{liq.window}d_usd", liq.window_usd, "USD", lt),
            Metric(f"long_liquidations_{liq.window}d_rank_1y", liq.window_rank, "fraction", lt),
        ]
        evidence.append(
            f"observed long liquidations (all exchanges) {usd(liq.day_usd)} on {liq.last_date:%Y-%m-%d} (above "
            f"{liq.day_rank:.0%} of the last {liq.days} days), {usd(liq.window_usd)} over {liq.window} days (above "
            f"{liq.window_rank:.0%} of the year's {liq.window}-day sums)"
        )
    else:
        evidence.append(f"observed liquidations: {liq}")
    study = event_study(snap) if th.flush_ratio is None else None  # a configured threshold reads no history
    limit, why = th.flush_ratio, "configured"
    if limit is None and study is not None and study.threshold is not None:
        limit = study.threshold
        why = (
            f"lower quartile of the flush ratios at the troughs of the {study.flushes} past confirmed declines of "
            f"20%+ that ended in an OI flush (of {study.known} with OI data)"
        )
    elif limit is None:
        limit, why = th.fallback, "fallback: fewer than 4 past flushes in the history to set it from data"
    metrics.append(Metric("flush_threshold", limit, "fraction", t))
    evidence.append(f"threshold {limit:.0%}: {why}")
    fall = drawdown(snap, th.drawdown_days)
    fall = np.nan if fall is None else fall
    metrics.append(Metric(f"btc_drawdown_{th.drawdown_days}d", fall, "fraction", ("daily_prices",)))
    falling = bool(fall <= -th.min_drawdown)
    evidence.append(
        f"BTC {pct(fall)} from its {th.drawdown_days}-day high: "
        + ("a fall, where a long flush happens" if falling else f"not {th.min_drawdown:.0%} down: no long flush")
    )
    flushed = bool(f_btc.flush_ratio >= limit)
    holds = flushed and falling
    if np.isnan(f_btc.flush_ratio):
        headline = f"no build-up to flush: BTC OI has not risen above its level of {f_btc.peak_time:%Y-%m-%d}"
    elif holds:
        headline = f"flushed: {f_btc.flush_ratio:.0%} of the BTC OI build-up removed (threshold {limit:.0%})"
    elif flushed:
        headline = (
            f"OI cut in a rally, not a long flush: {f_btc.flush_ratio:.0%} of the BTC OI build-up removed while BTC "
            f"is {pct(fall)} from its {th.drawdown_days}-day high"
        )
    else:
        headline = (
            f"not flushed: only {f_btc.flush_ratio:.0%} of the BTC OI build-up removed "
            f"(OI {f_btc.now_over_peak:.0%} of peak in BTC{in_usd})"
        )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
