"""Miner shutdown price: the seed's rig, worked by hand, and the protocol's subsidy schedule."""

import pandas as pd
import pytest

from capitulation.analytics.mining import (
    fleet_shutdown_prices,
    hashrate_from_difficulty,
    shutdown_price,
    subsidy_at_height,
)
from capitulation.errors import DataError


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
    assert e.hashprice_usd_per_th_day(60_000) == pytest.approx(3.155 * 144 / 1.05e9 * 60_000)


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
    with pytest.raises(DataError):
        subsidy_at_height(-1)


def test_fleet_prices_scale_linearly_with_efficiency():
    net = pd.DataFrame(
        {"hashrate_ehs": [1000.0, 1100.0], "fees_btc_per_block": [0.02, 0.04], "subsidy_btc": [3.125, 3.125]}
    )
    out = fleet_shutdown_prices(net, power_usd_kwh=0.05)
    assert out["hashrate_ehs"].iloc[0] == pytest.approx(1050.0)
    ratio = out["shutdown_price_usd"] / out["efficiency_jth"]
    assert ratio.max() == pytest.approx(ratio.min(), rel=1e-12)
    with pytest.raises(DataError):
        fleet_shutdown_prices(net.iloc[0:0], power_usd_kwh=0.05)
