"""Signal 4, liquidity levels: have the estimated long-liquidation clusters below spot been swept?

Holds when little of the estimated long-liquidation notional still open lies within `near` below spot:
the levels price would hunt on the way down have already been taken out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics.levels import Level
from capitulation.analytics.liquidation_map import LiquidationModel, clusters, liquidation_levels
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, closes, pct, usd
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "liquidity_levels", "Liquidity levels"


@dataclass(frozen=True)
class Thresholds:
    near: float = 0.10  # look 10 % below spot: a normal week's range in a BTC sell-off
    # At most a quarter of the open long-liquidation mass within reach: most of the fuel is gone or far.
    max_near_share: float = 0.25
    lookback_days: int = 90
    max_age_days: float = 2.0


DEFAULT_MODEL = LiquidationModel()


@dataclass(frozen=True)
class LiquidationMap:
    """Open estimated liquidation clusters around spot (clusters frames as analytics.liquidation_map.clusters)."""

    venue: str
    spot: float
    spot_table: str
    longs: pd.DataFrame
    shorts: pd.DataFrame


def liquidation_map(
    snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL
) -> LiquidationMap | str:
    """The model's clusters for the venue with the latest BTC-denominated OI, or why there are none."""
    perps = snap.get("perp_metrics")
    if perps is None:
        return "no perp open-interest data"
    oi = perps.dropna(subset=["oi_btc", "oi_usd"])
    oi = oi[oi["oi_btc"] > 0].sort_values("timestamp")
    if oi.empty:
        return "no open interest in BTC terms"
    venue, symbol = oi["venue"].iloc[-1], oi["symbol"].iloc[-1]
    oi = oi[(oi["venue"] == venue) & (oi["symbol"] == symbol)].set_index("timestamp")
    oi = oi[oi.index > snap.as_of - pd.Timedelta(days=th.lookback_days)]
    if len(oi) < 10 or (snap.as_of - oi.index[-1]).days > th.max_age_days:
        return "too little recent OI history in BTC and USD"
    price = (oi["oi_usd"] / oi["oi_btc"]).to_numpy()
    # The last close, when it is newer than the last OI row, moves the path on to spot (sweeping levels).
    close = closes(snap, BTC)
    newer = not close.empty and close.index[-1] + pd.Timedelta(days=1) > oi.index[-1]
    spot, spot_table = (float(close.iloc[-1]), "daily_prices") if newer else (float(price[-1]), "perp_metrics")
    levels_df = liquidation_levels(oi["oi_btc"].to_numpy(), price, model)
    swept = np.where(levels_df["side"] == "long", levels_df["liq_price"] >= spot, levels_df["liq_price"] <= spot)
    cl = clusters(levels_df[~swept], spot, model.bucket_fraction)
    return LiquidationMap(f"{venue} {symbol}", spot, spot_table, cl[cl["side"] == "long"], cl[cl["side"] == "short"])


def evaluate(snap: Snapshot, th: Thresholds = Thresholds(), model: LiquidationModel = DEFAULT_MODEL) -> Verdict:
    lm = liquidation_map(snap, th, model)
    if isinstance(lm, str):
        return not_enough_data(SIGNAL, TITLE, snap.as_of, lm)
    spot, spot_table, longs, shorts = lm.spot, lm.spot_table, lm.longs, lm.shorts
    near_long = float(longs.loc[longs["distance"] >= -th.near, "notional_usd"].sum())
    total_long = float(longs["notional_usd"].sum())
    share = near_long / total_long if total_long > 0 else 0.0
    t = ("perp_metrics",)
    metrics = [
        Metric("spot", spot, "USD", (spot_table,)),
        Metric("long_liq_within_near_usd", near_long, "USD", t),
        Metric("long_liq_open_usd", total_long, "USD", t),
        Metric("long_liq_near_share", share, "fraction", t),
    ]
    levels, evidence = (
        [],
        [
            f"model on {lm.venue}: OI increases over {th.lookback_days} days split 50/50 long/short over "
            "leverage tiers "
            + ", ".join(f"{lev:g}x {w:.0%}" for lev, w in model.tiers)
            + f", maintenance margin {model.maintenance_margin:.2%}; price = OI USD / OI BTC (an estimate, not "
            "observed liquidations)"
        ],
    )
    for side, frame in (("long", longs), ("short", shorts)):
        for _, r in frame.head(3).iterrows():
            levels.append(Level(float(r.price), f"est. {side} liquidations {usd(r.notional_usd)}", SIGNAL, t))
            evidence.append(f"{side} cluster at ${r.price:,.0f} ({pct(r.distance)}): {usd(r.notional_usd)}")
    if not longs.empty:
        metrics.append(Metric("largest_long_cluster_price", float(longs["price"].iloc[0]), "USD", t))
    if not shorts.empty:
        metrics.append(Metric("largest_short_cluster_price", float(shorts["price"].iloc[0]), "USD", t))
    holds = share <= th.max_near_share
    headline = (
        f"{'longs below are swept' if holds else 'long liquidations still below'}: est. {usd(near_long)} "
        f"({share:.0%} of the open long-liquidation mass) within {th.near:.0%} below ${spot:,.0f}"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=tuple(levels))
