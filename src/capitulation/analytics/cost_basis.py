"""Cost bases as floors: where spot stood against them at past troughs, and the threshold that history sets.

For each confirmed BTC drawdown of `drawdown`+ (`analytics.events.drawdowns`: a swing low confirmed by a
rally of the same size), the value of each ratio on its trough day, e.g.

    spot / realized price            (= MVRV at spot)
    spot / STH realized price        (= STH-MVRV at spot)
    spot / fleet-average shutdown    (miners' breakeven with the rigs of that day)

A threshold learned from history is a quantile of those trough values: only troughs already confirmed in
the data handed in count, so a threshold at date D uses nothing after D and never the decline still under
way (its low is not confirmed yet).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from capitulation.analytics.events import Swing, drawdowns


def trough_values(
    close: pd.Series,
    ratios: pd.DataFrame,
    drawdown: float = 0.2,
    max_gap_days: int = 3,
    swings: Sequence[Swing] | None = None,
) -> pd.DataFrame:
    """One row per confirmed drawdown of at least `drawdown` (fraction) in `close` (time-indexed closes):
    trough_date, depth (fraction, negative), and each column of `ratios` (time-indexed, unique) on the trough
    day: the last value known at or before it within `max_gap_days`, else NaN. `swings`: `drawdowns(close,
    drawdown)` when already computed."""
    troughs = [s for s in (drawdowns(close, drawdown) if swings is None else swings) if s.confirmed]
    dates = pd.DatetimeIndex([s.trough_date for s in troughs])
    tolerance = pd.Timedelta(days=max_gap_days)
    known = pd.DataFrame(
        {c: ratios[c].dropna().sort_index().reindex(dates, method="ffill", tolerance=tolerance) for c in ratios},
        index=dates,
    )
    out = pd.DataFrame({"trough_date": dates, "depth": [s.depth for s in troughs]})
    for col in ratios.columns:
        out[col] = known[col].to_numpy() if len(dates) else []
    return out


def quantile_threshold(values: pd.Series, quantile: float, min_count: int) -> float | None:
    """The `quantile` of the known `values`; None with fewer than `min_count` of them."""
    v = values.dropna()
    return float(v.quantile(quantile)) if len(v) >= min_count else None
