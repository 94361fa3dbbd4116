"""The eight verdicts: each a pure function Snapshot (+ the earlier verdicts, + its Thresholds) -> Verdict.

Thresholds: every signal module has a frozen `Thresholds` dataclass (each field a named constant with its
rationale); `evaluate_all(snap, thresholds)` takes one per signal name (missing ones: the defaults;
`signals.config.load` reads them from TOML). A field left None is learned from the snapshot's own history
at each date; `fit_all(snap)` fixes every learned field at the value `snap` gives (to score later dates
out of sample).

Importing `capitulation.signals.<module>` (its labels, common helpers, one signal) does not import the other
signals: the names below (but `ALL_SIGNALS`) load `signals.evaluate`, and with it all eight, when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ALL_SIGNALS", "INDEPENDENT", "INTERNAL_ERROR", "MODULES", "Thresholds", "evaluate_all", "fit_all"]

ALL_SIGNALS = (
    "leverage_flush",
    "cross_asset",
    "options_stress",
    "liquidity_levels",
    "sector_rotation",
    "treasury",
    "hedging",
    "bottom_range",
)
"""The eight signals in order, each the name of its module here (and that module's `SIGNAL`); a plain tuple,
so the command line lists the names (`report --signal`) without importing the signals."""


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(f"{__name__}.evaluate"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
