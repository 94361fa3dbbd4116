"""Dealer gamma exposure: the sign conventions, one strike by hand, the flip, the walls, the real chain."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation import tables
from capitulation.analytics import gex
from capitulation.errors import DataError
from capitulation.sources import deribit
from synthetic import option_quotes

TS = pd.Timestamp("2026-01-01T00:00Z")
EXPIRY = TS + pd.Timedelta(days=91.25)  # t = 0.25 years


def _quotes(rows: list[tuple[str, float, float, float]], forward: float = 100.0) -> pd.DataFrame:
    """option_quotes rows from (type, strike, mark_iv, open_interest), spot index = forward."""
    typ, k, iv, oi = (list(c) for c in zip(*rows, strict=True))
    return option_quotes(TS, EXPIRY, forward, typ, k, iv, oi, index_price=forward)


# One at-the-money strike by hand: F = S = K = 100, t = 0.25, vol = 0.5, 10 contracts of 1 unit.
# vol sqrt(t) = 0.25, d1 = 0.125, n(d1) = exp(-0.125^2 / 2) / sqrt(2 pi) = 0.39583,
# gamma = n(d1) / (F vol sqrt(t)) = 0.015833 per USD, GEX = gamma * 100^2 * 0.01 * 10 = 15.833 USD per 1 %.
HAND = math.exp(-0.5 * 0.125**2) / math.sqrt(2 * math.pi) / (100 * 0.25) * 100**2 * 0.01 * 10


def test_one_strike_by_hand_and_the_classic_signs() -> None:
    assert pytest.approx(15.833, abs=1e-3) == HAND
    call = gex.gex_by_strike(_quotes([("C", 100.0, 0.5, 10.0)]))
    put = gex.gex_by_strike(_quotes([("P", 100.0, 0.5, 10.0)]))
    assert call.spot == 100.0
    assert call.total_usd == pytest.approx(HAND, rel=1e-13)  # dealers long calls: +
    assert put.total_usd == pytest.approx(-HAND, rel=1e-13)  # dealers short puts: -
    row = call.by_strike.iloc[0]
    assert (row["strike"], row["call_oi"], row["put_oi"], row["put_gex_usd"]) == (100.0, 10.0, 0.0, 0.0)


def test_short_all_makes_every_option_negative() -> None:
    q = _quotes([("C", 100.0, 0.5, 10.0), ("P", 100.0, 0.5, 10.0)])
    assert gex.gex_by_strike(q, dealer="short_all").total_usd == pytest.approx(-2 * HAND, rel=1e-13)
    assert gex.gex_by_strike(q, dealer="classic").total_usd == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="dealer"):
        gex.gex_by_strike(q, dealer="long_all")  # type: ignore[arg-type]


def test_gex_at_another_spot_moves_the_forward_with_it() -> None:
    # at S = 110 (S0 = 100) the forward is 110, so this is the K = 100 call priced at F = 110
    r = gex.gex_by_strike(_quotes([("C", 100.0, 0.5, 10.0)]), spot=110.0)
    d1 = (math.log(110 / 100) + 0.5 * 0.0625) / 0.25
    g = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (110 * 0.25)
    assert r.by_strike["forward"].iloc[0] == pytest.approx(110.0)
    assert r.total_usd == pytest.approx(g * 110**2 * 0.01 * 10, rel=1e-13)


def test_zero_open_interest_and_expired_rows_contribute_nothing() -> None:
    q = _quotes([("C", 100.0, 0.5, 0.0), ("P", 90.0, 0.5, 5.0)])
    q.loc[1, "expiry"] = TS  # expired
    r = gex.gex_by_strike(q)
    assert r.total_usd == 0.0 and r.by_strike.empty


def test_walls_are_the_largest_call_and_put_gex_strikes() -> None:
    q = _quotes(
        [
            ("C", 110.0, 0.5, 50.0),
            ("C", 120.0, 0.5, 10.0),
            ("P", 90.0, 0.5, 40.0),
            ("P", 70.0, 0.5, 60.0),
            ("C", 90.0, 0.5, 1.0),
        ]
    )
    by = gex.gex_by_strike(q).by_strike
    w = gex.walls(by)
    assert w.call_wall == 110.0
    # the put at 70 has more contracts but, far from spot, less gamma than the put at 90
    g70 = by.loc[by["strike"] == 70.0, "put_gex_usd"].iloc[0]
    g90 = by.loc[by["strike"] == 90.0, "put_gex_usd"].iloc[0]
    assert abs(g90) > abs(g70) and w.put_wall == 90.0
    assert math.isnan(gex.walls(gex.gex_by_strike(_quotes([("C", 100.0, 0.5, 1.0)])).by_strike).put_wall)


def test_gamma_flip_interpolates_the_zero_crossing() -> None:
    prof = pd.DataFrame({"spot": [90.0, 95.0, 100.0, 105.0], "gex_usd": [-20.0, -10.0, 10.0, 30.0]})
    assert gex.gamma_flip(prof) == pytest.approx(97.5)  # 95 + 5 * 10 / 20
    assert math.isnan(gex.gamma_flip(prof.assign(gex_usd=[1.0, 2.0, 3.0, 4.0])))
    assert math.isnan(gex.gamma_flip(prof.assign(gex_usd=0.0)))  # no gamma at all: no flip, not one at spot
    two = pd.DataFrame({"spot": [80.0, 90.0, 100.0, 110.0], "gex_usd": [5.0, -5.0, -5.0, 5.0]})
    assert gex.gamma_flip(two, near=101.0) == pytest.approx(105.0)
    assert gex.gamma_flip(two, near=84.0) == pytest.approx(85.0)


def test_profile_of_puts_below_and_calls_above_crosses_zero() -> None:
    q = _quotes([("P", 90.0, 0.5, 100.0), ("C", 110.0, 0.5, 100.0)])
    prof = gex.gex_profile(q, np.linspace(80.0, 120.0, 81))
    assert prof["gex_usd"].iloc[0] < 0 < prof["gex_usd"].iloc[-1]
    # symmetric OI around 100, vol flat: the crossing is near 100 (gamma of puts and calls balance)
    assert 95.0 < gex.gamma_flip(prof) < 105.0
    assert prof.loc[prof["spot"] == 100.0, "gex_usd"].iloc[0] == pytest.approx(gex.gex_by_strike(q).total_usd)


@pytest.mark.parametrize("sticky", ["strike", "delta"])
def test_the_flip_is_solved_exactly_whatever_the_grid(sticky) -> None:
    """`gamma_profile` solves the crossing nearest spot: every grid that brackets it gives the same flip, where
    GEX is 0; linear interpolation on the grid (`gamma_flip`) moves with the grid's spacing."""
    q = _quotes([("P", 90.0, 0.5, 150.0), ("C", 110.0, 0.6, 100.0)])
    flips = {n: gex.gamma_profile(q, sticky=sticky, grid=0.2, points=n).flip for n in (11, 81, 401)}
    assert max(flips.values()) - min(flips.values()) < 2 * gex.FLIP_XTOL_USD
    assert 100.0 < flips[81] < 120.0  # more put than call open interest: dealers short gamma up to above 100
    at_flip = gex.gex_profile(q, [flips[81] - 0.01, flips[81] + 0.01], sticky=sticky)["gex_usd"]
    assert at_flip.iloc[0] < 0 < at_flip.iloc[1]  # the sign changes within a cent of it
    coarse = gex.gamma_profile(q, sticky=sticky, grid=0.2, points=11)
    assert abs(gex.gamma_flip(coarse.profile, near=100.0) - flips[11]) > 0.01  # the grid estimate is off


