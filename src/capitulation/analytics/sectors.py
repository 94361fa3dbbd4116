"""Sector rotation: equal-weight sector baskets from constituent log returns, relative to BTC.

    basket log return (day)  = mean of constituents' log returns that day
    return over N days       = exp(sum of basket log returns) - 1                (fraction)
    relative to BTC          = (1 + sector return) / (1 + BTC return) - 1
Equal weights because the recorded panel carries no market caps (a cap-weighted basket needs them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitulation.errors import DataError


def basket_log_returns(sector_returns: pd.DataFrame, min_members: int = 3) -> pd.DataFrame:
    """Wide frame (date x sector) of equal-weight basket log returns; days with < min_members are NaN."""
    g = sector_returns.groupby(["date", "sector"])["log_return"]
    mean, count = g.mean().unstack(), g.count().unstack()
    return mean.where(count >= min_members)


def relative_strength(baskets: pd.DataFrame, btc_close: pd.Series, days: tuple[int, ...] = (7, 30, 90)) -> pd.DataFrame:
    """Per sector: return and return relative to BTC over each horizon ending at the last basket date."""
    if baskets.empty:
        raise DataError("sectors: no basket returns")
    end = baskets.index[-1]
    btc = np.log(btc_close.sort_index()).diff()
    out = {}
    for d in days:
        window = baskets[baskets.index > end - pd.Timedelta(days=d)]
        btc_w = btc[(btc.index > end - pd.Timedelta(days=d)) & (btc.index <= end)]
        complete = window.notna().sum() >= 0.9 * d
        sec = np.exp(window.sum()).where(complete) - 1.0
        b = float(np.exp(btc_w.sum()) - 1.0) if len(btc_w) >= 0.9 * d else np.nan
        out[f"return_{d}d"] = sec
        out[f"vs_btc_{d}d"] = (1.0 + sec) / (1.0 + b) - 1.0
    return pd.DataFrame(out).sort_values(f"vs_btc_{days[1] if len(days) > 1 else days[0]}d", ascending=False)
