"""Estimated liquidation levels from an OI and price history: a model that conserves open interest.

Units: open interest O_t and cohort sizes m in BTC, prices p_t in USD, liquidated notional in USD.

State: cohorts of positions, each (entry price e, side, leverage L, size m). Every cohort's liquidation
price is proportional to its entry, l = e f(side, L). For an isolated position with initial margin
notional / L, liquidated when its equity falls to the maintenance margin mm x notional (mm a fraction:
the venue's lowest tier, Binance BTCUSDT 0.4 % up to 50k USDT; the cohorts are many small positions):

    linear (USDT-margined)   f_long = (1 - 1/L) / (1 - mm)     f_short = (1 + 1/L) / (1 + mm)
    inverse (coin-margined)  f_long = (1 + mm) / (1 + 1/L)     f_short = (1 - mm) / (1 - 1/L)

New positions are split `long_share` / (1 - long_share) between longs and shorts and over the leverage
`tiers` by weight (w_L, summing to 1).

Each step t-1 -> t of the observed path (O_t, p_t):

1. Sweep: the price travelled over [lo, hi] = [min(p_t-1, p_t), max(p_t-1, p_t)]. Longs with l >= lo and
   shorts with l <= hi are liquidated: swept mass S_long, S_short (BTC) and notional sum(m l) (USD).
2. Balance: R = sum(m) after the sweep, D = O_t - R (BTC).
   * D >= 0: D is opened at p_t. The first r = min(D, S) of it re-opens the swept positions on their
     own side (r S_long / S longs, r S_short / S shorts, S = S_long + S_short): OI that held up while a
     cohort was swept says its positions were replaced, at the current price. The rest, D - r, is new
     OI split by `long_share`. Each side's new mass is spread over the tiers by w_L.
   * D < 0: every open cohort is scaled by O_t / R (positions closed pro rata).
3. Hence sum(m) = O_t after every step: the model's open mass equals the observed OI (conservation).

Start (OI held before the window): O_0 at the first stamp is placed as if it had been opened evenly in
time at the `warmup` daily closes c_1..c_n before it and at p_0: a time-weighted entry distribution, the
neutral prior when the age of open positions is unknown (signal 4 passes 30 days, a month of turnover of
perp positions). The steps above run on the path c_1..c_n, p_0 with OI ramping O_0 k / (n + 1),
k = 1..n+1: each close opens O_0 / (n + 1), and cohorts the later closes swept are re-opened at them. The
warm-up's sweeps are not reported.

Outputs per step: swept long and short mass (BTC) and notional (USD, at the liquidation prices); per UTC
day (`daily_liquidations`) their sums and the open mass before the day, so that swept long BTC / open BTC
is the share of the open interest liquidated that day (dimensionless, comparable across OI histories).

Calibration against observed daily liquidations (USD) on common days d (`calibrate`, `walk_forward`):

    scale = sum_d observed_d / sum_d modelled_d        (observed USD per modelled USD)
    correlation = Pearson(modelled_d, observed_d);  rank correlation = Spearman's
    walk-forward prediction_d = modelled_d x scale fitted on the window before d only, scored with the
    same figures (`out_of_sample`: its scale, observed / predicted, is about 1 when the fit carries over)

The per-step loop runs in numba over arrays (cohort i = the positions opened at step i, one column per
tier), O(steps x cohorts x tiers): under 0.1 s for the 2,000 daily steps of 2020-2025. What remains
open is bucketed by liquidation price: USD notional = m (BTC) x l (USD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from capitulation.errors import DataError

# Default leverage mix of new positions (weights sum to 1): a documented assumption, configurable.
DEFAULT_TIERS: dict[float, float] = {5.0: 0.2, 10.0: 0.35, 25.0: 0.25, 50.0: 0.15, 100.0: 0.05}


@dataclass(frozen=True)
class LiquidationModel:
    tiers: tuple[tuple[float, float], ...] = tuple(DEFAULT_TIERS.items())
    long_share: float = 0.5
    maintenance_margin: float = 0.004
    bucket_fraction: float = 0.01
    inverse: bool = False


def liquidation_price(
    entry: np.ndarray | float,
    leverage: np.ndarray | float,
    is_long: np.ndarray | bool,
    mm: float,
    inverse: bool = False,
) -> np.ndarray:
    """Liquidation price (USD) of isolated positions: the formulas in the module docstring, vectorised."""
    entry, inv_l = np.asarray(entry, float), 1.0 / np.asarray(leverage, float)
    if inverse:
        return np.where(is_long, entry * (1 + mm) / (1 + inv_l), entry * (1 - mm) / (1 - inv_l))
    return np.where(is_long, entry * (1 - inv_l) / (1 - mm), entry * (1 + inv_l) / (1 + mm))


@njit(cache=True)
def _run(
    oi: np.ndarray, price: np.ndarray, f_long: np.ndarray, f_short: np.ndarray, w: np.ndarray, long_share: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The steps of the module docstring. Returns the open sizes (cohort x tier, longs and shorts: BTC),
    per step [swept long BTC, swept short BTC, swept long USD, swept short USD], and the open mass after
    each step (BTC), summed over the cohorts (the next step's sweep visits them all).

    Each step visits only the cohorts that still hold a position (`alive`, ascending): a cohort swept on
    every tier stays empty, so the sums run over the same positions in the same order as a visit of all
    cohorts, at a cost that follows the open cohorts instead of the steps so far."""
    n, k = len(price), len(w)
    longs, shorts = np.zeros((n, k)), np.zeros((n, k))
    swept, open_mass = np.zeros((n, 4)), np.zeros(n)
    alive, n_alive = np.zeros(n, np.int64), 1  # cohort 0 first
    for j in range(k):
        longs[0, j] = oi[0] * long_share * w[j]
        shorts[0, j] = oi[0] * (1.0 - long_share) * w[j]
    for t in range(1, n):
        lo, hi = min(price[t - 1], price[t]), max(price[t - 1], price[t])
        s_long = s_short = usd_long = usd_short = remaining = 0.0
        kept = 0
        for a in range(n_alive):
            i = alive[a]
            held = False
            for j in range(k):
                m = longs[i, j]
                if m > 0.0:
                    liq = price[i] * f_long[j]
                    if liq >= lo:
                        s_long += m
                        usd_long += m * liq
                        longs[i, j] = 0.0
                    else:
                        remaining += m
                        held = True
                m = shorts[i, j]
                if m > 0.0:
                    liq = price[i] * f_short[j]
                    if liq <= hi:
                        s_short += m
                        usd_short += m * liq
                        shorts[i, j] = 0.0
                    else:
                        remaining += m
                        held = True
            if held:
                alive[kept] = i
                kept += 1
        n_alive = kept
        swept[t, 0], swept[t, 1], swept[t, 2], swept[t, 3] = s_long, s_short, usd_long, usd_short
        open_mass[t - 1] = remaining + s_long + s_short
        d = oi[t] - remaining
        if abs(d) <= 1e-12 * oi[t]:  # rounding noise, not a position: nothing opens or closes
            continue
        if d > 0.0:
            s = s_long + s_short
            r = min(d, s)
            new_long = (r * s_long / s if s > 0.0 else 0.0) + (d - r) * long_share
            new_short = (r * s_short / s if s > 0.0 else 0.0) + (d - r) * (1.0 - long_share)
            for j in range(k):
                longs[t, j] = new_long * w[j]
                shorts[t, j] = new_short * w[j]
            alive[n_alive] = t
            n_alive += 1
        else:
            scale = oi[t] / remaining
            for a in range(n_alive):
                for j in range(k):
                    longs[alive[a], j] *= scale
                    shorts[alive[a], j] *= scale
    open_mass[n - 1] = longs.sum() + shorts.sum()
    return longs, shorts, swept, open_mass