def test_no_crossing_gives_a_nan_flip() -> None:
    assert math.isnan(gex.gamma_profile(_quotes([("C", 100.0, 0.5, 10.0)])).flip)


def test_empty_chain_is_a_data_error() -> None:
    with pytest.raises(DataError, match="empty option chain"):
        gex.gex_by_strike(tables.empty("option_quotes"))
    with pytest.raises(DataError, match="empty option chain"):
        gex.gex_profile(tables.empty("option_quotes"), [1.0, 2.0])


def test_real_chain_total_gex_and_flip_are_finite(shared_data: Path) -> None:
    quotes, _ = deribit.read_chain_csv(shared_data / "deribit_options" / "full_data_sample.csv")
    s0 = gex.reference_spot(quotes)
    assert 80_000 < s0 < 100_000
    r = gex.gex_by_strike(quotes)
    assert np.isfinite(r.total_usd)
    assert r.by_strike["call_gex_usd"].ge(0).all() and r.by_strike["put_gex_usd"].le(0).all()
    prof = gex.gex_profile(quotes, np.linspace(0.8 * s0, 1.2 * s0, 81))
    assert np.isfinite(prof["gex_usd"]).all()
    short = gex.gex_by_strike(quotes, dealer="short_all")
    assert short.total_usd < 0


