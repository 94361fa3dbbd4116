"""Evaluating the eight signals: `evaluate_all`, `fit_all` and the registry of signal modules (re-exported
by `capitulation.signals`)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from capitulation.errors import CapitulationError, describe
from capitulation.signals import ALL_SIGNALS, bottom_range
from capitulation.signals.base import not_enough_data
from capitulation.snapshot import Snapshot
from capitulation.verdict import Verdict

__all__ = ["ALL_SIGNALS", "INDEPENDENT", "INTERNAL_ERROR", "MODULES", "Thresholds", "evaluate_all", "fit_all"]
log = logging.getLogger(__name__)

MODULES: dict[str, ModuleType] = {name: importlib.import_module(f"capitulation.signals.{name}") for name in ALL_SIGNALS}
"""Each signal's module, in signal order (`ALL_SIGNALS`)."""
INDEPENDENT = tuple(m for m in MODULES.values() if m is not bottom_range)
"""Signals 1-7: they read the snapshot only; signal 8 (`bottom_range`) merges their levels into one map."""
Thresholds = Mapping[str, Any]
"""Per signal name, an instance of that signal module's `Thresholds`."""


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


def _thresholds(thresholds: Thresholds | None, module: ModuleType) -> Any:
    return module.Thresholds() if thresholds is None or module.SIGNAL not in thresholds else thresholds[module.SIGNAL]


def evaluate_all(snap: Snapshot, thresholds: Thresholds | None = None) -> list[Verdict]:
    """The eight verdicts for `snap`, in signal order; a signal that fails says so in its own verdict.
    `thresholds`: per signal name, its `Thresholds` (the defaults for any signal not given)."""
    verdicts = [_guarded(m, snap, _thresholds(thresholds, m)) for m in INDEPENDENT]
    return [*verdicts, _guarded(bottom_range, snap, verdicts, _thresholds(thresholds, bottom_range))]


def fit_all(snap: Snapshot, thresholds: Thresholds | None = None) -> dict[str, Any]:
    """Every signal's thresholds with the learned fields fixed at the values `snap`'s history gives (the
    signals without a `fit` learn nothing from past troughs and are returned as given)."""
    out = {}
    for name, m in MODULES.items():
        th = _thresholds(thresholds, m)
        out[name] = m.fit(snap, th) if hasattr(m, "fit") else th
    return out
