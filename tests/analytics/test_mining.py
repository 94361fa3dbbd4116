"""Miner economics: the seed's rig and hashprice worked by hand, the rig catalogue, the sweep, the halving
scenario, the breakeven history, and the protocol's subsidy schedule."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.mining import (
    CATALOGUE,
    NetworkState,
    breakeven_history,
    catalogue_at,
    class_bands,
    electricity_sweep,
    hashrate_from_difficulty,
    network_state,
    next_halving,
    rig_class,
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


def test_catalogue_specs_are_consistent_and_cover_the_current_rigs():
    names = {r.name for r in CATALOGUE}
    assert {"Antminer S19 XP", "Antminer S21", "Antminer S21 Pro", "Antminer S21 XP"} <= names
    assert {"WhatsMiner M60S", "WhatsMiner M66S"} <= names
    watts = {r.name: r.power_w for r in CATALOGUE}
    # published wall power: S21 3,500 W = 200 TH/s x 17.5 J/TH; S21 XP 3,645 W = 270 x 13.5; M66S 5,513 W = 298 x 18.5
    assert watts["Antminer S21"] == pytest.approx(3_500)
    assert watts["Antminer S21 XP"] == pytest.approx(3_645)
    assert watts["WhatsMiner M66S"] == pytest.approx(5_513)
    assert rig_class(17.5) == "S21/M60 class (16-20 J/TH)" and rig_class(13.5).startswith("S21 Pro/XP")


def test_catalogue_at_1050_ehs_puts_the_s21_at_58k_and_prices_every_rig():
    econ = catalogue_at(STATE, 0.06, btc_price=62_702.10).set_index("rig")
    s21 = econ.loc["Antminer S21"]
    assert s21["shutdown_price_usd"] == pytest.approx(58_240.9, abs=0.1)
    # per rig per day: 200 TH/s x 4.326857e-7 = 8.6537e-5 BTC; 3.5 kW x 24 h x 0.06 = 5.04 USD
    assert s21["revenue_btc_day"] == pytest.approx(200 * 3.155 * 144 / 1.05e9, rel=1e-12)
    assert s21["power_cost_usd_day"] == pytest.approx(5.04, rel=1e-12)
    assert s21["margin_usd_day"] == pytest.approx(s21["revenue_btc_day"] * 62_702.10 - 5.04, rel=1e-12)
    # the shutdown price is linear in J/TH: price / efficiency is one number across the catalogue
    ratio = econ["shutdown_price_usd"] / econ["efficiency_jth"]
    assert ratio.max() == pytest.approx(ratio.min(), rel=1e-12)
    bands = class_bands(econ.reset_index())
    assert list(bands["rig_class"]) == [
        "S21 Pro/XP class (<= 16 J/TH)",
        "S21/M60 class (16-20 J/TH)",
        "S19 XP class (> 20 J/TH)",
    ]
    mid = bands.iloc[1]
    assert mid["low_usd"] == pytest.approx(58_240.9, abs=0.1)
    assert mid["high_usd"] == pytest.approx(mid["low_usd"] * 18.5 / 17.5, rel=1e-12)  # M60S/M66S


def test_electricity_sweep_is_linear_in_the_power_price():
    sweep = electricity_sweep(CATALOGUE, hashrate_ehs=1050, fees_btc_per_block=0.03, subsidy_btc=3.125)
    assert list(sweep.columns) == [0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]
    s21 = sweep.loc["Antminer S21"]
    assert s21[0.06] == pytest.approx(58_240.9, abs=0.1)
    assert s21[0.03] == pytest.approx(58_240.9 / 2, abs=0.1)
    assert s21[0.10] == pytest.approx(58_240.9 * 10 / 6, abs=0.1)


def test_next_halving_scales_by_subsidy_plus_fees():
    h = next_halving(STATE, 0.06).set_index("rig").loc["Antminer S21"]
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


def test_breakeven_history_prices_todays_rigs_on_each_day():
    net = _network(3, [1000.0, 1000.0, 1000.0], [0.0, 0.0, 0.0])
    close = pd.Series([60_000.0, 61_000.0], index=net["date"].iloc[1:])
    h = breakeven_history(net, close, 0.06, window_days=2)
    # revenue 3.125 x 144 / 1e9 = 4.5e-7 BTC/TH/day; S21 0.0252 / 4.5e-7 = 56,000 USD/BTC every day
    assert h["Antminer S21"].to_numpy() == pytest.approx([56_000.0] * 3)
    assert np.isnan(h["hashprice_usd_per_th_day"].iloc[0])
    assert h["hashprice_usd_per_th_day"].iloc[-1] == pytest.approx(4.5e-7 * 61_000)


def test_recorded_network_puts_todays_rigs_between_35k_and_70k(default_snapshot):
    s = network_state(default_snapshot.tables["btc_network"])
    assert 800 < s.hashrate_ehs < 1_100  # EH/s, early February 2026
    assert s.subsidy_btc == 3.125
    econ = catalogue_at(s, 0.06).set_index("rig")["shutdown_price_usd"]
    assert 35_000 < econ.min() < econ.max() < 70_000


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
