"""Cross-asset flight: drawdowns, correlations and betas of BTC against stocks, metals, bonds, the dollar and
the spot bitcoin ETFs; spot-ETF flows.

Alignment to the New York close. BTC trades every day; the others close on NY trading days at 16:00 ET
(21:00 UTC in winter, 20:00 UTC in summer). The recorded BTC-USD series has one close per UTC day (at
24:00 UTC), and no intraday BTC history is recorded that would give a price at 16:00 ET, so each pair is
joined on the trading date: BTC's UTC close of date d against the NY close of d, which BTC's close follows
by 3 hours (winter) or 4 (summer). Returns are taken between consecutive dates on which *both* closed, so
BTC's Monday return includes its weekend, like the stock's Friday-to-Monday return.

    log return         r_t = ln(P_t / P_prev)                        consecutive common dates
    drawdown_ath       = close / max(close to date) - 1               fraction, <= 0
    drawdown_90d       = close / max(close over 90 calendar days) - 1
    relative drawdown  = drawdown_90d(x) - drawdown_90d(BTC)          fraction points (> 0: x fell less)
    correlation        = Pearson correlation of r_btc and r_x over the last N common returns
    beta               = cov(r_btc, r_x) / var(r_x)                   BTC's sensitivity to x (slope of r_btc on r_x)

A return that spans more than `MAX_GAP_DAYS` calendar days (a hole in the data, not a weekend or a
holiday) is dropped. A window needs all N returns, and never fewer than `MIN_OBS`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from capitulation.errors import DataError

MIN_OBS = 20  # never a correlation from a handful of points
MAX_GAP_DAYS = 5  # a long weekend with a holiday spans 4 days; more is missing data


def closes(prices: pd.DataFrame, symbols: Sequence[str]) -> pd.DataFrame:
    """Wide frame of closes (index: date, columns: the symbols present, in the order asked), from the
    daily_prices table."""
    wide = prices[prices["symbol"].isin(symbols)].pivot_table(index="date", columns="symbol", values="close")
    return wide[[s for s in symbols if s in wide.columns]]


def aligned_returns(wide: pd.DataFrame, base: str, other: str, max_gap_days: int = MAX_GAP_DAYS) -> pd.DataFrame:
    """Log returns of `base` and `other` (columns) between consecutive dates on which both closed.

    Returns spanning more than `max_gap_days` calendar days are dropped (see the module docstring).
    """
    pair = wide[[base, other]].dropna()
    pair = pair[(pair > 0).all(axis=1)]
    rets = np.log(pair).diff()
    gap = pair.index.to_series().diff().dt.days
    return rets[gap <= max_gap_days]


def drawdowns(wide: pd.DataFrame, window_days: int = 90) -> pd.DataFrame:
    """Per symbol: last_date, close, ath (USD), drawdown_ath, drawdown_90d (from the `window_days` high)
    and return_30d (fractions)."""
    rows = {}
    values, stamps = wide.to_numpy(dtype=float), wide.index.as_unit("ns").asi8  # taken out once
    window, month = pd.Timedelta(days=window_days).value, pd.Timedelta(days=30).value  # ns
    for k, sym in enumerate(wide.columns):
        known = np.flatnonzero(~np.isnan(values[:, k]))
        if not len(known):
            continue
        v, t = values[known, k], stamps[known]  # the closes, ascending (ns since the epoch)
        last = wide.index[known[-1]]
        recent = v[t.searchsorted(t[-1] - window, side="right") :]
        ath = float(v.max())
        before = int(t.searchsorted(t[-1] - month, side="right"))  # closes up to 30 days before
        rows[sym] = {
            "last_date": last,
            "close": float(v[-1]),
            "ath": ath,
            "drawdown_ath": float(v[-1] / ath - 1.0),
            "drawdown_90d": float(v[-1] / recent.max() - 1.0),
            "return_30d": float(v[-1] / v[before - 1] - 1.0) if before else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def drawdown_path(close: pd.Series) -> pd.Series:
    """Drawdown from the running all-time high at each date: close / cummax(close) - 1 (fraction)."""
    s = close.dropna()
    return s / s.cummax() - 1.0


def correlations(
    wide: pd.DataFrame, base: str = "BTC-USD", windows: Sequence[int] = (30, 90), max_gap_days: int = MAX_GAP_DAYS
) -> pd.DataFrame:
    """Per other column: corr_Nd, beta_Nd and n_Nd for each window of N common returns ending at the pair's
    last common date, and that date (`last_common`). NaN where fewer than N (or `MIN_OBS`) returns exist.

    `DataError` when `base` has no closes.
    """
    if base not in wide.columns or wide[base].dropna().empty:
        raise DataError(f"cross-asset: no {base} closes")
    pairs = {sym: aligned_returns(wide, base, sym, max_gap_days).dropna() for sym in wide.columns.drop(base)}
    return correlations_of(pairs, base, windows)


def correlations_of(pairs: Mapping[str, pd.DataFrame], base: str, windows: Sequence[int] = (30, 90)) -> pd.DataFrame:
    """`correlations` from each symbol's aligned returns with `base` (`aligned_returns`, NaN rows dropped)."""
    out = {}
    for sym, rets in pairs.items():
        row: dict[str, object] = {"last_common": rets.index[-1] if len(rets) else pd.NaT}
        y, x = rets[base].to_numpy(), rets[sym].to_numpy()  # taken out once: the windows are their tails
        for n in windows:
            last = min(n, len(y))
            enough = last >= max(n, MIN_OBS)
            corr, beta = _corr_beta(y[len(y) - last :], x[len(x) - last :]) if enough else (np.nan, np.nan)
            row |= {f"corr_{n}d": corr, f"beta_{n}d": beta, f"n_{n}d": last}
        out[sym] = row
    return pd.DataFrame.from_dict(out, orient="index")


def _corr_beta(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Pearson correlation of y and x, and the OLS slope of y on x = cov(y, x) / var(x)."""
    c = np.cov(y, x)
    return float(c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])), float(c[0, 1] / c[1, 1])


def correlation_matrix(wide: pd.DataFrame, window: int = 90, max_gap_days: int = MAX_GAP_DAYS) -> pd.DataFrame:
    """Pairwise correlations over each pair's last `window` common returns (NaN with fewer); 1 on the diagonal."""
    cols = list(wide.columns)
    m = pd.DataFrame(np.eye(len(cols)), index=cols, columns=cols)
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            last = aligned_returns(wide, a, b, max_gap_days).dropna().tail(window)
            rho = _corr_beta(last[a].to_numpy(), last[b].to_numpy())[0] if len(last) >= max(window, MIN_OBS) else np.nan
            m.loc[a, b] = m.loc[b, a] = rho
    return m


def flow_sums(flows: pd.DataFrame, days: Sequence[int] = (5, 20, 60)) -> dict[int, float]:
    """Sum of all funds' net flows (USD) over the last N trading days in the etf_flows table; a horizon
    longer than the table is left out."""
    daily = flows.groupby("date")["flow_usd"].sum().sort_index()
    return {d: float(daily.tail(d).sum()) for d in days if len(daily) >= d}
