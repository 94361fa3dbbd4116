"""The levels map: every price level the signals produce, merged and sorted around spot."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """A price level (USD per BTC) with what it is, which signal produced it and from which tables."""

    price: float
    label: str
    signal: str
    tables: tuple[str, ...]


def ladder(levels: list[Level], spot: float, within: float = 0.5) -> list[tuple[Level, float]]:
    """Levels within `within` (fraction) of spot, highest first, with distance from spot (fraction)."""
    keep = [(lv, lv.price / spot - 1.0) for lv in levels if math.isfinite(lv.price) and lv.price > 0]
    keep = [(lv, d) for lv, d in keep if abs(d) <= within]
    return sorted(keep, key=lambda x: -x[0].price)
