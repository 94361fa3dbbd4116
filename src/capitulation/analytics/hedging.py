"""Hedge formulas for a long BTC position: proxy shorts, diversifiers in a stress window, protective puts,
a perp short. The hedge desk (`hedge_desk`) and signal 7 (`signals.hedging`) are built on them.

Proxy shorts (and the perp, measured the same way), on daily log returns aligned as in `cross_asset`:
    minimum-variance hedge ratio  h = rho x sd_btc / sd_proxy    USD of proxy short per USD of BTC
    effectiveness                  = rho^2                        share of BTC's return variance removed
    residual volatility            = sd_btc x sqrt(1 - rho^2)     per return, of the hedged position
measured separately on stress returns (those ending on a date in (peak, trough] of a drawdown of the
event study, `events.drawdowns`) and calm returns (all others), never from fewer than `MIN_OBS` returns.

Diversifiers in a window of `days` calendar days ending at `end` (signal 7), on the same aligned returns:
    window return           = exp(sum of r_t, t in (end - days, end]) - 1    fraction; for a NY-listed asset
                              from its last close on or before end - days to its last close on or before end
    rolling window returns  = the window return ending at each date of the series (windows of past weeks)
    rolling effectiveness   = rho^2 over each run of n consecutive common returns

Protective put at put delta -D, horizon t = days / 365 (ACT/365), Black-76 undiscounted at the forward F:
    strike        K = F exp(vol^2 t / 2 + vol sqrt(t) N^-1(D))     (so that N(-d1) = D; D = 0.5 is the
                                                                   delta-neutral ATM strike of `smile`)
    cost          = put(F, K, t, vol) / F                          fraction of the forward notional
    annualised    = cost x 365 / days
    max loss      = 1 - K / F + cost                               at expiry, the hedged position's worst case
`vol` is the chain's IV at that delta and horizon (skew included); the skew's share of the cost is
cost(vol at D) - cost(ATM vol) at the same strike.

Perp short: funding is paid by longs to shorts when positive, so a short's carry is +funding:
    carry (annualised)  = mean funding per interval x (24 / interval hours) x 365      fraction per year
    carry over horizon  = mean funding per interval x (24 / interval hours) x days
Its liquidation distance at initial margin m (leverage 1 / m, maintenance mm) is liq / entry - 1 with
`liquidation_map.liquidation_price` for an isolated short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtri

from capitulation.analytics import black76
from capitulation.analytics.cross_asset import MAX_GAP_DAYS, MIN_OBS, aligned_returns
from capitulation.analytics.liquidation_map import liquidation_price
from capitulation.analytics.smile import constant_maturity, risk_reversals
from capitulation.timeutil import DAYS_PER_YEAR

Window = tuple[pd.Timestamp, pd.Timestamp]
HEDGE_COLUMNS = ["proxy", "regime", "n_obs", "rho", "sd_btc", "sd_proxy", "hedge_ratio", "effectiveness"]


def stress_mask(dates: pd.DatetimeIndex, windows: Sequence[Window]) -> np.ndarray:
    """True where a date lies in (peak, trough] of one of `windows`: the return ending that day is part of a
    decline."""
    out = np.zeros(len(dates), dtype=bool)
    for peak, trough in windows:
        out |= np.asarray((dates > peak) & (dates <= trough))
    return out


def min_variance_hedge(r_btc: np.ndarray, r_proxy: np.ndarray) -> dict[str, float]:
    """n_obs, rho, sd_btc, sd_proxy (per return, fraction), hedge_ratio and effectiveness (module formulas);
    NaN below `MIN_OBS` returns."""
    n = len(r_btc)
    if n < MIN_OBS:
        return {"n_obs": n} | dict.fromkeys(HEDGE_COLUMNS[3:], np.nan)
    rho = float(np.corrcoef(r_btc, r_proxy)[0, 1])
    sb, sp = float(np.std(r_btc, ddof=1)), float(np.std(r_proxy, ddof=1))
    return {"n_obs": n, "rho": rho, "sd_btc": sb, "sd_proxy": sp, "hedge_ratio": rho * sb / sp, "effectiveness": rho**2}


def proxy_hedges(
    wide: pd.DataFrame,
    base: str,
    windows: Sequence[Window],
    start: pd.Timestamp | None = None,
    max_gap_days: int = MAX_GAP_DAYS,
) -> pd.DataFrame:
    """Per proxy column and regime ('calm', 'stress'): `HEDGE_COLUMNS`, on returns dated after `start`."""
    rows = []
    for sym in wide.columns.drop(base):
        rets = aligned_returns(wide, base, sym, max_gap_days).dropna()
        if start is not None:
            rets = rets[rets.index > start]
        stressed = stress_mask(rets.index, windows)
        for regime, mask in (("calm", ~stressed), ("stress", stressed)):
            sub = rets[mask]
            rows.append(
                {"proxy": sym, "regime": regime, **min_variance_hedge(sub[base].to_numpy(), sub[sym].to_numpy())}
            )
    return pd.DataFrame(rows, columns=HEDGE_COLUMNS)


def episode_hedges(
    wide: pd.DataFrame, base: str, windows: Sequence[Window], max_gap_days: int = MAX_GAP_DAYS
) -> pd.DataFrame:
    """Per proxy column and stress window: peak, trough and `HEDGE_COLUMNS` on that decline's returns only."""
    rows = []
    for sym in wide.columns.drop(base):
        rets = aligned_returns(wide, base, sym, max_gap_days).dropna()
        for peak, trough in windows:
            sub = rets[stress_mask(rets.index, [(peak, trough)])]
            h = min_variance_hedge(sub[base].to_numpy(), sub[sym].to_numpy())
            rows.append({"proxy": sym, "regime": "stress", "peak": peak, "trough": trough, **h})
    return pd.DataFrame(rows, columns=["peak", "trough", *HEDGE_COLUMNS])


