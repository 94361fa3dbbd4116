"""Plain-text pieces every renderer of the report shares (terminal, HTML, dashboard). Light: no pandas, so a
report read back from its cache (`cli.documents`) renders without loading the analysis."""

from __future__ import annotations

from pathlib import Path

STALE_SPOT_DAYS = 1.0
"""A spot close more than this many days before as_of's day is flagged in the header (weekend closes of a
24/7 market are daily, so one day is the normal age)."""


def spot_line(price: float | None, close_day: str, age_days: float, source: str) -> str:
    """The header's spot, 'BTC $62,702'; with '(close of 2022-09-01, 1253.0 days before as_of; from
    btc_ohlc.csv)' when the close (`close_day`, YYYY-MM-DD, from the files `source`) is more than
    `STALE_SPOT_DAYS` before as_of; '' without a price."""
    if not price:
        return ""
    if age_days <= STALE_SPOT_DAYS:
        return f"BTC ${price:,.0f}"
    return f"BTC ${price:,.0f} (close of {close_day}, {age_days:.1f} days before as_of; from {source})"


def short_source(source: str) -> str:
    """A provenance source list shortened for a terminal: 'folder/file' or 'folder/ (N files)' per folder."""
    by_dir: dict[str, list[str]] = {}
    for part in source.split("; "):
        p = Path(part)
        by_dir.setdefault(p.parent.name, []).append(p.name)
    return "; ".join(f"{d}/{f[0]}" if len(f) == 1 else f"{d}/ ({len(f)} files)" for d, f in by_dir.items())
