"""Dealer gamma exposure: the sign conventions, one strike by hand, the flip, the walls, the real chain."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
