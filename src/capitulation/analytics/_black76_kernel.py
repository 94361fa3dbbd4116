"""Numba kernels behind `black76`: the normalised Black price, its implied volatility, and the greeks.

Everything here works on one option at a time in the normalised coordinates of Jaeckel's "Let's Be
Rational" (2015): log-moneyness x = ln(F/K), total standard deviation s = vol sqrt(t), and the price of the
out-of-the-money option divided by sqrt(F K),

    b(x, s) = e^(x/2) N(x/s + s/2) - e^(-x/2) N(x/s - s/2),   x <= 0,

which is symmetric (a put at x > 0 is the call at -x) and rises from 0 to b_max = e^(x/2) as s goes from 0
to infinity. With a = -x/s >= 0 and h = s/2 it factors exactly as

    b = sqrt(2/pi) exp(-(a^2 + h^2)/2) S(a, h),   S(a, h) = sum over odd k of M_k(a) h^k / k!,

where M_k(a) = integral_0^inf u^k exp(-a u - u^2/2) du are positive, so the series has no cancellation.
M_0 is the Mills ratio sqrt(pi/2) erfcx(a/sqrt 2), M_1 = 1 - a M_0 and M_(k+1) = k M_(k-1) - a M_k.
Three evaluation paths keep b accurate to a few 1e-15 relative (1e-13 in the far wing where b < 1e-280):
the series when h is small next to a, with M_0, M_1 from their asymptotic series once a >= 12; and the
plain difference of normal CDFs (erfc) where it loses at most about one digit.

Implied vol: s solves b(x, s) = beta. The initial guess is within ~5 %: in the lower half (beta <= b_max/2)
from the exact small-h relation a^2/2 + ln a - ln M_1(a) = ln(sqrt(2/pi) (-x/2) / beta) - (h corrections),
whose left side is one universal increasing function inverted by a table built at import; in the upper half
from b_max - b ~ 2 N(-h) exp(-a^2/2). Then Householder steps of order 3 (quartic convergence) on
ln b - ln beta (lower half) or ln(b_max - b) - ln(b_max - beta) (upper half), both nearly linear in s,
inside a bracket that only tightens. Two steps reach machine precision everywhere we have tested.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy.special import erfcx

from capitulation import timeutil

SQRT_2PI = math.sqrt(2.0 * math.pi)
INV_SQRT_2PI = 1.0 / SQRT_2PI
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
LN_SQRT_2_OVER_PI = math.log(SQRT_2_OVER_PI)
SQRT_PI_OVER_2 = math.sqrt(math.pi / 2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
DAYS_PER_YEAR = timeutil.DAYS_PER_YEAR  # ACT/365: theta and charm per calendar day
_EXP_UNDERFLOW = -746.0  # exp(x) == 0.0 below this

# Reasons an implied vol is NaN (values of black76.IvReason).
OK, BAD_INPUT, EXPIRED, BELOW_INTRINSIC, NO_TIME_VALUE, ABOVE_UPPER_BOUND, VOL_UNDERFLOW = 0, 1, 2, 3, 4, 5, 6

# --- the normalised price ---------------------------------------------------------------------------

_A_ASYMPTOTIC = 12.0  # from here M_0, M_1 come from their asymptotic series in 1/a^2 (18 terms: < 1e-17)
_N_ASYMPTOTIC = 18


def _asymptotic_coefficients() -> tuple[np.ndarray, np.ndarray]:
    """Horner coefficients (highest power first) of a M_0 = sum (-1)^j (2j-1)!! e^j and
    M_1 / e = sum (-1)^j (2j+1)!! e^j, e = 1/a^2 (Abramowitz & Stegun 7.1.23)."""
    m0, m1 = [1.0], [1.0]
    for j in range(1, _N_ASYMPTOTIC):
        m0.append(-m0[-1] * (2 * j - 1))
        m1.append(-m1[-1] * (2 * j + 1))
    return np.array(m0[::-1]), np.array(m1[::-1])


_M0_ASYMPTOTIC, _M1_ASYMPTOTIC = _asymptotic_coefficients()
_INV_K_K1 = np.array([0.0] + [1.0 / ((k + 1) * (k + 2)) for k in range(1, 200)])  # h^2/((k+1)(k+2)) steps


@njit(cache=True, inline="always", error_model="numpy")
def _horner(c: np.ndarray, e: float) -> float:
    p = 0.0
    for i in range(c.size):
        p = p * e + c[i]
    return p


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638, as in
# his CALERF (netlib specfun, 1990): erf on [0, 0.46875], erfcx on [0.46875, 4] and in 1/y^2 beyond.
_ERF_A = (3.1611237438705656, 113.864154151050156, 377.485237685302021, 3209.37758913846947, 0.185777706184603153)
_ERF_B = (23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062)
_ERFC_C = (
    0.564188496988670089,
    8.88314979438837594,
    66.1191906371416295,
    298.635138197400131,
    881.95222124176909,
    1712.04761263407058,
    2051.07837782607147,
    1230.33935479799725,
    2.15311535474403846e-8,
)
_ERFC_D = (
    15.7449261107098347,
    117.693950891312499,
    537.181101862009858,
    1621.38957456669019,
    3290.79923573345963,
    4362.61909014324716,
    3439.36767414372164,
    1230.33935480374942,
)
_ERFC_P = (
    0.305326634961232344,
    0.360344899949804439,
    0.125781726111229246,
    0.0160837851487422766,
    6.58749161529837803e-4,
    0.0163153871373020978,
)
_ERFC_Q = (
    2.56852019228982242,
    1.87295284992346047,
    0.527905102951428412,
    0.0605183413124413191,
    0.00233520497626869185,
)
INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


@njit(cache=True, inline="always", error_model="numpy")
def _erfcx(y: float) -> float:
    """exp(y^2) erfc(y) for y >= 0 (Cody's rational approximations, a few ulps): no exp above y = 0.46875,
    so neither the cost of two exps nor the amplified rounding of y^2 that erfc(y) exp(y^2) carries."""
    if y <= 0.46875:
        yy = y * y
        A, B = _ERF_A, _ERF_B
        num = (((A[4] * yy + A[0]) * yy + A[1]) * yy + A[2]) * yy + A[3]
        den = (((yy + B[0]) * yy + B[1]) * yy + B[2]) * yy + B[3]
        return (1.0 - y * num / den) * math.exp(yy)
    if y <= 4.0:
        C, D = _ERFC_C, _ERFC_D
        num = C[8] * y
        den = y
        for i in range(7):
            num = (num + C[i]) * y
            den = (den + D[i]) * y
        return (num + C[7]) / (den + D[7])
    P, Q = _ERFC_P, _ERFC_Q
    e = 1.0 / (y * y)
    num = P[5] * e
    den = e
    for i in range(4):
        num = (num + P[i]) * e
        den = (den + Q[i]) * e
    return (INV_SQRT_PI - e * (num + P[4]) / (den + Q[4])) / y


@njit(cache=True, error_model="numpy")
def _series(a: float, h: float) -> float:
    """S(a, h) = sum over odd k of M_k(a) h^k / k!, summed until a term is below 1e-17 of the sum."""
    if a >= _A_ASYMPTOTIC:
        e = 1.0 / (a * a)
        m_prev = _horner(_M0_ASYMPTOTIC, e) / a
        m_cur = e * _horner(_M1_ASYMPTOTIC, e)
    else:
        m_prev = SQRT_PI_OVER_2 * _erfcx(a * INV_SQRT2)  # M_0, the Mills ratio
        m_cur = 1.0 - a * m_prev
    hh = h * h
    power = h  # h^k / k!
    total = m_cur * h
    k = 1
    while k < 197:
        m_next = k * m_prev - a * m_cur  # M_(k+1)
        m_prev = m_next
        m_cur = (k + 1) * m_cur - a * m_next  # M_(k+2)
        power *= hh * _INV_K_K1[k]
        k += 2
        term = m_cur * power
        total += term
        if term <= 1e-17 * total:
            break
    return total


@njit(cache=True, inline="always", error_model="numpy")
def _ncdf(z: float) -> float:
    return 0.5 * math.erfc(-z * INV_SQRT2)


@njit(cache=True, inline="always", error_model="numpy")
def _use_series(a: float, h: float) -> bool:
    """The plain CDF difference loses (a + h)/(2h) digits' worth of cancellation; the series converges like
    (h/a)^2 per term. Series when h <= 0.5 and either a >= 8h or h <= 0.1."""
    return h <= 0.5 and (a >= 8.0 * h or h <= 0.1)


@njit(cache=True, inline="always", error_model="numpy")
def _log_moneyness(F: float, K: float) -> float:
    """ln(F/K) to full relative precision also near the money (where ln of the rounded ratio F/K is not):
    the far deep wings multiply its relative error by (x/s)^2 ~ 1e3."""
    return math.log1p((F - K) / K) if F >= K else -math.log1p((K - F) / F)


@njit(cache=True, error_model="numpy")
def normalised_price(x: float, s: float) -> float:
    """b(x, s) for x <= 0, s > 0: the out-of-the-money Black price over sqrt(F K)."""
    a = -x / s
    h = 0.5 * s
    e = -0.5 * (a * a + h * h)
    if e < _EXP_UNDERFLOW:
        return 0.0
    if _use_series(a, h):
        return SQRT_2_OVER_PI * math.exp(e) * _series(a, h)
    return math.exp(0.5 * x) * _ncdf(h - a) - math.exp(-0.5 * x) * _ncdf(-h - a)


@njit(cache=True, inline="always", error_model="numpy")
def _valid(F: float, K: float, t: float, vol: float) -> bool:
    """F, K, t and vol all positive and finite (NaN fails every comparison)."""
    return 0.0 < F < np.inf and 0.0 < K < np.inf and 0.0 < t < np.inf and 0.0 < vol < np.inf


@njit(cache=True, inline="always", error_model="numpy")
def _price_one(F: float, K: float, t: float, vol: float, call: bool) -> float:
    if not _valid(F, K, t, vol):
        return np.nan
    otm = math.sqrt(F) * math.sqrt(K) * normalised_price(-abs(_log_moneyness(F, K)), vol * math.sqrt(t))
    intrinsic = max(F - K, 0.0) if call else max(K - F, 0.0)
    return otm + intrinsic


# --- the initial guess ------------------------------------------------------------------------------


def _lower_table() -> tuple[np.ndarray, np.ndarray]:
    """The inverse of g(a) = a^2/2 + ln a - ln M_1(a), an increasing map of (0, inf) onto the reals.

    Returned as rho(y) = g^-1(y) e^-y on y in [-12, 2] (rho -> 1 as y -> -inf) and as g^-1(y) on a grid
    uniform in sqrt(y) for y in [2, 900], both for linear interpolation (relative error < 1e-3)."""
    a = np.concatenate([np.geomspace(1e-8, 1.0, 20_000, endpoint=False), np.linspace(1.0, 45.0, 20_000)])
    g = 0.5 * a * a + np.log(a) - np.log(1.0 - a * SQRT_PI_OVER_2 * erfcx(a * INV_SQRT2))
    y_low = np.linspace(_Y0, _Y1, _NY)
    z_high = np.linspace(_Z0, _Z1, _NZ)
    return np.interp(y_low, g, a) * np.exp(-y_low), np.interp(z_high**2, g, a)


_Y0, _Y1, _NY = -12.0, 2.0, 561
_Z0, _Z1, _NZ = math.sqrt(2.0), 30.0, 301
_DY = (_Y1 - _Y0) / (_NY - 1)
_DZ = (_Z1 - _Z0) / (_NZ - 1)
_RHO, _A_OF_Z = _lower_table()


@njit(cache=True, inline="always", error_model="numpy")
def _s_from_table(y: float, w: float, beta: float, delta: float) -> float:
    """s = 2w / g^-1(y), written as sqrt(2 pi) beta e^-delta / rho(y) below y = 2 (exact as w -> 0)."""
    if y < _Y1:
        u = (y - _Y0) / _DY
        if u <= 0.0:
            rho = _RHO[0]
        else:
            i = int(u)
            rho = _RHO[i] + (u - i) * (_RHO[i + 1] - _RHO[i])
        return SQRT_2PI * beta * (1.0 - delta * (1.0 - delta * (0.5 - delta * (1.0 / 6.0)))) / rho  # e^-delta
    u = (math.sqrt(y) - _Z0) / _DZ
    i = int(u)
    if i >= _NZ - 1:
        return 2.0 * w / math.sqrt(2.0 * y)
    return 2.0 * w / (_A_OF_Z[i] + (u - i) * (_A_OF_Z[i + 1] - _A_OF_Z[i]))


@njit(cache=True, inline="always", error_model="numpy")
def _guess_lower(x: float, beta: float, ln_beta: float) -> float:
    """s for beta <= b_max/2 from g(a) = ln(sqrt(2/pi) w / beta) + delta, w = -x/2, where
    delta = -h^2/2 + ln(1 + h^2 M_3/(6 M_1)) ~ -h^2/2 + ln(1 + h^2/(3 + a^2)) is applied once."""
    w = -0.5 * x
    y = -ln_beta + LN_SQRT_2_OVER_PI + (math.log(w) if w > 0.0 else -np.inf)
    s = _s_from_table(y, w, beta, 0.0)
    a = w * 2.0 / s
    hh = 0.25 * s * s
    u = hh / (3.0 + a * a)
    delta = -0.5 * hh + u * (6.0 + u) / (6.0 + 4.0 * u)  # Pade form of ln(1 + u), O(u^4)
    return _s_from_table(y + delta, w, beta, delta)


@njit(cache=True, inline="always", error_model="numpy")
def _inverse_ncdf_lower(p: float) -> float:
    """z with N(z) ~ p for 0 < p <= 1/2, absolute error < 4.5e-4 (Abramowitz & Stegun 26.2.23)."""
    q = math.sqrt(-2.0 * math.log(p))
    return -(q - (2.515517 + q * (0.802853 + q * 0.010328)) / (1.0 + q * (1.432788 + q * (0.189269 + q * 0.001308))))


@njit(cache=True, inline="always", error_model="numpy")
def _guess_upper(x: float, c: float) -> float:
    """s for beta > b_max/2 from c = b_max - beta ~ 2 N(-h) exp(-a^2/2), a = -x/(2h), one correction."""
    h = -_inverse_ncdf_lower(0.5 * c)
    a = -0.5 * x / h
    return -2.0 * _inverse_ncdf_lower(min(0.5 * c * math.exp(0.5 * a * a), 0.4999))


# --- the Householder iteration ----------------------------------------------------------------------

_MAX_STEPS = 100
_CONVERGED = 3e-5  # a step this small (relative) leaves an error ~ step^4: below 1e-17
S_MIN = 1e-300  # smallest total std dev solved for: 1/s must stay finite


@njit(cache=True, inline="always", error_model="numpy")
def _householder3(nu: float, h2: float, h3: float) -> float:
    """Householder step of order 3 from the Newton step nu = -f/f', h2 = f''/f', h3 = f'''/f'."""
    return nu * (1.0 + 0.5 * nu * h2) / (1.0 + nu * (h2 + nu * h3 * (1.0 / 6.0)))


@njit(cache=True, error_model="numpy")
def implied_total_std(x: float, beta: float, ln_beta: float, ln_c: float, upper: bool) -> float:
    """s > 0 with b(x, s) = beta, given x <= 0, ln beta and ln c = ln(b_max - beta) (both exact from the
    quote); `upper` (beta > b_max/2) selects the objective ln(b_max - b) instead of ln b. 0 when the
    initial guess (within ~5 %) is below S_MIN: a near-the-money time value below ~1e-300 of sqrt(F K).

    Derivatives: b' = exp(-(a^2 + h^2)/2)/sqrt(2 pi), b''/b' = g1 = (a^2 - h^2)/s,
    b'''/b' = g1^2 + g1', g1' = -(3 a^2 + h^2)/s^2.
    """
    ex = math.exp(0.5 * x)
    s = _guess_upper(x, math.exp(ln_c)) if upper else _guess_lower(x, beta, ln_beta)
    if not s >= S_MIN:
        return 0.0
    lo, hi = 0.0, np.inf
    for _ in range(_MAX_STEPS):
        inv_s = 1.0 / s
        a = -x * inv_s
        h = 0.5 * s
        e = -0.5 * (a * a + h * h)
        g1 = (a * a - h * h) * inv_s
        g1p = -(3.0 * a * a + h * h) * inv_s * inv_s
        series = _use_series(a, h)
        if upper:
            # c = b_max - b: directly where b is small (series), else as the sum of its two positive parts
            c = ex - SQRT_2_OVER_PI * math.exp(e) * _series(a, h) if series else ex * _ncdf(a - h) + _ncdf(-h - a) / ex
            f = math.log(c) - ln_c
            r = math.exp(e) * INV_SQRT_2PI / c  # -(ln c)'
            if f > 0.0:
                lo = s
            else:
                hi = s
            nu = f / r
            step = _householder3(nu, g1 + r, g1 * g1 + g1p + 3.0 * r * g1 + 2.0 * r * r)
        else:
            if series:
                big_s = _series(a, h)
                f = LN_SQRT_2_OVER_PI + e + math.log(big_s) - ln_beta
                r = 0.5 / big_s  # (ln b)' = b'/b
            else:
                b = ex * _ncdf(h - a) - _ncdf(-h - a) / ex
                f = math.log(b) - ln_beta
                r = math.exp(e) * INV_SQRT_2PI / b
            if f < 0.0:
                lo = s
            else:
                hi = s
            nu = -f / r
            step = _householder3(nu, g1 - r, g1 * g1 + g1p - 3.0 * r * g1 + 2.0 * r * r)
        if f == 0.0:
            return s
        if abs(step) <= _CONVERGED * s:
            return s + step
        nxt = s + step
        if not lo < nxt < hi:  # leave the bracket: Newton, else bisect (double while unbounded)
            nxt = s + nu
            if not lo < nxt < hi:
                nxt = 0.5 * (lo + hi) if hi < np.inf else 2.0 * s
        s = nxt
    return s


_A_DEEP = 20.0  # beyond a = -x/s = 20 one ulp of vol moves the price by more than 400 ulps


@njit(cache=True, inline="always", error_model="numpy")
def _ln_normalised_price(x: float, s: float) -> float:
    a = -x / s
    h = 0.5 * s
    if _use_series(a, h):
        return LN_SQRT_2_OVER_PI - 0.5 * (a * a + h * h) + math.log(_series(a, h))
    return math.log(normalised_price(x, s))


@njit(cache=True, error_model="numpy")
def _nearest_vol(x: float, ln_beta: float, vol: float, sqrt_t: float) -> float:
    """Of vol and its two float neighbours, the one whose re-price (through s = vol sqrt(t), as `price`
    computes it) is nearest to the quote: in the far wing the division s/sqrt(t) alone can cost 1-2 ulps."""
    best, best_err = vol, abs(_ln_normalised_price(x, vol * sqrt_t) - ln_beta)
    for cand in (np.nextafter(vol, 0.0), np.nextafter(vol, np.inf)):
        err = abs(_ln_normalised_price(x, cand * sqrt_t) - ln_beta)
        if err < best_err:
            best, best_err = cand, err
    return best


@njit(cache=True, inline="always", error_model="numpy")
def _iv_one(p: float, F: float, K: float, t: float, call: bool) -> tuple[float, int]:
    """(implied vol, reason) for one undiscounted Black-76 premium."""
    if not (0.0 < F < np.inf and 0.0 < K < np.inf and -np.inf < t < np.inf and -np.inf < p < np.inf):
        return np.nan, BAD_INPUT
    if t <= 0.0:
        return np.nan, EXPIRED
    tv = p - (max(F - K, 0.0) if call else max(K - F, 0.0))
    if tv < 0.0:
        return np.nan, BELOW_INTRINSIC
    if tv == 0.0:
        return np.nan, NO_TIME_VALUE
    bound = min(F, K)  # the out-of-the-money option is worth less than this at any vol
    if tv >= bound:
        return np.nan, ABOVE_UPPER_BOUND
    x = -abs(_log_moneyness(F, K))
    scale = math.sqrt(F) * math.sqrt(K)
    beta = tv / scale
    upper = tv > 0.5 * bound
    if upper:  # ln(b_max - beta), from the quote: bound - tv is exact here (Sterbenz)
        ln_beta, ln_c = math.log(beta), math.log((bound - tv) / scale)
    elif beta > 1e-300:  # one log: beta is a normal number, rounded once by the division
        ln_beta, ln_c = math.log(beta), 0.0
    else:  # ln beta without the underflow of beta for tiny (even subnormal) time values
        ln_beta, ln_c = math.log(tv) - 0.5 * (math.log(F) + math.log(K)), 0.0
    std = implied_total_std(x, beta, ln_beta, ln_c, upper)
    if std < S_MIN:
        return np.nan, VOL_UNDERFLOW
    sqrt_t = math.sqrt(t)
    vol = std / sqrt_t
    if x < -_A_DEEP * std:
        vol = _nearest_vol(x, ln_beta, vol, sqrt_t)
    return vol, OK


# --- greeks -----------------------------------------------------------------------------------------


@njit(cache=True, inline="always", error_model="numpy")
def _greeks_one(F: float, K: float, t: float, vol: float, call: bool, out: tuple, i: int) -> None:
    """delta, gamma, vega, theta, vanna, volga, charm of one option into out[0..6][i] (NaN if invalid)."""
    if not _valid(F, K, t, vol):
        out[0][i] = out[1][i] = out[2][i] = out[3][i] = out[4][i] = out[5][i] = out[6][i] = np.nan
        return
    sqrt_t = math.sqrt(t)
    s = vol * sqrt_t
    inv_s = 1.0 / s
    d1 = math.log(F / K) * inv_s + 0.5 * s
    d2 = d1 - s
    pdf = INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    vega = F * pdf * sqrt_t
    pdf_d2_over_vol = pdf * d2 * sqrt_t * inv_s
    out[0][i] = _ncdf(d1) if call else -_ncdf(-d1)
    out[1][i] = pdf * inv_s / F
    out[2][i] = vega
    out[3][i] = -0.5 * vega * vol / t * (1.0 / DAYS_PER_YEAR)  # -F n vol / (2 sqrt t)
    out[4][i] = -pdf_d2_over_vol
    out[5][i] = vega * d1 * d2 * sqrt_t * inv_s
    out[6][i] = 0.5 * pdf_d2_over_vol * vol / t * (1.0 / DAYS_PER_YEAR)  # n d2 / (2 t)


# --- array drivers: inputs are 1-d arrays of length n or 1 (broadcast with stride 0) ------------------

Arr = np.ndarray


@njit(cache=True, inline="always")
def _stride(a: Arr) -> int:
    return 1 if a.size > 1 else 0


@njit(cache=True, error_model="numpy")
def price_serial(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr, out: Arr) -> None:
    """out[i] = undiscounted Black-76 premium of option i."""
    sF, sK, st, sv, sc = _stride(F), _stride(K), _stride(t), _stride(vol), _stride(call)
    for i in range(out.size):
        out[i] = _price_one(F[i * sF], K[i * sK], t[i * st], vol[i * sv], call[i * sc])


@njit(cache=True, parallel=True, error_model="numpy")
def price_parallel(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr, out: Arr) -> None:
    """`price_serial` over threads."""
    sF, sK, st, sv, sc = _stride(F), _stride(K), _stride(t), _stride(vol), _stride(call)
    for i in prange(out.size):
        out[i] = _price_one(F[i * sF], K[i * sK], t[i * st], vol[i * sv], call[i * sc])


@njit(cache=True, error_model="numpy")
def iv_serial(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr, iv: Arr, reason: Arr) -> None:
    """iv[i], reason[i] for the premium p[i]."""
    sp, sF, sK, st, sc = _stride(p), _stride(F), _stride(K), _stride(t), _stride(call)
    for i in range(iv.size):
        iv[i], reason[i] = _iv_one(p[i * sp], F[i * sF], K[i * sK], t[i * st], call[i * sc])


@njit(cache=True, parallel=True, error_model="numpy")
def iv_parallel(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr, iv: Arr, reason: Arr) -> None:
    """`iv_serial` over threads."""
    sp, sF, sK, st, sc = _stride(p), _stride(F), _stride(K), _stride(t), _stride(call)
    for i in prange(iv.size):
        iv[i], reason[i] = _iv_one(p[i * sp], F[i * sF], K[i * sK], t[i * st], call[i * sc])


@njit(cache=True, error_model="numpy")
def greeks_serial(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr, out: tuple) -> None:
    """out[j][i] = greek j of option i (the seven arrays of `out`, in the order of `_greeks_one`)."""
    sF, sK, st, sv, sc = _stride(F), _stride(K), _stride(t), _stride(vol), _stride(call)
    for i in range(out[0].size):
        _greeks_one(F[i * sF], K[i * sK], t[i * st], vol[i * sv], call[i * sc], out, i)


@njit(cache=True, parallel=True, error_model="numpy")
def greeks_parallel(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr, out: tuple) -> None:
    """`greeks_serial` over threads."""
    sF, sK, st, sv, sc = _stride(F), _stride(K), _stride(t), _stride(vol), _stride(call)
    for i in prange(out[0].size):
        _greeks_one(F[i * sF], K[i * sK], t[i * st], vol[i * sv], call[i * sc], out, i)


@njit(cache=True, inline="always", error_model="numpy")
def _gamma_one(F: float, K: float, t: float, vol: float) -> float:
    """n(d1) / (F vol sqrt(t)), NaN if invalid."""
    if not _valid(F, K, t, vol):
        return np.nan
    s = vol * math.sqrt(t)
    d1 = math.log(F / K) / s + 0.5 * s
    return INV_SQRT_2PI * math.exp(-0.5 * d1 * d1) / (F * s)


@njit(cache=True, error_model="numpy")
def dollar_gamma_profile(F: Arr, K: Arr, t: Arr, vol: Arr, weight: Arr, ratio: Arr, out: Arr) -> None:
    """out[j] = sum_i weight[i] gamma(F[i] ratio[j], K[i], t[i], vol[i]) (F[i] ratio[j])^2 over valid i.

    Sticky strike: each option keeps its vol while every forward moves by ratio[j]. One thread: a chain's
    profile (~200 spots x ~1k options, a few ms) is far below the crossover where threads pay (`black76`).
    """
    for j in range(ratio.size):
        acc = 0.0
        for i in range(F.size):
            f = F[i] * ratio[j]
            g = _gamma_one(f, K[i], t[i], vol[i])
            if g == g:
                acc += weight[i] * g * f * f
        out[j] = acc
