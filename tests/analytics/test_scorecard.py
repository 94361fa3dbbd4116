"""Scorecard of a verdict timeline, by hand on a synthetic timeline and price path (all numbers made up)."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.events import Swing
from capitulation.analytics.scorecard import scorecard

DAYS = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC")


def statuses(held: dict[str, list[int]], undecided: dict[str, list[int]] | None = None) -> pd.DataFrame:
    """A synthetic timeline: per signal, the day numbers (0-based) on which it holds, else 'does not hold'."""
    out = {}
    for sig, days in held.items():
        col = np.array(["does not hold"] * len(DAYS), dtype=object)
        col[days] = "holds"
        for d in (undecided or {}).get(sig, []):
            col[d] = "not enough data"
        out[sig] = col
    df = pd.DataFrame(out, index=DAYS)
    return df.assign(holds=(df == "holds").sum(axis=1))


SWINGS = [Swing(DAYS[5], 120.0, DAYS[20], 80.0, True)]  # peak on day 5, trough on day 20
CLOSE = pd.Series(np.linspace(100.0, 139.0, 40), index=DAYS)


def test_hits_within_the_window_on_either_side_and_their_lag():
    st = statuses({"early": [15], "late": [27], "far": [10, 30], "top": [3]})
    sc = scorecard(st, CLOSE, SWINGS, window_days=7)
    s = sc.signals
    assert sc.troughs == (DAYS[20],) and sc.peaks == (DAYS[5],)
    assert s.loc["early", "trough_hits"] == 1 and s.loc["early", "trough_lag_days"] == -5  # 5 days early
    assert s.loc["late", "trough_hits"] == 1 and s.loc["late", "trough_lag_days"] == 7  # the window's edge
    assert s.loc["far", "trough_hits"] == 0 and np.isnan(s.loc["far", "trough_lag_days"])  # 10 days either side
    assert s.loc["far", "peak_hits"] == 1  # day 10 is 5 days after the peak
    assert s.loc["top", "peak_hit_rate"] == 1.0 and s.loc["top", "trough_hit_rate"] == 0.0
    assert s.loc["far", "held_share"] == pytest.approx(2 / 40) and s.loc["far", "days_held"] == 2


def test_the_nearest_holding_date_sets_the_lag_the_earlier_on_a_tie():
    st = statuses({"both": [18, 22], "after": [21, 26]})
    s = scorecard(st, CLOSE, SWINGS, window_days=7).signals
    assert s.loc["both", "trough_lag_days"] == -2 and s.loc["after", "trough_lag_days"] == 1


def test_score_at_troughs_peaks_and_elsewhere():
    st = statuses({"a": [20, 30], "b": [20], "c": [5, 39]}, undecided={"b": [0, 1]})
    sc = scorecard(st, CLOSE, SWINGS, window_days=3)
    score = sc.score
    assert score.loc["trough", "dates"] == 1 and score.loc["trough", "mean_score"] == 2  # a and b on day 20
    assert score.loc["peak", "mean_score"] == 1  # c on day 5
    # neither: the 40 days less the 7 within 3 days of the trough and the 7 of the peak
    assert score.loc["neither", "dates"] == 40 - 14
    assert score.loc["neither", "score_1"] == 2 and score.loc["neither", "score_0"] == 24  # days 30 and 39
    assert sc.signals.loc["b", "undecided_share"] == pytest.approx(2 / 40)


def test_forward_returns_by_score_by_hand():
    st = statuses({"a": [0, 10], "b": [10]})
    sc = scorecard(st, CLOSE, SWINGS, window_days=7, horizons=(30,))
    fwd = sc.forward
    # score 2 only on day 10: close 139 -> day 40 is past the path: no return; score 1 on day 0: day 30
    assert fwd.loc[(2, 30), "dates"] == 0 and np.isnan(fwd.loc[(2, 30), "median_return"])
    assert fwd.loc[(1, 30), "dates"] == 1
    assert fwd.loc[(1, 30), "median_return"] == pytest.approx(CLOSE.iloc[30] / CLOSE.iloc[0] - 1)
    zero = [CLOSE.iloc[d + 30] / CLOSE.iloc[d] - 1 for d in range(1, 10)]  # days 1..9 (day 10 is score 2)
    assert fwd.loc[(0, 30), "dates"] == 9 and fwd.loc[(0, 30), "median_return"] == pytest.approx(np.median(zero))


def test_a_range_without_events_scores_hits_as_not_a_number():
    st = statuses({"a": [1]})
    sc = scorecard(st, CLOSE, [], window_days=7)
    assert sc.troughs == () and np.isnan(sc.signals.loc["a", "trough_hit_rate"])
    assert sc.as_dict()["signals"][0]["trough_hit_rate"] is None  # JSON-ready
