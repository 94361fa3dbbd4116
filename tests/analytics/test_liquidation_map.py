"""Liquidation map model: liquidation prices, conservation of open interest, sweeps and replacement,
pre-window placement, daily sums and the calibration against observed liquidations. Every path here is
synthetic."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from capitulation.analytics.liquidation_map import (
    LiquidationModel,
    calibrate,
    clusters,
    daily_liquidations,
    liquidation_levels,
    liquidation_price,
    out_of_sample,
    run_map,
    walk_forward,
)
from capitulation.errors import DataError

ONE_TIER = LiquidationModel(tiers=((10.0, 1.0),), long_share=0.5, maintenance_margin=0.004)

LONG_LIQ = 100_000 * 0.9 / 0.996  # linear 10x long, mm 0.4 %: 90,361.45
SHORT_LIQ = 100_000 * 1.1 / 1.004  # linear 10x short: 109,561.75
LONG_LIQ_90K = 90_000 * 0.9 / 0.996  # 81,325.30


def _book(run) -> list[tuple[str, float, float]]:
    """(side, entry, btc) of the open cohorts, sorted."""
    c = run.cohorts
    return sorted(zip(c["side"], c["entry"].round(6), c["btc"].round(9), strict=True))


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


def test_inverse_model_cohorts_carry_the_inverse_liquidation_prices():
    model = LiquidationModel(tiers=((10.0, 1.0),), inverse=True)
    lv = liquidation_levels(np.array([10.0, 10.0]), np.array([100_000.0, 100_000.0]), model).set_index("side")
    assert lv.loc["long", "liq_price"] == pytest.approx(91_272.727, abs=1e-3)
    assert lv.loc["short", "liq_price"] == pytest.approx(110_666.667, abs=1e-3)


def test_oi_held_at_the_start_is_open_from_the_first_step():
    # the old model placed only OI increases: 10 BTC held at the start were never on the map
    lv = liquidation_levels(np.array([10.0, 10.0]), np.array([100_000.0, 100_000.0]), ONE_TIER)
    long, short = lv[lv["side"] == "long"].iloc[0], lv[lv["side"] == "short"].iloc[0]
    assert long.liq_price == pytest.approx(LONG_LIQ) and short.liq_price == pytest.approx(SHORT_LIQ)
    assert long.btc == pytest.approx(5.0) and short.btc == pytest.approx(5.0)


def test_oi_decrease_closes_open_cohorts_pro_rata():
    run = run_map(np.array([4.0, 10.0, 6.0]), np.array([100e3, 101e3, 101e3]), ONE_TIER)
    # 2 + 2 at 100k, 3 + 3 at 101k, then x 0.6
    assert _book(run) == [("long", 100e3, 1.2), ("long", 101e3, 1.8), ("short", 100e3, 1.2), ("short", 101e3, 1.8)]
    assert run.open_btc.tolist() == pytest.approx([4.0, 10.0, 6.0], rel=1e-12)


def test_a_sweep_while_oi_holds_reopens_the_positions_at_the_current_price():
    # 100k -> 90k crosses the 10x long liquidation price 90,361: 5 BTC of longs swept; OI held at 10 BTC
    # says they were replaced, so 5 BTC of longs re-open at 90k (liquidation 81,325)
    run = run_map(np.array([10.0, 10.0]), np.array([100e3, 90e3]), ONE_TIER)
    assert _book(run) == [("long", 90e3, 5.0), ("short", 100e3, 5.0)]
    assert run.swept["long_btc"].tolist() == [0.0, 5.0]
    assert run.swept["long_usd"].iloc[1] == pytest.approx(5.0 * LONG_LIQ, rel=1e-12)
    assert run.swept["short_btc"].sum() == 0.0
    long = run.cohorts[run.cohorts["side"] == "long"].iloc[0]
    assert long.liq_price == pytest.approx(LONG_LIQ_90K)


@pytest.mark.parametrize(
    ("oi_after", "book"),
    [
        # OI 10 -> 7: 5 swept, 5 remain, 2 re-opened (as longs, the side swept)
        (7.0, [("long", 90e3, 2.0), ("short", 100e3, 5.0)]),
        # OI 10 -> 4: 5 swept and 1 more closed: the 5 remaining shorts x 4/5
        (4.0, [("short", 100e3, 4.0)]),
        # OI 10 -> 14: the 5 swept longs re-open, the 4 new BTC split 2 long / 2 short
        (14.0, [("long", 90e3, 7.0), ("short", 90e3, 2.0), ("short", 100e3, 5.0)]),
    ],
)
def test_the_balance_after_a_sweep_by_hand(oi_after: float, book: list):
    run = run_map(np.array([10.0, oi_after]), np.array([100e3, 90e3]), ONE_TIER)
    assert _book(run) == book
    assert run.open_btc[-1] == pytest.approx(oi_after, rel=1e-12)


def test_a_rise_sweeps_the_shorts_and_reopens_them_as_shorts():
    run = run_map(np.array([10.0, 10.0]), np.array([100e3, 110e3]), ONE_TIER)
    assert _book(run) == [("long", 100e3, 5.0), ("short", 110e3, 5.0)]
    assert run.swept["short_usd"].iloc[1] == pytest.approx(5.0 * SHORT_LIQ, rel=1e-12)


def test_oi_held_before_the_window_is_spread_over_the_warmup_closes():
    # warm-up closes 100k, 101k; first stamp 100.5k with 9 BTC: 3 BTC opened at each (no 10x level crossed)
    run = run_map(np.array([9.0, 9.0]), np.array([100_500.0, 100_500.0]), ONE_TIER, warmup=np.array([100e3, 101e3]))
    assert _book(run) == [
        ("long", 100e3, 1.5),
        ("long", 100_500.0, 1.5),
        ("long", 101e3, 1.5),
        ("short", 100e3, 1.5),
        ("short", 100_500.0, 1.5),
        ("short", 101e3, 1.5),
    ]


def test_warmup_cohorts_the_closes_swept_are_reopened_later_and_not_reported():
    # warm-up 80k -> 120k -> first stamp 100k, 10 BTC. OI ramps 10/3, 20/3, 10.
    # 80k: 5/3 long, 5/3 short. 120k sweeps the 80k short (liq 87.6k): 5/3 re-opened short + 5/3 new (split)
    #   at 120k: 5/6 long, 5/3 + 5/6 short.  100k sweeps the 120k long (liq 108.4k): 5/6 re-opened long + 5/3
    #   new at 100k: 5/6 + 5/6 long, 5/6 short.
    run = run_map(np.array([10.0, 10.0]), np.array([100e3, 100e3]), ONE_TIER, warmup=np.array([80e3, 120e3]))
    third = 10 / 3
    assert _book(run) == [
        ("long", 80e3, round(third / 2, 9)),
        ("long", 100e3, round(third / 2 + third / 2, 9)),
        ("short", 100e3, round(third / 2, 9)),
        ("short", 120e3, round(third / 2 + third / 2, 9)),
    ]
    assert run.open_btc.tolist() == pytest.approx([10.0, 10.0], rel=1e-12)
    assert run.swept.to_numpy().sum() == 0.0  # the warm-up's sweeps are not modelled liquidations


def test_daily_liquidations_count_each_step_on_the_day_it_ends():
    idx = pd.DatetimeIndex(
        ["2026-02-04T16:00Z", "2026-02-05T00:00Z", "2026-02-05T08:00Z", "2026-02-05T23:59:59Z"], tz="UTC"
    )
    run = run_map(pd.Series([10.0, 10.0, 10.0, 10.0], index=idx), np.array([100e3, 90e3, 90e3, 80e3]), ONE_TIER)
    d = daily_liquidations(run)
    # the step ending 2026-02-05 00:00 covers 2026-02-04 16:00-24:00: it counts on the 4th
    assert d.index.tolist() == [pd.Timestamp("2026-02-04", tz="UTC"), pd.Timestamp("2026-02-05", tz="UTC")]
    assert d["long_btc"].tolist() == [5.0, 5.0]  # 90k -> 80k sweeps the longs re-opened at 90k (81,325)
    assert d["long_usd"].tolist() == pytest.approx([5 * LONG_LIQ, 5 * LONG_LIQ_90K], rel=1e-12)
    assert d["open_btc"].tolist() == [10.0, 10.0]  # the open mass before each day's first step


def test_clusters_sum_usd_notional_in_buckets():
    lv = liquidation_levels(np.array([10.0, 10.0]), np.array([100e3, 100e3]), ONE_TIER)
    cl = clusters(lv, spot=100_000.0, bucket_fraction=0.01)
    long = cl[cl["side"] == "long"].iloc[0]
    assert long.price == pytest.approx(90_500.0)  # bucket [90,000, 91,000)
    assert long.notional_usd == pytest.approx(5.0 * LONG_LIQ)
    assert long.distance == pytest.approx(-0.095)


def test_bad_paths_are_rejected():
    with pytest.raises(DataError, match="at least 2 points"):
        liquidation_levels(np.array([1.0]), np.array([1.0]))
    with pytest.raises(DataError, match="finite"):
        liquidation_levels(np.array([1.0, np.nan]), np.array([1.0, 1.0]))
    with pytest.raises(DataError, match="non-negative"):
        liquidation_levels(np.array([1.0, -1.0]), np.array([1.0, 1.0]))
    with pytest.raises(DataError, match="warm-up"):
        run_map(np.array([1.0, 1.0]), np.array([1.0, 1.0]), warmup=np.array([0.0]))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 1e6), st.floats(1e3, 2e5)),
        min_size=2,
        max_size=40,
    ),
    st.lists(st.floats(1e3, 2e5), max_size=10),
)
def test_open_mass_equals_the_oi_at_every_step_and_no_level_is_left_behind_the_price(path, warm):
    oi = np.array([o for o, _ in path])
    px = np.array([p for _, p in path])
    run = run_map(oi, px, LiquidationModel(), warmup=np.array(warm))
    assert np.allclose(run.open_btc, oi, rtol=1e-9, atol=1e-9)
    assert run.cohorts["btc"].sum() == pytest.approx(oi[-1], rel=1e-9, abs=1e-9)
    assert (run.swept.to_numpy() >= 0).all()
    c = run.cohorts
    assert (c.loc[c["side"] == "long", "liq_price"] < px[-1]).all()
    assert (c.loc[c["side"] == "short", "liq_price"] > px[-1]).all()


def test_calibration_by_hand():
    days = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC")
    modelled = pd.Series(np.arange(1.0, 41.0), index=days)
    observed = pd.Series(0.25 * np.arange(1.0, 41.0) + np.tile([1.0, -1.0], 20), index=days)
    fit = calibrate(modelled, observed, "long", min_days=30)
    assert fit.days == 40 and fit.scale == pytest.approx(observed.sum() / modelled.sum(), rel=1e-12)
    assert fit.correlation == pytest.approx(np.corrcoef(modelled, observed)[0, 1], rel=1e-12)
    observed.iloc[5] = observed.iloc[6]  # a tie: average ranks, as scipy's Spearman
    fit = calibrate(modelled, observed, "long", min_days=30)
    assert fit.rank_correlation == pytest.approx(stats.spearmanr(modelled, observed).statistic, rel=1e-12)
    assert calibrate(modelled[:20], observed, "long", min_days=30) is None
    assert calibrate(modelled * 0, observed, "long") is None


def test_walk_forward_scales_each_day_by_the_days_before_it_only():
    days = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    modelled = pd.Series([1.0, 2.0, 4.0, 1.0], index=days)
    observed = pd.Series([2.0, 2.0, 1.0, 10.0], index=days)
    wf = walk_forward(modelled, observed, window_days=2, min_days=1)
    # day 2: scale from day 1 only (2 / 1); day 3: days 1-2 (4 / 3); day 4: days 2-3 (3 / 6), not day 4's own 10
    assert np.isnan(wf["scale"].iloc[0])
    assert wf["scale"].iloc[1:].tolist() == pytest.approx([2.0, 4 / 3, 0.5], rel=1e-12)
    assert wf["predicted"].iloc[3] == pytest.approx(0.5)


def test_out_of_sample_scores_the_walk_forward_predictions_against_the_observed():
    days = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    modelled = pd.Series([1.0, 2.0, 4.0, 1.0], index=days)
    observed = pd.Series([2.0, 2.0, 1.0, 10.0], index=days)
    fit = out_of_sample(modelled, observed, "long", window_days=2, min_days=1)
    predicted, seen = np.array([4.0, 16 / 3, 0.5]), np.array([2.0, 1.0, 10.0])  # days 2-4, as above
    assert fit.days == 3 and fit.scale == pytest.approx(seen.sum() / predicted.sum(), rel=1e-12)
    assert fit.correlation == pytest.approx(np.corrcoef(predicted, seen)[0, 1], rel=1e-12)
