"""The Black-76 implied-vol and greeks libraries a user would otherwise pick, each behind one adapter.

Every IV adapter takes (premium, F, K, t_years, is_call) arrays and returns vols (a fraction per sqrt(year)),
calling its library the way the library is meant to be used on many options: lbriv's vectorised strike
solver per call/put group, vanilla-option-pricers' numba scalar solver in a numba loop, py_vollib_vectorized's
array API, QuantLib's blackFormulaImpliedStdDev in a Python loop. A library's error codes (0.0, exceptions)
are passed through as they come, so the table shows what a user gets.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from capitulation.analytics import black76

Arr = np.ndarray
IvFn = Callable[[Arr, Arr, Arr, Arr, Arr], Arr]
GreeksFn = Callable[[Arr, Arr, Arr, Arr, Arr], tuple[Arr, ...]]


def capitulation_iv(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr) -> Arr:
    return black76.implied_vol(p, F, K, t, call)


def capitulation_greeks(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr) -> tuple[Arr, ...]:
    return tuple(black76.greeks(F, K, t, vol, call))


def lbriv_iv() -> IvFn:
    import lbriv

    def iv(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr) -> Arr:
        # one forward per call (the grid's F is constant); total vol at t = 1, rescaled by sqrt(t)
        out = np.empty(p.size)
        for flag, q in ((call, 1), (~call, -1)):
            out[flag] = lbriv.vectorized_implied_vol_strikes(p[flag], float(F[0]), K[flag], q)
        return out / np.sqrt(t)

    return iv


def lbriv_greeks() -> GreeksFn:
    import lbriv

    def greeks(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr) -> tuple[Arr, ...]:
        # scalar functions only (at t = 1 in total vol): a Python loop
        s = vol * np.sqrt(t)
        d = [lbriv.black_delta(f, k, v, 1 if c else -1) for f, k, v, c in zip(F, K, s, call, strict=True)]
        g = [lbriv.black_gamma(f, k, v) for f, k, v in zip(F, K, s, strict=True)]
        v = [lbriv.black_vega(f, k, v) for f, k, v in zip(F, K, s, strict=True)]
        return np.array(d), np.array(g), np.array(v)

    return greeks


def vanilla_iv() -> IvFn:
    from numba import njit
    from vanilla_option_pricers import infer_bsm_implied_vol

    @njit
    def loop(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr, tol: float) -> Arr:
        out = np.empty(p.size)
        for i in range(p.size):
            kind = "C" if call[i] else "P"
            out[i] = infer_bsm_implied_vol(F[i], t[i], K[i], p[i], 1.0, kind, tol)
        return out

    def iv(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr) -> Arr:
        return loop(p, F, K, t, call, 1e-12)  # tightest useful tolerance (default 1e-8 on the vol)

    return iv


def vanilla_greeks() -> GreeksFn:
    from numba import njit
    from vanilla_option_pricers import (
        compute_bsm_vanilla_delta,
        compute_bsm_vanilla_gamma,
        compute_bsm_vanilla_theta,
        compute_bsm_vanilla_vega,
    )

    @njit
    def loop(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr) -> tuple[Arr, Arr, Arr, Arr]:
        n = F.size
        d, g, v, th = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
        for i in range(n):
            kind = "C" if call[i] else "P"
            d[i] = compute_bsm_vanilla_delta(t[i], F[i], K[i], vol[i], kind)
            g[i] = compute_bsm_vanilla_gamma(t[i], F[i], K[i], vol[i])
            v[i] = compute_bsm_vanilla_vega(t[i], F[i], K[i], vol[i])
            th[i] = compute_bsm_vanilla_theta(t[i], F[i], K[i], vol[i], kind)
        return d, g, v, th

    return loop


def py_vollib_vectorized_iv() -> IvFn:
    # the package's own switch for numba in its py_lets_be_rational dependency (1.0.1)
    os.environ.setdefault("PY_LETS_BE_RATIONAL_ENABLE_NUMBA", "1")
    import py_vollib_vectorized

    def iv(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr) -> Arr:
        flag = np.where(call, "c", "p")
        return py_vollib_vectorized.vectorized_implied_volatility_black(
            p, F, K, 0.0, t, flag, return_as="numpy", on_error="ignore"
        )

    return iv


def py_vollib_vectorized_greeks() -> GreeksFn:
    os.environ.setdefault("PY_LETS_BE_RATIONAL_ENABLE_NUMBA", "1")
    import py_vollib_vectorized

    def greeks(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr) -> tuple[Arr, ...]:
        g = py_vollib_vectorized.get_all_greeks(
            np.where(call, "c", "p"), F, K, t, 0.0, vol, model="black", return_as="dict"
        )
        return g["delta"], g["gamma"], g["vega"], g["theta"]

    return greeks


def quantlib_iv() -> IvFn:
    import QuantLib as ql  # noqa: N813 - the library's own convention

    def one(kind: int, k: float, f: float, p: float, t: float) -> float:
        try:
            guess = 0.5 * math.sqrt(t)  # 50 vol
            return ql.blackFormulaImpliedStdDev(kind, k, f, p, 1.0, 0.0, guess, 1e-12, 100) / math.sqrt(t)
        except RuntimeError:
            return math.nan

    def iv(p: Arr, F: Arr, K: Arr, t: Arr, call: Arr) -> Arr:
        kinds = np.where(call, ql.Option.Call, ql.Option.Put).tolist()
        cols = (K.tolist(), F.tolist(), p.tolist(), t.tolist())
        return np.array([one(c, *a) for c, *a in zip(kinds, *cols, strict=True)])

    return iv


def quantlib_greeks() -> GreeksFn:
    import QuantLib as ql  # noqa: N813

    def greeks(F: Arr, K: Arr, t: Arr, vol: Arr, call: Arr) -> tuple[Arr, ...]:
        out = []
        for f, k, tt, v, c in zip(F.tolist(), K.tolist(), t.tolist(), vol.tolist(), call.tolist(), strict=True):
            kind = ql.Option.Call if c else ql.Option.Put
            b = ql.BlackCalculator(ql.PlainVanillaPayoff(kind, k), f, v * math.sqrt(tt), 1.0)
            out.append((b.deltaForward(), b.gammaForward(), b.vega(tt), b.thetaPerDay(f, tt), b.vanna(f, tt)))
        return tuple(np.array(col) for col in zip(*out, strict=True))

    return greeks


# name -> (factory of the IV function, factory of the greeks function, sample size for 1M-option runs:
# None = run everything, else time this many and extrapolate)
PEERS: dict[str, tuple[Callable[[], IvFn], Callable[[], GreeksFn], int | None]] = {
    "lbriv": (lbriv_iv, lbriv_greeks, None),
    "vanilla-option-pricers": (vanilla_iv, vanilla_greeks, None),
    "py_vollib_vectorized": (py_vollib_vectorized_iv, py_vollib_vectorized_greeks, None),
    "QuantLib (Python loop)": (quantlib_iv, quantlib_greeks, 20_000),
}
GREEKS_SAMPLE = {"lbriv": 20_000, "QuantLib (Python loop)": 20_000}  # Python loops: sampled, extrapolated
