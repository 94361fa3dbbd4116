"""Signal 8, bottom range: is spot at the cost floors (miner shutdown prices, treasury cost basis)?

The levels of the other signals are merged with the floors into one levels map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capitulation.analytics.levels import Level
from capitulation.analytics.mining import fleet_shutdown_prices
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import age_days, pct, spot
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "bottom_range", "Bottom range"


@dataclass(frozen=True)
class Thresholds:
    power_usd_kwh: float = 0.06  # a typical industrial hosting rate for large US/Nordic miners
    # Spot within 15 % above the highest cost floor: the band where marginal supply starts to switch off.
    band_above: float = 0.15
    max_age_days: float = 10.0


def evaluate(snap: Snapshot, prior: Sequence[Verdict] = (), th: Thresholds = Thresholds()) -> Verdict:
    btc = spot(snap)
    net_age = age_days(snap, "btc_network")
    if btc is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no BTC price")
    if net_age is None or net_age > th.max_age_days:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no recent hashrate/fee data for miner cost floors")
    fleet = fleet_shutdown_prices(snap.tables["btc_network"], th.power_usd_kwh)
    t = ("btc_network",)
    floors = [
        Level(
            float(r.shutdown_price_usd),
            f"{r.rig} shutdown ({r.efficiency_jth:g} J/TH, ${th.power_usd_kwh}/kWh)",
            SIGNAL,
            t,
        )
        for r in fleet.itertuples()
    ]
    floors += [lv for v in prior for lv in v.levels if "average cost" in lv.label]
    top, bottom = max(lv.price for lv in floors), min(lv.price for lv in floors)
    metrics = [
        Metric("spot", btc, "USD", ("daily_prices",)),
        Metric("floor_low", bottom, "USD", t),
        Metric("floor_high", top, "USD", t),
        Metric("spot_vs_floor_high", btc / top - 1.0, "fraction", ("daily_prices", *t)),
        Metric("network_hashrate_ehs", float(fleet["hashrate_ehs"].iloc[0]), "EH/s", t),
        Metric("fees_btc_per_block", float(fleet["fees_btc_per_block"].iloc[0]), "BTC", t),
    ]
    evidence = [
        f"network {fleet['hashrate_ehs'].iloc[0]:,.0f} EH/s (7-day mean), fees "
        f"{fleet['fees_btc_per_block'].iloc[0]:.3f} BTC/block, power ${th.power_usd_kwh}/kWh"
    ] + [f"{lv.label}: ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in floors]
    holds = btc <= top * (1.0 + th.band_above)
    nearest = min(floors, key=lambda lv: abs(lv.price - btc))
    where = "inside" if bottom <= btc <= top else ("below" if btc < bottom else "above")
    headline = (
        f"spot ${btc:,.0f} {where} the cost-floor band ${bottom:,.0f}-${top:,.0f}; nearest: "
        f"{nearest.label.split(' (')[0]} ${nearest.price:,.0f} ({pct(nearest.price / btc - 1)})"
    )
    levels = tuple(floors) + tuple(lv for v in prior for lv in v.levels if lv not in floors)
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=levels)