def _gamma_usd(F: float, K: float, iv: float, t: float = 0.25) -> float:
    """gamma F^2 0.01 per contract by hand: n(d1) / (F iv sqrt(t)) * F^2 * 0.01."""
    s = iv * math.sqrt(t)
    d1 = (math.log(F / K) + 0.5 * s * s) / s
    return math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (F * s) * F * F * 0.01


def test_every_result_names_its_dealer_model_and_hedge_flow_is_minus_gex() -> None:
    q = _quotes([("C", 100.0, 0.5, 10.0), ("P", 90.0, 0.5, 30.0)])
    for dealer in ("classic", "short_all"):
        r = gex.gex_by_strike(q, dealer=dealer)
        assert r.dealer == gex.DEALER_MODELS[dealer] and r.dealer.startswith(dealer)
        assert r.hedge_flow_usd == -r.total_usd
    # classic here: +10 calls at the money, -30 puts 10 % out: dealers short gamma, they sell a 1 % fall
    r = gex.gex_by_strike(q)
    assert r.total_usd == pytest.approx(10 * _gamma_usd(100, 100, 0.5) - 30 * _gamma_usd(100, 90, 0.5), rel=1e-13)
    assert r.total_usd < 0 < r.hedge_flow_usd


# Synthetic trades on a synthetic chain (chain: call 100 OI 10, put 90 OI 20, call 110 OI 5, at 00:00).
SYNTH_TRADES = pd.DataFrame(
    {
        "timestamp": [TS - pd.Timedelta(minutes=m) for m in (30, 20, 10, 5, 1)] + [TS + pd.Timedelta(hours=1)],
        "instrument": ["X-0", "X-0", "X-0", "X-1", "X-1", "X-2"],
        "direction": ["buy", "buy", "sell", "sell", "sell", "buy"],
        "amount": [2.0, 1.0, 1.0, 3.0, 1.0, 50.0],
    }
)


def test_trade_flow_signs_dealer_positions_by_hand() -> None:
    q = _quotes([("C", 100.0, 0.5, 10.0), ("P", 90.0, 0.5, 20.0), ("C", 110.0, 0.5, 5.0)])
    # taker buys 3, sells 1 -> net +2 of gross 4; X-1: sells 4 -> net -4 of 4; X-2: only a trade
    # after the chain's time (ignored), so no evidence -> 0.
    np.testing.assert_array_equal(gex.dealer_contracts(q, "trades", SYNTH_TRADES), [-10 * 2 / 4, 20.0, 0.0])
    np.testing.assert_array_equal(gex.dealer_contracts(q, "trades_net", SYNTH_TRADES), [-2.0, 4.0, 0.0])
    r = gex.gex_by_strike(q, dealer="trades", trades=SYNTH_TRADES)
    hand = -5 * _gamma_usd(100, 100, 0.5) + 20 * _gamma_usd(100, 90, 0.5)
    assert r.total_usd == pytest.approx(hand, rel=1e-13)
    assert r.dealer.startswith("trades:")
    by = r.by_strike.set_index("strike")
    assert (by.loc[100.0, "call_dealer"], by.loc[90.0, "put_dealer"]) == (-5.0, 20.0)
    with pytest.raises(ValueError, match="needs a trades frame"):
        gex.gex_by_strike(q, dealer="trades")
    with pytest.raises(DataError, match="direction"):
        gex.taker_flow(SYNTH_TRADES.assign(direction="long"))


