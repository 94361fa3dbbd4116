"""Miner economics: the seed's rig and hashprice worked by hand, the rig catalogue with release dates (the
rigs of each day, their efficient frontier and fleet average), the sweep, the halving scenario, the breakeven
history, and the protocol's subsidy schedule."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.analytics.mining import (
    CATALOGUE,
    FLEET_YEARS,
    NetworkState,
    breakeven_history,
    catalogue_at,
    cost_floors,
    efficiency_at,
    electricity_sweep,
    hashrate_from_difficulty,
    network_state,
    next_halving,
    rigs_at,
    shutdown_price,
    subsidy_at_height,
)
from capitulation.errors import DataError

# synthetic network state: 1,050 EH/s, 0.03 BTC fees per block, subsidy 3.125 BTC
STATE = NetworkState(pd.Timestamp("2026-02-05", tz="UTC"), 1050.0, None, 0.03, 3.125, 7)


def test_seed_rig_shuts_down_between_57k_and_60k():
    # revenue = (3.125 + 0.03) BTC x 144 / 1.05e9 TH/s = 4.32686e-7 BTC per TH per day
    # cost    = 17.5 W per TH/s x 24 h / 1000 x 0.06 USD/kWh = 0.0252 USD per TH per day
    # price   = 0.0252 / 4.32686e-7 = 58,240.9 USD/BTC
    e = shutdown_price(
        hashrate_ehs=1050, efficiency_jth=17.5, power_usd_kwh=0.06, fees_btc_per_block=0.03, rig_hashrate_ths=200
    )
    assert e.revenue_btc_per_th_day == pytest.approx(3.155 * 144 / 1.05e9, rel=1e-12)
    assert e.power_cost_usd_per_th_day == pytest.approx(0.0252, rel=1e-12)
    assert e.shutdown_price_usd == pytest.approx(58_240.9, abs=0.1)
    assert 57_000 <= e.shutdown_price_usd <= 60_000
    assert e.rig_power_w == pytest.approx(3_500)


def test_hashprice_matches_a_hand_calculation():
    # 3.155 BTC x 144 blocks / 1,050,000,000 TH/s = 4.326857e-7 BTC per TH/s per day; x 62,702.10 USD/BTC
    # = 0.0271303 USD per TH/s per day (27.13 USD per PH/s per day)
    hand = 3.155 * 144 / 1_050_000_000 * 62_702.10
    assert hand == pytest.approx(0.0271303, abs=1e-7)
    assert STATE.hashprice_usd_per_th_day(62_702.10) == pytest.approx(hand, rel=1e-12)
    e = shutdown_price(hashrate_ehs=1050, efficiency_jth=17.5, power_usd_kwh=0.06, fees_btc_per_block=0.03)
    assert e.hashprice_usd_per_th_day(62_702.10) == pytest.approx(hand, rel=1e-12)


def utc(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def test_catalogue_specs_are_consistent_and_carry_release_months():
    rigs = {r.name: r for r in CATALOGUE}
    assert {"Antminer S9", "Antminer S17 Pro", "Antminer S19", "Antminer S19 Pro", "Antminer S19j Pro"} <= set(rigs)
    assert {"Antminer S19 XP", "Antminer S21", "Antminer S21 Pro", "Antminer S21 XP"} <= set(rigs)
    assert {"WhatsMiner M30S++", "WhatsMiner M50S", "WhatsMiner M60S", "WhatsMiner M66S"} <= set(rigs)
    # published wall power: S9 1,323 W = 13.5 TH/s x 98 J/TH; S19 XP 3,010 W = 140 x 21.5; S21 3,500 W = 200 x 17.5;
    # S21 XP 3,645 W = 270 x 13.5; M66S 5,513 W = 298 x 18.5
    for name, watts in (
        ("Antminer S9", 1_323),
        ("Antminer S19 XP", 3_010),
        ("Antminer S21", 3_500),
        ("Antminer S21 XP", 3_645),
        ("WhatsMiner M66S", 5_513),
    ):
        assert rigs[name].power_w == pytest.approx(watts)
    assert (rigs["Antminer S9"].released, rigs["Antminer S19 XP"].released) == ("2016-06", "2022-07")
    for r in CATALOGUE:
        assert pd.Timestamp(f"{r.released}-01").strftime("%Y-%m") == r.released


def test_a_rig_counts_from_the_day_after_its_release_month():
    s21 = next(r for r in CATALOGUE if r.name == "Antminer S21")  # released 2024-01
    assert s21.available_from == utc("2024-02-01")
    assert s21 not in rigs_at(utc("2024-01-31T23:59:59"))
    assert s21 in rigs_at(utc("2024-02-01"))


def test_the_rigs_of_2022_11_21_are_the_s19_generation_not_todays():
    names = [r.name for r in rigs_at(utc("2022-11-21"))]
    # released within 4 years (after 2018-11-21): S15 (2018-11) .. M50S (2022-07); the S9 (2016) has aged out
    assert names == [
        "Antminer S15",
        "Antminer S17 Pro",
        "Antminer S19",
        "Antminer S19 Pro",
        "WhatsMiner M30S++",
        "Antminer S19j Pro",
        "Antminer S19 XP",
        "WhatsMiner M50S",
    ]
    assert "Antminer S19 XP" not in [r.name for r in rigs_at(utc("2022-07-31"))]
    assert rigs_at(utc("2015-01-14")) == ()
    assert rigs_at(pd.NaT) == rigs_at(utc("2025-02-01"))  # no date: the newest catalogue


def test_cost_floors_by_hand_on_2022_11_21():
    # synthetic network: 250 EH/s, 0.10 BTC fees, 6.25 subsidy -> revenue 6.35 x 144 / 2.5e8 = 3.6576e-6 BTC/TH/day
    state = NetworkState(utc("2022-11-21"), 250.0, None, 0.10, 6.25, 7)
    f = cost_floors(state, 0.06)
    usd_per_jth = 24 / 1000 * 0.06 / (6.35 * 144 / 2.5e8)  # 393.70 USD/BTC per J/TH
    assert (f.frontier_rig, f.frontier_jth) == ("Antminer S19 XP", 21.5)
    assert f.frontier_usd == pytest.approx(21.5 * usd_per_jth, rel=1e-12)  # 8,464.6
    # fleet: (57 + 39.5 + 34.5 + 29.5 + 31 + 29.5 + 21.5 + 26) / 8 = 33.5625 J/TH
    assert f.fleet_jth == pytest.approx(33.5625) and len(f.fleet_rigs) == 8
    assert f.fleet_usd == pytest.approx(33.5625 * usd_per_jth, rel=1e-12)  # 13,213.6
    assert f.as_dict()["fleet_rigs"][0] == "Antminer S15" and f.fleet_years == FLEET_YEARS
    with pytest.raises(DataError, match="no rig"):
        cost_floors(NetworkState(utc("2014-06-01"), 0.1, None, 0.0, 25.0, 7), 0.06)


def test_recorded_2022_low_is_priced_with_the_rigs_of_2022(recorded_full):
    # the issue: today's rigs gave a $5.7-9.0k band against the $15.8k spot of 2022-11-21
    snap = recorded_full.upto("2022-11-21T23:59:59Z")
    f = cost_floors(network_state(snap.tables["btc_network"]), 0.06)
    assert f.frontier_rig == "Antminer S19 XP"
    assert 8_000 < f.frontier_usd < 10_500 and 12_000 < f.fleet_usd < 16_000  # measured 9,050 and 14,127


@settings(max_examples=80, deadline=None)
@given(days=st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=20))
def test_efficiency_at_agrees_with_the_rigs_of_each_day(days):
    dates = pd.DatetimeIndex([utc("2014-01-01") + pd.Timedelta(days=d, hours=12) for d in days])
    eff = efficiency_at(dates)
    for d, row in eff.iterrows():
        live, fleet = rigs_at(d, years=None), rigs_at(d)
        assert row["fleet_rigs"] == len(fleet)
        if fleet:
            assert row["fleet_jth"] == pytest.approx(np.mean([r.efficiency_jth for r in fleet]), rel=1e-12)
            assert row["frontier_jth"] == min(r.efficiency_jth for r in live)
        else:
            assert np.isnan(row["fleet_jth"])


def test_catalogue_at_1050_ehs_puts_the_s21_at_58k_and_prices_the_rigs_of_the_day():
    econ = catalogue_at(STATE, 0.06, btc_price=62_702.10).set_index("rig")
    assert list(econ.index) == [r.name for r in rigs_at(STATE.date)]
    s21 = econ.loc["Antminer S21"]
    assert s21["shutdown_price_usd"] == pytest.approx(58_240.9, abs=0.1)
    assert s21["released"] == "2024-01"
    # per rig per day: 200 TH/s x 4.326857e-7 = 8.6537e-5 BTC; 3.5 kW x 24 h x 0.06 = 5.04 USD
    assert s21["revenue_btc_day"] == pytest.approx(200 * 3.155 * 144 / 1.05e9, rel=1e-12)
    assert s21["power_cost_usd_day"] == pytest.approx(5.04, rel=1e-12)
    assert s21["margin_usd_day"] == pytest.approx(s21["revenue_btc_day"] * 62_702.10 - 5.04, rel=1e-12)
    # the shutdown price is linear in J/TH: price / efficiency is one number across the catalogue
    ratio = econ["shutdown_price_usd"] / econ["efficiency_jth"]
    assert ratio.max() == pytest.approx(ratio.min(), rel=1e-12)


def test_electricity_sweep_is_linear_in_the_power_price():
    sweep = electricity_sweep(CATALOGUE, hashrate_ehs=1050, fees_btc_per_block=0.03, subsidy_btc=3.125)
    assert list(sweep.columns) == [0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]
    s21 = sweep.loc["Antminer S21"]
    assert s21[0.06] == pytest.approx(58_240.9, abs=0.1)
    assert s21[0.03] == pytest.approx(58_240.9 / 2, abs=0.1)
    assert s21[0.10] == pytest.approx(58_240.9 * 10 / 6, abs=0.1)


def test_next_halving_scales_by_subsidy_plus_fees():
    h = next_halving(STATE, 0.06).set_index("rig").loc["Antminer S21"]  # the rigs of 2026-02-05 by default
    # (3.125 + 0.03) / (1.5625 + 0.03) = 1.98116 -> 58,240.9 x 1.98116 = 115,384.6
    assert h["after_halving_usd"] / h["now_usd"] == pytest.approx(3.155 / 1.5925, rel=1e-12)
    assert h["after_halving_usd"] == pytest.approx(115_384.6, abs=0.1)


def _network(days: int, hashrate: list[float], fees: list[float]) -> pd.DataFrame:
    """Synthetic `btc_network` rows ending 2026-02-05."""
    dates = pd.date_range(end="2026-02-05", periods=days, freq="D", tz="UTC")
    return pd.DataFrame(
        {
            "date": dates,
            "height": pd.array([pd.NA] * days, dtype="Int64"),
            "difficulty": 1.4e14,
            "hashrate_ehs": hashrate,
            "fees_btc_per_block": fees,
            "subsidy_btc": 3.125,
        }
    )


def test_network_state_averages_the_window_and_reads_difficulty():
    net = _network(8, [2000.0] + [1000.0, 1100.0] * 3 + [1050.0], [0.5] + [0.02, 0.04] * 3 + [0.03])
    s = network_state(net, window_days=7)
    assert s.hashrate_ehs == pytest.approx((1000 + 1100) * 3 / 7 + 1050 / 7)  # the 2,000 EH/s day is outside
    assert s.fees_btc_per_block == pytest.approx((0.06 * 3 + 0.03) / 7)
    assert s.difficulty_hashrate_ehs == pytest.approx(1.4e14 * 2**32 / 600 / 1e18)
    assert s.date == pd.Timestamp("2026-02-05", tz="UTC") and s.window_days == 7
    with pytest.raises(DataError):
        network_state(net.iloc[0:0])


def test_breakeven_history_prices_each_days_rigs_on_that_day():
    net = _network(3, [1000.0, 1000.0, 1000.0], [0.0, 0.0, 0.0])
    close = pd.Series([60_000.0, 61_000.0], index=net["date"].iloc[1:])
    h = breakeven_history(net, close, 0.06, window_days=2)
    # revenue 3.125 x 144 / 1e9 = 4.5e-7 BTC/TH/day -> 0.00144 / 4.5e-7 = 3,200 USD/BTC per J/TH;
    # 2026-02: frontier S21 XP 13.5 J/TH = 43,200; fleet (21.5 + 26 + 18.5 + 18.5 + 17.5 + 15 + 13.5) / 7
    assert h["frontier_usd"].to_numpy() == pytest.approx([13.5 * 3_200] * 3)
    assert h["fleet_usd"].to_numpy() == pytest.approx([130.5 / 7 * 3_200] * 3)
    assert np.isnan(h["hashprice_usd_per_th_day"].iloc[0])
    assert h["hashprice_usd_per_th_day"].iloc[-1] == pytest.approx(4.5e-7 * 61_000)


def test_breakeven_history_switches_frontier_when_a_rig_ships():
    dates = pd.date_range("2022-07-30", periods=4, freq="D", tz="UTC")  # the S19 XP (2022-07) counts from 08-01
    net = pd.DataFrame({"date": dates, "hashrate_ehs": 200.0, "fees_btc_per_block": 0.1, "subsidy_btc": 6.25})
    h = breakeven_history(net, pd.Series(dtype=float), 0.06)
    assert list(h["frontier_jth"]) == [29.5, 29.5, 21.5, 21.5]


def test_recorded_network_puts_the_rigs_of_february_2026_between_35k_and_80k(default_snapshot):
    s = network_state(default_snapshot.tables["btc_network"])
    assert 800 < s.hashrate_ehs < 1_100  # EH/s, early February 2026
    assert s.subsidy_btc == 3.125
    econ = catalogue_at(s, 0.06).set_index("rig")["shutdown_price_usd"]
    assert 35_000 < econ.min() < econ.max() < 80_000  # S21 XP 39,074 .. M50S 75,254


def test_hashrate_from_difficulty_matches_definition():
    # D = 1.2586e14 (2026-02) -> 1.2586e14 x 4294967296 / 600 = 9.0097e20 H/s = 900.97 EH/s
    assert hashrate_from_difficulty(125_864_590_119_494) == pytest.approx(900.97, abs=0.01)


@pytest.mark.parametrize(
    "height,subsidy", [(0, 50.0), (209_999, 50.0), (210_000, 25.0), (840_000, 3.125), (1_050_000, 1.5625)]
)
def test_subsidy_halves_every_210000_blocks(height, subsidy):
    assert subsidy_at_height(height) == subsidy


def test_subsidy_reaches_zero_after_64_halvings():
    assert subsidy_at_height(64 * 210_000) == 0.0
    assert subsidy_at_height(32 * 210_000) == 1e-8  # 5e9 sat >> 32 = 1 satoshi
    assert subsidy_at_height(33 * 210_000) == 0.0


def test_bad_mining_inputs_are_rejected():
    with pytest.raises(DataError, match="hashrate_ehs"):
        shutdown_price(hashrate_ehs=0, efficiency_jth=17.5, power_usd_kwh=0.06, fees_btc_per_block=0)
    with pytest.raises(DataError, match="power_usd_kwh"):
        shutdown_price(hashrate_ehs=1000, efficiency_jth=17.5, power_usd_kwh=-1, fees_btc_per_block=0)
    with pytest.raises(DataError, match="subsidy"):
        shutdown_price(hashrate_ehs=1000, efficiency_jth=17.5, power_usd_kwh=0.06, fees_btc_per_block=0, subsidy_btc=0)
    with pytest.raises(DataError):
        subsidy_at_height(-1)
