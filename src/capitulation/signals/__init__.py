"""The eight verdicts: each a pure function Snapshot (+ the earlier verdicts) -> Verdict."""

from __future__ import annotations

import logging
from types import ModuleType

from capitulation.errors import CapitulationError, describe
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
from capitulation.signals.base import Metric, Status, Verdict, not_enough_data
from capitulation.snapshot import Snapshot

__all__ = ["ALL_SIGNALS", "INTERNAL_ERROR", "Metric", "Status", "Verdict", "evaluate_all"]
log = logging.getLogger(__name__)

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


INTERNAL_ERROR = "internal error"
"""The start of the headline of a verdict whose code raised an unexpected exception (a bug to report)."""


def _guarded(module: ModuleType, snap: Snapshot, *args: object) -> Verdict:
    """`module.evaluate(snap, *args)`; a failure becomes that signal's "not enough data" with the reason,
    so one signal's table or bug never stops the other verdicts. A `CapitulationError` is a data problem
    (its message is the reason); any other exception is an internal error, its traceback logged at INFO
    (`-v`)."""
    try:
        return module.evaluate(snap, *args)
    except CapitulationError as exc:
        return not_enough_data(module.SIGNAL, module.TITLE, snap.as_of, f"could not be evaluated: {describe(exc)}")
    except Exception as exc:
        log.info("%s failed on the snapshot as of %s", module.SIGNAL, snap.as_of, exc_info=True)
        return not_enough_data(
            module.SIGNAL,
            module.TITLE,
            snap.as_of,
            f"{INTERNAL_ERROR}: {describe(exc)}",
            "the other verdicts are unaffected; run with -v for the traceback and please report it",
        )


def evaluate_all(snap: Snapshot) -> list[Verdict]:
    """The eight verdicts for `snap`, in signal order; a signal that fails says so in its own verdict."""
    verdicts = [_guarded(m, snap) for m in INDEPENDENT]
    return [*verdicts, _guarded(bottom_range, snap, verdicts)]
