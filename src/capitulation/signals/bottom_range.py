"""Signal 8, bottom range: is spot at the cost floors (miner shutdown bands, treasury cost bases)?

The floor band runs from the best rig's shutdown price to the worst current rig's (`analytics.mining.CATALOGUE`
at `power_usd_kwh`), one level per rig class. The levels of the other signals are merged with the floors
into one levels map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capitulation.analytics.levels import Level
from capitulation.analytics.mining import CATALOGUE, catalogue_at, class_bands, network_state
from capitulation.signals import treasury
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


def _band(low: float, high: float) -> str:
    return f"${low:,.0f}" if round(low) == round(high) else f"${low:,.0f}-${high:,.0f}"


def _why(rigs: str, power: float) -> str:
    return (
        f"below it {rigs} lose money on power alone at ${power}/kWh: they switch off (hashrate falls) or sell "
        "reserves to keep running - the miners' capitulation"
    )


def evaluate(snap: Snapshot, prior: Sequence[Verdict] = (), th: Thresholds = Thresholds()) -> Verdict:
    btc = spot(snap)
    net_age = age_days(snap, "btc_network")
    if btc is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no BTC price")
    if net_age is None or net_age > th.max_age_days:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, "no recent hashrate/fee data for miner cost floors")
    state = network_state(snap.tables["btc_network"])
    econ = catalogue_at(state, th.power_usd_kwh, CATALOGUE, btc_price=btc)
    bands = class_bands(econ)
    t = ("btc_network",)
    floors = [
        Level(
            (b.low_usd + b.high_usd) / 2.0,
            f"miner shutdown, {b.rig_class}: {_band(b.low_usd, b.high_usd)} at ${th.power_usd_kwh}/kWh",
            SIGNAL,
            t,
            _why(b.rigs, th.power_usd_kwh),
        )
        for b in bands.itertuples()
    ]
    costs = [lv for v in prior if v.signal == treasury.SIGNAL for lv in v.levels if "average cost" in lv.label]
    low, high = float(econ["shutdown_price_usd"].min()), float(econ["shutdown_price_usd"].max())
    s21 = econ.set_index("rig").loc["Antminer S21"]
    hashprice_usd = state.hashprice_usd_per_th_day(btc)
    metrics = [
        Metric("spot", btc, "USD", ("daily_prices",)),
        Metric("floor_low", low, "USD", t),
        Metric("floor_high", high, "USD", t),
        Metric("spot_vs_floor_high", btc / high - 1.0, "fraction", ("daily_prices", *t)),
        Metric("s21_shutdown_price", float(s21["shutdown_price_usd"]), "USD", t),
        Metric("network_hashrate_ehs", state.hashrate_ehs, "EH/s", t),
        Metric("fees_btc_per_block", state.fees_btc_per_block, "BTC", t),
        Metric("hashprice_usd_per_th_day", hashprice_usd, "USD per TH/s per day", ("daily_prices", *t)),
    ]
    metrics += [Metric("treasury_cost_basis", lv.price, "USD", lv.tables) for lv in costs]
    evidence = [
        f"network {state.hashrate_ehs:,.0f} EH/s ({state.window_days}-day mean to {state.date:%Y-%m-%d}), fees "
        f"{state.fees_btc_per_block:.3f} BTC/block + subsidy {state.subsidy_btc:g} BTC; hashprice "
        f"${hashprice_usd:.4f} per TH/s per day; power ${th.power_usd_kwh}/kWh (power only: no hosting or capex)"
    ]
    evidence += [
        f"{r.rig} ({r.efficiency_jth:g} J/TH): shutdown ${r.shutdown_price_usd:,.0f} "
        f"({pct(r.shutdown_price_usd / btc - 1)})"
        for r in econ.itertuples()
    ]
    evidence += [f"{lv.label}: ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in costs]
    holds = btc <= high * (1.0 + th.band_above)
    where = "inside" if low <= btc <= high else ("below" if btc < low else "above")
    nearest = min(floors, key=lambda lv: abs(lv.price - btc))
    headline = (
        f"spot ${btc:,.0f} {where} the miner cost-floor band ${low:,.0f}-${high:,.0f}; nearest: "
        f"{nearest.label.split(':')[0]} ({pct(nearest.price / btc - 1)})"
        + "".join(f"; {lv.label} ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in costs)
    )
    merged = floors + [lv for v in prior for lv in v.levels]
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence), levels=tuple(merged))
