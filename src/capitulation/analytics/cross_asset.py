"""Cross-asset flight: drawdowns, correlations and betas of BTC against stocks, metals and ETFs.

Alignment: BTC trades every day; other assets close on New York trading days. Rows are joined on the
trading date (BTC-USD's UTC daily close against the NY close of the same date, a 4-5 hour offset).
    drawdown_ath  = close / max(close to date) - 1        (fraction, <= 0)
    drawdown_90d  = close / max(close over 90 days) - 1
    correlation   = Pearson correlation of daily log returns over the window
    beta          = cov(r_btc, r_x) / var(r_x)             (BTC's sensitivity to x)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capitulation.errors import DataError

MIN_OBS = 20  # never a correlation from a handful of points


def closes(prices: pd.DataFrame, symbols: list[str]) -> pd.DataFrame:
    """Wide frame of closes (index: date, columns: symbols present), from the daily_prices table."""
    wide = prices[prices["symbol"].isin(symbols)].pivot_table(index="date", columns="symbol", values="close")
    return wide[[s for s in symbols if s in wide.columns]]


def drawdowns(wide: pd.DataFrame, window_days: int = 90) -> pd.DataFrame:
    """Per symbol: last close, drawdown from all-time high and from the `window_days` high (fractions)."""
    rows = {}
    for sym in wide.columns:
        s = wide[sym].dropna()
        if s.empty:
            continue
        recent = s[s.index > s.index[-1] - pd.Timedelta(days=window_days)]
        rows[sym] = {
            "last_date": s.index[-1],
            "close": float(s.iloc[-1]),
            "drawdown_ath": float(s.iloc[-1] / s.max() - 1.0),
            "drawdown_90d": float(s.iloc[-1] / recent.max() - 1.0),
            "return_30d": _ret(s, 30),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _ret(s: pd.Series, days: int) -> float:
    before = s[s.index <= s.index[-1] - pd.Timedelta(days=days)]
    return float(s.iloc[-1] / before.iloc[-1] - 1.0) if not before.empty else np.nan


def correlations(wide: pd.DataFrame, base: str = "BTC-USD", window_days: int = 90) -> pd.DataFrame:
    """Correlation, beta and observation count of `base` against each other column, on common dates."""
    if base not in wide.columns:
        raise DataError(f"cross-asset: no {base} closes")
    rets = np.log(wide).diff()
    rets = rets[rets.index > rets.index[-1] - pd.Timedelta(days=window_days)]
    out = {}
    for sym in wide.columns:
        if sym == base:
            continue
        pair = rets[[base, sym]].dropna()
        n = len(pair)
        if n < MIN_OBS:
            out[sym] = {"corr": np.nan, "beta": np.nan, "n_obs": n}
            continue
        c = np.cov(pair[base], pair[sym])
        out[sym] = {"corr": c[0, 1] / np.sqrt(c[0, 0] * c[1, 1]), "beta": c[0, 1] / c[1, 1], "n_obs": n}
    return pd.DataFrame.from_dict(out, orient="index")


def flow_sums(flows: pd.DataFrame, days: tuple[int, ...] = (5, 20, 60)) -> dict[int, float]:
    """Sum of all funds' net flows (USD) over the last N trading days in the etf_flows table."""
    daily = flows.groupby("date")["flow_usd"].sum().sort_index()
    return {d: float(daily.tail(d).sum()) for d in days if len(daily) >= d}
