"""The hedge desk for a long BTC position: what each hedge costs and how well it hedged (`capitulation hedge`).

A calculator over the snapshot's tables, not a verdict (signal 7 asks whether the diversifiers failed; this
prices the hedges). Three families for a long BTC position of a given notional and horizon: (a) protective
puts from the latest option chain's IV at a delta (skew included), (b) a perp short with its funding carry
and liquidation distance, (c) proxy shorts with their minimum-variance hedge ratio and effectiveness rho^2
in calm and in stress, stress being the returns inside the declines of 20 %+ the event study finds
(`events.drawdowns`, peak..trough) over the lookback. The perp's effectiveness is measured the same way,
from the perp price implied by Binance's OI value / OI. Formulas: `analytics.hedging`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics import events
from capitulation.analytics import hedging as hg
from capitulation.analytics.cross_asset import closes as wide_closes
from capitulation.analytics.leverage import funding_history
from capitulation.analytics.liquidation_map import LiquidationModel
from capitulation.errors import DataError
from capitulation.tables import DAILY_PRICES, OPTION_QUOTES, PERP_METRICS
from capitulation.timeutil import DAYS_PER_YEAR, year_fraction

BTC = "BTC-USD"
PROXIES = ("MSTR", "QQQ", "GLD")
PERP = "perp short"
ATM = 0.5  # |put delta| of the delta-neutral ATM strike


@dataclass(frozen=True)
class Settings:
    """The desk's windows and freshness limits (the notional, horizon, delta and margin are arguments)."""

    option_max_age_days: float = 2.0  # a chain older than this prices the puts as STALE
    funding_max_age_days: float = 2.0
    price_max_age_days: float = 5.0  # a long weekend is 4 days
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

    def as_dict(self) -> dict[str, object]:
        return {
            "chain_time": self.chain_time.isoformat(),
            "chain_age_days": self.age_days,
            "fresh": self.fresh,
            "note": "IV from the latest chain at or before as_of"
            + ("" if self.fresh else "; STALE: pass --as-of the chain's date for a current price"),
            "unpriced_put_deltas": [-x for x in self.unpriced],
            "quotes": [q.as_dict() for q in self.quotes],
        }


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

    def as_dict(self) -> dict[str, object]:
        return {
            "venue": self.venue,
            "funding_from": self.funding_from.isoformat(),
            "funding_to": self.funding_to.isoformat(),
            "fresh": self.fresh,
            "funding_mean_per_interval": self.mean_rate,
            "funding_interval_h": self.interval_h,
            "sign": "shorts receive positive funding: carry > 0 is income for the hedge",
            "carry_annualised": self.carry_annualised,
            "carry_horizon": self.carry_horizon,
            "carry_calm_annualised": self.carry_calm_annualised,
            "carry_stress_annualised": self.carry_stress_annualised,
            "margin": self.margin,
            "liquidation_price_usd": self.liq_price_usd,
            "liquidation_distance": self.liq_distance,
            "liquidation_reached_share": self.breach_share,
            "liquidation_reached_windows": self.breach_windows,
            "liquidation_note": "share of past horizon windows (lookback) in which a BTC daily close rose beyond "
            "the distance; intraday highs are not recorded, so this understates it",
        }