def window_return(log_returns: pd.Series, end: pd.Timestamp, days: int) -> tuple[float, int]:
    """(exp(sum) - 1, count) of the log returns dated in (end - `days`, end]: the simple return over the
    window (fraction) and how many returns it holds."""
    w = log_returns[(log_returns.index > end - pd.Timedelta(days=days)) & (log_returns.index <= end)]
    return float(np.expm1(w.sum())), len(w)


def rolling_window_returns(log_returns: pd.Series, days: int, min_obs: int) -> pd.Series:
    """`window_return` ending at each date of `log_returns` (time-sorted): windows (t - `days`, t]; NaN where
    a window holds fewer than `min_obs` returns."""
    roll = log_returns.rolling(pd.Timedelta(days=days))
    return np.expm1(roll.sum()).where(roll.count() >= min_obs)


def rolling_effectiveness(rets: pd.DataFrame, base: str, other: str, n: int) -> pd.Series:
    """rho^2 of `base` and `other` over each `n` consecutive rows ending at each date (NaN before the n-th)."""
    return rets[base].rolling(n).corr(rets[other]) ** 2


def perp_closes(perps: pd.DataFrame) -> pd.Series:
    """Daily perp prices (USD) implied by OI value / OI (oi_usd / oi_btc) at 00:00 UTC, labelled with the
    previous date: the price at the end of UTC day d, the moment BTC-USD's daily close of d is taken."""
    p = perps.dropna(subset=["oi_btc", "oi_usd"])
    p = p[(p["oi_btc"] > 0) & (p["timestamp"].dt.hour == 0) & (p["timestamp"].dt.minute == 0)]
    s = (p["oi_usd"] / p["oi_btc"]).set_axis(p["timestamp"] - pd.Timedelta(days=1))
    return s[~s.index.duplicated(keep="last")].sort_index()


def put_strike(t_years: float, vol: float, put_delta: float) -> float:
    """K / F of the put whose undiscounted delta is -`put_delta`: exp(vol^2 t / 2 + vol sqrt(t) N^-1(D))."""
    return float(np.exp(0.5 * vol * vol * t_years + vol * np.sqrt(t_years) * ndtri(put_delta)))


