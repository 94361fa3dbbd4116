"""Signals 4, 5 and 7: decisions on synthetic inputs, figures on the recorded data (signal 8: test_bottom_range)."""

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import hedging, liquidity_levels, sector_rotation
from capitulation.signals.base import Status
from synthetic import daily, perps, snapshot


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


def test_sector_rotation_names_leaders_and_coverage():
    days = pd.date_range(end="2026-02-05", periods=40, freq="D", tz="UTC")
    rows = [
        (d, f"{s}{i}", s, r)
        for d in days
        for s, r in (("rwa_like", 0.01), ("meme", -0.02), ("defi", -0.01))
        for i in range(3)
    ]
    sr = pd.DataFrame(rows, columns=["date", "symbol", "sector", "log_return"])  # synthetic
    snap = snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=daily("BTC-USD", [100.0] * 60))
    v = sector_rotation.evaluate(snap)
    assert v.status is Status.HOLDS  # one sector beats a flat BTC, the rest bleed
    assert v.metric("rwa_like_vs_btc_30d").value == pytest.approx(np.exp(0.30) - 1)
    assert "not enough data for: prediction markets, RWA, L2, GameFi, SocialFi" in v.evidence[-1]


def test_recorded_sectors_cover_l2_and_gamefi_only(default_snapshot):
    v = sector_rotation.evaluate(default_snapshot)
    assert v.status in (Status.HOLDS, Status.DOES_NOT_HOLD)
    assert "L2 (eth_scaling), GameFi (metaverse_gaming)" in v.evidence[-1]


def test_hedging_compares_proxies_in_stress_on_recorded_prices(default_snapshot):
    v = hedging.evaluate(default_snapshot)
    eff = {m.name: m.value for m in v.metrics if m.name.endswith("_effectiveness_stress")}
    assert set(eff) == {"MSTR_effectiveness_stress", "QQQ_effectiveness_stress", "GLD_effectiveness_stress"}
    best = max(x for x in eff.values() if np.isfinite(x))
    assert (v.status is Status.HOLDS) == (best < 0.5)
    assert eff["GLD_effectiveness_stress"] < 0.2  # gold did not track BTC in the 2026 sell-off


def test_hedging_prices_the_put_when_the_chain_is_fresh(recorded_full):
    v = hedging.evaluate(recorded_full.upto("2026-01-24T23:59:59Z"))
    cost = v.metric("atm_put_cost").value
    assert 0.01 < cost < 0.10  # 30-day ATM put on BTC: a few percent of notional
