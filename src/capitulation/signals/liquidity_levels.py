"""Signal 4, liquidity levels: have the estimated long-liquidation clusters below spot been swept?

Holds when the estimated long liquidations left within `near` below spot are small against open interest:
the levels price would hunt on the way down have already been taken out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from capitulation.analytics.levels import Level
from capitulation.analytics.liquidation_map import LiquidationModel, clusters, liquidation_levels
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import pct, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "liquidity_levels", "Liquidity levels"


@dataclass(frozen=True)
class Thresholds:
    near: float = 0.10  # look 10 % below spot: a normal week's range in a BTC sell-off
    # Under 5 % of OI left as long liquidations within reach: too little fuel for another cascade.
    max_share_of_oi: float = 0.05
    lookback_days: int = 90
    max_age_days: float = 2.0


DEFAULT_MODEL = LiquidationModel()


def evaluate(snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL) -> Verdict:
    perps = snap.get("perp_metrics")
    if perps is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no perp open-interest data")
    oi = perps.dropna(subset=["oi_btc", "oi_usd"]).set_index("timestamp").sort_index()
    oi = oi[oi.index > snap.as_of - pd.Timedelta(days=th.lookback_days)]
    if len(oi) < 10 or (snap.as_of - oi.index[-1]).days > th.max_age_days:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "too little recent OI history in BTC and USD")
    price = (oi["oi_usd"] / oi["oi_btc"]).to_numpy()
    spot = float(price[-1])
    cl = clusters(liquidation_levels(oi["oi_btc"].to_numpy(), price, model), spot, model.bucket_fraction)
    longs = cl[(cl["side"] == "long") & (cl["price"] < spot)]
    shorts = cl[(cl["side"] == "short") & (cl["price"] > spot)]
    near_long = float(longs.loc[longs["distance"] >= -th.near, "notional_usd"].sum())
    oi_usd = float(oi["oi_usd"].iloc[-1])
    share = near_long / oi_usd
    t = ("perp_metrics",)
    metrics = [
        Metric("spot_implied", spot, "USD", t),
        Metric("long_liq_within_near_usd", near_long, "USD", t),
        Metric("long_liq_share_of_oi", share, "fraction", t),
    ]
    levels, evidence = [], [
        f"model: OI increases over {th.lookback_days} days split 50/50 long/short over leverage tiers "
        + ", ".join(f"{lev:g}x {w:.0%}" for lev, w in model.tiers)
        + f", maintenance margin {model.maintenance_margin:.2%}; price = OI USD / OI BTC (an estimate, not "
        "observed liquidations)"
    ]
    for side, frame in (("long", longs), ("short", shorts)):
        for _, r in frame.head(3).iterrows():
            levels.append(Level(float(r.price), f"est. {side} liquidations {usd(r.notional_usd)}", SIGNAL, t))
            evidence.append(f"{side} cluster at ${r.price:,.0f} ({pct(r.distance)}): {usd(r.notional_usd)}")
    if not longs.empty:
        metrics.append(Metric("largest_long_cluster_price", float(longs["price"].iloc[0]), "USD", t))
    if not shorts.empty:
        metrics.append(Metric("largest_short_cluster_price", float(shorts["price"].iloc[0]), "USD", t))
    holds = share <= th.max_share_of_oi
    headline = (
        f"{'longs below are swept' if holds else 'long liquidations still below'}: est. {usd(near_long)} "
        f"({share:.1%} of OI) within {th.near:.0%} below ${spot:,.0f}"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=tuple(levels))
