"""Signal 7, hedging: does a direct hedge (puts, perp short) beat the proxies (MSTR, QQQ, GLD) in stress?

The hedge desk (`desk`) prices three families for a long BTC position of a given notional and horizon:
(a) protective puts from the latest option chain's IV at a delta (skew included), (b) a perp short with
its funding carry and liquidation distance, (c) proxy shorts with their minimum-variance hedge ratio and
effectiveness rho^2 in calm and in stress, stress being the returns inside the declines of 20 %+ the event
study finds (`analytics.events.drawdowns`, peak..trough) over the lookback. The perp's effectiveness is
measured the same way, from the perp price implied by Binance's OI value / OI. Formulas:
`analytics.hedging`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics import events
from capitulation.analytics import hedging as hg
from capitulation.analytics.cross_asset import closes as wide_closes
from capitulation.analytics.leverage import funding_history
from capitulation.analytics.liquidation_map import LiquidationModel
from capitulation.errors import DataError
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.signals.common import BTC, closes, pct
from capitulation.snapshot import Snapshot

SIGNAL, TITLE = "hedging", "Hedging"
PROXIES = ("MSTR", "QQQ", "GLD")
PERP = "perp short"
ATM = 0.5  # |put delta| of the delta-neutral ATM strike


@dataclass(frozen=True)
class Thresholds:
    # "Highly effective" in hedge accounting (ASC 815 / IAS 39 regression test): R^2 = rho^2 >= 0.8.
    min_effectiveness: float = 0.8
    horizon_days: int = 30
    option_max_age_days: float = 2.0
    funding_max_age_days: float = 2.0
    price_max_age_days: float = 5.0
    stress_drawdown: float = 0.2  # the event study's drawdown size
    lookback_days: int = 3 * 365  # the regimes are measured over the last three years
    funding_days: int = 30  # funding carry: mean over the last 30 days of funding
    # Binance BTCUSDT's lowest maintenance-margin tier, as in the liquidation map.
    maintenance_margin: float = LiquidationModel().maintenance_margin


@dataclass(frozen=True)
class Puts:
    """Protective puts priced from the chain of `chain_time`; `fresh` False when it is older than allowed."""

    chain_time: pd.Timestamp
    age_days: float
    fresh: bool
    quotes: list[hg.PutCost]
    unpriced: tuple[float, ...]  # deltas the chain has no IV at for this horizon (never extrapolated)


@dataclass(frozen=True)
class PerpShort:
    """A perp short: funding carry (fractions; positive = the short receives) and liquidation distance."""

    venue: str
    funding_from: pd.Timestamp
    funding_to: pd.Timestamp
    fresh: bool
    mean_rate: float  # per funding interval
    interval_h: float
    carry_annualised: float
    carry_horizon: float
    carry_calm_annualised: float  # mean funding over the calm days of the lookback, annualised
    carry_stress_annualised: float
    margin: float
    liq_price_usd: float
    liq_distance: float
    breach_share: float  # share of past horizon windows whose close rose beyond the liquidation distance
    breach_windows: int


@dataclass(frozen=True)
class Desk:
    """The three hedge families for a long BTC position; money in USD, costs as fractions of notional."""

    as_of: pd.Timestamp
    notional_usd: float
    horizon_days: int
    spot_usd: float
    spot_date: pd.Timestamp
    lookback_start: pd.Timestamp
    windows: list[events.Swing]
    puts: Puts | str  # str: why there are none
    perp: PerpShort | str
    hedges: pd.DataFrame  # per proxy (and the perp) and regime: analytics.hedging.HEDGE_COLUMNS
    episodes: pd.DataFrame  # per proxy (and the perp) and stress window


def _age(as_of: pd.Timestamp, t: pd.Timestamp) -> float:
    return (as_of - t).total_seconds() / 86400.0


def desk(
    snap: Snapshot,
    notional_usd: float = 1e6,
    horizon_days: int = 30,
    put_delta: float = 0.25,
    margin: float = 0.10,
    proxies: tuple[str, ...] = PROXIES,
    th: Thresholds = Thresholds(),
) -> Desk:
    """The hedge desk on `snap`. `DataError` for a bad parameter, a proxy without closes or no recent
    BTC-USD close; a family without data is a reason string in its place."""
    if not (math.isfinite(notional_usd) and notional_usd > 0):
        raise DataError(f"hedge: notional must be a positive USD amount, got {notional_usd}")
    if horizon_days < 1:
        raise DataError(f"hedge: horizon must be at least 1 day, got {horizon_days}")
    if not 0 < put_delta < 1:
        raise DataError(f"hedge: put delta must be a fraction in (0, 1), e.g. 0.25, got {put_delta}")
    if not 0 < margin <= 1:
        raise DataError(f"hedge: margin must be a fraction in (0, 1], e.g. 0.1, got {margin}")
    px, btc = snap.get("daily_prices"), closes(snap, BTC)
    if px is None or btc.empty:
        raise DataError("hedge: no BTC-USD closes in the snapshot")
    if _age(snap.as_of, btc.index[-1]) - 1.0 > th.price_max_age_days:
        raise DataError(f"hedge: the latest BTC-USD close ({btc.index[-1]:%Y-%m-%d}) is too old for as_of")
    missing = [p for p in proxies if closes(snap, p).empty]
    if missing:
        raise DataError(f"hedge: no daily closes for proxy {', '.join(missing)} in the snapshot")
    start = snap.as_of - pd.Timedelta(days=th.lookback_days)
    swings = [s for s in events.drawdowns(btc, th.stress_drawdown) if s.trough_date > start]
    windows = [(s.peak_date, s.trough_date) for s in swings]
    wide = wide_closes(px, [BTC, *proxies])
    perps = snap.get("perp_metrics")
    perp_px = hg.perp_closes(perps) if perps is not None else pd.Series(dtype=float)
    if not perp_px.empty:
        wide = wide.join(perp_px.rename(PERP), how="outer")
    hedges = hg.proxy_hedges(wide, BTC, windows, start)
    episodes = hg.episode_hedges(wide, BTC, windows)
    return Desk(
        snap.as_of,
        notional_usd,
        horizon_days,
        float(btc.iloc[-1]),
        btc.index[-1],
        start,
        swings,
        _puts(snap, horizon_days, put_delta, th),
        _perp(snap, float(btc.iloc[-1]), btc, horizon_days, margin, windows, start, th),
        hedges,
        episodes,
    )


def _puts(snap: Snapshot, days: int, put_delta: float, th: Thresholds) -> Puts | str:
    quotes = snap.get("option_quotes")
    if quotes is None:
        return "no option chain in the snapshot"
    chain_time = quotes["timestamp"].max()
    age = _age(snap.as_of, chain_time)
    deltas = tuple(dict.fromkeys((put_delta, ATM)))
    priced = hg.protective_puts(quotes, days, deltas)
    if not priced:
        latest = quotes[quotes["timestamp"] == chain_time]
        span = (latest["expiry"] - chain_time).dt.total_seconds() / 86400.0
        return (
            f"a {days}-day put cannot be priced from the chain of {chain_time:%Y-%m-%d %H:%M} UTC: its quoted "
            f"expiries span {span.min():.1f} to {span.max():.0f} days (no extrapolation)"
        )
    unpriced = tuple(x for x in deltas if x not in {q.delta for q in priced})
    return Puts(chain_time, age, age <= th.option_max_age_days, priced, unpriced)


def _perp(
    snap: Snapshot,
    spot: float,
    btc: pd.Series,
    days: int,
    margin: float,
    windows: list[hg.Window],
    start: pd.Timestamp,
    th: Thresholds,
) -> PerpShort | str:
    perps = snap.get("perp_metrics")
    fh = None if perps is None else funding_history(perps, snap.as_of, th.funding_max_age_days)
    if fh is None:
        return "no funding history in the snapshot"
    venue, symbol, s, interval = fh.venue, fh.symbol, fh.rates, fh.interval_h
    recent = s[s.index > s.index[-1] - pd.Timedelta(days=th.funding_days)]
    annual, horizon = hg.funding_carry(recent, interval, days)
    lookback = s[s.index > start]
    stressed = hg.stress_mask(lookback.index, windows)
    calm_ann = hg.funding_carry(lookback[~stressed], interval, days)[0] if (~stressed).any() else np.nan
    stress_ann = hg.funding_carry(lookback[stressed], interval, days)[0] if stressed.any() else np.nan
    dist = hg.short_liquidation_distance(margin, th.maintenance_margin)
    share, n = hg.breach_share(btc[btc.index > start], dist, days)
    return PerpShort(
        f"{venue} {symbol}",
        recent.index[0],
        recent.index[-1],
        _age(snap.as_of, s.index[-1]) <= th.funding_max_age_days,
        float(recent.mean()),
        interval,
        annual,
        horizon,
        calm_ann,
        stress_ann,
        margin,
        spot * (1.0 + dist),
        dist,
        share,
        n,
    )


FAMILY_COLUMNS = [
    "family",
    "instrument",
    "cost_horizon",
    "cost_annualised",
    "cost_usd",
    "hedge_usd",
    "effectiveness_calm",
    "effectiveness_stress",
    "n_calm",
    "n_stress",
    "note",
]


def families(d: Desk) -> pd.DataFrame:
    """One row per hedge: cost over the horizon (fraction of notional; negative = income), annualised, in
    USD; the hedge's size in USD; effectiveness (rho^2) calm and stress with their return counts; a note."""
    rows = []
    if isinstance(d.puts, str):
        rows.append({"family": "protective put", "instrument": "-", "note": d.puts})
    else:
        stale = (
            ""
            if d.puts.fresh
            else f"; STALE chain, {d.puts.age_days:.1f} days before as_of (spot now ${d.spot_usd:,.0f})"
        )
        for q in d.puts.quotes:
            name = _put_name(q.delta)
            rows.append(
                {
                    "family": "protective put",
                    "instrument": f"{name} put, {q.days:g}d, strike ${q.strike_usd:,.0f} (forward "
                    f"${q.forward_usd:,.0f}, IV {q.vol:.1%})",
                    "cost_horizon": q.cost,
                    "cost_annualised": q.annualised,
                    "cost_usd": q.cost * d.notional_usd,
                    "hedge_usd": d.notional_usd,
                    "note": f"floors the loss at {q.max_loss:.1%} of notional (strike {q.moneyness - 1:+.1%} vs "
                    f"forward, premium included); skew adds {q.skew_cost:.2%}; chain {d.puts.chain_time:%Y-%m-%d %H:%M}"
                    + stale,
                }
            )
        for x in d.puts.unpriced:
            rows.append(
                {
                    "family": "protective put",
                    "instrument": f"{_put_name(x)} put, {d.horizon_days}d",
                    "note": "not enough data: the chain has no IV at this delta for this horizon (no extrapolation)",
                }
            )
    perp_rows = d.hedges[d.hedges["proxy"] == PERP].set_index("regime")
    if isinstance(d.perp, str):
        rows.append({"family": "perp short", "instrument": "-", "note": d.perp})
    else:
        p = d.perp
        rows.append(
            {
                "family": "perp short",
                "instrument": f"{p.venue}, {p.margin:.0%} margin",
                "cost_horizon": -p.carry_horizon,
                "cost_annualised": -p.carry_annualised,
                "cost_usd": -p.carry_horizon * d.notional_usd,
                "hedge_usd": d.notional_usd,
                **_eff(perp_rows),
                "note": f"funding {'received' if p.carry_annualised >= 0 else 'paid'} by the short "
                f"({pct(p.carry_annualised)} a year, {p.funding_from:%Y-%m-%d}..{p.funding_to:%Y-%m-%d}"
                f"{'' if p.fresh else ', STALE'}); liquidated {pct(p.liq_distance)} above spot "
                f"(${p.liq_price_usd:,.0f}), reached in {p.breach_share:.0%} of past {d.horizon_days}d windows",
            }
        )
    for proxy, g in d.hedges[d.hedges["proxy"] != PERP].groupby("proxy", sort=False):
        reg = g.set_index("regime")
        ratio = reg.loc["stress", "hedge_ratio"]
        rows.append(
            {
                "family": "proxy short",
                "instrument": proxy,
                "hedge_usd": ratio * d.notional_usd if np.isfinite(ratio) else np.nan,
                **_eff(reg),
                "note": f"hedge ratio {_num(reg.loc['calm', 'hedge_ratio'])} calm, {_num(ratio)} stress (USD short "
                "per USD of BTC); borrow fee not in the recorded data",
            }
        )
    return pd.DataFrame(rows, columns=FAMILY_COLUMNS)


