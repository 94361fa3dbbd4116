"""Plain-text formats of numbers and times, shared by the signals' headlines and every renderer (terminal,
HTML, dashboard). Light (no pandas): a document read back from the cache renders with these alone."""

from __future__ import annotations

import math
from datetime import datetime


def pct(x: float) -> str:
    """A fraction as a signed percent string: -0.123 -> '-12.3%'."""
    return f"{x * 100:+.1f}%"


def usd(x: float) -> str:
    """USD with a magnitude suffix: 1.23e9 -> '$1.23B'."""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"${x / div:,.2f}{suf}"
    return f"${x:,.2f}"


def missing(x: object) -> bool:
    """Whether a document's number is absent: None (JSON's null) or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(x: object, fmt: str = ".2f") -> str:
    """A document's number as `fmt`, '-' when it is absent (`missing`)."""
    return "-" if missing(x) else format(x, fmt)


def stamp(iso: str, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 time as `fmt`: '2026-02-05T23:59:59+00:00' -> '2026-02-05 23:59'."""
    return format(datetime.fromisoformat(iso), fmt)
