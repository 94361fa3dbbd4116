"""Sector baskets: fixed constituents, equal weights drifting within the month, rebalanced monthly; returns
relative to BTC by hand; the 90 % coverage rule; the recorded baskets against a plain loop."""

import math

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.sectors import (
    basket_log_returns,
    breadth,
    constituents,
    relative_strength,
    window_return,
)


def panel(rows: list[tuple[str, str, float]], sector: str = "x") -> pd.DataFrame:
    """Synthetic long `sector_returns` rows from (date, symbol, simple return)."""
    return pd.DataFrame(
        [(pd.Timestamp(d, tz="UTC"), s, sector, math.log1p(r)) for d, s, r in rows],
        columns=["date", "symbol", "sector", "log_return"],
    )


def test_weights_drift_within_the_month_and_reset_at_the_rebalance():
    # synthetic: three members; A +10 % on Jan 30, B +10 % on Jan 31, A +10 % on Feb 1
    rows = [
        ("2026-01-30", "A", 0.10), ("2026-01-30", "B", 0.0), ("2026-01-30", "C", 0.0),
        ("2026-01-31", "A", 0.0), ("2026-01-31", "B", 0.10), ("2026-01-31", "C", 0.0),
        ("2026-02-01", "A", 0.10), ("2026-02-01", "B", 0.0), ("2026-02-01", "C", 0.0),
    ]  # fmt: skip
    b = basket_log_returns(panel(rows))["x"]
    v1, v2 = 3.1 / 3, 3.2 / 3  # basket value: (1.1 + 1 + 1) / 3, then (1.1 + 1.1 + 1) / 3
    assert b.iloc[0] == pytest.approx(math.log(v1))
    assert b.iloc[1] == pytest.approx(math.log(v2 / v1))  # A's larger weight after its rise: 3.23 %, not 3.33 %
    assert b.iloc[2] == pytest.approx(math.log(3.1 / 3))  # February starts again from equal weights


def test_constituents_are_fixed_for_the_month_and_gaps_carry_the_last_value():
    rows = [
        ("2026-01-01", "A", 0.0), ("2026-01-01", "B", 0.0), ("2026-01-01", "C", 0.0),
        ("2026-01-02", "A", 0.0), ("2026-01-02", "B", 0.0), ("2026-01-02", "D", 0.5),  # C silent, D lists
        ("2026-01-03", "A", 0.3), ("2026-01-03", "B", 0.0), ("2026-01-03", "C", 0.0), ("2026-01-03", "D", 0.2),
    ]  # fmt: skip
    sr = panel(rows)
    b = basket_log_returns(sr)["x"]
    assert np.isnan(b.iloc[1])  # only A and B of the constituents reported on Jan 2: under 3
    assert b.iloc[2] == pytest.approx(math.log((1.3 + 1 + 1) / 3))  # C carried at its value; D is not in January
    assert constituents(sr)["x"] == 3


def test_a_sector_with_too_few_members_has_no_basket():
    rows = [(f"2026-01-{d:02d}", s, 0.01) for d in range(1, 11) for s in "AB"]
    assert basket_log_returns(panel(rows)).isna().all().all()


def test_relative_strength_by_hand_and_missing_days():
    days = pd.date_range("2026-01-01", periods=10, freq="D", tz="UTC")
    baskets = pd.DataFrame({"x": 0.01, "y": -0.01}, index=days)
    baskets.loc[days[-3:], "y"] = np.nan  # y misses 3 of the last 7 days: under 90 %
    btc = pd.Series(0.005, index=days)
    rs, btc_ret = relative_strength(baskets, btc, days=(7,))
    # 7 days of +1 % log returns vs BTC's +0.5 %: exp(0.07) / exp(0.035) - 1
    assert rs.loc["x", "return_7d"] == pytest.approx(math.exp(0.07) - 1)
    assert rs.loc["x", "vs_btc_7d"] == pytest.approx(math.exp(0.035) - 1)
    assert btc_ret[7] == pytest.approx(math.exp(0.035) - 1)
    assert np.isnan(rs.loc["y", "vs_btc_7d"]) and np.isnan(rs.loc["y", "rank_7d"])
    assert rs.loc["x", "rank_7d"] == 1


def test_recorded_january_basket_matches_a_plain_loop(default_snapshot):
    sr = default_snapshot.tables["sector_returns"]
    jan = sr[(sr["sector"] == "eth_scaling") & (sr["date"] >= "2026-01-01") & (sr["date"] < "2026-02-01")]
    got = basket_log_returns(jan)["eth_scaling"]
    # reference: loop over days, one value per constituent of Jan 1, no pandas arithmetic
    dates = sorted(jan["date"].unique())
    members = sorted(jan.loc[jan["date"] == dates[0], "symbol"])
    value = dict.fromkeys(members, 1.0)
    prev = 1.0
    for d in dates:
        day = jan[jan["date"] == d].set_index("symbol")["log_return"]
        for m in members:
            if m in day.index:
                value[m] *= math.exp(day[m])
        now = sum(value.values()) / len(members)
        assert got[d] == pytest.approx(math.log(now / prev), rel=1e-10, abs=1e-14)
        prev = now
    assert len(members) == 10
    assert window_return(got, dates[-1], 31) == pytest.approx(prev - 1.0, rel=1e-10)


def test_breadth_is_the_share_of_sectors_whose_window_sum_beats_btc_by_hand():
    days = pd.date_range("2026-01-01", periods=40, freq="D", tz="UTC")
    baskets = pd.DataFrame(
        {"up": np.full(40, 0.01), "down": np.full(40, -0.01), "late": np.r_[np.full(20, np.nan), np.full(20, 0.02)]},
        index=days,
    )
    btc = pd.Series(np.full(40, 0.0), index=days)
    b = breadth(baskets, btc, days=30)
    assert np.isnan(b.iloc[25])  # 26 days of history: under 90 % of a 30-day window (27 days)
    assert b.iloc[26] == 0.5  # day 27: 'up' beats a flat BTC, 'down' does not, 'late' has 7 days
    # 'late' reaches 27 of 30 days only on day 47; within 40 days it never counts
    assert b.iloc[-1] == 0.5
    assert list(b.dropna().index) == list(days[26:])
