"""Flush ratio and OI-vs-price changes on hand-made series."""

import math

import pandas as pd
import pytest

from capitulation.analytics.leverage import annualised_funding, flush_ratio, oi_vs_price
from capitulation.errors import DataError


def series(values, freq="1D"):
    return pd.Series(values, index=pd.date_range("2026-01-01", periods=len(values), freq=freq, tz="UTC"))


def test_flush_ratio_measures_the_share_of_the_build_up_removed():
    f = flush_ratio(series([50.0, 40.0, 60.0, 100.0, 70.0]))
    # base 40 (lowest before the peak), peak 100, now 70: (100 - 70) / (100 - 40) = 0.5
    assert (f.base, f.peak, f.now) == (40.0, 100.0, 70.0)
    assert f.flush_ratio == pytest.approx(0.5)
    assert f.now_over_peak == pytest.approx(0.7)


def test_lookback_window_limits_the_peak():
    s = series([500.0] + [10.0] * 300 + [20.0, 15.0])
    assert flush_ratio(s, lookback_days=30).peak == 20.0


def test_too_short_series_is_rejected():
    with pytest.raises(DataError):
        flush_ratio(series([1.0, 2.0]))


def test_changes_over_horizons():
    oi = series([100.0] * 31 + [110.0])
    px = series([200.0] * 25 + [100.0] * 7)  # day 24 (7 days before the end) is the last 200
    out = oi_vs_price(oi, px, days=(1, 7, 30))
    assert out.loc[1, "oi_change"] == pytest.approx(0.10)
    assert out.loc[7, "price_change"] == pytest.approx(-0.5)
    assert math.isnan(oi_vs_price(oi, px, days=(60,)).loc[60, "oi_change"])


def test_funding_annualised_from_8h_rate():
    # 0.01 % per 8h = 0.0001 x 3 x 365 = 10.95 % a year
    assert annualised_funding(series([1e-4] * 40)) == pytest.approx(0.1095)
