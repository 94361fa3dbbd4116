"""Drawdowns, correlation/beta against numpy, hedge effectiveness rho^2 and the 20-observation floor."""

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics.cross_asset import correlations, drawdowns, flow_sums
from capitulation.analytics.hedging import proxy_hedges
from capitulation.analytics.sectors import basket_log_returns, relative_strength


def wide(n=200, seed=1):
    rng = np.random.default_rng(seed)  # synthetic returns
    x = rng.normal(0, 0.002, n)  # small moves: no 20 % drawdown, so every day is 'calm'
    btc = 2 * x + rng.normal(0, 0.002, n)
    idx = pd.date_range("2025-06-01", periods=n, freq="D", tz="UTC")
    return pd.DataFrame({"BTC-USD": 100 * np.exp(np.cumsum(btc)), "QQQ": 100 * np.exp(np.cumsum(x))}, index=idx)


def test_drawdowns_by_hand():
    w = pd.DataFrame({"A": [100.0, 120.0, 90.0]}, index=pd.date_range("2026-01-01", periods=3, tz="UTC"))
    d = drawdowns(w).loc["A"]
    assert d.drawdown_ath == pytest.approx(-0.25)
    assert d.drawdown_90d == pytest.approx(-0.25)


def test_correlation_and_beta_match_numpy():
    w = wide()
    r = np.log(w).diff().dropna()
    r = r[r.index > w.index[-1] - pd.Timedelta(days=90)]
    c = correlations(w, window_days=90).loc["QQQ"]
    assert c["corr"] == pytest.approx(np.corrcoef(r["BTC-USD"], r["QQQ"])[0, 1], rel=1e-12)
    assert c["beta"] == pytest.approx(np.polyfit(r["QQQ"], r["BTC-USD"], 1)[0], rel=1e-9)


def test_no_correlation_from_a_handful_of_points():
    c = correlations(wide(n=10)).loc["QQQ"]
    assert np.isnan(c["corr"]) and c["n_obs"] == 9


def test_hedge_ratio_and_effectiveness_are_rho_times_vol_ratio_and_rho_squared():
    w = wide()
    h = proxy_hedges(w).set_index(["proxy", "regime"]).loc[("QQQ", "calm")]
    r = np.log(w).diff().dropna()
    rho = np.corrcoef(r["BTC-USD"], r["QQQ"])[0, 1]
    assert h.effectiveness == pytest.approx(rho**2, rel=1e-9)
    assert h.hedge_ratio == pytest.approx(rho * r["BTC-USD"].std() / r["QQQ"].std(), rel=1e-9)


def test_flow_sums_add_the_last_n_days():
    f = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"], utc=True),
            "fund": ["A", "B", "A"],
            "flow_usd": [1.0, 2.0, -5.0],
        }
    )
    assert flow_sums(f, days=(1, 2)) == {1: -5.0, 2: -2.0}


def test_sector_baskets_and_relative_strength_by_hand():
    days = pd.date_range("2026-01-01", periods=10, freq="D", tz="UTC")
    rows = [(d, s, "x", 0.01) for d in days for s in ("a", "b", "c")]
    sr = pd.DataFrame(rows, columns=["date", "symbol", "sector", "log_return"])
    baskets = basket_log_returns(sr)
    btc = pd.Series(100.0 * np.exp(0.005 * np.arange(11)), index=pd.date_range("2025-12-31", periods=11, tz="UTC"))
    rs = relative_strength(baskets, btc, days=(7,)).loc["x"]
    # 7 days of +1 % log returns vs BTC's +0.5 %: exp(0.07) / exp(0.035) - 1
    assert rs["return_7d"] == pytest.approx(np.exp(0.07) - 1)
    assert rs["vs_btc_7d"] == pytest.approx(np.exp(0.035) - 1)
    assert basket_log_returns(sr, min_members=4).isna().all().all()
