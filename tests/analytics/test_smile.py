"""Delta-space smile: risk reversals and butterflies by hand, constant maturities, and the real chain."""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from capitulation import tables
from capitulation.analytics import smile
from capitulation.errors import DataError
from capitulation.sources import deribit
from synthetic import option_quotes

TS = pd.Timestamp("2026-01-01T00:00Z")
EXPIRY = TS + pd.Timedelta(days=91.25)  # t = 0.25 years ACT/365
F = 100.0


def _strike(call_delta: float, iv: float, t: float = 0.25) -> float:
    """The strike whose Black-76 call delta is `call_delta` at forward F and vol iv."""
    s = iv * math.sqrt(t)
    return F * math.exp(-s * norm.ppf(call_delta) + 0.5 * s * s)


def _quotes(rows: list[tuple[str, float, float, float, float]]) -> pd.DataFrame:
    """option_quotes rows from (type, strike, mark_iv, bid_iv, open_interest)."""
    typ, k, iv, bid_iv, oi = (list(c) for c in zip(*rows, strict=True))
    return option_quotes(TS, EXPIRY, F, typ, k, iv, oi, bid_iv=bid_iv)


def _hand_chain() -> pd.DataFrame:
    # Out-of-the-money points placed at known call-equivalent deltas (delta, iv):
    #   calls: 0.04 -> 0.60, 0.20 -> 0.52, 0.40 -> 0.50      (slope -0.5 per delta below 0.20)
    #   puts:  0.60 -> 0.53, 0.80 -> 0.60, 0.96 -> 0.76      (put deltas -0.40, -0.20, -0.04)
    pts = [
        ("C", 0.04, 0.60),
        ("C", 0.20, 0.52),
        ("C", 0.40, 0.50),
        ("P", 0.60, 0.53),
        ("P", 0.80, 0.60),
        ("P", 0.96, 0.76),
    ]
    rows = [(t, _strike(d, iv), iv, iv - 0.01, 10.0) for t, d, iv in pts]
    rows[1] = (rows[1][0], rows[1][1], rows[1][2], np.nan, 5.0)  # no bid but open interest: kept
    rows += [
        ("C", 90.0, 2.0, 1.9, 10.0),  # in the money (K < F): ignored
        ("P", 110.0, 2.0, 1.9, 10.0),  # in the money (K > F): ignored
        ("C", _strike(0.30, 0.9), 0.9, np.nan, 0.0),  # no bid and no open interest: skipped
    ]
    return _quotes(rows)


def test_risk_reversal_and_butterfly_by_hand() -> None:
    rr = smile.risk_reversals(_hand_chain(), deltas=(0.10, 0.15, 0.25, 0.02))
    assert len(rr) == 1
    r = rr.iloc[0]
    assert r["t_years"] == pytest.approx(0.25)
    assert r["forward"] == F
    assert r["n_quotes"] == 6
    # ATM = 50-delta call, halfway between 0.40 (0.50) and 0.60 (0.53)
    assert r["atm_iv"] == pytest.approx(0.515, abs=1e-12)
    # 25: call at 0.25 = 0.52 + (0.05 / 0.20)(0.50 - 0.52) = 0.515; put at 0.75 = 0.53 + (0.15 / 0.20) 0.07 = 0.5825
    assert r["call25_iv"] == pytest.approx(0.515, abs=1e-12)
    assert r["put25_iv"] == pytest.approx(0.5825, abs=1e-12)
    assert r["rr25"] == pytest.approx(-0.0675, abs=1e-12)
    assert r["bf25"] == pytest.approx(0.5 * (0.515 + 0.5825) - 0.515, abs=1e-12)  # 0.03375
    # 15: call 0.60 - 0.5 (0.15 - 0.04) = 0.545; put 0.60 + 1.0 (0.85 - 0.80) = 0.65
    assert r["rr15"] == pytest.approx(0.545 - 0.65, abs=1e-12)
    # 10: call 0.57, put 0.70
    assert r["rr10"] == pytest.approx(-0.13, abs=1e-12)
    assert r["bf10"] == pytest.approx(0.12, abs=1e-12)
    # 2-delta lies outside the quoted deltas [0.04, 0.96]: NaN, not an extrapolation
    assert np.isnan(r["call2_iv"]) and np.isnan(r["put2_iv"]) and np.isnan(r["rr2"])


def test_only_the_latest_timestamp_is_used() -> None:
    q = _hand_chain()
    older = q.assign(timestamp=TS - pd.Timedelta(hours=1), mark_iv=q["mark_iv"] + 0.2)
    rr = smile.risk_reversals(pd.concat([older, q], ignore_index=True))
    assert list(rr["timestamp"]) == [TS]
    assert rr["rr25"].iloc[0] == pytest.approx(-0.0675, abs=1e-12)


def test_empty_chain_is_a_data_error() -> None:
    with pytest.raises(DataError, match="empty option chain"):
        smile.risk_reversals(tables.empty("option_quotes"))


def test_expired_quotes_and_quotes_without_forward_give_no_row() -> None:
    q = _hand_chain()
    expired = q.assign(expiry=TS)
    assert smile.risk_reversals(expired).empty
    no_fwd = q.assign(underlying_price=np.nan)
    assert smile.risk_reversals(no_fwd).empty