SWEPT_COLUMNS = ["long_btc", "short_btc", "long_usd", "short_usd"]


@dataclass(frozen=True)
class MapRun:
    """The model run over a path (warm-up dropped).

    `cohorts`: what is open after the last step (side, leverage, entry USD, liq_price USD, btc);
    `swept`: per observed step (indexed like the input path), the mass liquidated on the way to it:
    long_btc, short_btc (BTC), long_usd, short_usd (USD at the liquidation prices); the first row is 0;
    `open_btc`: the model's open mass after each step (BTC, summed over its cohorts): the observed OI.
    """

    cohorts: pd.DataFrame
    swept: pd.DataFrame
    open_btc: np.ndarray


def run_map(
    oi_btc: pd.Series | np.ndarray,
    price: pd.Series | np.ndarray,
    model: LiquidationModel = LiquidationModel(),
    warmup: np.ndarray | None = None,
) -> MapRun:
    """Replay the OI (BTC) and price (USD) path through the model; `warmup` = the daily closes (USD) before
    the first stamp over which the OI held then is placed (None: all of it at the first price)."""
    index = oi_btc.index if isinstance(oi_btc, pd.Series) else pd.RangeIndex(len(oi_btc))
    oi, px = np.asarray(oi_btc, float), np.asarray(price, float)
    pre = np.empty(0) if warmup is None else np.asarray(warmup, float)
    if len(oi) != len(px) or len(oi) < 2:
        raise DataError("liquidation map: need matching OI and price paths of at least 2 points")
    if not (np.isfinite(oi).all() and (oi >= 0).all() and np.isfinite(px).all() and (px > 0).all()):
        raise DataError("liquidation map: OI must be finite and non-negative, prices finite and positive")
    if not (np.isfinite(pre).all() and (pre > 0).all()):
        raise DataError("liquidation map: warm-up closes must be finite and positive")
    n = len(pre)
    ramp = oi[0] * np.arange(1, n + 1) / (n + 1)
    lev = np.array([t[0] for t in model.tiers], float)
    w = np.array([t[1] for t in model.tiers], float)
    mm = model.maintenance_margin
    f_long = liquidation_price(1.0, lev, True, mm, model.inverse)
    f_short = liquidation_price(1.0, lev, False, mm, model.inverse)
    path = np.concatenate([pre, px])
    longs, shorts, swept, open_mass = _run(np.concatenate([ramp, oi]), path, f_long, f_short, w, model.long_share)
    size = np.concatenate([longs, shorts], axis=1)
    keep = size > 0
    k = len(lev)
    is_long = np.repeat([True, False], k)
    entry = np.broadcast_to(path[:, None], size.shape)
    lev_c = np.broadcast_to(np.tile(lev, 2), size.shape)
    f = np.broadcast_to(np.concatenate([f_long, f_short]), size.shape)
    cohorts = pd.DataFrame(
        {
            "side": np.where(np.broadcast_to(is_long, size.shape)[keep], "long", "short"),
            "leverage": lev_c[keep],
            "entry": entry[keep],
            "liq_price": (entry * f)[keep],
            "btc": size[keep],
        }
    )
    steps = swept[n:].copy()
    steps[0] = 0.0
    return MapRun(cohorts, pd.DataFrame(steps, index=index, columns=SWEPT_COLUMNS), open_mass[n:])