@dataclass(frozen=True)
class Desk:
    """The three hedge families for a long BTC position; money in USD, costs as fractions of notional."""

    as_of: pd.Timestamp
    notional_usd: float
    horizon_days: int
    spot_usd: float
    spot_date: pd.Timestamp
    stress_drawdown: float
    lookback_start: pd.Timestamp
    windows: list[events.Swing]
    puts: Puts | str  # str: why there are none
    perp: PerpShort | str
    hedges: pd.DataFrame  # per proxy (and the perp) and regime: analytics.hedging.HEDGE_COLUMNS
    episodes: pd.DataFrame  # per proxy (and the perp) and stress window

    def families(self) -> pd.DataFrame:
        """One row per hedge: cost over the horizon (fraction of notional; negative = income), annualised, in
        USD; the hedge's size in USD; effectiveness (rho^2) calm and stress with their return counts; a note."""
        rows = []
        if isinstance(self.puts, str):
            rows.append({"family": "protective put", "instrument": "-", "note": self.puts})
        else:
            stale = (
                ""
                if self.puts.fresh
                else f"; STALE chain, {self.puts.age_days:.1f} days before as_of (spot now ${self.spot_usd:,.0f})"
            )
            for q in self.puts.quotes:
                name = _put_name(q.delta)
                rows.append(
                    {
                        "family": "protective put",
                        "instrument": f"{name} put, {q.days:g}d, strike ${q.strike_usd:,.0f} (forward "
                        f"${q.forward_usd:,.0f}, IV {q.vol:.1%})",
                        "cost_horizon": q.cost,
                        "cost_annualised": q.annualised,
                        "cost_usd": q.cost * self.notional_usd,
                        "hedge_usd": self.notional_usd,
                        "note": f"floors the loss at {q.max_loss:.1%} of notional (strike {q.moneyness - 1:+.1%} vs "
                        f"forward, premium included); skew adds {q.skew_cost:.2%}; chain "
                        f"{self.puts.chain_time:%Y-%m-%d %H:%M}" + stale,
                    }
                )
            for x in self.puts.unpriced:
                rows.append(
                    {
                        "family": "protective put",
                        "instrument": f"{_put_name(x)} put, {self.horizon_days}d",
                        "note": "not enough data: the chain has no IV at this delta for this horizon "
                        "(no extrapolation)",
                    }
                )
        perp_rows = self.hedges[self.hedges["proxy"] == PERP].set_index("regime")
        if isinstance(self.perp, str):
            rows.append({"family": "perp short", "instrument": "-", "note": self.perp})
        else:
            p = self.perp
            rows.append(
                {
                    "family": "perp short",
                    "instrument": f"{p.venue}, {p.margin:.0%} margin",
                    "cost_horizon": -p.carry_horizon,
                    "cost_annualised": -p.carry_annualised,
                    "cost_usd": -p.carry_horizon * self.notional_usd,
                    "hedge_usd": self.notional_usd,
                    **_eff(perp_rows),
                    "note": f"funding {'received' if p.carry_annualised >= 0 else 'paid'} by the short "
                    f"({p.carry_annualised:+.1%} a year, {p.funding_from:%Y-%m-%d}..{p.funding_to:%Y-%m-%d}"
                    f"{'' if p.fresh else ', STALE'}); liquidated {p.liq_distance:+.1%} above spot "
                    f"(${p.liq_price_usd:,.0f}), reached in {p.breach_share:.0%} of past {self.horizon_days}d windows",
                }
            )
        for proxy, g in self.hedges[self.hedges["proxy"] != PERP].groupby("proxy", sort=False):
            reg = g.set_index("regime")
            ratio = reg.loc["stress", "hedge_ratio"]
            rows.append(
                {
                    "family": "proxy short",
                    "instrument": proxy,
                    "hedge_usd": ratio * self.notional_usd if np.isfinite(ratio) else np.nan,
                    **_eff(reg),
                    "note": f"hedge ratio {_num(reg.loc['calm', 'hedge_ratio'])} calm, {_num(ratio)} stress (USD short "
                    "per USD of BTC); borrow fee not in the recorded data",
                }
            )
        return pd.DataFrame(rows, columns=FAMILY_COLUMNS)

    def as_dict(self) -> dict[str, object]:
        """The desk's figures, JSON-ready except its tables (`families()`, `hedges`, `episodes`: frames the
        caller renders)."""
        return {
            "as_of": self.as_of.isoformat(),
            "notional_usd": self.notional_usd,
            "horizon_days": self.horizon_days,
            "spot_usd": self.spot_usd,
            "spot_date": self.spot_date.isoformat(),
            "stress_definition": f"returns inside the BTC declines of {self.stress_drawdown:.0%}+ (event study, "
            f"peak..trough) since {self.lookback_start:%Y-%m-%d}; calm = all other returns since then",
            "stress_windows": [
                {
                    "peak": s.peak_date.isoformat(),
                    "trough": s.trough_date.isoformat(),
                    "depth": s.depth,
                    "confirmed": s.confirmed,
                }
                for s in self.windows
            ],
            "puts": self.puts if isinstance(self.puts, str) else self.puts.as_dict(),
            "perp_short": self.perp if isinstance(self.perp, str) else self.perp.as_dict(),
        }


def _table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame | None:
    df = tables.get(name)
    return None if df is None or df.empty else df


