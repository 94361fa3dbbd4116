"""Black-76 on numpy arrays: price, greeks, implied vol, and the forward implied by a delta.

Undiscounted (r = 0): prices are forward premiums, which is how crypto venues (Deribit) quote them.
All functions broadcast their array arguments and return float arrays (0-d for scalar input).

    d1 = (ln(F/K) + vol^2 t / 2) / (vol sqrt(t)),   d2 = d1 - vol sqrt(t)
    call = F N(d1) - K N(d2),   put = K N(-d2) - F N(-d1)

Units: F and K in USD (or any one currency; prices come out in it), `t_years` in years (ACT/365 by the
callers), `vol` a fraction per sqrt(year) (0.55 = 55 vol points).

Invalid input (F <= 0, K <= 0, t_years <= 0, vol <= 0, or NaN) gives NaN, never a number.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr, ndtri

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

DAYS_PER_YEAR = 365.0
_SQRT_2PI = np.sqrt(2.0 * np.pi)
_MAX_ITER = 100
_REL_TOL = 1e-14


def _pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _inputs(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> tuple[FloatArray, ...]:
    """Broadcast to float arrays; every invalid element of F, K, t, vol is set to NaN."""
    F, K, t, v = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (F, K, t_years, vol)))
    bad = ~((F > 0) & (K > 0) & (t > 0) & (v > 0) & np.isfinite(F) & np.isfinite(K) & np.isfinite(t))
    bad |= ~np.isfinite(v)
    F, K, t, v = (np.where(bad, np.nan, a) for a in (F, K, t, v))
    return F, K, t, v


def _d1(F: FloatArray, K: FloatArray, t: FloatArray, vol: FloatArray) -> tuple[FloatArray, FloatArray]:
    """d1 and the total standard deviation s = vol sqrt(t)."""
    s = vol * np.sqrt(t)
    return np.log(F / K) / s + 0.5 * s, s


def _otm_price(F: FloatArray, K: FloatArray, s: FloatArray) -> FloatArray:
    """Price of the out-of-the-money option (call if K >= F, put if K < F) at total std dev s."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(F / K) / s + 0.5 * s
    d2 = d1 - s
    call = F * ndtr(d1) - K * ndtr(d2)
    put = K * ndtr(-d2) - F * ndtr(-d1)
    return np.where(K >= F, call, put)


