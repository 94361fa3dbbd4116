"""US spot bitcoin ETF daily net flows (`etf_flows`) from a Farside Investors table scrape.

`farside-btc.json` is a list of rows `{"Date": "11 Jan 2024", "IBIT": "111.7", ..., "Total": "655.3"}`
with values in US$ millions as text: '(95.1)' is -95.1, '1,045.0' has a thousands comma, '-' is n/a
(fund not trading / holiday). The importer drops n/a cells, converts millions to USD, drops the `Total`
column (recomputable, and not always filled in: 29 Oct 2024 says 0.0 against 870.1 of fund flows),
the summary rows (Total / Average / Maximum / Minimum) and placeholder rows whose every fund reads
exactly 0.0 (a day not filled in yet: 31 Oct 2024; holidays are written '-'), each with a logged count.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import provenance, read_json

log = logging.getLogger(__name__)

SUMMARY_ROWS = frozenset({"Total", "Average", "Maximum", "Minimum"})
TOTAL_COLUMN = "Total"
_NUMBER = re.compile(r"^(\()?([0-9]{1,3}(?:,[0-9]{3})*|[0-9]+)(\.[0-9]+)?(\))?$")


def parse_farside_millions(text: str) -> float | None:
    """A Farside cell in US$ millions -> float millions; None for n/a ('-').

    '111.7' -> 111.7, '(95.1)' -> -95.1, '1,045.0' -> 1045.0, '-' -> None. Raises ValueError for any
    other text (unbalanced parentheses, misplaced commas, letters, empty).
    """
    s = text.strip()
    if s == "-":
        return None
    m = _NUMBER.match(s)
    if m is None or bool(m.group(1)) != bool(m.group(4)):
        raise ValueError(f"not a Farside number: {text!r}")
    value = float(m.group(2).replace(",", "") + (m.group(3) or ""))
    return -value if m.group(1) else value


def read_farside_json(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """The Farside scrape as long `etf_flows` rows (date, fund, flow_usd in USD, not millions)."""
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, list):
        raise DataError(f"{p}: expected a JSON list of rows")
    rows: list[tuple[pd.Timestamp, str, float]] = []
    summary = placeholder = na = 0
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict) or "Date" not in rec:
            raise DataError(f"{p}: record {i}: missing field 'Date'")
        label = str(rec["Date"]).strip()
        if label in SUMMARY_ROWS:
            summary += 1
            continue
        day = pd.to_datetime(label, format="%d %b %Y", errors="coerce", utc=True)
        if pd.isna(day):
            raise DataError(f"{p}: record {i}: field 'Date': malformed date {rec['Date']!r}")
        cells: list[tuple[str, float]] = []
        for fund, raw in rec.items():
            if fund in ("Date", TOTAL_COLUMN):
                continue
            try:
                value = parse_farside_millions(str(raw)) if raw is not None else None
            except ValueError:
                raise DataError(f"{p}: record {i} ({label}): field {fund!r}: malformed number {raw!r}") from None
            if value is None:
                na += 1
            else:
                cells.append((fund, value))
        if cells and all(v == 0 for _, v in cells) and len(cells) == len(rec) - 1 - (TOTAL_COLUMN in rec):
            placeholder += 1
            continue
        rows.extend((day, fund, v * 1e6) for fund, v in cells)
    log.info(
        "%s: dropped %d summary row(s), %d all-zero placeholder row(s), %d n/a cell(s); Total column dropped",
        p,
        summary,
        placeholder,
        na,
    )
    df = pd.DataFrame(rows, columns=["date", "fund", "flow_usd"])
    if df.empty:
        df = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "fund": [], "flow_usd": np.array([])})
    out = tables.validate("etf_flows", df.sort_values(["date", "fund"], kind="stable"))
    note = (
        "Farside US$m strings -> USD (x1e6), '(x)' negative; "
        f"dropped: {na} n/a ('-') cell(s), the Total column, {summary} summary row(s) "
        f"(Total/Average/Maximum/Minimum), {placeholder} all-0.0 placeholder row(s)."
    )
    return out, provenance(p, out["date"], licence, note)