def test_constant_maturity_interpolates_total_variance() -> None:
    frame = pd.DataFrame(
        {
            "timestamp": [TS, TS],
            "expiry": [TS, TS],
            "t_years": [5 / 365, 10 / 365],
            "atm_iv": [0.40, 0.50],
            "call25_iv": [0.40, 0.52],
            "put25_iv": [0.45, 0.60],
        }
    )
    frame["rr25"] = frame["call25_iv"] - frame["put25_iv"]
    frame["bf25"] = 0.5 * (frame["call25_iv"] + frame["put25_iv"]) - frame["atm_iv"]
    cm = smile.constant_maturity(frame, days=(1, 5, 7, 30)).set_index("days")
    # 7 days: w = (0.16 * 5 + (0.25 * 10 - 0.16 * 5) * 2 / 5) / 365 = 1.48 / 365; iv = sqrt(1.48 / 7)
    assert cm.loc[7, "atm_iv"] == pytest.approx(math.sqrt(1.48 / 7), abs=1e-14)  # 0.459813
    c7 = math.sqrt((0.16 * 5 + (0.2704 * 10 - 0.16 * 5) * 0.4) / 7)
    p7 = math.sqrt((0.2025 * 5 + (0.36 * 10 - 0.2025 * 5) * 0.4) / 7)
    assert cm.loc[7, "rr25"] == pytest.approx(c7 - p7, abs=1e-14)
    assert cm.loc[5, "atm_iv"] == pytest.approx(0.40, abs=1e-15)  # on a quoted expiry
    assert np.isnan(cm.loc[1, "atm_iv"]) and np.isnan(cm.loc[30, "rr25"])  # outside: NaN


@pytest.fixture(scope="module")
def real_chain(shared_data: Path) -> pd.DataFrame:
    quotes, _ = deribit.read_chain_csv(shared_data / "deribit_options" / "full_data_sample.csv")
    return quotes


def test_real_chain_next_day_and_weekly_risk_reversals_are_finite(real_chain: pd.DataFrame) -> None:
    rr = smile.risk_reversals(real_chain).set_index("expiry")
    assert rr.index.min() > real_chain["timestamp"].max()
    next_day, weekly = pd.Timestamp("2026-01-25T08:00Z"), pd.Timestamp("2026-01-30T08:00Z")
    for exp in (next_day, weekly):
        for col in ("rr25", "rr15", "atm_iv"):
            assert np.isfinite(rr.loc[exp, col])
        assert -0.5 < rr.loc[exp, "rr25"] < 0.5
        assert 0.05 < rr.loc[exp, "atm_iv"] < 2.0
    cm = smile.constant_maturity(rr.reset_index(), days=(1, 7)).set_index("days")
    assert np.isfinite(cm.loc[1, "rr25"]) and np.isfinite(cm.loc[7, "rr25"])


def test_real_chain_constant_maturity_skew_at_1_and_7_days(real_chain: pd.DataFrame) -> None:
    # Chain of 2026-01-24 13:00 UTC: the 1-day point lies between the 25 Jan (0.79 d) and 26 Jan (1.79 d)
    # expiries, the 7-day point between 30 Jan (5.79 d) and 6 Feb (12.79 d).
    rr = smile.risk_reversals(real_chain)
    cm = smile.constant_maturity(rr).set_index("days")
    assert list(cm.index) == [1, 7, 30, 90]
    # values in vol points: 1d RR15 -3.95, RR25 -1.08; 7d RR15 -7.86, RR25 -4.27; ATM 18.6 % and 36.2 %
    expected = {(1, "rr15"): -0.039489, (1, "rr25"): -0.010790, (7, "rr15"): -0.078635, (7, "rr25"): -0.042661}
    for (n, col), value in expected.items():
        assert cm.loc[n, col] == pytest.approx(value, abs=1e-6)
    # the 1-day 25-delta call IV again by hand from the two bracketing expiries (total variance, linear in t)
    a, b = rr.iloc[0], rr.iloc[1]
    T = 1 / 365
    w1, w2 = a["call25_iv"] ** 2 * a["t_years"], b["call25_iv"] ** 2 * b["t_years"]
    w = w1 + (w2 - w1) * (T - a["t_years"]) / (b["t_years"] - a["t_years"])
    assert cm.loc[1, "call25_iv"] == pytest.approx(math.sqrt(w / T), rel=1e-14)
    # term structure of ATM vol rises from 1 day to 90 days on this chain
    assert cm["atm_iv"].is_monotonic_increasing and cm.loc[1, "atm_iv"] == pytest.approx(0.186259, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    vol=st.floats(0.05, 3.0),
    t=st.lists(st.floats(0.5, 400.0), min_size=2, max_size=5, unique=True),
    days=st.floats(0.5, 400.0),
)
def test_a_flat_term_structure_interpolates_to_itself(vol: float, t: list[float], days: float) -> None:
    # total variance vol^2 t is linear in t when vol is flat, so every constant maturity inside reads vol
    frame = pd.DataFrame({"timestamp": TS, "expiry": TS, "t_years": np.array(t) / 365, "atm_iv": vol})
    frame = frame.assign(call25_iv=vol, put25_iv=vol, rr25=0.0, bf25=0.0)
    cm = smile.constant_maturity(frame, days=(days,)).iloc[0]
    years = np.array(t) / 365
    if years.min() <= days / 365 <= years.max():  # compared in years, as the contract states t = days / 365
        assert cm["atm_iv"] == pytest.approx(vol, rel=1e-12) and cm["rr25"] == pytest.approx(0.0, abs=1e-12)
    else:
        assert np.isnan(cm["atm_iv"])
