"""Liquidation map model: liquidation prices by hand, pro-rata closes, sweeping."""

import numpy as np
import pytest

from capitulation.analytics.liquidation_map import LiquidationModel, clusters, liquidation_levels, liquidation_price
from capitulation.errors import DataError

ONE_TIER = LiquidationModel(tiers=((10.0, 1.0),), long_share=0.5, maintenance_margin=0.004)


LONG_LIQ = 100_000 * 0.9 / 0.996  # linear 10x long, mm 0.4 %: 90,361.45
SHORT_LIQ = 100_000 * 1.1 / 1.004  # linear 10x short: 109,561.75


def test_linear_liquidation_price_by_hand():
    # 1 BTC long at $100k, 10x: margin $10,000. At P the equity is 10,000 + (P - 100,000) and the
    # maintenance margin 0.004 P: equal at P = 90,000 / 0.996 = 90,361.45.
    p = liquidation_price(100_000.0, 10.0, True, 0.004)
    assert p == pytest.approx(90_361.4458, abs=1e-4)
    assert 10_000 + (p - 100_000) == pytest.approx(0.004 * p, rel=1e-12)
    # short: equity 10,000 - (P - 100,000) = 0.004 P at P = 110,000 / 1.004 = 109,561.75
    assert liquidation_price(100_000.0, 10.0, False, 0.004) == pytest.approx(109_561.753, abs=1e-3)


def test_inverse_liquidation_price_by_hand():
    # $100,000 of inverse contracts long at $100k, 10x: margin 0.1 BTC. At P the equity in BTC is
    # 0.1 + 100,000 (1/100,000 - 1/P), the maintenance margin 0.004 x 100,000 / P BTC. Equal at
    # 1.1 / 100,000 = 1.004 / P, i.e. P = 100,000 x 1.004 / 1.1 = 91,272.73.
    p = liquidation_price(100_000.0, 10.0, True, 0.004, inverse=True)
    assert p == pytest.approx(91_272.727, abs=1e-3)
    assert 0.1 + 100_000 * (1 / 100_000 - 1 / p) == pytest.approx(0.004 * 100_000 / p, rel=1e-12)
    # short: 0.1 - 100,000 (1/100,000 - 1/P) = 400 / P at P = 100,000 x 0.996 / 0.9 = 110,666.67
    assert liquidation_price(100_000.0, 10.0, False, 0.004, inverse=True) == pytest.approx(110_666.667, abs=1e-3)


def test_model_cohorts_carry_the_liquidation_prices():
    lv = liquidation_levels(np.array([0.0, 10.0]), np.array([100_000.0, 100_000.0]), ONE_TIER)
    long, short = lv[lv["side"] == "long"].iloc[0], lv[lv["side"] == "short"].iloc[0]
    assert long.liq_price == pytest.approx(LONG_LIQ)
    assert short.liq_price == pytest.approx(SHORT_LIQ)
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
    assert long.notional_usd == pytest.approx(5.0 * LONG_LIQ)
    assert long.distance == pytest.approx(-0.095)


def test_bad_paths_are_rejected():
    with pytest.raises(DataError):
        liquidation_levels(np.array([1.0]), np.array([1.0]))
    with pytest.raises(DataError):
        liquidation_levels(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
