"""Our Black-76 greeks vs Deribit's published ones on the real recorded chain (full_data_sample.csv).

For every row we price at the row's mark IV and our derived forward (`underlying_price`, see
sources/deribit.py), t ACT/365 from the file's hourly `date` to expiry 08:00 UTC, and compare with the
venue's `delta`, `gamma`, `vega`, `theta` (venue_* columns). Measured on the 22,372 rows with more than
two days to expiry (37 hourly snapshots, 23-24 Jan 2026):

    greek   unit (venue's)            median |dev|   p99 |dev|   max |dev|   median rel   p99 rel
    delta   per 1 BTC contract        2.1e-5         1.0e-3      0.013       7e-5         1.4 %
    gamma   per USD, per contract     1.9e-6         4.9e-6      8.8e-6      1.9 %        5.0 %
    vega    USD per 1 vol point       0.021          0.17        0.79        0.05 %       2.2 %
    theta   USD per calendar day      0.0039         0.80        15.8        0.03 %       3.8 %

(relative figures over |venue| >= 0.01 delta, 1e-4 gamma, 1 USD vega/theta). Why they differ:

* rounding: the file carries 5 decimals, so gamma (~1e-5..1e-3) is only known to +-5e-6 - most of
  its deviation - and small deltas to +-5e-6;
* capture time: the venue computed its greeks ~27 min after the hourly label (the time its own
  vega / theta ratio implies, `deribit.implied_capture_time`); moving our t by 0.45 h cuts the median
  deviation of delta by 45 %, vega by 69 %, theta by 30 % (tested below);
* the forward: one forward per expiry and hour, the median of those that reproduce each delta, not
  the venue's own (unrecorded) forward; a small error there moves every greek of the expiry;
* theta: Deribit's is the analytic Black-76 dP/dt per calendar day, except for an expiry less than a
  day away, where it is the decay over the remaining life, annual theta x t (tested below); the
  largest deviations left (up to 16 USD/day) are deep out-of-the-money puts 2-3 days out, where the
  venue's theta is a third smaller than Black-76's and its vega / theta ratio fits no single t: not
  explained by the recorded fields;
* units and the inverse convention: Deribit publishes the greeks of the USD option (delta N(d1) and
  gamma per 1 BTC contract, vega per 1 vol point, theta per day), not of the BTC-settled payoff,
  whose delta would be N(d1) - premium_btc (tested below: that is far off).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics import black76
from capitulation.sources import deribit

SECONDS_PER_YEAR = 365 * 86400
CAPTURE_OFFSET_H = 0.45  # the venue's greeks are ~27 min younger than the file's hourly label


@pytest.fixture(scope="module")
def chain(shared_data: Path) -> pd.DataFrame:
    quotes, _ = deribit.read_chain_csv(shared_data / "deribit_options" / "full_data_sample.csv")
    return quotes[quotes["underlying_price"].notna()].reset_index(drop=True)


def _years(q: pd.DataFrame, offset_h: float = 0.0) -> np.ndarray:
    return ((q["expiry"] - q["timestamp"]).dt.total_seconds().to_numpy() - offset_h * 3600) / SECONDS_PER_YEAR


def _ours(q: pd.DataFrame, offset_h: float = 0.0) -> dict[str, np.ndarray]:
    """Our greeks in Deribit's units: delta, gamma per contract; vega USD per vol point; theta USD per day."""
    F, K, iv = (q[c].to_numpy(dtype=float) for c in ("underlying_price", "strike", "mark_iv"))
    t, call = _years(q, offset_h), (q["option_type"] == "C").to_numpy()
    return {
        "delta": black76.delta(F, K, t, iv, call),
        "gamma": black76.gamma(F, K, t, iv),
        "vega": black76.vega(F, K, t, iv) / 100.0,
        "theta": black76.theta(F, K, t, iv),
    }


def _deviation(ours: np.ndarray, venue: np.ndarray, floor: float) -> dict[str, float]:
    """Median, p99 and max of |ours - venue|, and median, p99 relative where |venue| >= floor."""
    err = np.abs(ours - venue)
    big = np.abs(venue) >= floor
    rel = err[big] / np.abs(venue[big])
    return {
        "median": float(np.median(err)),
        "p99": float(np.quantile(err, 0.99)),
        "max": float(err.max()),
        "rel_median": float(np.median(rel)),
        "rel_p99": float(np.quantile(rel, 0.99)),
    }


