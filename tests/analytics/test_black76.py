"""Black-76 kernel: prices and greeks against QuantLib and high-precision references, implied-vol round trips
at 1e-12, reason codes for every ill-posed quote, and the properties of the model (hypothesis)."""

import math

import numpy as np
import pytest
import QuantLib as ql  # noqa: N813 - the conventional alias
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from capitulation.analytics import black76
from capitulation.analytics.black76 import IvReason

F = 90_000.0
STRIKES = F * np.geomspace(0.2, 5.0, 41)
TIMES = np.array([1 / 8760, 1 / 365, 7 / 365, 30 / 365, 0.25, 1.0, 3.0])  # 1 hour .. 3 years
VOLS = np.array([0.05, 0.1, 0.2, 0.35, 0.5, 0.8, 1.2, 2.0, 3.0])
K, T, V = np.meshgrid(STRIKES, TIMES, VOLS, indexing="ij")


def _ql_type(is_call: bool) -> int:
    return ql.Option.Call if is_call else ql.Option.Put


def _intrinsic(f: float, k: np.ndarray, is_call: bool) -> np.ndarray:
    return np.maximum(f - k, 0.0) if is_call else np.maximum(k - f, 0.0)


@pytest.mark.parametrize("is_call", [True, False])
def test_price_matches_quantlib_black_formula_on_grid(is_call: bool) -> None:
    ours = black76.price(F, K, T, V, is_call)
    ref = np.vectorize(lambda k, t, v: ql.blackFormula(_ql_type(is_call), k, F, v * math.sqrt(t)))(K, T, V)
    # absolute, in USD: 1e-14 of the larger of F and K (QuantLib and we round differently, nothing more)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-14 * np.maximum(F, K).max())


# 60-digit values of the Black-76 premium (mpmath, the float inputs taken as exact): far wings where
# F N(d1) - K N(d2) cancels to nothing in double precision.
DEEP_WING = [
    (60_000.0, 120_000.0, 1 / 365, 0.5, True, 6.0131649079437543e-153),
    (60_000.0, 30_000.0, 2 / 365, 0.8, False, 1.2726995669832624e-29),
    (90_000.0, 18_000.0, 1 / 365, 3.0, False, 3.5929703460326882e-22),
    (90_000.0, 450_000.0, 7 / 365, 0.35, True, 1.3359814713219841e-239),
    (60_000.0, 61_000.0, 1 / 8760, 0.05, True, 1.7413573745850287e-210),
    (100.0, 100.0, 1e-6, 0.2, False, 0.0079788455947305778),
]


@pytest.mark.parametrize(("f", "k", "t", "vol", "is_call", "ref"), DEEP_WING)
def test_far_out_of_the_money_premiums_keep_relative_precision_1e12(
    f: float, k: float, t: float, vol: float, is_call: bool, ref: float
) -> None:
    # 1e-12 relative; the error grows like (ln(F/K) / (vol sqrt t))^2 * 1e-16, the conditioning of exp(-d1^2/2)
    assert float(black76.price(f, k, t, vol, is_call)) == pytest.approx(ref, rel=1e-12, abs=0)


