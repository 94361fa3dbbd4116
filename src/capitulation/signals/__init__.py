"""The eight verdicts: each a pure function Snapshot (+ the earlier verdicts) -> Verdict."""

from __future__ import annotations

from capitulation.signals import (
    bottom_range,
    cross_asset,
    hedging,
    leverage_flush,
    liquidity_levels,
    options_stress,
    sector_rotation,
    treasury,
)
from capitulation.signals.base import Metric, Status, Verdict
from capitulation.snapshot import Snapshot

__all__ = ["ALL_SIGNALS", "Metric", "Status", "Verdict", "evaluate_all"]

# Signals 1-7 read the snapshot only; signal 8 merges their levels into one map.
INDEPENDENT = (
    leverage_flush,
    cross_asset,
    options_stress,
    liquidity_levels,
    sector_rotation,
    treasury,
    hedging,
)


ALL_SIGNALS = tuple(m.SIGNAL for m in (*INDEPENDENT, bottom_range))


def evaluate_all(snap: Snapshot) -> list[Verdict]:
    """The eight verdicts for `snap`, in signal order."""
    verdicts = [m.evaluate(snap) for m in INDEPENDENT]
    return [*verdicts, bottom_range.evaluate(snap, verdicts)]