def liquidation_levels(
    oi_btc: np.ndarray, price: np.ndarray, model: LiquidationModel = LiquidationModel()
) -> pd.DataFrame:
    """Open cohorts after replaying the path (no warm-up): side, leverage, entry, liq_price, btc."""
    return run_map(oi_btc, price, model).cohorts


def clusters(levels: pd.DataFrame, spot: float, bucket_fraction: float = 0.01) -> pd.DataFrame:
    """Sum remaining liquidation notional (USD = BTC x liq price) into buckets `bucket_fraction` x spot wide.

    Columns: side, price (bucket centre, USD), notional_usd, distance (fraction of spot, signed).
    Sorted by notional, largest first.
    """
    if levels.empty:
        return pd.DataFrame(columns=["side", "price", "notional_usd", "distance"])
    width = spot * bucket_fraction
    centre = (np.floor(levels["liq_price"] / width) + 0.5) * width
    df = levels.assign(price=centre, notional_usd=levels["btc"] * levels["liq_price"])
    out = df.groupby(["side", "price"], as_index=False)["notional_usd"].sum()
    out["distance"] = out["price"] / spot - 1.0
    return out.sort_values("notional_usd", ascending=False, ignore_index=True)


def daily_liquidations(run: MapRun) -> pd.DataFrame:
    """The modelled liquidations per UTC day (index: the day's 00:00 UTC), summed over the steps that end in
    it: a step ending at stamp s covers the time up to s, so it counts on the day of s - 1 second (a daily
    close stamped 23:59:59 on its own day, an 8h stamp at 00:00 on the day before). Columns as
    `MapRun.swept` (BTC and USD), and `open_btc`: the open mass before the day's first step (BTC; the path's
    first stamp is a start, not a step), so that long_btc / open_btc is the share of the open positions
    liquidated that day."""
    s = run.swept
    if not isinstance(s.index, pd.DatetimeIndex):
        raise DataError("liquidation map: daily liquidations need a time-indexed path")
    before = pd.Series(np.r_[np.nan, run.open_btc[:-1]], index=s.index)
    day = (s.index - pd.Timedelta(seconds=1)).floor("D")
    return s.groupby(day).sum().assign(open_btc=before.groupby(day).first())


