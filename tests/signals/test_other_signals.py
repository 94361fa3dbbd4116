"""Signal 4 on synthetic inputs (signals 5 and 7: test_sector_rotation, test_hedging; 8: test_bottom_range)."""

from capitulation.signals import liquidity_levels
from capitulation.signals.base import Status
from synthetic import perps, snapshot


def test_liquidity_holds_after_a_fall_that_swept_the_longs():
    # synthetic: 100 BTC of longs and shorts opened at $100k, then price falls 30 %: every long tier is swept
    oi = [1.0] + [101.0] * 11
    px = [100_000.0] * 2 + [70_000.0] * 10
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, px))
    v = liquidity_levels.evaluate(snap)
    assert v.metric("long_liq_open_usd").value == 0.0
    assert v.status is Status.HOLDS
    assert all("short" in lv.label for lv in v.levels)


def test_liquidity_does_not_hold_with_fresh_leveraged_longs_just_below():
    oi = [1.0] + [101.0] * 11
    px = [100_000.0] * 12
    v = liquidity_levels.evaluate(snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, px)))
    # 50x and 100x longs liquidate at 98.4k and 99.4k, 25x at 96.4k, 10x at 90.4k: all within 10 %
    assert v.status is Status.DOES_NOT_HOLD
    assert v.metric("long_liq_near_share").value > 0.25
