"""Signal 5: narrow leadership on synthetic baskets; on the recorded data, the ranking, the benchmark and which
thesis sectors the data covers (a sector without data is 'not enough data', never zero)."""

import math

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import sector_rotation
from capitulation.verdict import Status
from synthetic import daily, snapshot


def _sectors(daily_log_returns: dict[str, float], end: str = "2026-02-05") -> pd.DataFrame:
    days = pd.date_range(end=end, periods=40, freq="D", tz="UTC")
    rows = [(d, f"{s}{i}", s, r) for d in days for s, r in daily_log_returns.items() for i in range(3)]
    return pd.DataFrame(rows, columns=["date", "symbol", "sector", "log_return"])  # synthetic


FELL = daily("BTC-USD", [100.0] * 20 + [80.0] * 40)  # 20 % below its 90-day high, flat over the last 30 days


NARROW = {"rwa_like": 0.01, "meme": -0.02, "defi": -0.01, "l2": -0.01, "game": -0.02, "ai": -0.01}


def test_one_sector_beating_btc_in_a_fall_is_narrow_leadership():
    sr = _sectors(NARROW)
    snap = snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=FELL)
    v = sector_rotation.evaluate(snap)
    assert v.status is Status.HOLDS
    # every member moves alike, so the basket's 30-day return is exp(30 x 0.01) - 1 whatever the weights
    assert v.metric("rwa_like_vs_btc_30d").value == pytest.approx(math.exp(0.30) - 1)
    assert "leading: rwa_like +35.0%" in v.headline
    # one of six sectors leads: at most a fifth (the fallback bar: no confirmed trough in this path)
    assert v.metric("breadth_30d").value == pytest.approx(1 / 6) and v.metric("breadth_threshold").value == 0.2
    assert "not enough data for: prediction markets, RWA, L2, GameFi, SocialFi" in v.evidence[-5]
    assert v.metric("btc_return_30d").tables == ("sector_returns", "daily_prices")  # BTC-USD closes as benchmark


def test_broad_strength_is_not_narrow():
    sr = _sectors({"a": 0.01, "b": 0.02, "c": 0.03})
    snap = snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=FELL)
    v = sector_rotation.evaluate(snap)
    assert v.status is Status.DOES_NOT_HOLD and v.metric("breadth_30d").value == 1.0


def test_narrow_leadership_without_a_fall_is_not_capitulation():
    sr = _sectors(NARROW)
    snap = snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=daily("BTC-USD", [100.0] * 60))
    v = sector_rotation.evaluate(snap)
    assert v.metric("breadth_30d").value == pytest.approx(1 / 6)
    assert v.status is Status.DOES_NOT_HOLD and any("not a fall" in e for e in v.evidence)
    fell = sector_rotation.evaluate(snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=FELL))
    assert fell.status is Status.HOLDS


def test_breadth_history_matches_the_ranking_of_the_day(default_snapshot):
    sec = sector_rotation.sectors(default_snapshot)
    ranked = sec.table.dropna(subset=["vs_btc_30d"])
    assert sec.breadth.iloc[-1] == pytest.approx((ranked["vs_btc_30d"] > 0).mean())
    assert sec.breadth.index[-1] == sec.end


def test_stale_sector_returns_are_not_enough_data():
    sr = _sectors({"a": 0.01}, end="2026-01-20")
    snap = snapshot("2026-02-05T23:59:59Z", sector_returns=sr, daily_prices=daily("BTC-USD", [100.0] * 60))
    v = sector_rotation.evaluate(snap)
    # a daily row is known at the end of its day: the 2026-01-20 returns are 16 days old at the end of 02-05
    assert v.status is Status.NOT_ENOUGH_DATA and "16 days old (latest 2026-01-20)" in v.headline


def test_recorded_ranking_and_coverage(default_snapshot):
    sec = sector_rotation.sectors(default_snapshot)
    assert sec.end == pd.Timestamp("2026-02-05", tz="UTC")
    assert "BTC perp in the same return panel" in sec.benchmark and sec.tables == ("sector_returns",)
    # BTC's own 30-day return from the panel's BTC log returns, summed by hand
    sr = default_snapshot.tables["sector_returns"]
    btc = sr[(sr["symbol"] == "BTC") & (sr["date"] > "2026-01-06")]["log_return"]
    assert len(btc) == 30 and sec.btc[30] == pytest.approx(math.expm1(btc.sum()), rel=1e-12)
    tab = sec.table
    assert "OTHER" not in tab.index and len(tab) == 12
    assert list(tab["rank_30d"]) == list(range(1, 13))  # sorted by 30-day strength
    assert tab.index[0] == "metaverse_gaming" and tab.loc["metaverse_gaming", "vs_btc_30d"] < 0
    assert np.isnan(tab.loc["privacy", "vs_btc_90d"])  # 3 members, not all listed 90 days: not enough data
    cov = sec.coverage.set_index("sector")
    assert list(cov["status"]) == ["not enough data", "not enough data", "covered", "covered", "not enough data"]
    assert cov.loc["L2", "label"] == "eth_scaling" and cov.loc["GameFi", "members"] == 18
    assert cov.loc["RWA", ["members", "vs_btc_7d", "vs_btc_30d", "vs_btc_90d"]].isna().all()  # never a zero


def test_recorded_verdict_names_no_leader_as_of_february_5(default_snapshot):
    v = sector_rotation.evaluate(default_snapshot)
    assert v.status is Status.HOLDS  # BTC led every sector in a 41 % fall
    assert v.headline == "no sector beats BTC over 30d; closest: metaverse_gaming -0.7%; BTC -40.8% from its 90d high"
    assert v.metric("sectors_beating_btc_30d").value == 0 and v.metric("breadth_30d").value == 0
    assert "thesis sectors covered: L2 (eth_scaling), GameFi (metaverse_gaming)" in v.evidence[-5]
    # the bar: the median breadth at the confirmed troughs the sector panel covers (2020-03 on), by hand
    sec = sector_rotation.sectors(default_snapshot)
    troughs = [
        *("2020-03-12", "2021-01-27", "2021-02-28", "2021-06-08", "2021-07-20", "2021-09-21", "2022-01-22"),
        *("2022-06-18", "2022-11-21", "2023-09-11", "2024-05-01", "2024-07-07", "2024-09-06", "2025-04-08"),
    ]
    at = [sec.breadth.dropna()[: pd.Timestamp(d, tz="UTC")].iloc[-1] for d in troughs]
    assert v.metric("breadth_threshold").value == pytest.approx(np.median(at))