def price(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """Undiscounted Black-76 premium, in the currency of F and K.

    call = F N(d1) - K N(d2), put = K N(-d2) - F N(-d1). Computed as the out-of-the-money option plus
    intrinsic value (put-call parity C - P = F - K), which keeps the small time value of deep in-the-money
    options accurate.
    """
    F, K, t, v, c = np.broadcast_arrays(*_inputs(F, K, t_years, vol), np.asarray(is_call, dtype=bool))
    otm = _otm_price(F, K, v * np.sqrt(t))
    intrinsic = np.where(c, np.maximum(F - K, 0.0), np.maximum(K - F, 0.0))
    return otm + intrinsic


def delta(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """dPrice/dF per 1 underlying unit: call N(d1), put N(d1) - 1 (undiscounted, forward delta)."""
    F, K, t, v = _inputs(F, K, t_years, vol)
    d1, _ = _d1(F, K, t, v)
    n = ndtr(d1)
    return np.where(np.asarray(is_call, dtype=bool), n, n - 1.0)


def gamma(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """d2Price/dF2 = n(d1) / (F vol sqrt(t)): change in delta per 1 USD move of F, per 1 underlying unit.

    Same for calls and puts.
    """
    F, K, t, v = _inputs(F, K, t_years, vol)
    d1, s = _d1(F, K, t, v)
    return _pdf(d1) / (F * s)


def vega(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """dPrice/dvol = F n(d1) sqrt(t), in price currency per 1.00 of vol (100 vol points).

    Per 1 vol point (the venue convention, e.g. Deribit's `vega`) divide by 100. Same for calls and puts.
    """
    F, K, t, v = _inputs(F, K, t_years, vol)
    d1, _ = _d1(F, K, t, v)
    return F * _pdf(d1) * np.sqrt(t)


def theta(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """Time decay per calendar day: -F n(d1) vol / (2 sqrt(t)) / 365, in price currency.

    This is dPrice/d(calendar time) with F held fixed (r = 0, so calls and puts decay alike); the per-year
    value is 365 times this.
    """
    F, K, t, v = _inputs(F, K, t_years, vol)
    d1, _ = _d1(F, K, t, v)
    return -F * _pdf(d1) * v / (2.0 * np.sqrt(t)) / DAYS_PER_YEAR


def implied_vol(price: ArrayLike, F: ArrayLike, K: ArrayLike, t_years: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """The vol (fraction) at which the undiscounted Black-76 premium equals `price`.

    The time value (price minus intrinsic) is matched by the out-of-the-money option of the strike, solving
    for s = vol sqrt(t) with Newton steps inside a shrinking bracket [lo, hi] (bisection when a step leaves
    it). Newton works on ln(price) below the inflection point s* = sqrt(2 |ln(F/K)|), where the price is
    convex in s, and on the price above it. Re-pricing error is ~1e-14 relative where the time value is
    not lost in rounding.

    NaN when the price is at or below intrinsic (no positive vol matches), at or above the upper bound
    (F for a call, K for a put), when t_years <= 0, when F or K <= 0, or when an input is NaN.
    """
    F, K, t, p = (np.asarray(a, dtype=float) for a in (F, K, t_years, price))
    F, K, t, p, c = np.broadcast_arrays(F, K, t, p, np.asarray(is_call, dtype=bool))
    intrinsic = np.where(c, np.maximum(F - K, 0.0), np.maximum(K - F, 0.0))
    tv = p - intrinsic
    upper = np.where(K >= F, F, K)  # the out-of-the-money option is worth less than this at any vol
    ok = (F > 0) & (K > 0) & (t > 0) & np.isfinite(F) & np.isfinite(K) & np.isfinite(t) & np.isfinite(p)
    ok &= (tv > 0) & (tv < upper)
    s = _solve_std_dev(F[ok], K[ok], tv[ok])
    out = np.full(F.shape, np.nan)
    out[ok] = s / np.sqrt(t[ok])
    return out


def _solve_std_dev(F: FloatArray, K: FloatArray, target: FloatArray) -> FloatArray:
    """s > 0 with _otm_price(F, K, s) == target, for 0 < target < the bound (vectorised)."""
    x = np.log(F / K)
    s_infl = np.sqrt(2.0 * np.abs(x))
    # At the money (x = 0) the price is F (2 N(s/2) - 1), solved exactly; elsewhere start at the inflection.
    atm = 2.0 * ndtri(np.clip(0.5 * (target / F + 1.0), 0.0, 1.0))
    s = np.where(x == 0.0, atm, s_infl)
    lo = np.zeros_like(s)
    hi = np.full_like(s, np.inf)
    active = np.ones(s.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        use_log = target < _otm_price(F, K, s_infl)
        for _ in range(_MAX_ITER):
            if not active.any():
                break
            i = np.flatnonzero(active)
            si, Fi, Ki, ti = s[i], F[i], K[i], target[i]
            p = _otm_price(Fi, Ki, si)
            done = np.abs(p - ti) <= _REL_TOL * ti
            above = p > ti
            hi[i] = np.where(above, si, hi[i])
            lo[i] = np.where(above, lo[i], si)
            dpds = Fi * _pdf(x[i] / si + 0.5 * si)
            step = np.where(use_log[i], (np.log(p) - np.log(ti)) * p / dpds, (p - ti) / dpds)
            nxt = si - step
            mid = np.where(np.isfinite(hi[i]), 0.5 * (lo[i] + hi[i]), 2.0 * si)
            inside = np.isfinite(nxt) & (nxt > lo[i]) & (nxt < hi[i])
            nxt = np.where(inside, nxt, mid)
            collapsed = np.isfinite(hi[i]) & ((hi[i] - lo[i]) <= 4 * np.finfo(float).eps * hi[i])
            s[i] = np.where(done | collapsed, si, nxt)
            active[i] = ~(done | collapsed)
    return s


def forward_from_delta(K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, call_delta: ArrayLike) -> FloatArray:
    """The forward F at which the Black-76 call delta N(d1) equals `call_delta` (USD, like K).

    F = K exp(vol sqrt(t) N^-1(delta) - vol^2 t / 2). For a put use its call-equivalent delta,
    put delta + 1. NaN when call_delta is not strictly inside (0, 1) or K, t_years, vol are invalid.
    """
    one = np.ones_like(np.asarray(K, dtype=float))
    _, K, t, v = _inputs(one, K, t_years, vol)
    d = np.asarray(call_delta, dtype=float)
    d = np.where((d > 0) & (d < 1), d, np.nan)
    s = v * np.sqrt(t)
    return K * np.exp(s * ndtri(d) - 0.5 * s * s)
