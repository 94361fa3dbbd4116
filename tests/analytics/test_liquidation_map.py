"""Liquidation map model: liquidation prices by hand, pro-rata closes, sweeping."""

import numpy as np
import pytest

from capitulation.analytics.liquidation_map import LiquidationModel, clusters, liquidation_levels
from capitulation.errors import DataError

ONE_TIER = LiquidationModel(tiers=((10.0, 1.0),), long_share=0.5, maintenance_margin=0.004)


def test_liquidation_prices_by_hand():
    # 10 BTC opened at $100k with 10x, mm 0.4 %: long liq = 100k x (1 - 0.1 + 0.004) = 90,400;
    # short liq = 100k x (1 + 0.1 - 0.004) = 109,600; 5 BTC each side
    lv = liquidation_levels(np.array([0.0, 10.0]), np.array([100_000.0, 100_000.0]), ONE_TIER)
    long, short = lv[lv["side"] == "long"].iloc[0], lv[lv["side"] == "short"].iloc[0]
    assert long.liq_price == pytest.approx(90_400.0)
    assert short.liq_price == pytest.approx(109_600.0)
    assert long.btc == pytest.approx(5.0) and short.btc == pytest.approx(5.0)


def test_oi_decrease_closes_open_cohorts_pro_rata():
    lv = liquidation_levels(np.array([0.0, 10.0, 6.0]), np.array([100e3, 100e3, 100e3]), ONE_TIER)
    assert lv["btc"].sum() == pytest.approx(6.0)
    assert lv["btc"].tolist() == pytest.approx([3.0, 3.0])


def test_price_through_a_liquidation_price_sweeps_that_cohort():
    lv = liquidation_levels(np.array([0.0, 10.0, 10.0]), np.array([100e3, 100e3, 90e3]), ONE_TIER)
    assert lv["side"].tolist() == ["short"]


def test_clusters_sum_usd_notional_in_buckets():
    lv = liquidation_levels(np.array([0.0, 10.0]), np.array([100e3, 100e3]), ONE_TIER)
    cl = clusters(lv, spot=100_000.0, bucket_fraction=0.01)
    long = cl[cl["side"] == "long"].iloc[0]
    assert long.price == pytest.approx(90_500.0)  # bucket [90,000, 91,000)
    assert long.notional_usd == pytest.approx(5.0 * 90_400.0)
    assert long.distance == pytest.approx(-0.095)


def test_bad_paths_are_rejected():
    with pytest.raises(DataError):
        liquidation_levels(np.array([1.0]), np.array([1.0]))
    with pytest.raises(DataError):
        liquidation_levels(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
