"""The levels map: every price level the signals produce, merged and sorted around spot.

Cost floors (on-chain cost bases: realized price, STH realized price and the MVRV / STH-SOPR zones; miner
shutdown prices of the efficient frontier and the fleet average; treasury cost bases and break-evens), options
levels (gamma flip, walls, max pain) and liquidation clusters, each with the signal and tables it came from
and why it matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Level:
    """A price level (USD per BTC) with what it is, which signal produced it, from which tables, and
    why it matters ('' = the signal's default, see `why`)."""

    price: float
    label: str
    signal: str
    tables: tuple[str, ...]
    why: str = ""


GROUPS = {
    "bottom_range": "miner cost floor",
    "treasury": "treasury",
    "options_stress": "options",
    "liquidity_levels": "liquidations",
}
"""The family of each signal's levels in the map."""

TABLE_GROUPS = {"onchain": "on-chain cost basis"}
"""Families set by a level's source table, ahead of its signal's: signal 8 places both on-chain cost bases
and miner shutdown prices."""

DEFAULT_WHY = {
    "options_stress": "options positioning: dealer hedging changes sign or concentrates at this strike, which "
    "tends to slow price (walls, max pain) or speed it up (through the gamma flip)",
    "liquidity_levels": "estimated leveraged positions liquidated here: forced market orders if price trades "
    "through it (sells for longs, buys for shorts)",
}


def group(level: Level) -> str:
    """'on-chain cost basis' (from the `onchain` table), 'miner cost floor', 'treasury' (cost basis, mNAV = 1,
    stress line), 'options', 'liquidations', or 'other'."""
    by_table = [TABLE_GROUPS[t] for t in level.tables if t in TABLE_GROUPS]
    return by_table[0] if by_table else GROUPS.get(level.signal, "other")


def why(level: Level) -> str:
    """Why the level matters: its own text, else its signal's default ('' when neither)."""
    return level.why or DEFAULT_WHY.get(level.signal, "")


def ladder(levels: list[Level], spot: float, within: float = 0.5) -> list[tuple[Level, float]]:
    """Levels within `within` (fraction) of spot, highest first, with distance from spot (fraction:
    price / spot - 1). Duplicates (same price, label and signal) are kept once."""
    unique = {(lv.price, lv.label, lv.signal): lv for lv in levels}.values()
    keep = [(lv, lv.price / spot - 1.0) for lv in unique if math.isfinite(lv.price) and lv.price > 0]
    keep = [(lv, d) for lv, d in keep if abs(d) <= within]
    return sorted(keep, key=lambda x: -x[0].price)
