"""Event study: zig-zag drawdowns and OI into the trough, by hand on synthetic paths."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.events import (
    OiSeries,
    close_known_at,
    current_oi,
    drawdowns,
    flush_share,
    flush_threshold,
    oi_histories,
    study,
)
from capitulation.errors import DataError


def daily(values, start="2024-01-01"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D", tz="UTC"), dtype=float)


def test_zigzag_finds_each_20_percent_down_swing():
    # synthetic: 100 -> 120 (high) -> 90 (-25 %) -> 110 (+22 % rally confirms the low) -> 130 -> 100 (-23 %, open)
    px = daily([100, 120, 105, 90, 100, 110, 130, 115, 100])
    sw = drawdowns(px)
    assert [(s.peak, s.trough, s.confirmed) for s in sw] == [(120, 90, True), (130, 100, False)]
    assert sw[0].depth == pytest.approx(-0.25)
    assert sw[0].peak_date == px.index[1] and sw[0].trough_date == px.index[3]


def test_a_19_percent_dip_is_not_a_drawdown():
    assert drawdowns(daily([100, 81.0, 100, 82.0])) == []


def test_bad_inputs_are_rejected():
    with pytest.raises(DataError):
        drawdowns(daily([100.0]))
    with pytest.raises(DataError):
        drawdowns(daily([100.0, 50.0]), threshold=1.5)


def test_study_measures_oi_into_the_trough_by_hand():
    px = daily([100, 120, 105, 90, 100, 110])
    # synthetic OI in BTC: base 50 before, builds to 100 at the price top, 70 at the trough, 60 two days later
    oi = daily([50, 100, 90, 70, 60, 65])
    t = study(drawdowns(px), [OiSeries("synthetic", oi)], trough_days=3)
    r = t.iloc[0]
    assert r.oi_change == pytest.approx(60 / 100 - 1)  # lowest OI within 3 days after the trough vs the peak day
    assert r.oi_drop == pytest.approx(0.40)
    assert r.flush_ratio == pytest.approx((100 - 60) / (100 - 50))
    assert bool(r.flush) and r.oi_source == "synthetic"
    assert flush_share(t) == (1, 1)


def test_a_decline_without_oi_coverage_has_no_flush_verdict():
    px = daily([100, 120, 90, 110])
    oi = daily([1.0, 2.0], start="2030-01-01")
    t = study(drawdowns(px), [OiSeries("late", oi)])
    assert t.iloc[0].oi_source == "none" and pd.isna(t.iloc[0].flush)
    assert flush_share(t) == (0, 0)


def test_threshold_is_the_lower_quartile_of_past_flush_ratios():
    t = pd.DataFrame(
        {
            "confirmed": [True] * 5 + [False],
            "flush": [True, True, True, True, False, True],
            "flush_ratio": [0.4, 0.6, 0.8, 1.0, 0.1, 0.0],
        }
    )
    assert flush_threshold(t) == pytest.approx(np.quantile([0.4, 0.6, 0.8, 1.0], 0.25))
    assert flush_threshold(t, min_events=5) is None


def test_oi_histories_prefer_btc_series_and_convert_usd_aggregates():
    ts = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
    closes_at = ts + pd.Timedelta(hours=23, minutes=59, seconds=59)  # daily OI closes, as the importers stamp them
    perps = pd.DataFrame(
        {
            "timestamp": list(closes_at) * 2,
            "venue": ["v"] * 2 + ["aggregate"] * 2,
            "symbol": ["X"] * 2 + ["ALL"] * 2,
            "oi_btc": [10.0, 11.0, np.nan, np.nan],
            "oi_usd": [1e6, 1.1e6, 4e6, 6e6],
        }
    )
    close = pd.Series([100_000.0, 120_000.0], index=ts)
    out = oi_histories(perps, close)
    assert [o.name for o in out] == ["v X (BTC)", "aggregate ALL (USD / BTC close)"]
    assert out[1].oi_btc.tolist() == pytest.approx([40.0, 50.0])


def test_usd_aggregates_follow_in_priority_order_and_parts_are_left_out():
    day = pd.Timestamp("2024-01-01", tz="UTC")
    stamps = [day + pd.Timedelta(hours=23, minutes=59, seconds=59)] * 3
    perps = pd.DataFrame(
        {
            "timestamp": stamps,
            "venue": ["aggregate"] * 3,
            "symbol": ["BTC-ALL", "BTC-CG-COINM", "BTC-CG"],
            "oi_btc": [np.nan] * 3,
            "oi_usd": [2e9, 1e9, 4e9],
        }
    )
    out = oi_histories(perps, pd.Series([50_000.0], index=[day]))
    assert [o.name for o in out] == ["aggregate BTC-CG (USD / BTC close)", "aggregate BTC-ALL (USD / BTC close)"]
    assert out[0].oi_btc.iloc[0] == pytest.approx(4e9 / 50_000) and out[0].oi_usd.iloc[0] == 4e9


def test_a_close_is_used_only_once_its_day_has_ended():
    close = daily([100.0, 200.0])  # 2024-01-01 and 2024-01-02
    at = pd.DatetimeIndex(["2023-12-31T23:59:59Z", "2024-01-01T23:59:59Z", "2024-01-02T16:00Z", "2024-01-02T23:59:59Z"])
    got = close_known_at(close, at)
    assert np.isnan(got.iloc[0])
    assert got.iloc[1:].tolist() == [100.0, 100.0, 200.0]  # at 16:00 on the 2nd only the 1st's close is known


def test_current_oi_takes_the_most_direct_fresh_history_with_enough_span():
    as_of = pd.Timestamp("2024-03-01T23:59:59Z")
    direct = OiSeries("v X (BTC)", daily(np.ones(20), start="2024-02-11"))  # fresh, but 19 days of history
    agg = OiSeries("agg (USD / BTC close)", daily(np.ones(70), start="2023-12-23"))  # fresh, 69 days
    old = OiSeries("old", daily(np.ones(400), start="2022-01-01"))  # ends in 2023: stale
    assert current_oi([direct, agg], as_of, max_age_days=2, min_days=30).name == "agg (USD / BTC close)"
    assert current_oi([direct, agg], as_of, max_age_days=2, min_days=10).name == "v X (BTC)"
    assert current_oi([old], as_of, max_age_days=2, min_days=30) is None
    later = current_oi([agg], pd.Timestamp("2024-02-01T00:00Z"), max_age_days=2, min_days=30)
    assert later.oi_btc.index[-1] <= pd.Timestamp("2024-02-01T00:00Z")  # nothing after as_of
