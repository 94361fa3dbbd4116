"""Signal 1, leverage flush: has the leveraged OI built since the last low been blown out (in BTC)?"""

from __future__ import annotations

from dataclasses import dataclass

from capitulation.analytics.leverage import annualised_funding, flush_ratio, oi_vs_price
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, age_days, closes, pct, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "leverage_flush", "Leverage flush"


@dataclass(frozen=True)
class Thresholds:
    # Half the coin-denominated build-up removed: a forced deleveraging, not a drift (2020-03 and 2025-10
    # removed more than that within days).
    flush_ratio: float = 0.5
    lookback_days: int = 180
    max_age_days: float = 2.0


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
    holds = f_btc.flush_ratio >= th.flush_ratio
    headline = (
        f"flushed: {f_btc.flush_ratio:.0%} of the BTC OI build-up removed"
        if holds
        else f"not flushed: only {f_btc.flush_ratio:.0%} of the BTC OI build-up removed "
        f"(OI {f_btc.now_over_peak:.0%} of peak in BTC, {f_usd.now_over_peak:.0%} in USD)"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
