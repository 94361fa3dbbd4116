"""How a verdict timeline scored against what BTC did: hits at drawdown troughs and peaks, and the count
of holding signals as a score with the forward returns after it.

Events are the 20 %+ drawdowns of the event study (`analytics.events.drawdowns`): their troughs and the
peaks before them that fall in the scored dates; every other date is "neither". With a window of N days:

    hit at an event      = the signal holds on some scored date within N days of the event (either side)
    lag (days)           = date of the holding date nearest the event - the event's date (< 0: early)
    share of days held   = holding dates / scored dates
    score                = the number of signals that hold on a date (0..8)
    forward return (h)   = close(date + h days) / close(date) - 1,  grouped by score: median and count

Dates within N days of a trough or peak are not "neither" (they are near an event); an event's score is the
score on the scored date nearest it (its own date on a daily timeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.analytics.events import Swing

HOLDS = "holds"
UNDECIDED = "not enough data"
HORIZONS = (30, 90, 180)


@dataclass(frozen=True)
class Scorecard:
    """A timeline's score over dates `start`..`end` (UTC days).

    `signals`: one row per signal: troughs, trough_hits, trough_hit_rate, trough_lag_days (median), peaks,
    peak_hits, peak_hit_rate, days, days_held, held_share, undecided_share. `score`: per kind of date
    (trough, peak, neither): dates, mean score and the count of dates at each score 0..8. `forward`: per
    score and horizon: dates, median forward return (fraction).
    """

    start: pd.Timestamp
    end: pd.Timestamp
    window_days: int
    troughs: tuple[pd.Timestamp, ...]
    peaks: tuple[pd.Timestamp, ...]
    signals: pd.DataFrame
    score: pd.DataFrame
    forward: pd.DataFrame

    def as_dict(self) -> dict[str, object]:
        return {
            "start": f"{self.start:%Y-%m-%d}",
            "end": f"{self.end:%Y-%m-%d}",
            "window_days": self.window_days,
            "troughs": [f"{t:%Y-%m-%d}" for t in self.troughs],
            "peaks": [f"{p:%Y-%m-%d}" for p in self.peaks],
            "signals": _records(self.signals.reset_index()),
            "score": _records(self.score.reset_index()),
            "forward": _records(self.forward.reset_index()),
        }


def _records(df: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()} for r in df.to_dict("records")
    ]


def events_in(
    swings: Sequence[Swing], start: pd.Timestamp, end: pd.Timestamp
) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """The troughs and the peaks of `swings` dated within [start, end] (UTC days)."""
    troughs = [s.trough_date for s in swings if start <= s.trough_date <= end]
    peaks = [s.peak_date for s in swings if start <= s.peak_date <= end]
    return troughs, peaks


def _hit(held: pd.Series, event: pd.Timestamp, window: pd.Timedelta) -> float | None:
    """Offset in days of the holding date nearest `event` within `window` (the earlier on a tie), else None."""
    near = held[(held.index >= event - window) & (held.index <= event + window)]
    dates = near.index[near.to_numpy()]
    if len(dates) == 0:
        return None
    offsets = np.array([(d - event).days for d in dates])
    return float(offsets[np.lexsort((offsets, np.abs(offsets)))[0]])


def _on_nearest(score: pd.Series, events: Sequence[pd.Timestamp], window: pd.Timedelta) -> pd.Series:
    """The score on the scored date nearest each event (the event's own date when the timeline is daily),
    events without a scored date within `window` left out."""
    out = {}
    for e in events:
        gap = np.abs((score.index - e).days)
        if len(gap) and gap.min() <= window.days:
            out[e] = score.iloc[int(np.argmin(gap))]
    return pd.Series(out, dtype=float)


def scorecard(
    statuses: pd.DataFrame,
    close: pd.Series,
    swings: Sequence[Swing],
    window_days: int = 7,
    horizons: Sequence[int] = HORIZONS,
) -> Scorecard:
    """Score a timeline (`statuses`: one row per date, UTC midnight, one column of status text per signal
    and `holds`, the count) against the BTC daily `close` (indexed by date) and its drawdown `swings`."""
    days = statuses.index
    start, end = days.min(), days.max()
    window = pd.Timedelta(days=window_days)
    troughs, peaks = events_in(swings, start, end)
    signals = [c for c in statuses.columns if c != "holds"]
    rows = []
    for sig in signals:
        held = statuses[sig] == HOLDS
        t_lags = [_hit(held, t, window) for t in troughs]
        p_lags = [_hit(held, p, window) for p in peaks]
        t_hits = [x for x in t_lags if x is not None]
        rows.append(
            {
                "signal": sig,
                "troughs": len(troughs),
                "trough_hits": len(t_hits),
                "trough_hit_rate": len(t_hits) / len(troughs) if troughs else np.nan,
                "trough_lag_days": float(np.median(t_hits)) if t_hits else np.nan,
                "peaks": len(peaks),
                "peak_hits": sum(x is not None for x in p_lags),
                "peak_hit_rate": sum(x is not None for x in p_lags) / len(peaks) if peaks else np.nan,
                "days": len(days),
                "days_held": int(held.sum()),
                "held_share": float(held.mean()),
                "undecided_share": float((statuses[sig] == UNDECIDED).mean()),
            }
        )
    near = np.zeros(len(days), dtype=bool)
    for e in (*troughs, *peaks):
        near |= np.asarray((days >= e - window) & (days <= e + window))
    kinds = {
        "trough": _on_nearest(statuses["holds"], troughs, window),
        "peak": _on_nearest(statuses["holds"], peaks, window),
        "neither": statuses.loc[~near, "holds"],
    }
    levels = range(len(signals) + 1)
    score = pd.DataFrame(
        [
            {"kind": k, "dates": len(s), "mean_score": float(s.mean()) if len(s) else np.nan}
            | {f"score_{n}": int((s == n).sum()) for n in levels}
            for k, s in kinds.items()
        ]
    ).set_index("kind")
    px = close.sort_index()
    fwd_rows = []
    for h in horizons:
        later = px.reindex(days + pd.Timedelta(days=h)).to_numpy()
        now = px.reindex(days).to_numpy()
        ret = pd.Series(later / now - 1.0, index=days)
        for n in levels:
            r = ret[(statuses["holds"] == n).to_numpy()].dropna()
            fwd_rows.append(
                {
                    "score": n,
                    "horizon_days": h,
                    "dates": len(r),
                    "median_return": float(r.median()) if len(r) else np.nan,
                }
            )
    forward = pd.DataFrame(fwd_rows).set_index(["score", "horizon_days"])
    return Scorecard(
        start, end, window_days, tuple(troughs), tuple(peaks), pd.DataFrame(rows).set_index("signal"), score, forward
    )
