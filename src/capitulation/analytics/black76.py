"""Black-76 on numpy arrays: price, greeks, implied vol (with a reason when there is none), and the forward
implied by a delta. The loops are numba-compiled (cached on disk) in `_black76_kernel`.

Undiscounted (r = 0): prices are forward premiums, which is how crypto venues (Deribit) quote them.
All functions broadcast their array arguments and return float arrays (0-d for scalar input).

    d1 = (ln(F/K) + vol^2 t / 2) / (vol sqrt(t)),   d2 = d1 - vol sqrt(t)
    call = F N(d1) - K N(d2),   put = K N(-d2) - F N(-d1)

Units: F and K in USD (or any one currency; prices come out in it), `t_years` in years (ACT/365 by the
callers), `vol` a fraction per sqrt(year) (0.55 = 55 vol points). Greeks are per 1.00 of vol (not per vol
point) and per calendar day where time is involved.

Invalid input (F <= 0, K <= 0, t_years <= 0, vol <= 0, NaN or infinite) gives NaN, never a number.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from capitulation.analytics import _black76_kernel as _k

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

DAYS_PER_YEAR = _k.DAYS_PER_YEAR

# Threading policy: the threaded kernels (numba prange, OpenMP layer) run only from these sizes up; below them
# one thread. Measured on the project machine (2 cores, shared; numba 0.68, 2 threads, per option serial CPU:
# implied vol ~225 ns, price ~75 ns, greeks ~45 ns). With a core idle two threads are 1.9x (IV), 1.6-1.8x
# (price) and 1.1-1.9x (greeks) faster from about 1k options up, but when the machine is busy (load 9-10)
# a threaded call waits for a descheduled worker: IV on 256..4,096 options took 16-24 ms median threaded
# against 0.05-0.9 ms on one thread (a 1,016-option chain 20 ms against 0.2 ms), and at 131k..1M options
# threads were still 5-30 % slower. So threads are used only where the idle-machine saving (half the serial
# time) is at least such a stall, ~20 ms: serial time >= 40 ms. A chain (~1k options), a backfill snapshot
# and a GEX profile stay on one thread; `numba.set_num_threads(1)` turns threads off altogether.
PARALLEL_MIN = 500_000  # options; price and greeks (~40 ms and ~25 ms serial there)
PARALLEL_MIN_IV = 200_000  # options; implied vol (~45 ms serial)


class IvReason(IntEnum):
    """Why `implied_vol_with_reason` returned NaN (OK when it returned a vol)."""

    OK = _k.OK
    BAD_INPUT = _k.BAD_INPUT  # a NaN or infinite input, F <= 0 or K <= 0
    EXPIRED = _k.EXPIRED  # t_years <= 0
    BELOW_INTRINSIC = _k.BELOW_INTRINSIC  # price < intrinsic value (negative prices included)
    NO_TIME_VALUE = _k.NO_TIME_VALUE  # price == intrinsic: every small vol fits (e.g. an underflowed 0 quote)
    ABOVE_UPPER_BOUND = _k.ABOVE_UPPER_BOUND  # price >= F (call) or >= K (put): no finite vol fits
    VOL_UNDERFLOW = _k.VOL_UNDERFLOW  # the vol that fits is below ~1e-300: near the money, time value < ~1e-300 F


class Greeks(NamedTuple):
    """Black-76 sensitivities of the undiscounted premium, each an array shaped like the inputs."""

    delta: FloatArray  # dV/dF per 1 underlying unit: call N(d1), put -N(-d1)
    gamma: FloatArray  # d2V/dF2 = n(d1) / (F vol sqrt(t)), per USD of F
    vega: FloatArray  # dV/dvol = F n(d1) sqrt(t), USD per 1.00 vol (divide by 100 per vol point)
    theta: FloatArray  # dV/d(calendar day) = -F n(d1) vol / (2 sqrt(t)) / 365, USD per day
    vanna: FloatArray  # d delta / dvol = -n(d1) d2 / vol, per 1.00 vol
    volga: FloatArray  # d2V/dvol2 = vega d1 d2 / vol, USD per (1.00 vol)^2
    charm: FloatArray  # d delta / d(calendar day) = n(d1) d2 / (2 t) / 365, per day


def _flat(args: tuple[ArrayLike, ...], dtypes: tuple[type, ...]) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """The broadcast shape and each argument as a contiguous writeable 1-d array of that size, or of size 1
    (which the kernels broadcast with stride 0, so scalars are never copied out). One array type keeps the
    kernels at one compiled signature (read-only arrays would compile, and cache, another).

    Outputs are separate n-arrays: an allocator recycles an 8 MB block, but maps (and the kernel then
    page-faults through) a fresh one for each 56 MB 7 x n block, which doubled the time for 1M options."""
    arrays = [np.asarray(a, dtype=d) for a, d in zip(args, dtypes, strict=True)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    flat = []
    for a in arrays:
        if a.size != 1 and a.shape != shape:
            a = np.broadcast_to(a, shape)
        a = np.ascontiguousarray(a).reshape(-1 if a.size != 1 else 1)
        flat.append(a if a.flags.writeable else a.copy())
    return shape, flat


_F4 = (float, float, float, float, bool)


def price(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """Undiscounted Black-76 premium, in the currency of F and K.

    call = F N(d1) - K N(d2), put = K N(-d2) - F N(-d1). Computed as sqrt(F K) b(x, vol sqrt(t)) for the
    out-of-the-money option (see `_black76_kernel`) plus intrinsic value (put-call parity C - P = F - K),
    so deep out-of-the-money premiums keep their relative precision (~1e-15) down to underflow.
    """
    shape, flat = _flat((F, K, t_years, vol, is_call), _F4)
    out = np.empty(int(np.prod(shape)))
    (_k.price_parallel if out.size >= PARALLEL_MIN else _k.price_serial)(*flat, out)
    return out.reshape(shape)


def greeks(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike = True) -> Greeks:
    """All seven sensitivities in one pass (one log, one exp and one erfc per option); see `Greeks`."""
    shape, flat = _flat((F, K, t_years, vol, is_call), _F4)
    n = int(np.prod(shape))
    out = tuple(np.empty(n) for _ in Greeks._fields)  # 7 arrays, not one 7 x n block: see `_flat`'s note
    (_k.greeks_parallel if n >= PARALLEL_MIN else _k.greeks_serial)(*flat, out)
    return Greeks(*(a.reshape(shape) for a in out))


def delta(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """dPrice/dF per 1 underlying unit: call N(d1), put N(d1) - 1 = -N(-d1) (undiscounted, forward delta)."""
    return greeks(F, K, t_years, vol, is_call).delta


def gamma(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """d2Price/dF2 = n(d1) / (F vol sqrt(t)): change in delta per 1 USD move of F, per 1 underlying unit.

    Same for calls and puts.
    """
    return greeks(F, K, t_years, vol).gamma


def vega(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """dPrice/dvol = F n(d1) sqrt(t), in price currency per 1.00 of vol (100 vol points).

    Per 1 vol point (the venue convention, e.g. Deribit's `vega`) divide by 100. Same for calls and puts.
    """
    return greeks(F, K, t_years, vol).vega


def theta(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """Time decay per calendar day: -F n(d1) vol / (2 sqrt(t)) / 365, in price currency.

    This is dPrice/d(calendar time) with F held fixed (r = 0, so calls and puts decay alike); the per-year
    value is 365 times this.
    """
    return greeks(F, K, t_years, vol).theta


def vanna(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """d delta/dvol = d vega/dF = -n(d1) d2 / vol, per 1.00 of vol. Same for calls and puts."""
    return greeks(F, K, t_years, vol).vanna


def volga(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """d2Price/dvol2 = vega d1 d2 / vol, in price currency per (1.00 vol)^2. Same for calls and puts.

    (QuantLib's BlackCalculator.volga divides by vol sqrt(t) instead of vol: it is this times 1/sqrt(t).)
    """
    return greeks(F, K, t_years, vol).volga


def charm(F: ArrayLike, K: ArrayLike, t_years: ArrayLike, vol: ArrayLike) -> FloatArray:
    """d delta/d(calendar time) with F fixed = n(d1) d2 / (2 t) / 365, per calendar day.

    Same for calls and puts; an out-of-the-money option's delta drifts toward 0 (toward -1 or 1 in the money).
    """
    return greeks(F, K, t_years, vol).charm


def implied_vol_with_reason(
    price: ArrayLike, F: ArrayLike, K: ArrayLike, t_years: ArrayLike, is_call: ArrayLike
) -> tuple[FloatArray, npt.NDArray[np.int8]]:
    """The vol (fraction) at which the undiscounted Black-76 premium equals `price`, and an `IvReason` code.

    The time value (price minus intrinsic) is matched by the out-of-the-money option of the strike in
    Jaeckel's normalised coordinates (see `_black76_kernel`): a table-and-asymptotics initial guess within
    ~5 %, then two Householder steps of order 3. Re-pricing error is below 1e-12 relative (typically 1e-15)
    for strikes 0.2F..5F, expiries 1 hour..3 years and vols 5 %..300 %.

    NaN with a reason, never a stand-in number, when no positive finite vol gives the price: below
    intrinsic, equal to intrinsic (no time value: a deep out-of-the-money short-dated quote that rounded or
    underflowed to 0 is such a case), at or above the upper bound (F for a call, K for a put), expired
    (t_years <= 0), a bad input (NaN or infinite, F or K <= 0), or a vol that would itself underflow
    (vol sqrt(t) < 1e-300). Far out-of-the-money premiums down to the smallest subnormal are solved.
    """
    shape, flat = _flat((price, F, K, t_years, is_call), _F4)
    iv = np.empty(int(np.prod(shape)))
    reason = np.empty(iv.size, dtype=np.int8)
    (_k.iv_parallel if iv.size >= PARALLEL_MIN_IV else _k.iv_serial)(*flat, iv, reason)
    return iv.reshape(shape), reason.reshape(shape)


def implied_vol(price: ArrayLike, F: ArrayLike, K: ArrayLike, t_years: ArrayLike, is_call: ArrayLike) -> FloatArray:
    """`implied_vol_with_reason` without the reasons: NaN where there is no vol."""
    return implied_vol_with_reason(price, F, K, t_years, is_call)[0]


def forward_from_delta(K: ArrayLike, t_years: ArrayLike, vol: ArrayLike, call_delta: ArrayLike) -> FloatArray:
    """The forward F at which the Black-76 call delta N(d1) equals `call_delta` (USD, like K).

    F = K exp(vol sqrt(t) N^-1(delta) - vol^2 t / 2). For a put use its call-equivalent delta,
    put delta + 1. NaN when call_delta is not strictly inside (0, 1) or K, t_years, vol are invalid.
    """
    K, t, v, d = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (K, t_years, vol, call_delta)))
    ok = (K > 0) & (t > 0) & (v > 0) & np.isfinite(K) & np.isfinite(t) & np.isfinite(v) & (d > 0) & (d < 1)
    s = np.where(ok, v * np.sqrt(np.where(ok, t, 1.0)), np.nan)
    with np.errstate(invalid="ignore"):
        return np.where(ok, K * np.exp(s * ndtri(np.where(ok, d, 0.5)) - 0.5 * s * s), np.nan)