@pytest.mark.parametrize("is_call", [True, False])
def test_greeks_match_quantlib_black_calculator_on_grid(is_call: bool) -> None:
    def ref(k: float, t: float, v: float) -> tuple[float, ...]:
        c = ql.BlackCalculator(ql.PlainVanillaPayoff(_ql_type(is_call), k), F, v * math.sqrt(t), 1.0)
        return c.deltaForward(), c.gammaForward(), c.vega(t), c.thetaPerDay(F, t), c.vanna(F, t), c.volga(t)

    d, g, v, th, va, vo = np.vectorize(ref)(K, T, V)
    ours = black76.greeks(F, K, T, V, is_call)
    np.testing.assert_allclose(ours.delta, d, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(ours.gamma, g, rtol=1e-10, atol=1e-20)
    np.testing.assert_allclose(ours.vega, v, rtol=1e-10, atol=1e-9)  # USD per 1.00 vol
    np.testing.assert_allclose(ours.theta, th, rtol=1e-10, atol=1e-9)  # USD per day
    np.testing.assert_allclose(ours.vanna, va, rtol=1e-9, atol=1e-13)  # per 1.00 vol
    # QuantLib's volga divides by the total std dev vol sqrt(t) where d2V/dvol2 divides by vol
    np.testing.assert_allclose(ours.volga, vo * np.sqrt(T), rtol=1e-9, atol=1e-9)


def test_single_greek_functions_equal_the_fused_kernel() -> None:
    g = black76.greeks(F, K, T, V, False)
    np.testing.assert_array_equal(black76.delta(F, K, T, V, False), g.delta)
    for name in ("gamma", "vega", "theta", "vanna", "volga", "charm"):
        np.testing.assert_array_equal(getattr(black76, name)(F, K, T, V), getattr(g, name))


def test_second_order_greeks_match_finite_differences_of_delta_and_vega() -> None:
    # central differences; tolerance 1e-6 relative (the O(h^2) truncation and rounding of the differences)
    f, k, t, vol = 60_000.0, np.array([45_000.0, 58_000.0, 60_000.0, 66_000.0, 90_000.0]), 20 / 365, 0.6
    g = black76.greeks(f, k, t, vol, True)
    dv = 1e-5
    vanna = (black76.delta(f, k, t, vol + dv, True) - black76.delta(f, k, t, vol - dv, True)) / (2 * dv)
    volga = (black76.vega(f, k, t, vol + dv) - black76.vega(f, k, t, vol - dv)) / (2 * dv)
    day = 1e-3  # days
    charm = (black76.delta(f, k, t - day / 365, vol, True) - black76.delta(f, k, t + day / 365, vol, True)) / (2 * day)
    np.testing.assert_allclose(g.vanna, vanna, rtol=1e-6)
    np.testing.assert_allclose(g.volga, volga, rtol=1e-6)
    np.testing.assert_allclose(g.charm, charm, rtol=1e-6)


def test_greeks_are_the_documented_formulas_at_one_point() -> None:
    # F = 100, K = 110, t = 0.5, vol = 0.4: d1 = (ln(100/110) + 0.04) / 0.28284 = -0.19556
    s = 0.4 * math.sqrt(0.5)
    d1 = (math.log(100 / 110) + 0.5 * s * s) / s
    d2 = d1 - s
    n = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
    g = black76.greeks(100.0, 110.0, 0.5, 0.4, True)
    assert g.delta == pytest.approx(0.5 * math.erfc(-d1 / math.sqrt(2)), rel=1e-14)
    assert g.gamma == pytest.approx(n / (100 * s), rel=1e-14)
    assert g.vega == pytest.approx(100 * n * math.sqrt(0.5), rel=1e-14)
    assert g.theta == pytest.approx(-100 * n * 0.4 / (2 * math.sqrt(0.5)) / 365, rel=1e-14)
    assert g.vanna == pytest.approx(-n * d2 / 0.4, rel=1e-14)
    assert g.volga == pytest.approx(100 * n * math.sqrt(0.5) * d1 * d2 / 0.4, rel=1e-14)
    assert g.charm == pytest.approx(n * d2 / (2 * 0.5) / 365, rel=1e-14)
    # put delta = call delta - 1; put-call parity, undiscounted: C - P = F - K
    assert black76.delta(100.0, 110.0, 0.5, 0.4, False) == pytest.approx(g.delta - 1, rel=1e-14)
    c, p = black76.price(100.0, 110.0, 0.5, 0.4, True), black76.price(100.0, 110.0, 0.5, 0.4, False)
    assert c - p == pytest.approx(-10.0, abs=1e-12)


@pytest.mark.parametrize("is_call", [True, False])
def test_implied_vol_reprices_the_whole_grid_within_1e12_relative(is_call: bool) -> None:
    p = black76.price(F, K, T, V, is_call)
    iv, reason = black76.implied_vol_with_reason(p, F, K, T, is_call)
    has_time_value = p > _intrinsic(F, K, is_call)
    # every quote with a time value gets a vol; the others (far wings rounded or underflowed to intrinsic) NaN
    assert (reason[has_time_value] == IvReason.OK).all()
    assert (reason[~has_time_value] == IvReason.NO_TIME_VALUE).all() and np.isnan(iv[~has_time_value]).all()
    assert has_time_value.sum() > 1400
    repriced = black76.price(F, K, T, iv, is_call)
    assert np.max(np.abs(repriced - p)[has_time_value] / p[has_time_value]) <= 1e-12
    # and the vol itself where the time value carries it (>= 1e-8 of F): 1e-8 relative
    solid = (p - _intrinsic(F, K, is_call)) > 1e-8 * F
    np.testing.assert_allclose(iv[solid], V[solid], rtol=1e-8)


def test_implied_vol_of_out_of_the_money_quotes_is_exact_to_1e13() -> None:
    # out of the money the whole premium is time value: the vol comes back to ~1e-15
    otm = K >= F
    p = black76.price(F, K, T, V, True)
    iv = black76.implied_vol(p, F, K, T, True)
    well = otm & (p > 1e-200)
    np.testing.assert_allclose(iv[well], V[well], rtol=1e-13)


def test_reason_codes_for_ill_posed_quotes() -> None:
    # call F = 100, K = 80: intrinsic 20, upper bound F = 100
    prices = np.array([19.0, -1.0, 20.0, 100.0, 150.0, np.nan, np.inf, 25.0])
    iv, reason = black76.implied_vol_with_reason(prices, 100.0, 80.0, 0.5, True)
    R = IvReason
    expected = [R.BELOW_INTRINSIC, R.BELOW_INTRINSIC, R.NO_TIME_VALUE, R.ABOVE_UPPER_BOUND, R.ABOVE_UPPER_BOUND]
    assert list(reason) == [*expected, R.BAD_INPUT, R.BAD_INPUT, R.OK]
    assert np.isnan(iv[:-1]).all() and 0 < iv[-1] < 1
    # put F = 100, K = 80: upper bound K = 80
    assert black76.implied_vol_with_reason(80.0, 100.0, 80.0, 0.5, False)[1] == R.ABOVE_UPPER_BOUND
    # expired; non-positive, NaN or infinite F, K or t
    assert black76.implied_vol_with_reason(5.0, 100.0, 100.0, 0.0, True)[1] == R.EXPIRED
    assert black76.implied_vol_with_reason(5.0, 100.0, 100.0, -0.1, True)[1] == R.EXPIRED
    for f, k, t in [(-100.0, 100.0, 0.5), (100.0, 0.0, 0.5), (np.nan, 100.0, 0.5), (100.0, 100.0, np.nan)]:
        assert black76.implied_vol_with_reason(5.0, f, k, t, True)[1] == R.BAD_INPUT
    assert black76.implied_vol_with_reason(5.0, np.inf, 100.0, 0.5, True)[1] == R.BAD_INPUT
    assert reason.dtype == np.int8


def test_deep_otm_short_dated_quotes_solve_down_to_underflow_and_not_below() -> None:
    # a 2x-strike call with 1 day left at 20 vol is worth ~1e-700 USD: double precision holds 0, no vol exists
    assert float(black76.price(60_000.0, 120_000.0, 1 / 365, 0.2, True)) == 0.0
    iv, reason = black76.implied_vol_with_reason(0.0, 60_000.0, 120_000.0, 1 / 365, True)
    assert np.isnan(iv) and reason == IvReason.NO_TIME_VALUE
    # the smallest representable premiums (down to subnormal) still give their vol, and it reprices
    for vol in (0.36, 0.37, 0.38, 0.40):
        p = float(black76.price(60_000.0, 120_000.0, 1 / 365, vol, True))
        assert 0 < p < 1e-200
        iv, reason = black76.implied_vol_with_reason(p, 60_000.0, 120_000.0, 1 / 365, True)
        assert reason == IvReason.OK and float(iv) == pytest.approx(vol, rel=1e-13)
    tiny = 5e-320  # subnormal: 4 significant digits, yet a vol (re-pricing to those digits)
    iv = float(black76.implied_vol(tiny, 60_000.0, 120_000.0, 1 / 365, True))
    assert float(black76.price(60_000.0, 120_000.0, 1 / 365, iv, True)) == pytest.approx(tiny, rel=1e-3)
    # at the money the same premiums mean vol sqrt(t) ~ sqrt(2 pi) p / F: solved down to ~1e-300, then NaN
    iv, reason = black76.implied_vol_with_reason(np.array([1e-290, 1e-310, 5e-324]), 60_000.0, 60_000.0, 0.25, True)
    assert iv[0] == pytest.approx(math.sqrt(2 * math.pi) * 1e-290 / 60_000.0 / 0.5, rel=1e-12)
    assert list(reason) == [IvReason.OK, IvReason.VOL_UNDERFLOW, IvReason.VOL_UNDERFLOW] and np.isnan(iv[1:]).all()


def test_price_and_greeks_are_nan_for_invalid_inputs() -> None:
    args = [
        (100.0, 100.0, 0.0, 0.5),
        (100.0, 100.0, -1.0, 0.5),
        (0.0, 100.0, 0.5, 0.5),
        (100.0, -5.0, 0.5, 0.5),
        (100.0, 100.0, 0.5, 0.0),
        (np.nan, 100.0, 0.5, 0.5),
        (100.0, 100.0, 0.5, np.inf),
        (100.0, np.inf, 0.5, 0.5),
    ]
    for a in args:
        assert np.isnan(black76.price(*a, True))
        assert all(np.isnan(g) for g in black76.greeks(*a, False))


def test_functions_broadcast_over_arrays() -> None:
    K2 = np.array([[80.0], [100.0], [120.0]])
    vols = np.array([0.3, 0.6])
    calls = np.array([True, False])
    assert black76.price(100.0, K2, 0.25, vols, calls).shape == (3, 2)
    assert black76.greeks(100.0, K2, 0.25, vols, calls).charm.shape == (3, 2)
    iv, reason = black76.implied_vol_with_reason(np.full((3, 2), 25.0), 100.0, K2, 0.25, calls)
    assert iv.shape == reason.shape == (3, 2)
    assert black76.forward_from_delta(K2, 0.25, vols, 0.5).shape == (3, 2)
    assert black76.price(100.0, 100.0, 0.25, 0.5, True).shape == ()
    assert black76.price(100.0, np.array([]), 0.25, 0.5, True).shape == (0,)


def test_threaded_and_single_thread_loops_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    p = black76.price(F, K, T, V, True)
    threaded = black76.implied_vol_with_reason(p, F, K, T, True), black76.greeks(F, K, T, V, True), p
    for name in ("PARALLEL_MIN", "PARALLEL_MIN_IV"):
        monkeypatch.setattr(black76, name, 10**9)
    single = black76.implied_vol_with_reason(p, F, K, T, True), black76.greeks(F, K, T, V, True)
    np.testing.assert_array_equal(black76.price(F, K, T, V, True), threaded[2])
    for name in ("PARALLEL_MIN", "PARALLEL_MIN_IV"):
        monkeypatch.setattr(black76, name, 1)
    parallel = black76.implied_vol_with_reason(p, F, K, T, True), black76.greeks(F, K, T, V, True)
    np.testing.assert_array_equal(black76.price(F, K, T, V, True), threaded[2])
    for a, b in ((single, parallel), (threaded[:2], parallel)):
        np.testing.assert_array_equal(a[0][0], b[0][0])
        np.testing.assert_array_equal(a[0][1], b[0][1])
        np.testing.assert_array_equal(np.array(a[1]), np.array(b[1]))


def test_forward_from_delta_inverts_the_call_delta() -> None:
    # N(d1) = 0.5 -> d1 = 0 -> F = K exp(-vol^2 t / 2) = 100 exp(-0.02)
    assert black76.forward_from_delta(100.0, 1.0, 0.2, 0.5) == pytest.approx(100 * math.exp(-0.02), rel=1e-15)
    assert np.isnan(black76.forward_from_delta(100.0, 1.0, 0.2, np.array([0.0, 1.0, -0.2, 1.2]))).all()
    assert np.isnan(black76.forward_from_delta(100.0, 0.0, 0.2, 0.3))


option = {
    "f": st.floats(1.0, 1e6),
    "moneyness": st.floats(0.2, 5.0),
    "t": st.floats(1 / 8760, 3.0),
    "vol": st.floats(0.05, 3.0),
    "is_call": st.booleans(),
}


@settings(max_examples=300, deadline=None)
@given(**option)
def test_implied_vol_reprices_any_option_within_1e12(
    f: float, moneyness: float, t: float, vol: float, is_call: bool
) -> None:
    k = f * moneyness
    p = float(black76.price(f, k, t, vol, is_call))
    tv = p - (max(f - k, 0.0) if is_call else max(k - f, 0.0))
    assume(tv > 0)
    iv = float(black76.implied_vol(p, f, k, t, is_call))
    assert abs(float(black76.price(f, k, t, iv, is_call)) - p) <= 1e-12 * p
    # iv(price(vol)) == vol, to the precision the premium carries: |dvol| <= 1e-15 p / vega + 1e-14 vol
    # (premiums near underflow carry fewer digits, and vega underflows there: only their re-price is checked)
    if p > 1e-290:
        assert abs(iv - vol) <= 1e-15 * p / float(black76.vega(f, k, t, vol)) + 1e-14 * vol
    # below intrinsic never yields a vol
    below = black76.implied_vol_with_reason(p - tv - 1e-6 * f, f, k, t, is_call)
    assert np.isnan(below[0]) and below[1] == IvReason.BELOW_INTRINSIC


@settings(max_examples=300, deadline=None)
@given(**option)
def test_put_call_parity_holds_undiscounted(f: float, moneyness: float, t: float, vol: float, is_call: bool) -> None:
    # C - P = F - K, to 1e-15 of the larger of F and K (each premium is rounded once)
    k = f * moneyness
    c, p = float(black76.price(f, k, t, vol, True)), float(black76.price(f, k, t, vol, False))
    assert abs((c - p) - (f - k)) <= 1e-15 * max(f, k)
    # and the deltas differ by exactly one
    assert float(black76.delta(f, k, t, vol, True) - black76.delta(f, k, t, vol, False)) == pytest.approx(1, abs=1e-15)


@settings(max_examples=300, deadline=None)
@given(**option, bump=st.floats(1e-6, 1.0))
def test_price_is_increasing_in_vol(
    f: float, moneyness: float, t: float, vol: float, is_call: bool, bump: float
) -> None:
    k = f * moneyness
    lo, hi = (float(black76.price(f, k, t, v, is_call)) for v in (vol, vol * (1 + bump)))
    assert hi >= lo
    assert float(black76.vega(f, k, t, vol)) >= 0


@settings(max_examples=300, deadline=None)
@given(f=st.floats(1.0, 1e6), moneyness=st.floats(0.5, 2.0), t=st.floats(1 / 365, 3.0), vol=st.floats(0.05, 3.0))
def test_forward_from_delta_round_trips(f: float, moneyness: float, t: float, vol: float) -> None:
    k = f * moneyness
    d = float(black76.delta(f, k, t, vol, True))
    assume(1e-6 < d < 1 - 1e-6)
    assert float(black76.forward_from_delta(k, t, vol, d)) == pytest.approx(f, rel=1e-8)
