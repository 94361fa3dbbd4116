"""Signal 8, bottom range: is spot in the cost-floor zone, where holders and miners sell at a loss?

Three cost floors, each a leg of the verdict; it holds when any leg with fresh inputs holds:

* STH capitulation: spot / STH realized price at or below the upper quartile of that ratio at past troughs,
  and STH-SOPR < 1 (coins moved by short-term holders that day sold at a loss on average);
* realized price: spot / realized price (MVRV at spot) at or below the lower quartile at past troughs;
* miner fleet: spot / the fleet-average shutdown price (rigs of the day, `analytics.mining`) at or below the
  lower quartile at past troughs.

Thresholds are learned walk-forward (`analytics.cost_basis`): quantiles of the ratios on the trough days of
the BTC drawdowns of 20 %+ already confirmed in the snapshot (so never from the decline still under way);
with fewer than `min_troughs` such troughs the stated fallbacks apply. Why these quantiles: the STH leg is
paired with the loss-selling test, so its price test can be wide (3 of 4 past troughs were at or below it);
the realized-price and miner legs stand alone, so they take the lower quartile, the cycle lows (2015, 2018-12,
2020-03, 2022). Chosen on 2016-06..2019-12, before the 2020-2026 history the signal is judged on: there the
medians instead of lower quartiles caught no more troughs (10 of 14) and held at 5 of 14 peaks instead of 3.

A leg whose table is older than allowed (or absent) is "not enough data" and left out; the headline says
which legs decided. The levels of the other signals are merged with the floors into one levels map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from capitulation.analytics.cost_basis import quantile_threshold, trough_values
from capitulation.analytics.levels import Level
from capitulation.analytics.mining import CostFloors, breakeven_history, cost_floors, network_state
from capitulation.errors import DataError
from capitulation.formats import pct
from capitulation.signals import treasury
from capitulation.signals.base import not_enough_data
from capitulation.signals.common import BTC, btc_drawdowns, closes
from capitulation.snapshot import Derived, Snapshot, cut_days
from capitulation.tables import BTC_NETWORK, DAILY_PRICES
from capitulation.verdict import Metric, Status, Verdict

SIGNAL, TITLE = "bottom_range", "Bottom range"
ONCHAIN, NETWORK, PRICES = ("onchain",), ("btc_network",), ("daily_prices",)


@dataclass(frozen=True)
class Thresholds:
    power_usd_kwh: float = 0.06  # a typical industrial hosting rate for large US/Nordic miners
    # None: learned from the troughs of past confirmed drawdowns (see the module docstring)
    sth_ratio: float | None = None
    mvrv: float | None = None
    fleet_ratio: float | None = None
    sth_quantile: float = 0.75  # paired with STH-SOPR < 1: 3 of 4 past troughs were at or below it
    mvrv_quantile: float = 0.25  # stands alone: the lower quartile of past troughs, the cycle lows
    fleet_quantile: float = 0.25  # stands alone: the lower quartile of past troughs
    sopr_below: float = 1.0  # SOPR's definition: below 1 the coins moved that day sold at a loss on average
    drawdown: float = 0.2  # the troughs of BTC drawdowns of 20 %+ (the history the signals are judged on)
    min_troughs: int = 4  # fewer confirmed troughs with the input known: the fallbacks below
    fallback_sth_ratio: float = 1.0  # at the STH cost basis
    fallback_mvrv: float = 1.0  # at the realized price
    fallback_fleet_ratio: float = 1.0  # at the fleet-average breakeven
    max_age_days: float = 10.0  # btc_network: difficulty adjusts every ~2 weeks; older is not today's state
    onchain_max_age_days: float = 3.0  # daily on-chain figures; the files have one-day gaps
    spot_max_age_days: float = 3.0  # a BTC close older than that is not today's spot


@dataclass(frozen=True)
class Leg:
    """One cost floor's test: the ratio of spot to the floor, whether it is within the threshold, and the line
    that says both; `reason` says why a leg without fresh inputs was left out (then `ratio` is None)."""

    name: str
    ratio: float | None
    holds: bool
    detail: str
    reason: str = ""

    @property
    def fresh(self) -> bool:
        return self.ratio is not None


def _last(
    df: pd.DataFrame | None, column: str, as_of: pd.Timestamp, max_age: float
) -> tuple[float, pd.Timestamp] | None:
    """The last known value of `column` (daily table keyed by `date`) and its date, if at most `max_age` days
    old at `as_of` (from the end of its day, when a daily bar is known: `TableSpec.age_days`, alike for every
    daily table)."""
    if df is None:
        return None
    known = np.flatnonzero(df[column].notna().to_numpy())
    if not len(known):
        return None
    value, date = df[column].iloc[known[-1]], df["date"].iloc[known[-1]]
    return (float(value), date) if DAILY_PRICES.age_days(as_of, date) <= max_age else None


def _spot(snap: Snapshot, th: Thresholds) -> tuple[float, pd.Timestamp, tuple[str, ...]] | None:
    """Today's BTC price: the BTC-USD close, else the on-chain source's own close, if fresh."""
    px = closes(snap, BTC)
    if not px.empty:
        got = _last(px.rename("close").reset_index(), "close", snap.as_of, th.spot_max_age_days)
        if got is not None:
            return got[0], got[1], PRICES
    got = _last(snap.get("onchain"), "price_usd", snap.as_of, th.spot_max_age_days)
    return None if got is None else (got[0], got[1], ONCHAIN)


def _ratios(snap: Snapshot, close: pd.Series, power: float) -> pd.DataFrame:
    """Daily ratios of the BTC close to each cost floor, for the trough study (NaN where a floor is unknown)."""
    out = pd.DataFrame(index=close.index)
    if snap.get("onchain") is not None:
        onchain = snap.derived(ONCHAIN_RATIOS)
        out["sth_ratio"], out["mvrv"] = onchain["sth_ratio"], onchain["mvrv"]
    if snap.get("btc_network") is not None:
        out["fleet_ratio"] = snap.derived(FLEET_RATIO, power)
    return out


def _onchain_ratios(snap: Snapshot) -> pd.DataFrame:
    """Each BTC close over the STH realized price (sth_ratio) and the realized price (mvrv) of its day."""
    close, o = closes(snap, BTC).dropna(), snap.tables["onchain"].set_index("date")
    sth = close / o["sth_realized_price_usd"].reindex(close.index)
    return pd.DataFrame({"sth_ratio": sth, "mvrv": close / o["realized_price_usd"].reindex(close.index)})


def _fleet_ratio(snap: Snapshot, power: float) -> pd.Series:
    """Each BTC close over the fleet-average shutdown price of its day (`analytics.mining.breakeven_history`)."""
    close = closes(snap, BTC).dropna()
    hist = breakeven_history(snap.tables["btc_network"], close, power)
    return close / hist["fleet_usd"].reindex(close.index)


ONCHAIN_RATIOS = Derived("onchain_ratios", _onchain_ratios, cut_days)
FLEET_RATIO = Derived("fleet_ratio", _fleet_ratio, cut_days)


def _threshold(
    configured: float | None, troughs: pd.DataFrame, column: str, q: float, th: Thresholds, fallback: float
) -> tuple[float, str]:
    if configured is not None:
        return configured, "configured"
    values = troughs[column] if column in troughs else pd.Series(dtype=float)
    learned = quantile_threshold(values, q, th.min_troughs)
    if learned is None:
        return fallback, f"fallback: only {values.notna().sum()} past troughs with the input"
    first = troughs.loc[values.notna(), "trough_date"].min()
    return (
        learned,
        f"{q:.0%} quantile at the {values.notna().sum()} confirmed troughs of {th.drawdown:.0%}+ drawdowns "
        f"since {first:%Y-%m}",
    )


def _onchain_legs(
    snap: Snapshot, spot: float, troughs: pd.DataFrame, th: Thresholds
) -> tuple[list[Leg], list[Level], list[Metric]]:
    oc = snap.get("onchain")
    rp = _last(oc, "realized_price_usd", snap.as_of, th.onchain_max_age_days)
    sth = _last(oc, "sth_realized_price_usd", snap.as_of, th.onchain_max_age_days)
    sopr = _last(oc, "sth_sopr", snap.as_of, th.onchain_max_age_days)
    legs, levels, metrics = [], [], []
    stale = "absent" if oc is None else f"no value within {th.onchain_max_age_days:g} days"
    if sth is None or sopr is None:
        what = "STH realized price" if sth is None else "STH-SOPR"
        legs.append(Leg("STH capitulation", None, False, "", f"{what}: {stale}"))
    else:
        limit, why = _threshold(th.sth_ratio, troughs, "sth_ratio", th.sth_quantile, th, th.fallback_sth_ratio)
        ratio = spot / sth[0]
        holds = ratio <= limit and sopr[0] < th.sopr_below
        detail = (
            f"spot / STH realized price {ratio:.3f} {'<=' if ratio <= limit else '>'} {limit:.3f} ({why}) and "
            f"STH-SOPR {sopr[0]:.3f} {'<' if sopr[0] < th.sopr_below else '>='} {th.sopr_below:g} ({sopr[1]:%Y-%m-%d})"
        )
        legs.append(Leg("STH capitulation", ratio, holds, detail))
        levels += [
            Level(
                sth[0],
                "STH realized price (cost basis of coins moved in ~155 days)",
                SIGNAL,
                ONCHAIN,
                "below it the average recent buyer is under water: panic selling at a loss (STH-SOPR < 1) marks "
                "their capitulation, and the level turns into resistance on the way back up",
            ),
            Level(
                sth[0] * limit,
                f"STH capitulation line: STH cost basis x {limit:.3f} (STH-SOPR now {sopr[0]:.3f})",
                SIGNAL,
                ONCHAIN,
                f"spot at or below it with STH-SOPR < 1 is where {th.sth_quantile:.0%} of past 20%+ drawdowns "
                "bottomed: recent buyers selling at a loss",
            ),
        ]
        metrics += [
            Metric("sth_sopr", sopr[0], "ratio", ONCHAIN),
            Metric("spot_over_sth_realized_price", ratio, "ratio", (*PRICES, *ONCHAIN)),
            Metric("sth_ratio_threshold", limit, "ratio", (*PRICES, *ONCHAIN)),
        ]
    if rp is None:
        legs.append(Leg("realized price", None, False, "", f"realized price: {stale}"))
    else:
        limit, why = _threshold(th.mvrv, troughs, "mvrv", th.mvrv_quantile, th, th.fallback_mvrv)
        ratio = spot / rp[0]
        detail = f"spot / realized price {ratio:.3f} {'<=' if ratio <= limit else '>'} {limit:.3f} ({why})"
        legs.append(Leg("realized price", ratio, ratio <= limit, detail))
        levels += [
            Level(
                rp[0],
                "realized price (average cost basis of all coins)",
                SIGNAL,
                ONCHAIN,
                "the market's aggregate cost basis: below it the average coin is held at a loss (MVRV < 1), "
                "where 2015, 2018-12, 2020-03 and 2022 bottomed",
            ),
            Level(
                rp[0] * limit,
                f"MVRV low zone: realized price x {limit:.3f}",
                SIGNAL,
                ONCHAIN,
                f"MVRV at or below the lower quartile of its values at past 20%+ troughs ({limit:.2f}): the cycle lows",
            ),
        ]
        metrics += [
            Metric("spot_over_realized_price", ratio, "ratio", (*PRICES, *ONCHAIN)),
            Metric("mvrv_threshold", limit, "ratio", (*PRICES, *ONCHAIN)),
        ]
    for name, column, unit in (
        ("realized_price", "realized_price_usd", "USD"),
        ("sth_realized_price", "sth_realized_price_usd", "USD"),
        ("mvrv", "mvrv", "ratio"),
        ("sth_mvrv", "sth_mvrv", "ratio"),
    ):
        got = _last(oc, column, snap.as_of, th.onchain_max_age_days)
        if got is not None:
            metrics.append(Metric(name, got[0], unit, ONCHAIN))
    return legs, levels, metrics


def _miner_leg(
    snap: Snapshot, spot: float, troughs: pd.DataFrame, th: Thresholds
) -> tuple[Leg, list[Level], list[Metric], list[str]]:
    net = snap.get("btc_network")
    last = None if net is None else net.dropna(subset=["hashrate_ehs"])["date"].max()
    age = None if last is None or pd.isna(last) else BTC_NETWORK.age_days(snap.as_of, last)
    if age is None or age > th.max_age_days:
        why = "no hashrate data" if age is None else f"hashrate data {age:.0f} days old, limit {th.max_age_days:g}"
        return Leg("miner fleet", None, False, "", why), [], [], []
    try:
        state = network_state(net)
        floors = cost_floors(state, th.power_usd_kwh)
    except DataError as exc:
        return Leg("miner fleet", None, False, "", str(exc)), [], [], []
    limit, why = _threshold(th.fleet_ratio, troughs, "fleet_ratio", th.fleet_quantile, th, th.fallback_fleet_ratio)
    ratio = spot / floors.fleet_usd
    detail = f"spot / fleet-average shutdown {ratio:.3f} {'<=' if ratio <= limit else '>'} {limit:.3f} ({why})"
    levels = _miner_levels(floors)
    hashprice = state.hashprice_usd_per_th_day(spot)
    metrics = [
        Metric("frontier_shutdown_price", floors.frontier_usd, "USD", NETWORK),
        Metric("fleet_shutdown_price", floors.fleet_usd, "USD", NETWORK),
        Metric("frontier_efficiency_jth", floors.frontier_jth, "J/TH", NETWORK),
        Metric("fleet_efficiency_jth", floors.fleet_jth, "J/TH", NETWORK),
        Metric("spot_over_fleet_shutdown", ratio, "ratio", (*PRICES, *NETWORK)),
        Metric("fleet_ratio_threshold", limit, "ratio", (*PRICES, *NETWORK)),
        Metric("network_hashrate_ehs", state.hashrate_ehs, "EH/s", NETWORK),
        Metric("fees_btc_per_block", state.fees_btc_per_block, "BTC", NETWORK),
        Metric("hashprice_usd_per_th_day", hashprice, "USD per TH/s per day", (*PRICES, *NETWORK)),
    ]
    evidence = [
        f"network {state.hashrate_ehs:,.0f} EH/s ({state.window_days}-day mean to {state.date:%Y-%m-%d}), fees "
        f"{state.fees_btc_per_block:.3f} BTC/block + subsidy {state.subsidy_btc:g} BTC; hashprice "
        f"${hashprice:.4f} per TH/s per day; power ${th.power_usd_kwh}/kWh (power only: no hosting or capex)",
        f"rigs of {state.date:%Y-%m-%d} (released within {floors.fleet_years:g} years): "
        f"{', '.join(floors.fleet_rigs)}; "
        f"frontier {floors.frontier_rig} {floors.frontier_jth:g} J/TH shuts down at ${floors.frontier_usd:,.0f} "
        f"({pct(floors.frontier_usd / spot - 1)}), fleet average {floors.fleet_jth:.1f} J/TH at "
        f"${floors.fleet_usd:,.0f} ({pct(floors.fleet_usd / spot - 1)})",
    ]
    return Leg("miner fleet", ratio, ratio <= limit, detail), levels, metrics, evidence


def _miner_levels(floors: CostFloors) -> list[Level]:
    power = floors.power_usd_kwh
    return [
        Level(
            floors.frontier_usd,
            f"miner shutdown, efficient frontier ({floors.frontier_rig}, {floors.frontier_jth:g} J/TH) at ${power}/kWh",
            SIGNAL,
            NETWORK,
            f"below it even the best rig in the field loses money on power alone at ${power}/kWh: the hard floor "
            "of mining economics",
        ),
        Level(
            floors.fleet_usd,
            f"miner shutdown, fleet average ({floors.fleet_jth:.1f} J/TH over {len(floors.fleet_rigs)} rigs) "
            f"at ${power}/kWh",
            SIGNAL,
            NETWORK,
            f"below it the average rig of the last {floors.fleet_years:g} years loses money on power: miners switch "
            "off (hashrate falls) or sell reserves to keep running - the miners' capitulation",
        ),
    ]


def _troughs(snap: Snapshot, th: Thresholds) -> pd.DataFrame:
    """Each cost-floor ratio at the troughs of the confirmed drawdowns known in `snap` (`trough_values`)."""
    close = closes(snap, BTC).dropna()
    if None not in (th.sth_ratio, th.mvrv, th.fleet_ratio):
        return pd.DataFrame()  # every ratio configured: no history is read
    return (
        trough_values(
            close, _ratios(snap, close, th.power_usd_kwh), th.drawdown, swings=btc_drawdowns(snap, th.drawdown)
        )
        if len(close) > 1
        else pd.DataFrame()
    )


def fit(snap: Snapshot, th: Thresholds = Thresholds()) -> Thresholds:
    """`th` with its three learned ratios fixed at the values `snap`'s history gives (else their fallbacks);
    configured values are kept."""
    troughs = _troughs(snap, th)
    return replace(
        th,
        sth_ratio=_threshold(th.sth_ratio, troughs, "sth_ratio", th.sth_quantile, th, th.fallback_sth_ratio)[0],
        mvrv=_threshold(th.mvrv, troughs, "mvrv", th.mvrv_quantile, th, th.fallback_mvrv)[0],
        fleet_ratio=_threshold(th.fleet_ratio, troughs, "fleet_ratio", th.fleet_quantile, th, th.fallback_fleet_ratio)[
            0
        ],
    )


def evaluate(snap: Snapshot, prior: Sequence[Verdict] = (), th: Thresholds = Thresholds()) -> Verdict:
    got = _spot(snap, th)
    if got is None:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no BTC price within {th.spot_max_age_days:g} days")
    btc, spot_date, spot_tables = got
    if not btc > 0:  # every level is a ratio to spot
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"BTC price {btc!r} on {spot_date:%Y-%m-%d} is not positive")
    troughs = _troughs(snap, th)
    onchain_legs, levels, metrics = _onchain_legs(snap, btc, troughs, th)
    miner, miner_levels, miner_metrics, evidence = _miner_leg(snap, btc, troughs, th)
    legs = [*onchain_legs, miner]
    fresh = [leg for leg in legs if leg.fresh]
    costs = [lv for v in prior if v.signal == treasury.SIGNAL for lv in v.levels if "average cost" in lv.label]
    left_out = "; ".join(f"{leg.name}: not enough data ({leg.reason})" for leg in legs if not leg.fresh)
    if not fresh:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, f"no cost floor with fresh data ({left_out})")
    metrics = [Metric("spot", btc, "USD", spot_tables), *metrics, *miner_metrics]
    metrics += [Metric("treasury_cost_basis", lv.price, "USD", lv.tables) for lv in costs]
    evidence = [
        f"spot ${btc:,.0f} ({spot_date:%Y-%m-%d} close, {'BTC-USD' if spot_tables == PRICES else 'on-chain source'})",
        *(f"{leg.name}: {leg.detail}: {'holds' if leg.holds else 'does not hold'}" for leg in fresh),
        *([f"left out: {left_out}"] if left_out else []),
        *evidence,
        *(f"{lv.label}: ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in costs),
    ]
    holding = [leg.name for leg in fresh if leg.holds]
    floors = sorted(levels + miner_levels, key=lambda lv: abs(lv.price - btc))[:2]
    near = "; ".join(
        f"{lv.label.split(' (')[0].split(':')[0]} ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in floors
    )
    used = ", ".join(leg.name for leg in fresh)
    headline = (
        (f"in the cost-floor zone ({', '.join(holding)})" if holding else "above the cost floors")
        + f": spot ${btc:,.0f}; nearest {near}"
        + ("" if len(fresh) == len(legs) else f" [decided on {used} only]")
        + "".join(f"; {lv.label} ${lv.price:,.0f} ({pct(lv.price / btc - 1)})" for lv in costs)
    )
    merged = levels + miner_levels + [lv for v in prior for lv in v.levels]
    status = Status.HOLDS if holding else Status.DOES_NOT_HOLD
    return Verdict(
        SIGNAL,
        TITLE,
        status,
        headline,
        snap.as_of,
        tuple(metrics),
        tuple(evidence),
        levels=tuple(merged),
    )