def test_taker_buys_of_every_contract_make_the_trades_model_short_all() -> None:
    q = _quotes([("C", 100.0, 0.5, 10.0), ("P", 90.0, 0.5, 20.0)])
    buys = pd.DataFrame({"instrument": ["X-0", "X-1"], "direction": ["buy", "buy"], "amount": [1.0, 7.0]})
    trades = gex.gex_by_strike(q, dealer="trades", trades=buys).total_usd
    assert trades == pytest.approx(gex.gex_by_strike(q, dealer="short_all").total_usd, rel=1e-14)


def _smile_chain() -> pd.DataFrame:
    # Synthetic smile: IV 0.60 at K = 90, 0.50 at 100, 0.45 at 110; open interest only on the 100 call.
    return _quotes([("C", 90.0, 0.60, 0.0), ("C", 100.0, 0.50, 10.0), ("C", 110.0, 0.45, 0.0)])


def test_sticky_delta_reads_the_iv_of_the_same_moneyness_by_hand() -> None:
    q = _smile_chain()
    prof = gex.gex_profile(q, [100.0, 110.0, 200.0], sticky="delta").set_index("spot")["gex_usd"]
    # at S0 both rules keep the quoted IV
    assert prof[100.0] == pytest.approx(10 * _gamma_usd(100, 100, 0.50), rel=1e-13)
    # at S = 110 the 100 strike has the moneyness of K = 100 x 100 / 110 = 90.91 today:
    # IV = 0.60 + (0.50 - 0.60) ln(90.91 / 90) / ln(100 / 90) = 0.6 - 0.1 x 0.01005 / 0.10536 = 0.59046
    iv = 0.60 + (0.50 - 0.60) * math.log(100 * 100 / 110 / 90) / math.log(100 / 90)
    assert iv == pytest.approx(0.59046, abs=1e-5)
    assert prof[110.0] == pytest.approx(10 * _gamma_usd(110, 100, iv), rel=1e-12)
    strike = gex.gex_profile(q, [110.0]).iloc[0]["gex_usd"]
    assert strike == pytest.approx(10 * _gamma_usd(110, 100, 0.50), rel=1e-13) and strike != prof[110.0]
    # beyond the quoted strikes the smile is flat: at S = 200, K S0 / S = 50 < 90 -> IV 0.60
    assert prof[200.0] == pytest.approx(10 * _gamma_usd(200, 100, 0.60), rel=1e-12)
    with pytest.raises(ValueError, match="sticky"):
        gex.gex_profile(q, [100.0], sticky="moneyness")  # type: ignore[arg-type]


def test_max_pain_minimises_the_holders_payout_by_hand() -> None:
    q = _quotes(
        [
            ("C", 90.0, 0.5, 1.0),
            ("C", 100.0, 0.5, 10.0),
            ("C", 110.0, 0.5, 5.0),
            ("P", 90.0, 0.5, 20.0),
            ("P", 100.0, 0.5, 2.0),
            ("P", 110.0, 0.5, 1.0),
        ]
    )
    # payout(90) = puts 2 x 10 + 1 x 20 = 40; payout(100) = call 1 x 10 + put 1 x 10 = 20;
    # payout(110) = calls 1 x 20 + 10 x 10 = 120  -> max pain 100, payout 20 USD
    mp = gex.max_pain(q)
    assert len(mp) == 1
    assert (mp["max_pain"].iloc[0], mp["payout_usd"].iloc[0], mp["open_interest"].iloc[0]) == (100.0, 20.0, 39.0)


