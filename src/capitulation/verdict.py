"""Verdict: what a signal says, with the figures behind it and the tables they came from.

Below the store and the signals: the store keeps verdicts, the signals make them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from capitulation.analytics.levels import Level


class Status(StrEnum):
    HOLDS = "holds"
    DOES_NOT_HOLD = "does not hold"
    NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class Metric:
    """One figure: name, value, unit (e.g. 'USD', 'BTC', 'fraction', 'vol points') and its source tables."""

    name: str
    value: float | None
    unit: str
    tables: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        v = self.value
        return {
            "name": self.name,
            "value": None if v is None or (isinstance(v, float) and math.isnan(v)) else v,
            "unit": self.unit,
            "tables": list(self.tables),
        }


@dataclass(frozen=True)
class Verdict:
    signal: str
    title: str
    status: Status
    headline: str
    as_of: pd.Timestamp
    metrics: tuple[Metric, ...] = ()
    evidence: tuple[str, ...] = ()
    tables: tuple[str, ...] = field(default=())
    levels: tuple[Level, ...] = ()

    def metric(self, name: str) -> Metric:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)

    def as_dict(self) -> dict[str, object]:
        return {
            "signal": self.signal,
            "title": self.title,
            "status": self.status.value,
            "headline": self.headline,
            "as_of": self.as_of.isoformat(),
            "metrics": [m.as_dict() for m in self.metrics],
            "evidence": list(self.evidence),
            "tables": sorted({t for m in self.metrics for t in m.tables} | set(self.tables)),
            "levels": [
                {"price": lv.price, "label": lv.label, "signal": lv.signal, "tables": list(lv.tables), "why": lv.why}
                for lv in self.levels
            ],
        }
