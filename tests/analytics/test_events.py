"""Event study: zig-zag drawdowns and OI into the trough, by hand on synthetic paths."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.events import OiSeries, drawdowns, flush_share, flush_threshold, oi_histories, study
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
    perps = pd.DataFrame(
        {
            "timestamp": list(ts) * 2,
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