@settings(max_examples=30, deadline=None)
@given(
    oi=st.lists(st.floats(0.1, 1e4), min_size=4, max_size=4),
    ivs=st.lists(st.floats(0.1, 2.0), min_size=4, max_size=4),
    scale=st.floats(0.01, 100.0),
    spot=st.floats(70.0, 130.0),
)
def test_gex_is_linear_in_open_interest_and_the_dealer_model_sets_the_signs(
    oi: list[float], ivs: list[float], scale: float, spot: float
) -> None:
    rows = list(zip(["C", "C", "P", "P"], [95.0, 120.0, 80.0, 100.0], ivs, oi, strict=True))
    q = _quotes(rows)
    scaled = _quotes([(t, k, v, o * scale) for t, k, v, o in rows])
    for dealer in ("classic", "short_all"):
        base = gex.gex_by_strike(q, spot=spot, dealer=dealer).total_usd
        assert gex.gex_by_strike(scaled, spot=spot, dealer=dealer).total_usd == pytest.approx(base * scale, rel=1e-12)
    c = gex.gex_by_strike(q, spot=spot).by_strike
    s = gex.gex_by_strike(q, spot=spot, dealer="short_all").by_strike
    assert (c["call_gex_usd"] >= 0).all() and (c["put_gex_usd"] <= 0).all() and (s["gex_usd"] <= 0).all()
    np.testing.assert_allclose(c["call_gex_usd"], -s["call_gex_usd"], rtol=1e-14)
    np.testing.assert_allclose(c["put_gex_usd"], s["put_gex_usd"], rtol=1e-14)
    # sticky delta and sticky strike agree at the reference spot
    both = [gex.gex_profile(q, [100.0], sticky=k)["gex_usd"].iloc[0] for k in ("strike", "delta")]
    assert both[1] == pytest.approx(both[0], rel=1e-13)


def test_real_chain_flip_walls_and_max_pain_under_each_model(shared_data: Path) -> None:
    # Deribit chain of 2026-01-24 13:00 UTC (real), reference spot = nearest forward 89,407 USD.
    quotes, _ = deribit.read_chain_csv(shared_data / "deribit_options" / "full_data_sample.csv")
    s0 = gex.reference_spot(quotes)
    assert s0 == pytest.approx(89_407.17, abs=0.01)
    grid = s0 * np.linspace(0.8, 1.2, 201)
    classic = gex.gex_by_strike(quotes)
    assert classic.total_usd == pytest.approx(27.73e6, rel=1e-3)  # dealers long gamma, +27.7M USD per 1 %
    flips = {k: gex.gamma_profile(quotes, sticky=k).flip for k in ("strike", "delta")}
    assert flips["strike"] == pytest.approx(88_827.48, abs=0.01)  # 0.65 % below spot
    assert flips["delta"] == pytest.approx(88_756.83, abs=0.01)
    # linear interpolation on the 201-spot grid is within a few dollars of it
    assert gex.gamma_flip(gex.gex_profile(quotes, grid), near=s0) == pytest.approx(88_826, abs=1.0)
    assert gex.walls(classic.by_strike) == gex.Walls(call_wall=90_000.0, put_wall=90_000.0)
    short = gex.gex_by_strike(quotes, dealer="short_all")
    assert short.total_usd == pytest.approx(-591.3e6, rel=1e-3)
    assert np.isnan(gex.gamma_flip(gex.gex_profile(quotes, grid, "short_all"), near=s0))  # never crosses
    mp = gex.max_pain(quotes).set_index("expiry")["max_pain"]
    assert mp[pd.Timestamp("2026-01-25T08:00Z")] == 90_000.0 and mp[pd.Timestamp("2026-01-30T08:00Z")] == 90_000.0
