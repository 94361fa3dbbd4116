"""Cost bases as floors: ratios on the trough days of confirmed drawdowns and the quantile thresholds they set."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.cost_basis import quantile_threshold, trough_values


def _closes(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="D", tz="UTC"))


def test_ratios_are_read_on_the_trough_days_of_confirmed_drawdowns_only():
    # synthetic closes: 100 -> 70 (trough day 2) -> 90 (confirms it: +28 %) -> 60 (day 4, unconfirmed)
    close = _closes([100.0, 80.0, 70.0, 90.0, 60.0])
    ratios = pd.DataFrame({"mvrv": [2.0, 1.5, 1.2, 1.6, 0.9]}, index=close.index)
    t = trough_values(close, ratios)
    assert list(t["trough_date"]) == [close.index[2]]
    assert t["depth"].iloc[0] == pytest.approx(70 / 100 - 1)
    assert t["mvrv"].iloc[0] == 1.2  # the unconfirmed low of day 4 (0.9) is not a trough yet


def test_a_missing_trough_day_takes_the_last_value_within_the_gap_limit():
    close = _closes([100.0, 70.0, 90.0])
    idx = close.index
    gap = pd.DataFrame({"x": [1.1, np.nan, 1.3], "y": [np.nan, np.nan, 1.0]}, index=idx)
    t = trough_values(close, gap, max_gap_days=3)
    assert t["x"].iloc[0] == 1.1 and np.isnan(t["y"].iloc[0])
    old = pd.DataFrame({"x": [1.1]}, index=[idx[0] - pd.Timedelta(days=10)])  # 11 days before the trough
    assert np.isnan(trough_values(close, old, max_gap_days=3)["x"].iloc[0])


def test_quantile_threshold_needs_enough_values():
    v = pd.Series([0.6, 0.7, np.nan, 0.9, 1.0])
    assert quantile_threshold(v, 0.75, 4) == pytest.approx(0.925)  # numpy linear: 0.9 + 0.25 x (1.0 - 0.9)
    assert quantile_threshold(v, 0.25, 5) is None
