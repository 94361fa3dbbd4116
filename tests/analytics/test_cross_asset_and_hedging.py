"""Cross-asset and hedging analytics: alignment to the NY calendar, correlation and beta against numpy on the
recorded series, the 20-observation floor, hedge ratio and rho^2 against a least-squares fit, window returns
and rolling rho^2 by hand and as properties, put cost against Black-76 at the interpolated IV, funding carry,
liquidation distance and breach share by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from capitulation.analytics import black76
from capitulation.analytics.cross_asset import (
    aligned_returns,
    closes,
    correlation_matrix,
    correlations,
    drawdown_path,
    drawdowns,
    flow_sums,
)
from capitulation.analytics.hedging import (
    breach_share,
    funding_carry,
    min_variance_hedge,
    perp_closes,
    protective_puts,
    proxy_hedges,
    put_strike,
    rolling_effectiveness,
    rolling_window_returns,
    short_liquidation_distance,
    stress_mask,
    window_return,
)
from capitulation.analytics.smile import constant_maturity, risk_reversals
from synthetic import perps

UTC = "UTC"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=UTC)


def synthetic_wide(n=200, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)  # synthetic returns, every calendar day
    x = rng.normal(0, 0.002, n)
    btc = 2 * x + rng.normal(0, 0.002, n)
    idx = pd.date_range("2025-06-01", periods=n, freq="D", tz=UTC)
    return pd.DataFrame({"BTC-USD": 100 * np.exp(np.cumsum(btc)), "QQQ": 100 * np.exp(np.cumsum(x))}, index=idx)


def test_drawdowns_by_hand():
    w = pd.DataFrame({"A": [100.0, 120.0, 90.0]}, index=pd.date_range("2026-01-01", periods=3, tz=UTC))
    d = drawdowns(w).loc["A"]
    assert d.ath == 120.0
    assert d.drawdown_ath == pytest.approx(-0.25)
    assert d.drawdown_90d == pytest.approx(-0.25)
    assert list(drawdown_path(w["A"])) == pytest.approx([0.0, 0.0, -0.25])


def test_monday_return_spans_the_weekend_and_holes_are_dropped():
    # synthetic: BTC trades every day, the stock on weekdays; Fri 2026-01-09 -> Mon 2026-01-12
    days = pd.date_range("2026-01-09", "2026-01-26", tz=UTC)
    btc = pd.Series(np.linspace(100, 117, len(days)), index=days)
    stock = pd.Series(10.0 + np.arange(len(days)), index=days)[days.day_of_week < 5]
    stock = stock.drop(ts("2026-01-14"))  # a midweek day missing: Tue -> Thu is 2 days, kept
    stock = stock[(stock.index <= ts("2026-01-15")) | (stock.index >= ts("2026-01-22"))]  # Fri 16..Wed 21 missing
    wide = pd.DataFrame({"BTC-USD": btc, "X": stock})
    r = aligned_returns(wide, "BTC-USD", "X").dropna()
    assert r.loc[ts("2026-01-12"), "BTC-USD"] == pytest.approx(math.log(btc[ts("2026-01-12")] / btc[ts("2026-01-09")]))
    assert r.loc[ts("2026-01-12"), "X"] == pytest.approx(math.log(13.0 / 10.0))
    assert ts("2026-01-15") in r.index  # Tue 13 -> Thu 15 across the missing Wednesday: 2 days
    assert ts("2026-01-22") not in r.index  # Thu 15 -> Thu 22: 7 days, a hole in the data


def test_beta_and_correlation_match_numpy_on_the_recorded_series(default_snapshot):
    px = default_snapshot.tables["daily_prices"]
    c = correlations(closes(px, ["BTC-USD", "QQQ", "GLD"]), "BTC-USD", (30, 90))
    for sym in ("QQQ", "GLD"):
        # reference: inner join of the two recorded close series, log returns, last N, numpy
        btc = px[px["symbol"] == "BTC-USD"].set_index("date")["close"]
        other = px[px["symbol"] == sym].set_index("date")["close"]
        pair = pd.concat([btc, other], axis=1, join="inner", keys=["b", "x"])
        r = np.log(pair).diff().dropna()
        assert pair.index.to_series().diff().dt.days.max() <= 5  # no hole in these series
        for n in (30, 90):
            last = r.tail(n)
            X = np.column_stack([np.ones(n), last["x"]])
            slope = np.linalg.lstsq(X, last["b"].to_numpy(), rcond=None)[0][1]
            assert c.loc[sym, f"corr_{n}d"] == pytest.approx(np.corrcoef(last["b"], last["x"])[0, 1], rel=1e-12)
            assert c.loc[sym, f"beta_{n}d"] == pytest.approx(slope, rel=1e-10)
            assert c.loc[sym, f"n_{n}d"] == n
    assert c.loc["QQQ", "last_common"] == ts("2026-02-05")


def test_no_correlation_from_a_handful_of_points():
    c = correlations(synthetic_wide(n=10), windows=(30,)).loc["QQQ"]
    assert np.isnan(c["corr_30d"]) and c["n_30d"] == 9


def test_non_overlapping_calendars_give_no_correlation():
    w = synthetic_wide(n=60)
    w.loc[w.index[30] :, "BTC-USD"] = np.nan  # synthetic: BTC stops where the other starts
    w.loc[: w.index[29], "QQQ"] = np.nan
    c = correlations(w, windows=(30,)).loc["QQQ"]
    assert c["n_30d"] == 0 and np.isnan(c["corr_30d"]) and pd.isna(c["last_common"])


def test_correlation_matrix_is_symmetric_and_agrees_with_correlations():
    w = synthetic_wide()
    w["GLD"] = 50 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, len(w))))  # synthetic
    m = correlation_matrix(w, 90)
    assert np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0)
    assert m.loc["BTC-USD", "QQQ"] == pytest.approx(correlations(w, windows=(90,)).loc["QQQ", "corr_90d"], rel=1e-12)


def test_flow_sums_add_the_last_n_days():
    f = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"], utc=True),
            "fund": ["A", "B", "A"],
            "flow_usd": [1.0, 2.0, -5.0],
        }
    )
    assert flow_sums(f, days=(1, 2, 3)) == {1: -5.0, 2: -2.0}  # 3 days asked of a 2-day table: left out


def test_stress_mask_takes_peak_exclusive_trough_inclusive():
    d = pd.date_range("2026-01-01", periods=6, tz=UTC)
    m = stress_mask(d, [(ts("2026-01-02"), ts("2026-01-04"))])
    assert list(m) == [False, False, True, True, False, False]


def test_hedge_ratio_is_rho_times_vol_ratio_by_hand():
    # synthetic: r_btc = 2 r_x + e with e orthogonal to r_x, so h = 2 and rho^2 = var(2 r_x) / var(r_btc)
    x = np.tile([0.01, -0.01], 12)
    e = np.tile([0.01, 0.01, -0.01, -0.01], 6)
    h = min_variance_hedge(2 * x + e, x)
    assert h["hedge_ratio"] == pytest.approx(2.0, rel=1e-12)
    assert h["effectiveness"] == pytest.approx(4 * x.var() / (4 * x.var() + e.var()), rel=1e-12)  # 0.8
    assert h["effectiveness"] == pytest.approx(0.8, rel=1e-12)
    short = min_variance_hedge((2 * x + e)[:19], x[:19])
    assert short["n_obs"] == 19 and np.isnan(short["effectiveness"]) and np.isnan(short["hedge_ratio"])


def test_min_variance_hedge_matches_least_squares_on_recorded_stress(default_snapshot):
    px = default_snapshot.tables["daily_prices"]
    wide = closes(px, ["BTC-USD", "MSTR"])
    window = (ts("2025-10-06"), ts("2026-02-05"))  # the open decline of the event study
    h = proxy_hedges(wide, "BTC-USD", [window]).set_index("regime").loc["stress"]
    r = aligned_returns(wide, "BTC-USD", "MSTR").dropna()
    r = r[(r.index > window[0]) & (r.index <= window[1])]
    X = np.column_stack([np.ones(len(r)), r["MSTR"]])
    coef, ssr, *_ = np.linalg.lstsq(X, r["BTC-USD"].to_numpy(), rcond=None)
    sst = ((r["BTC-USD"] - r["BTC-USD"].mean()) ** 2).sum()
    assert h.n_obs == len(r) == 84
    assert h.hedge_ratio == pytest.approx(coef[1], rel=1e-10)  # min-variance ratio = OLS slope
    assert h.effectiveness == pytest.approx(1 - ssr[0] / sst, rel=1e-10)  # rho^2 = R^2


def test_proxy_hedges_split_calm_and_stress_returns():
    w = synthetic_wide(n=100)
    window = (w.index[40], w.index[70])
    h = proxy_hedges(w, "BTC-USD", [window], start=w.index[9]).set_index("regime")
    assert h.loc["stress", "n_obs"] == 30  # returns dated index[41..70]
    assert h.loc["calm", "n_obs"] == 90 - 30  # returns dated index[10..99], the rest


def test_window_return_compounds_the_returns_inside_the_window_by_hand():
    # synthetic: two NY weeks of log returns; as of Sunday 2026-01-18 the last 7 days hold Mon 12 .. Fri 16
    idx = pd.bdate_range("2026-01-05", "2026-01-16", tz=UTC)
    gross = [1.01, 0.98, 1.02, 1.0, 0.97, 1.03, 1.01, 0.99, 1.0, 1.02]
    lr = pd.Series(np.log(gross), index=idx)
    r, n = window_return(lr, ts("2026-01-18T23:59:59"), 7)
    assert n == 5 and r == pytest.approx(1.03 * 1.01 * 0.99 * 1.0 * 1.02 - 1, rel=1e-12)
    r, n = window_return(lr, ts("2026-01-07T23:59:59"), 7)  # only Mon 5 .. Wed 7 exist
    assert n == 3 and r == pytest.approx(1.01 * 0.98 * 1.02 - 1, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=40),
    st.lists(st.integers(1, 4), min_size=40, max_size=40),
    st.integers(1, 10),
    st.integers(1, 5),
)
def test_rolling_window_returns_are_the_window_return_ending_at_each_date(lr, gaps, days, min_obs):
    # synthetic: random log returns on dates 1 to 4 days apart
    idx = ts("2026-01-01") + pd.to_timedelta(np.cumsum(gaps[: len(lr)]), unit="D")
    s = pd.Series(lr, index=idx)
    roll = rolling_window_returns(s, days, min_obs)
    for t in idx:
        r, n = window_return(s, t, days)
        if n >= min_obs:
            assert roll[t] == pytest.approx(r, rel=1e-9, abs=1e-12)
        else:
            assert np.isnan(roll[t])


def test_rolling_effectiveness_is_the_min_variance_rho_squared_of_each_window():
    w = synthetic_wide(n=60)
    r = aligned_returns(w, "BTC-USD", "QQQ").dropna()
    eff = rolling_effectiveness(r, "BTC-USD", "QQQ", 20)
    assert eff.iloc[:19].isna().all()
    for end in (19, 33, len(r) - 1):
        win = r.iloc[end - 19 : end + 1]
        h = min_variance_hedge(win["BTC-USD"].to_numpy(), win["QQQ"].to_numpy())
        assert eff.iloc[end] == pytest.approx(h["effectiveness"], rel=1e-9)


def test_perp_closes_take_midnight_rows_as_the_previous_days_close():
    # synthetic: OI value / OI = price; only the 00:00 UTC rows count, labelled with the day before
    p = perps([10.0, 10.0, 10.0, 10.0], [100.0, 101.0, 102.0, 103.0], end="2026-02-06T00:00Z")
    s = perp_closes(p)
    assert list(s.index) == [ts("2026-02-04"), ts("2026-02-05")]
    assert list(s) == pytest.approx([100.0, 103.0])


def test_put_strike_has_the_asked_delta():
    for d in (0.1, 0.25, 0.5):
        k = put_strike(30 / 365, 0.6, d)
        assert float(black76.delta(1.0, k, 30 / 365, 0.6, False)) == pytest.approx(-d, abs=1e-12)
    assert put_strike(30 / 365, 0.6, 0.5) == pytest.approx(math.exp(0.5 * 0.36 * 30 / 365))  # d1 = 0


def test_put_cost_is_black76_at_the_interpolated_iv(recorded_full):
    quotes = recorded_full.upto("2026-01-24T23:59:59Z").tables["option_quotes"]
    cm = constant_maturity(risk_reversals(quotes, (0.25,)), (30,)).iloc[0]
    q25, atm = protective_puts(quotes, 30, (0.25, 0.5))
    t, iv = 30 / 365, cm["put25_iv"]
    assert q25.vol == iv and atm.vol == atm.atm_vol == cm["atm_iv"]
    # by hand: K/F from N(-d1) = 0.25, then the Black put K N(-d2) - F N(-d1) with F = 1
    d1 = -norm.ppf(0.25)
    k = math.exp(-d1 * iv * math.sqrt(t) + 0.5 * iv * iv * t)
    d2 = d1 - iv * math.sqrt(t)
    assert q25.moneyness == pytest.approx(k, rel=1e-12)
    assert q25.cost == pytest.approx(k * norm.cdf(-d2) - norm.cdf(-d1), rel=1e-9)
    assert q25.annualised == pytest.approx(q25.cost * 365 / 30)
    assert q25.max_loss == pytest.approx(1 - k + q25.cost)
    assert q25.skew_cost == pytest.approx(q25.cost - float(black76.price(1.0, k, t, cm["atm_iv"], False)))
    assert q25.skew_cost > 0  # puts over ATM: the skew makes protection dearer
    assert 0.3 < iv < 0.5 and 0.01 < q25.cost < atm.cost < 0.06


def test_put_beyond_the_chain_is_not_priced(recorded_full):
    quotes = recorded_full.upto("2026-01-24T23:59:59Z").tables["option_quotes"]
    assert protective_puts(quotes, 2000, (0.25,)) == []


def test_funding_carry_by_hand():
    f = pd.Series([1e-4, 3e-4, np.nan])
    annual, horizon = funding_carry(f, 8.0, 30)
    assert annual == pytest.approx(2e-4 * 3 * 365)  # 21.9 % a year, received by the short
    assert horizon == pytest.approx(2e-4 * 3 * 30)


def test_short_liquidation_distance_by_hand():
    # 10 % margin = 10x; an isolated short is liquidated at entry (1 + 1/10) / (1 + 0.004)
    assert short_liquidation_distance(0.1, 0.004) == pytest.approx(1.1 / 1.004 - 1)


def test_breach_share_by_hand():
    close = pd.Series([100.0, 105.0, 111.0, 100.0, 100.0])
    # 2-day windows from 100, 105, 111: max after start 111 (> 110), 111 (< 115.5), 100
    assert breach_share(close, 0.10, 2) == (pytest.approx(1 / 3), 3)
    assert np.isnan(breach_share(close, 0.10, 5)[0])
