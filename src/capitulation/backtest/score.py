"""A backtest: the timeline as `report` gives it, the same dates with thresholds fitted before a split date,
and their scorecards: walk-forward (each date's thresholds learned from its own past, as `report`),
in-sample (thresholds fitted before the split, scored before it) and out of sample (the same thresholds
scored from the split on: no threshold sees the period it is scored on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from capitulation.analytics.events import drawdowns
from capitulation.analytics.scorecard import Scorecard, scorecard
from capitulation.backtest.run import Timeline, timeline
from capitulation.signals import Thresholds, fit_all
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot
from capitulation.store import WALK_FORWARD

if TYPE_CHECKING:
    from distributed import Client

    from capitulation.store import HistoryStore

DRAWDOWN = 0.2  # the event study's drawdown size: the troughs and peaks scored


@dataclass(frozen=True)
class Backtest:
    """The timelines and scorecards of one backtest (see module docstring); `fitted`: the thresholds fixed
    at the split (per signal); in_sample / out_of_sample are None when the range lies on one side of it."""

    live: Timeline
    fixed: Timeline
    split: pd.Timestamp
    fitted: dict[str, Any]
    walk_forward: Scorecard
    in_sample: Scorecard | None
    out_of_sample: Scorecard | None

    def comparison(self) -> pd.DataFrame:
        """Per signal: hit rates at troughs and peaks, share of days held, walk-forward / in-sample / out of
        sample side by side (NaN where a part has no event or date)."""
        parts = {"wf": self.walk_forward, "is": self.in_sample, "oos": self.out_of_sample}
        cols = {}
        for tag, sc in parts.items():
            for c in ("trough_hit_rate", "peak_hit_rate", "held_share", "trough_lag_days"):
                cols[f"{c}_{tag}"] = sc.signals[c] if sc is not None else float("nan")
        return pd.DataFrame(cols, index=self.walk_forward.signals.index)

    def as_dict(self) -> dict[str, object]:
        return {
            "split": f"{self.split:%Y-%m-%d}",
            "run": {"walk_forward": self.live.key, "fitted_at_split": self.fixed.key},
            "dates": {
                "dates": self.live.rows["as_of"].nunique(),
                "computed": self.live.computed + self.fixed.computed,
                "from_store": self.live.resumed + self.fixed.resumed,
            },
            "fitted_thresholds": {k: _learned_fields(v) for k, v in self.fitted.items()},
            "walk_forward": self.walk_forward.as_dict(),
            "in_sample": None if self.in_sample is None else self.in_sample.as_dict(),
            "out_of_sample": None if self.out_of_sample is None else self.out_of_sample.as_dict(),
        }


def _learned_fields(th: Any) -> dict[str, Any]:
    """The fields of a signal's Thresholds that are learned from history by default (None), as fitted."""
    default = type(th)()
    return {k: getattr(th, k) for k in th.__dataclass_fields__ if getattr(default, k) is None}


def _score(status: pd.DataFrame, close: pd.Series, swings: list, window: int) -> Scorecard | None:
    return scorecard(status, close, swings, window) if not status.empty else None


def backtest(
    full: Snapshot,
    days: pd.DatetimeIndex,
    split: pd.Timestamp,
    thresholds: Thresholds | None = None,
    *,
    window_days: int = 7,
    client: Client | None = None,
    store: HistoryStore | None = None,
    progress: bool = False,
) -> Backtest:
    """Run both timelines over `days` (as_of times) and score them; `split` is a UTC midnight: thresholds are
    fitted on the snapshot known just before it."""
    fitted = fit_all(full.upto(split - pd.Timedelta(seconds=1)), thresholds)
    live = timeline(full, days, thresholds, client=client, store=store, progress=progress)
    fixed = timeline(full, days, fitted, client=client, store=store, progress=progress)
    if store is not None:  # the pictures draw the walk-forward run, never the one fitted at the split
        store.label_backtest(fixed.key, f"fitted before {split:%Y-%m-%d}")
        store.label_backtest(live.key, WALK_FORWARD)
    close = closes(full, BTC)
    swings = drawdowns(close, DRAWDOWN)
    a, b = live.statuses(), fixed.statuses()
    a.index, b.index = a.index.floor("D"), b.index.floor("D")
    return Backtest(
        live,
        fixed,
        split,
        fitted,
        scorecard(a, close, swings, window_days),
        _score(b[b.index < split], close, swings, window_days),
        _score(b[b.index >= split], close, swings, window_days),
    )
