"""Hedge effectiveness of proxies for a long BTC position.

    minimum-variance hedge ratio  h = rho x sd_btc / sd_proxy    (USD of proxy short per USD of BTC)
    effectiveness                  = rho^2                        (share of BTC variance removed)
computed on daily log returns over a window, separately on calm days and on stress days (BTC more than
`stress_drawdown` below its rolling 90-day high).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitulation.analytics.cross_asset import MIN_OBS


def proxy_hedges(
    wide: pd.DataFrame, base: str = "BTC-USD", stress_drawdown: float = 0.2, window_days: int = 365
) -> pd.DataFrame:
    """Per proxy and regime ('calm'/'stress'): hedge_ratio, effectiveness (rho^2), n_obs; NaN below 20 obs."""
    wide = wide[wide.index > wide.index[-1] - pd.Timedelta(days=window_days)]
    rets = np.log(wide).diff()
    high90 = wide[base].rolling("90D").max()
    stressed = wide[base] / high90 - 1.0 <= -stress_drawdown
    rows = []
    for sym in wide.columns.drop(base):
        for regime, mask in (("calm", ~stressed), ("stress", stressed)):
            pair = rets.loc[mask, [base, sym]].dropna()
            n = len(pair)
            if n < MIN_OBS:
                rows.append((sym, regime, np.nan, np.nan, n))
                continue
            rho = float(pair[base].corr(pair[sym]))
            ratio = rho * float(pair[base].std() / pair[sym].std())
            rows.append((sym, regime, ratio, rho**2, n))
    return pd.DataFrame(rows, columns=["proxy", "regime", "hedge_ratio", "effectiveness", "n_obs"])
