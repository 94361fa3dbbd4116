"""Black-76 against QuantLib on a grid, implied-vol round trips, and NaN for invalid input."""

import math

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813 - the conventional alias
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from capitulation.analytics import black76

F = 90_000.0
STRIKES = F * np.geomspace(0.2, 5.0, 41)
TIMES = np.array([1 / 8760, 1 / 365, 7 / 365, 30 / 365, 0.25, 1.0, 3.0])  # 1 hour .. 3 years
VOLS = np.array([0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2.0, 3.0])
K, T, V = np.meshgrid(STRIKES, TIMES, VOLS, indexing="ij")


def _ql_type(is_call: bool) -> int:
    return ql.Option.Call if is_call else ql.Option.Put


@pytest.mark.parametrize("is_call", [True, False])
def test_price_matches_quantlib_black_formula_on_grid(is_call: bool) -> None:
    ours = black76.price(F, K, T, V, is_call)
    ref = np.vectorize(lambda k, t, v: ql.blackFormula(_ql_type(is_call), k, F, v * math.sqrt(t)))(K, T, V)
    # absolute, in USD: 1e-14 of the larger of F and K (QuantLib and we round differently, nothing more)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14 * np.maximum(F, K).max())


@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_match_quantlib_black_calculator_on_grid(is_call: bool) -> None:
    def ref(k: float, t: float, v: float) -> tuple[float, float, float, float]:
        c = ql.BlackCalculator(ql.PlainVanillaPayoff(_ql_type(is_call), k), F, v * math.sqrt(t), 1.0)
        return c.deltaForward(), c.gammaForward(), c.vega(t), c.thetaPerDay(F, t)

    d, g, v, th = np.vectorize(ref)(K, T, V)
    np.testing.assert_allclose(black76.delta(F, K, T, V, is_call), d, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(black76.gamma(F, K, T, V), g, rtol=1e-10, atol=1e-20)
    np.testing.assert_allclose(black76.vega(F, K, T, V), v, rtol=1e-10, atol=1e-9)  # USD per 1.00 vol
    np.testing.assert_allclose(black76.theta(F, K, T, V), th, rtol=1e-10, atol=1e-9)  # USD per day


def test_greeks_are_the_documented_formulas_at_one_point() -> None:
    # F = 100, K = 110, t = 0.5, vol = 0.4: d1 = (ln(100/110) + 0.04) / 0.28284 = -0.19556
    d1 = (math.log(100 / 110) + 0.5 * 0.16 * 0.5) / (0.4 * math.sqrt(0.5))
    n = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    assert black76.gamma(100.0, 110.0, 0.5, 0.4) == pytest.approx(n / (100 * 0.4 * math.sqrt(0.5)), rel=1e-14)
    assert black76.vega(100.0, 110.0, 0.5, 0.4) == pytest.approx(100 * n * math.sqrt(0.5), rel=1e-14)
    assert black76.theta(100.0, 110.0, 0.5, 0.4) == pytest.approx(
        -100 * n * 0.4 / (2 * math.sqrt(0.5)) / 365, rel=1e-14
    )
    # put-call parity, undiscounted: C - P = F - K
    c, p = black76.price(100.0, 110.0, 0.5, 0.4, True), black76.price(100.0, 110.0, 0.5, 0.4, False)
    assert c - p == pytest.approx(-10.0, abs=1e-12)


@pytest.mark.parametrize("is_call", [True, False])
def test_implied_vol_round_trip_on_grid(is_call: bool) -> None:
    p = black76.price(F, K, T, V, is_call)
    intrinsic = np.maximum(F - K, 0) if is_call else np.maximum(K - F, 0)
    normal = (p - intrinsic) > 1e-12 * F  # the time value is not lost to rounding
    assert normal.sum() > 1300
    iv = black76.implied_vol(p, F, K, T, is_call)
    repriced = black76.price(F, K, T, iv, is_call)
    rel = np.abs(repriced - p) / p
    assert np.nanmax(rel[normal]) <= 1e-10
    assert not np.isnan(iv[normal]).any()
    solid = (p - intrinsic) > 1e-8 * F
    np.testing.assert_allclose(iv[solid], V[solid], rtol=1e-8)


def test_implied_vol_is_nan_for_impossible_prices() -> None:
    # call F = 100, K = 80: intrinsic 20, upper bound F = 100
    prices = np.array([19.0, 20.0, 100.0, 150.0, -1.0, np.nan])
    assert np.isnan(black76.implied_vol(prices, 100.0, 80.0, 0.5, True)).all()
    # put F = 100, K = 80: upper bound K = 80
    assert np.isnan(black76.implied_vol(80.0, 100.0, 80.0, 0.5, False))
    # expired, non-positive F or K
    assert np.isnan(black76.implied_vol(5.0, 100.0, 100.0, 0.0, True))
    assert np.isnan(black76.implied_vol(5.0, -100.0, 100.0, 0.5, True))
    assert np.isnan(black76.implied_vol(5.0, 100.0, 0.0, 0.5, True))


def test_price_and_greeks_are_nan_for_invalid_inputs() -> None:
    args = [
        (100.0, 100.0, 0.0, 0.5),
        (100.0, 100.0, -1.0, 0.5),
        (0.0, 100.0, 0.5, 0.5),
        (100.0, -5.0, 0.5, 0.5),
        (100.0, 100.0, 0.5, 0.0),
        (np.nan, 100.0, 0.5, 0.5),
    ]
    for a in args:
        assert np.isnan(black76.price(*a, True))
        assert np.isnan(black76.delta(*a, False))
        assert np.isnan(black76.gamma(*a))
        assert np.isnan(black76.vega(*a))
        assert np.isnan(black76.theta(*a))


def test_functions_broadcast_over_arrays() -> None:
    K2 = np.array([[80.0], [100.0], [120.0]])
    vols = np.array([0.3, 0.6])
    calls = np.array([True, False])
    assert black76.price(100.0, K2, 0.25, vols, calls).shape == (3, 2)
    assert black76.implied_vol(np.full((3, 2), 25.0), 100.0, K2, 0.25, calls).shape == (3, 2)
    assert black76.forward_from_delta(K2, 0.25, vols, 0.5).shape == (3, 2)


def test_forward_from_delta_inverts_the_call_delta() -> None:
    # N(d1) = 0.5 -> d1 = 0 -> F = K exp(-vol^2 t / 2) = 100 exp(-0.02)
    assert black76.forward_from_delta(100.0, 1.0, 0.2, 0.5) == pytest.approx(100 * math.exp(-0.02), rel=1e-15)
    assert np.isnan(black76.forward_from_delta(100.0, 1.0, 0.2, np.array([0.0, 1.0, -0.2, 1.2]))).all()
    assert np.isnan(black76.forward_from_delta(100.0, 0.0, 0.2, 0.3))


@settings(max_examples=300, deadline=None)
@given(
    f=st.floats(1.0, 1e6),
    moneyness=st.floats(0.2, 5.0),
    t=st.floats(1 / 8760, 3.0),
    vol=st.floats(0.05, 3.0),
    is_call=st.booleans(),
)
def test_implied_vol_reprices_any_normal_option(
    f: float, moneyness: float, t: float, vol: float, is_call: bool
) -> None:
    k = f * moneyness
    p = float(black76.price(f, k, t, vol, is_call))
    tv = p - max(f - k, 0.0) if is_call else p - max(k - f, 0.0)
    assume(tv > 1e-12 * f)
    iv = float(black76.implied_vol(p, f, k, t, is_call))
    assert abs(float(black76.price(f, k, t, iv, is_call)) - p) <= 1e-10 * p
    # below intrinsic never yields a vol
    assert math.isnan(float(black76.implied_vol(p - tv - 1e-6 * f, f, k, t, is_call)))


@settings(max_examples=300, deadline=None)
@given(f=st.floats(1.0, 1e6), moneyness=st.floats(0.5, 2.0), t=st.floats(1 / 365, 3.0), vol=st.floats(0.05, 3.0))
def test_forward_from_delta_round_trips(f: float, moneyness: float, t: float, vol: float) -> None:
    k = f * moneyness
    d = float(black76.delta(f, k, t, vol, True))
    assume(1e-6 < d < 1 - 1e-6)
    assert float(black76.forward_from_delta(k, t, vol, d)) == pytest.approx(f, rel=1e-8)
