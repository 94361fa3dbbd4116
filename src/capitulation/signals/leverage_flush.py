"""Signal 1, leverage flush: has the leveraged OI built since the last low been blown out (in BTC)?"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from capitulation.analytics import events
from capitulation.analytics.leverage import annualised_funding, flush_ratio, oi_vs_price
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, age_days, closes, pct, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "leverage_flush", "Leverage flush"


@dataclass(frozen=True)
class Thresholds:
    # None: taken from the event study on the snapshot's own history (the lower quartile of the flush
    # ratios at the troughs of past declines that ended in an OI flush); `fallback` when history is short.
    flush_ratio: float | None = None
    fallback: float = 0.5
    lookback_days: int = 180
    max_age_days: float = 2.0


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
    funding = perps.dropna(subset=["funding_rate"]).set_index("timestamp")["funding_rate"].sort_index()
    table = events.study(events.drawdowns(btc, threshold), events.oi_histories(perps, btc), funding)
    flushes, known = events.flush_share(table)
    return Study(table, flushes, known, events.flush_threshold(table))


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    perps = snap.get("perp_metrics")
    if perps is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no perp open-interest data")
    oi = perps.dropna(subset=["oi_btc"])
    if oi.empty:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no open interest in BTC terms (only USD is known)")
    venue, symbol = oi["venue"].iloc[-1], oi["symbol"].iloc[-1]
    series = oi[(oi["venue"] == venue) & (oi["symbol"] == symbol)].set_index("timestamp").sort_index()
    age = (snap.as_of - series.index[-1]).total_seconds() / 86400
    if age > th.max_age_days:
        return not_enough_data(
            SIGNAL, TITLE, snap.as_of, f"latest BTC-denominated OI is {age:.0f} days old ({series.index[-1]:%Y-%m-%d})"
        )
    f_btc = flush_ratio(series["oi_btc"], th.lookback_days, "BTC")
    f_usd = flush_ratio(series["oi_usd"], th.lookback_days, "USD")
    t = ("perp_metrics",)
    metrics = [
        Metric("oi_btc", f_btc.now, "BTC", t),
        Metric("oi_usd", f_usd.now, "USD", t),
        Metric("flush_ratio_btc", f_btc.flush_ratio, "fraction", t),
        Metric("flush_ratio_usd", f_usd.flush_ratio, "fraction", t),
        Metric("oi_btc_vs_peak", f_btc.now_over_peak, "fraction", t),
        Metric("oi_usd_vs_peak", f_usd.now_over_peak, "fraction", t),
    ]
    evidence = [
        f"{venue} {symbol} OI {f_btc.now:,.0f} BTC ({usd(f_usd.now)}) at {f_btc.now_time:%Y-%m-%d %H:%M} UTC",
        f"BTC terms: build-up from {f_btc.base:,.0f} ({f_btc.base_time:%Y-%m-%d}) to peak {f_btc.peak:,.0f} "
        f"({f_btc.peak_time:%Y-%m-%d}); {f_btc.flush_ratio:.0%} of it removed, OI at {f_btc.now_over_peak:.0%} of peak",
        f"USD terms: OI at {f_usd.now_over_peak:.0%} of its peak ({f_usd.peak_time:%Y-%m-%d}), flush ratio "
        f"{f_usd.flush_ratio:.0%}; USD OI falls with price, so the decision is taken in BTC",
    ]
    px = closes(snap, BTC)
    if not px.empty:
        moves = oi_vs_price(series["oi_btc"], px)
        for d, row in moves.iterrows():
            metrics += [
                Metric(f"oi_change_{d}d", row.oi_change, "fraction", t),
                Metric(f"price_change_{d}d", row.price_change, "fraction", ("daily_prices",)),
            ]
        evidence.append(
            "OI (BTC) vs price: "
            + "; ".join(f"{d}d {pct(r.oi_change)} vs {pct(r.price_change)}" for d, r in moves.iterrows())
        )
    funding = perps.dropna(subset=["funding_rate"])
    if not funding.empty and (age_days(snap, "perp_metrics") or 0) <= th.max_age_days:
        fs = funding.set_index("timestamp")["funding_rate"].sort_index()
        ann = annualised_funding(fs, float(funding["funding_interval_h"].iloc[-1]))
        metrics.append(Metric("funding_annualised_30d", ann, "fraction per year", t))
        evidence.append(f"funding (30-day mean, annualised) {pct(ann)}; latest {fs.iloc[-1] * 100:+.4f}% per 8h")
    study = event_study(snap)
    limit, why = th.flush_ratio, "configured"
    if limit is None and study is not None and study.threshold is not None:
        limit = study.threshold
        why = (
            f"lower quartile of the flush ratios at the troughs of the {study.flushes} past declines of 20%+ "
            f"that ended in an OI flush (of {study.known} with OI data)"
        )
    elif limit is None:
        limit, why = th.fallback, "fallback: too few past flushes in the history to set it from data"
    metrics.append(Metric("flush_threshold", limit, "fraction", t))
    evidence.append(f"threshold {limit:.0%}: {why}")
    holds = f_btc.flush_ratio >= limit
    headline = (
        f"flushed: {f_btc.flush_ratio:.0%} of the BTC OI build-up removed"
        if holds
        else f"not flushed: only {f_btc.flush_ratio:.0%} of the BTC OI build-up removed "
        f"(OI {f_btc.now_over_peak:.0%} of peak in BTC, {f_usd.now_over_peak:.0%} in USD)"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