def desk(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    notional_usd: float = 1e6,
    horizon_days: int = 30,
    put_delta: float = 0.25,
    margin: float = 0.10,
    proxies: tuple[str, ...] = PROXIES,
    settings: Settings = Settings(),
) -> Desk:
    """The hedge desk at `as_of` from the `daily_prices`, `perp_metrics` and `option_quotes` of `tables`
    (by name, e.g. a Snapshot's; rows after as_of already cut, as `Snapshot.upto` does; a missing or empty
    table is absent). `DataError` for a bad parameter, a proxy without closes or no recent BTC-USD close; a
    family without data is a reason string in its place."""
    prices, perps, quotes = (_table(tables, t) for t in ("daily_prices", "perp_metrics", "option_quotes"))
    if not (math.isfinite(notional_usd) and notional_usd > 0):
        raise DataError(f"hedge: notional must be a positive USD amount, got {notional_usd}")
    if horizon_days < 1:
        raise DataError(f"hedge: horizon must be at least 1 day, got {horizon_days}")
    if not 0 < put_delta < 1:
        raise DataError(f"hedge: put delta must be a fraction in (0, 1), e.g. 0.25, got {put_delta}")
    if not 0 < margin <= 1:
        raise DataError(f"hedge: margin must be a fraction in (0, 1], e.g. 0.1, got {margin}")
    wide = wide_closes(prices, [BTC, *proxies]) if prices is not None else pd.DataFrame()
    btc = wide[BTC].dropna() if BTC in wide.columns else pd.Series(dtype=float)
    if btc.empty:
        raise DataError("hedge: no BTC-USD closes in the snapshot")
    if DAILY_PRICES.age_days(as_of, btc.index[-1]) > settings.price_max_age_days:
        raise DataError(f"hedge: the latest BTC-USD close ({btc.index[-1]:%Y-%m-%d}) is too old for as_of")
    missing = [p for p in proxies if p not in wide.columns]
    if missing:
        raise DataError(f"hedge: no daily closes for proxy {', '.join(missing)} in the snapshot")
    start = as_of - pd.Timedelta(days=settings.lookback_days)
    swings = [s for s in events.drawdowns(btc, settings.stress_drawdown) if s.trough_date > start]
    windows = [(s.peak_date, s.trough_date) for s in swings]
    perp_px = hg.perp_closes(perps) if perps is not None else pd.Series(dtype=float)
    if not perp_px.empty:
        wide = wide.join(perp_px.rename(PERP), how="outer")
    spot = float(btc.iloc[-1])
    return Desk(
        as_of,
        notional_usd,
        horizon_days,
        spot,
        btc.index[-1],
        settings.stress_drawdown,
        start,
        swings,
        _puts(quotes, as_of, horizon_days, put_delta, settings),
        _perp(perps, as_of, spot, btc, horizon_days, margin, windows, start, settings),
        hg.proxy_hedges(wide, BTC, windows, start),
        hg.episode_hedges(wide, BTC, windows),
    )


def _puts(
    quotes: pd.DataFrame | None, as_of: pd.Timestamp, days: int, put_delta: float, settings: Settings
) -> Puts | str:
    if quotes is None:
        return "no option chain in the snapshot"
    chain_time = quotes["timestamp"].max()
    age = OPTION_QUOTES.age_days(as_of, chain_time)
    deltas = tuple(dict.fromkeys((put_delta, ATM)))
    priced = hg.protective_puts(quotes, days, deltas)
    if not priced:
        latest = quotes[quotes["timestamp"] == chain_time]
        span = year_fraction(chain_time, latest["expiry"]) * DAYS_PER_YEAR
        return (
            f"a {days}-day put cannot be priced from the chain of {chain_time:%Y-%m-%d %H:%M} UTC: its quoted "
            f"expiries span {span.min():.1f} to {span.max():.0f} days (no extrapolation)"
        )
    unpriced = tuple(x for x in deltas if x not in {q.delta for q in priced})
    return Puts(chain_time, age, age <= settings.option_max_age_days, priced, unpriced)


def _perp(
    perps: pd.DataFrame | None,
    as_of: pd.Timestamp,
    spot: float,
    btc: pd.Series,
    days: int,
    margin: float,
    windows: list[hg.Window],
    start: pd.Timestamp,
    settings: Settings,
) -> PerpShort | str:
    fh = None if perps is None else funding_history(perps, as_of, settings.funding_max_age_days)
    if fh is None:
        return "no funding history in the snapshot"
    venue, symbol, s, interval = fh.venue, fh.symbol, fh.rates, fh.interval_h
    recent = s[s.index > s.index[-1] - pd.Timedelta(days=settings.funding_days)]
    annual, horizon = hg.funding_carry(recent, interval, days)
    lookback = s[s.index > start]
    stressed = hg.stress_mask(lookback.index, windows)
    calm_ann = hg.funding_carry(lookback[~stressed], interval, days)[0] if (~stressed).any() else np.nan
    stress_ann = hg.funding_carry(lookback[stressed], interval, days)[0] if stressed.any() else np.nan
    dist = hg.short_liquidation_distance(margin, settings.maintenance_margin)
    share, n = hg.breach_share(btc[btc.index > start], dist, days)
    return PerpShort(
        f"{venue} {symbol}",
        recent.index[0],
        recent.index[-1],
        PERP_METRICS.age_days(as_of, s.index[-1]) <= settings.funding_max_age_days,
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