FLOORS = {"delta": 0.01, "gamma": 1e-4, "vega": 1.0, "theta": 1.0}
# Upper bounds (median, p99, max of |dev|; median, p99 relative) over the measured values in the docstring.
TOLERANCES = {
    "delta": (5e-5, 2e-3, 0.02, 2e-4, 0.02),
    "gamma": (3e-6, 5e-6, 1e-5, 0.03, 0.06),  # 5-decimal rounding alone is +-5e-6
    "vega": (0.05, 0.25, 1.0, 1e-3, 0.03),
    "theta": (0.01, 1.0, 20.0, 1e-3, 0.05),
}


def test_greeks_match_deribit_beyond_two_days_within_stated_tolerances(chain: pd.DataFrame) -> None:
    q = chain[_years(chain) > 2 / 365]
    assert len(q) == 22_372
    ours = _ours(q)
    report = {g: _deviation(ours[g], q[f"venue_{g}"].to_numpy(), FLOORS[g]) for g in FLOORS}
    print("\n".join(f"{g}: {d}" for g, d in report.items()))  # shown with pytest -s
    for g, (med, p99, mx, rel_med, rel_p99) in TOLERANCES.items():
        d = report[g]
        assert d["median"] < med and d["p99"] < p99 and d["max"] < mx, (g, d)
        assert d["rel_median"] < rel_med and d["rel_p99"] < rel_p99, (g, d)


def test_the_capture_time_offset_explains_most_of_the_vega_and_delta_deviation(chain: pd.DataFrame) -> None:
    # t measured from the label + 27 min (the venue's computation time). Measured medians, label -> shifted:
    # delta 2.1e-5 -> 1.2e-5, vega 0.021 -> 0.0065 USD, theta 0.0039 -> 0.0027 USD per day.
    q = chain[_years(chain) > 2 / 365]
    label, shifted = _ours(q), _ours(q, CAPTURE_OFFSET_H)
    for g in ("delta", "vega", "theta"):
        venue = q[f"venue_{g}"].to_numpy()
        before = np.median(np.abs(label[g] - venue))
        after = np.median(np.abs(shifted[g] - venue))
        assert after < 0.75 * before, (g, before, after)
    v = q["venue_vega"].to_numpy()
    assert np.median(np.abs(shifted["vega"] - v)) < 0.01  # measured 0.0065 USD per vol point


def test_deribit_publishes_the_usd_option_greeks_not_the_inverse_payoffs(chain: pd.DataFrame) -> None:
    # The BTC-settled option's delta in BTC is N(d1) - premium_btc; Deribit's `delta` is N(d1) alone.
    q = chain[(_years(chain) > 2 / 365) & (chain["mark"] > 0.01)]  # premiums over 0.01 BTC
    venue = q["venue_delta"].to_numpy()
    usd = _ours(q)["delta"]
    inverse = usd - q["mark"].to_numpy()
    assert np.median(np.abs(usd - venue)) < 1e-4
    assert np.median(np.abs(inverse - venue)) > 0.05  # off by the premium: median 0.12 here
    # vega per 1.00 of vol would be 100x the venue's: its unit is USD per vol point
    assert np.median(q["venue_vega"] / (black76.vega(q["underlying_price"], q["strike"], _years(q), q["mark_iv"]))) == (
        pytest.approx(0.01, rel=1e-3)
    )


def test_front_expiry_theta_is_the_decay_over_its_remaining_life(chain: pd.DataFrame) -> None:
    # Under a day to expiry, Deribit's theta ~= annual theta x t (the rest of the option's life), not
    # annual theta / 365: venue / ours-per-day is 0.70 at the median; venue / (annual x t) is 0.98.
    t = _years(chain)
    q = chain[(t < 1 / 365) & chain["venue_delta"].abs().between(0.2, 0.8)]
    tq = _years(q)
    per_day = _ours(q)["theta"]
    venue = q["venue_theta"].to_numpy()
    assert len(q) == 76
    assert np.median(venue / (per_day * 365 * tq)) == pytest.approx(1.0, abs=0.05)
    assert np.median(venue / per_day) < 0.8