def _put_name(delta: float) -> str:
    return "ATM" if delta == ATM else f"{delta * 100:g}-delta"


def _eff(reg: pd.DataFrame) -> dict[str, float]:
    if reg.empty:
        return {}
    return {
        "effectiveness_calm": reg.loc["calm", "effectiveness"],
        "effectiveness_stress": reg.loc["stress", "effectiveness"],
        "n_calm": reg.loc["calm", "n_obs"],
        "n_stress": reg.loc["stress", "n_obs"],
    }


def _num(x: float) -> str:
    return f"{x:.2f}" if np.isfinite(x) else "n/a (under 20 returns)"


def evaluate(snap: Snapshot, th: Thresholds = Thresholds()) -> Verdict:
    present = tuple(p for p in PROXIES if not closes(snap, p).empty)
    try:
        d = desk(snap, horizon_days=th.horizon_days, proxies=present, th=th)
    except DataError as exc:
        return not_enough_data(SIGNAL, TITLE, snap.as_of, str(exc))
    t = ("daily_prices",)
    metrics: list[Metric] = []
    evidence = [f"{p}: no closes in the snapshot" for p in PROXIES if p not in present]
    for r in d.hedges.itertuples():
        src = ("daily_prices", "perp_metrics") if r.proxy == PERP else t
        key = "perp" if r.proxy == PERP else r.proxy
        metrics += [
            Metric(f"{key}_effectiveness_{r.regime}", r.effectiveness, "fraction (rho^2)", src),
            Metric(f"{key}_hedge_ratio_{r.regime}", r.hedge_ratio, "USD short per USD of BTC", src),
        ]
        if math.isfinite(r.effectiveness):
            evidence.append(
                f"{r.proxy} ({r.regime}, n={r.n_obs}): hedge ratio {r.hedge_ratio:.2f}, "
                f"effectiveness {r.effectiveness:.2f}"
            )
        else:
            evidence.append(f"{r.proxy} ({r.regime}): not enough data ({r.n_obs} returns)")
    evidence.append(
        f"stress = the {len(d.windows)} declines of {th.stress_drawdown:.0%}+ since {d.lookback_start:%Y-%m-%d}: "
        + ", ".join(f"{s.peak_date:%Y-%m-%d}..{s.trough_date:%Y-%m-%d} {pct(s.depth)}" for s in d.windows)
    )
    if isinstance(d.perp, PerpShort):
        p = d.perp
        if p.fresh:
            metrics.append(
                Metric("perp_short_carry_annualised", p.carry_annualised, "fraction per year", ("perp_metrics",))
            )
        evidence.append(
            f"perp short ({p.venue}): carry {pct(p.carry_annualised)} a year (shorts receive positive funding; "
            f"{pct(p.carry_stress_annualised)} in stress, {pct(p.carry_calm_annualised)} calm)"
            + ("" if p.fresh else f"; funding STALE (to {p.funding_to:%Y-%m-%d})")
            + f"; at {p.margin:.0%} margin liquidated {pct(p.liq_distance)} above spot"
        )
    else:
        evidence.append(f"perp short: {d.perp}")
    if isinstance(d.puts, Puts):
        for q in d.puts.quotes:
            name = "atm" if q.delta == ATM else f"{q.delta * 100:g}d"
            if d.puts.fresh:
                metrics += [
                    Metric(f"put_{name}_cost", q.cost, "fraction of notional", ("option_quotes",)),
                    Metric(f"put_{name}_cost_annualised", q.annualised, "fraction per year", ("option_quotes",)),
                ]
            evidence.append(
                f"{q.days:g}d {name} put (strike {q.moneyness - 1:+.1%}): {q.cost:.2%} of notional, "
                f"{q.annualised:.1%} a year at IV {q.vol:.1%} (ATM {q.atm_vol:.1%})"
                + ("" if d.puts.fresh else f"; STALE chain of {d.puts.chain_time:%Y-%m-%d}, not used in metrics")
            )
        if d.puts.unpriced:
            evidence.append(
                f"puts at delta {', '.join(f'{x:g}' for x in d.puts.unpriced)}: not enough data in the chain"
            )
    else:
        evidence.append(f"puts: {d.puts}")
    proxies = d.hedges[(d.hedges["proxy"] != PERP) & (d.hedges["regime"] == "stress")].dropna(subset=["effectiveness"])
    if proxies.empty:
        return Verdict(
            SIGNAL,
            TITLE,
            Status.NOT_ENOUGH_DATA,
            "no stress returns with enough proxy history to compare",
            snap.as_of,
            tuple(metrics),
            tuple(evidence),
        )
    evidence.append(f"a hedge counts as effective at rho^2 >= {th.min_effectiveness:.2f} (hedge accounting's test)")
    best = proxies.sort_values("effectiveness").iloc[-1]
    perp = d.hedges[(d.hedges["proxy"] == PERP) & (d.hedges["regime"] == "stress")]["effectiveness"]
    perp_eff = float(perp.iloc[0]) if len(perp) and math.isfinite(perp.iloc[0]) else None
    direct_ok = perp_eff is None or (perp_eff >= th.min_effectiveness and perp_eff > best.effectiveness)
    holds = best.effectiveness < th.min_effectiveness and direct_ok
    direct = f"perp short rho^2 {perp_eff:.2f}" if perp_eff is not None else "perp short ~1 by construction"
    headline = (
        f"direct hedge wins in stress: {direct} vs best proxy {best.proxy} {best.effectiveness:.2f}"
        if holds
        else f"proxy {best.proxy} hedged {best.effectiveness:.0%} of BTC variance in stress ({direct})"
    )
    status = Status.HOLDS if holds else Status.DOES_NOT_HOLD
    return Verdict(SIGNAL, TITLE, status, headline, snap.as_of, tuple(metrics), tuple(evidence))