@dataclass(frozen=True)
class Calibration:
    """Modelled against observed daily liquidations of one side on their common days.

    scale = sum(observed) / sum(modelled) (USD per USD: what the model's figure is multiplied by to read as
    the observed series); correlation: Pearson of the daily values; rank_correlation: Spearman's.
    """

    side: str
    days: int
    first: pd.Timestamp
    last: pd.Timestamp
    scale: float
    correlation: float
    rank_correlation: float

    def describe(self) -> str:
        return (
            f"{self.side}s: {self.days} days {self.first:%Y-%m-%d}..{self.last:%Y-%m-%d}, correlation "
            f"{self.correlation:.2f} (rank {self.rank_correlation:.2f}), scale {self.scale:.3f}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "side": self.side,
            "days": self.days,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "scale": self.scale,
            "correlation": self.correlation,
            "rank_correlation": self.rank_correlation,
        }


def _common_days(a: pd.Series, b: pd.Series) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """The days (ascending) on which both daily series (unique days) have a value, and their values then:
    the rows of `pd.concat({"a": a, "b": b}, axis=1, sort=True).dropna()`."""
    if not (a.index.is_unique and b.index.is_unique):
        raise DataError("liquidation map: daily series with a day twice cannot be matched")
    ka, kb = np.flatnonzero(a.notna().to_numpy()), np.flatnonzero(b.notna().to_numpy())
    ns = [s.index[k].as_unit("ns").asi8 for s, k in ((a, ka), (b, kb))]
    _, ia, ib = np.intersect1d(*ns, assume_unique=True, return_indices=True)
    return a.index[ka[ia]], a.to_numpy(dtype=float)[ka[ia]], b.to_numpy(dtype=float)[kb[ib]]


def _fit(side: str, days: pd.Index, modelled: np.ndarray, observed: np.ndarray, min_days: int) -> Calibration | None:
    """`calibrate` on the values of the common days."""
    if len(days) < min_days or modelled.sum() <= 0 or observed.sum() <= 0:
        return None
    m, o = pd.Series(modelled), pd.Series(observed)
    return Calibration(
        side,
        len(days),
        days[0],
        days[-1],
        float(observed.sum() / modelled.sum()),
        float(m.corr(o)),
        float(m.rank().corr(o.rank())),  # Spearman: Pearson of average ranks (pandas' method imports scipy.stats)
    )


def calibrate(modelled: pd.Series, observed: pd.Series, side: str, min_days: int = 30) -> Calibration | None:
    """Fit the scale and measure the agreement of two daily USD series (indexed by day) on their common
    days; None with fewer than `min_days` of them or when either side sums to zero."""
    return _fit(side, *_common_days(modelled, observed), min_days)


def _walk_forward_scale(
    days: pd.Index, modelled: np.ndarray, observed: np.ndarray, window_days: int, min_days: int
) -> np.ndarray:
    """`walk_forward`'s scale on the common days: sums over the `window_days` days before each day (rolling
    sums, then the previous day's), NaN with fewer than `min_days` days or no modelled sum."""
    j = pd.DataFrame({"modelled": modelled, "observed": observed}, index=days)
    sums = j.rolling(f"{window_days}D").sum().to_numpy()
    t = days.as_unit("ns").asi8
    counts = np.arange(1, len(t) + 1) - t.searchsorted(t - pd.Timedelta(days=window_days).as_unit("ns").value, "right")
    before = np.r_[np.nan, counts[:-1]]  # rows in the window ending the day before (a time window: (t - w, t])
    s_m, s_o = np.r_[np.nan, sums[:-1, 0]], np.r_[np.nan, sums[:-1, 1]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((before >= min_days) & (s_m > 0), s_o / s_m, np.nan)


def walk_forward(modelled: pd.Series, observed: pd.Series, window_days: int, min_days: int = 30) -> pd.DataFrame:
    """Out-of-sample calibration: each day's modelled figure times the scale fitted on the `window_days`
    before that day only (sum(observed) / sum(modelled) over the common days in the window; NaN with fewer
    than `min_days` of them). Columns: modelled, observed, scale, predicted (USD); common days only."""
    days, m, o = _common_days(modelled, observed)
    scale = _walk_forward_scale(days, m, o, window_days, min_days) if len(days) else np.empty(0)
    return pd.DataFrame({"modelled": m, "observed": o, "scale": scale, "predicted": m * scale}, index=days)


def out_of_sample(
    modelled: pd.Series, observed: pd.Series, side: str, window_days: int, min_days: int = 30
) -> Calibration | None:
    """The walk-forward predictions (`walk_forward`) scored against the observed series: correlation, rank
    correlation, and scale = sum(observed) / sum(predicted) (1 when the fitted scale carries over)."""
    days, m, o = _common_days(modelled, observed)
    predicted = m * _walk_forward_scale(days, m, o, window_days, min_days) if len(days) else m
    keep = ~np.isnan(predicted)
    return _fit(side, days[keep], predicted[keep], o[keep], min_days)
