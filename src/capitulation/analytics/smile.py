"""The per-expiry smile in delta space: ATM vol, risk reversals and butterflies, and constant maturities.

All vols and vol spreads are fractions (0.05 = 5 vol points; a report multiplies by 100).

Per expiry, each out-of-the-money quote (calls with K >= F, puts with K < F) gives a point
(call-equivalent delta, mark IV), with the undiscounted Black-76 call delta N(d1) at the expiry's forward
F (`underlying_price`), t ACT/365 from the quote time to expiry (a put's call-equivalent delta is its
delta + 1). These points fall along one curve decreasing in strike; IV is interpolated linearly in
that delta:

* atm_iv     = IV at the 50-delta call (d1 = 0, strike F exp(vol^2 t / 2): the delta-neutral straddle);
* callD_iv   = IV at call delta +D;  putD_iv = IV at put delta -D (call-equivalent 1 - D);
* rrD        = callD_iv - putD_iv;   bfD = (callD_iv + putD_iv) / 2 - atm_iv.

A target delta outside the quoted range is NaN (never extrapolated). Quotes with neither a bid
(`bid_iv` NaN) nor open interest are skipped: nobody bids or holds them, so their mark IV is the venue's
extrapolated surface, not a price. The term structure is the per-expiry rows (atm_iv, rrD, bfD against
t_years) and their constant maturities (`constant_maturity`, default 1/7/30/90 days).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from capitulation.analytics.chain import PreparedChain, by_expiry, prepare
from capitulation.analytics.chain import latest as latest  # re-exported: the backfill reads it from here
from capitulation.timeutil import DAYS_PER_YEAR

DELTAS = (0.10, 0.15, 0.25)
DAYS = (1, 7, 30, 90)


def _label(d: float) -> str:
    return f"{round(d * 100):d}"


def risk_reversals(quotes: pd.DataFrame | PreparedChain, deltas: Sequence[float] = DELTAS) -> pd.DataFrame:
    """Per expiry at the latest timestamp: t_years, forward (USD), n_quotes, atm_iv, callD_iv, putD_iv,
    rrD, bfD for each D in `deltas` (D = 10 for 0.10). All vols are fractions.

    `quotes`: an `option_quotes` frame or its `chain.prepare`d latest chain. `DataError` for an empty chain.
    """
    chain = prepare(quotes, "risk_reversals")
    q = chain.rows
    F = q["underlying_price"]
    otm = np.where(q["option_type"] == "C", q["strike"] >= F, q["strike"] < F)
    quoted = q["bid_iv"].notna() | (q["open_interest"] > 0)
    q = q[otm & quoted & q["call_delta"].notna()]
    delta, iv = q["call_delta"].to_numpy(dtype=float), q["mark_iv"].to_numpy(dtype=float)
    t, fwd = q["t_years"].to_numpy(dtype=float), q["underlying_price"].to_numpy(dtype=float)
    rows = []
    for exp, at in by_expiry(q):
        at = at[np.argsort(delta[at], kind="quicksort")]  # ascending call delta, as DataFrame.sort_values
        x, y = delta[at], iv[at]
        row = {
            "timestamp": chain.timestamp,
            "expiry": exp,
            "t_years": t[at[0]],
            "forward": fwd[at[0]],
            "n_quotes": len(at),
            "atm_iv": _interp(0.5, x, y),
        }
        for d in deltas:
            row.update(_wings(_label(d), _interp(d, x, y), _interp(1.0 - d, x, y), row["atm_iv"]))
        rows.append(row)
    cols = ["timestamp", "expiry", "t_years", "forward", "n_quotes", "atm_iv"]
    return pd.DataFrame(rows, columns=cols + [c for d in deltas for c in _wing_columns(_label(d))])


def _wings(label: str, call_iv: float, put_iv: float, atm_iv: float) -> dict[str, float]:
    """callD_iv, putD_iv, rrD = call - put and bfD = (call + put) / 2 - atm for wing label D (fractions)."""
    values = (call_iv, put_iv, call_iv - put_iv, 0.5 * (call_iv + put_iv) - atm_iv)
    return dict(zip(_wing_columns(label), values, strict=True))


def _wing_columns(label: str) -> list[str]:
    return [f"call{label}_iv", f"put{label}_iv", f"rr{label}", f"bf{label}"]


def _interp(target: float, x: np.ndarray, y: np.ndarray) -> float:
    """Linear interpolation of y(x) at target; NaN outside [min x, max x] (x sorted ascending)."""
    if len(x) == 0 or not x[0] <= target <= x[-1]:
        return float("nan")
    return float(np.interp(target, x, y))


def constant_maturity(rr_frame: pd.DataFrame, days: Sequence[float] = DAYS) -> pd.DataFrame:
    """ATM and wing vols at constant maturities, per timestamp of a `risk_reversals` frame.

    Each vol is interpolated linearly in total variance w = iv^2 t between the two quoted expiries that
    bracket t = days / 365 (iv = sqrt(w / t)); rrD and bfD are then rebuilt from the interpolated vols.
    NaN when t is outside the quoted expiries or a bracketing vol is NaN. Columns: timestamp, days,
    t_years, atm_iv, callD_iv, putD_iv, rrD, bfD (fractions).
    """
    labels = [c[4:-3] for c in rr_frame.columns if c.startswith("call") and c.endswith("_iv")]
    vols = ["atm_iv"] + [f"{s}{lab}_iv" for lab in labels for s in ("call", "put")]
    rows = []
    for ts, g in rr_frame.groupby("timestamp", sort=True):
        g = g.sort_values("t_years")
        t = g["t_years"].to_numpy(dtype=float)
        for n in days:
            T = n / DAYS_PER_YEAR
            iv = {v: _total_variance_interp(T, t, g[v].to_numpy(dtype=float)) for v in vols}
            row: dict[str, object] = {"timestamp": ts, "days": n, "t_years": T, "atm_iv": iv["atm_iv"]}
            for lab in labels:
                row.update(_wings(lab, iv[f"call{lab}_iv"], iv[f"put{lab}_iv"], iv["atm_iv"]))
            rows.append(row)
    cols = ["timestamp", "days", "t_years", "atm_iv"]
    return pd.DataFrame(rows, columns=cols + [c for lab in labels for c in _wing_columns(lab)])


def _total_variance_interp(T: float, t: np.ndarray, iv: np.ndarray) -> float:
    """iv at T from linear interpolation of iv^2 t over the bracketing expiries t (ascending)."""
    if len(t) == 0 or not t[0] <= T <= t[-1]:
        return float("nan")
    j = int(np.searchsorted(t, T, side="left"))
    if t[j] == T:
        return float(iv[j])
    t1, t2, w1, w2 = t[j - 1], t[j], iv[j - 1] ** 2 * t[j - 1], iv[j] ** 2 * t[j]
    w = w1 + (w2 - w1) * (T - t1) / (t2 - t1)
    return float(np.sqrt(w / T))
