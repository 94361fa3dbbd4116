"""The levels map: one ladder around spot, highest first, each level with its group and why it matters."""

import math

import pytest

from capitulation.analytics.levels import Level, group, ladder, why

T = ("synthetic",)


def test_ladder_keeps_levels_within_the_window_highest_first_with_distance():
    # synthetic levels around spot 60,000
    levels = [
        Level(50_000.0, "S21/M60 shutdown", "bottom_range", T, "rigs switch off"),
        Level(66_000.0, "call wall", "options_stress", T),
        Level(95_000.0, "far", "liquidity_levels", T),  # +58 %: outside +/-50 %
        Level(float("nan"), "unknown", "treasury", T),
        Level(-1.0, "negative", "treasury", T),
    ]
    out = ladder(levels, 60_000.0)
    assert [lv.label for lv, _ in out] == ["call wall", "S21/M60 shutdown"]
    assert out[0][1] == pytest.approx(0.10)  # 66,000 / 60,000 - 1
    assert out[1][1] == pytest.approx(-1 / 6)
    assert ladder(levels, 60_000.0, within=0.6)[0][0].label == "far"


def test_the_same_level_from_two_verdicts_appears_once():
    a = Level(61_994.0, "MSTR mNAV = 1", "treasury", T, "why")
    assert len(ladder([a, Level(61_994.0, "MSTR mNAV = 1", "treasury", T, "why")], 60_000.0)) == 1


def test_every_level_says_why_it_matters_and_which_family_it_is():
    own = Level(1.0, "x", "bottom_range", T, "own reason")
    wall = Level(1.0, "put wall", "options_stress", T)  # built without a reason: the family default
    liq = Level(1.0, "est. long liquidations", "liquidity_levels", T)
    assert why(own) == "own reason" and group(own) == "miner cost floor"
    assert "dealer hedging" in why(wall) and group(wall) == "options"
    assert "forced" in why(liq) and group(liq) == "liquidations"
    assert group(Level(1.0, "x", "somewhere", T)) == "other" and why(Level(1.0, "x", "somewhere", T)) == ""
    assert math.isclose(Level(2.0, "old-style", "treasury", T).price, 2.0)  # four-argument callers still work


def test_levels_from_the_onchain_table_form_the_on_chain_cost_basis_family():
    # synthetic: signal 8 places both on-chain cost bases and miner shutdown prices
    rp = Level(55_209.0, "realized price", "bottom_range", ("onchain",), "aggregate cost basis")
    fleet = Level(53_959.0, "miner shutdown, fleet average", "bottom_range", ("btc_network",), "rigs switch off")
    assert group(rp) == "on-chain cost basis" and group(fleet) == "miner cost floor"
    assert group(Level(1.0, "x", "treasury", ("daily_prices", "onchain"))) == "on-chain cost basis"