@dataclass(frozen=True)
class PutCost:
    """A protective put at one delta and horizon; costs are fractions of the forward notional."""

    delta: float  # |put delta|, e.g. 0.25; 0.5 is ATM
    days: float
    vol: float  # the chain's IV at that delta and horizon (fraction)
    atm_vol: float
    moneyness: float  # K / F
    strike_usd: float
    forward_usd: float
    cost: float
    cost_at_atm_vol: float
    annualised: float
    max_loss: float

    @property
    def skew_cost(self) -> float:
        """The part of the cost due to the skew: cost at this delta's vol minus cost at the ATM vol."""
        return self.cost - self.cost_at_atm_vol

    def as_dict(self) -> dict[str, float]:
        """JSON-ready: put_delta (negative), days, IVs (fractions), strike over forward, USD strike and forward,
        and the costs and max loss as fractions of the forward notional (cost_annualised per year)."""
        return {
            "put_delta": -self.delta,
            "days": self.days,
            "iv": self.vol,
            "atm_iv": self.atm_vol,
            "strike_over_forward": self.moneyness,
            "strike_usd": self.strike_usd,
            "forward_usd": self.forward_usd,
            "cost": self.cost,
            "cost_annualised": self.annualised,
            "cost_at_atm_iv": self.cost_at_atm_vol,
            "skew_cost": self.skew_cost,
            "max_loss": self.max_loss,
        }


def protective_puts(quotes: pd.DataFrame, days: float, deltas: Sequence[float]) -> list[PutCost]:
    """A `PutCost` per delta from the latest chain in `quotes`: vols from `smile.risk_reversals` and
    `smile.constant_maturity` (linear in delta per expiry, linear in total variance across expiries), the
    forward linear in time between the expiries' forwards. Empty when `days` is outside the quoted expiries
    or a vol is missing there."""
    rr = risk_reversals(quotes, tuple(deltas))
    cm = constant_maturity(rr, (days,))
    if cm.empty:
        return []
    row, t = cm.iloc[0], days / DAYS_PER_YEAR
    rr = rr.sort_values("t_years")
    forward = float(np.interp(t, rr["t_years"], rr["forward"]))
    out = []
    for d in deltas:
        vol, atm = float(row[f"put{round(d * 100):d}_iv"]), float(row["atm_iv"])
        if not (np.isfinite(vol) and np.isfinite(atm)):
            continue
        m = put_strike(t, vol, d)
        cost = float(black76.price(1.0, m, t, vol, False))
        out.append(
            PutCost(
                delta=d,
                days=days,
                vol=vol,
                atm_vol=atm,
                moneyness=m,
                strike_usd=m * forward,
                forward_usd=forward,
                cost=cost,
                cost_at_atm_vol=float(black76.price(1.0, m, t, atm, False)),
                annualised=cost * 365.0 / days,
                max_loss=1.0 - m + cost,
            )
        )
    return out


def funding_carry(funding_rate: pd.Series, interval_h: float, horizon_days: float) -> tuple[float, float]:
    """(annualised carry, carry over `horizon_days`) of a perp short from the mean of `funding_rate`
    (fraction per interval; positive = shorts receive): see the module formulas."""
    per_day = float(funding_rate.dropna().mean()) * 24.0 / interval_h
    return per_day * 365.0, per_day * horizon_days


def short_liquidation_distance(margin: float, maintenance_margin: float) -> float:
    """How far BTC can rise before an isolated short at initial margin `margin` (fraction of notional) is
    liquidated: liq / entry - 1 = (1 + margin) / (1 + mm) - 1 (fraction)."""
    return float(liquidation_price(1.0, 1.0 / margin, False, maintenance_margin)) - 1.0


def breach_share(close: pd.Series, rise: float, days: int) -> tuple[float, int]:
    """Share of the `days`-long windows of a daily close series (one per start date) in which a close rose
    more than `rise` (fraction) above the window's first close, and the number of windows. Closes only:
    intraday highs are not recorded, so this understates how often an intraday price got there."""
    v = close.dropna().to_numpy(dtype=float)
    if len(v) <= days:
        return np.nan, 0
    peaks = sliding_window_view(v[1:], days).max(axis=1)
    hit = peaks > v[:-days] * (1.0 + rise)
    return float(hit.mean()), len(hit)
