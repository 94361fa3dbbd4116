"""US spot bitcoin ETF daily net flows (`etf_flows`) from Farside Investors tables: the per-fund scrape
(`read_farside_json`) and the daily total (`read_farside_total_csv`), merged by `merge_flows`.

`farside-btc.json` is a list of rows `{"Date": "11 Jan 2024", "IBIT": "111.7", ..., "Total": "655.3"}`
with values in US$ millions as text: '(95.1)' is -95.1, '1,045.0' has a thousands comma, '-' is n/a
(fund not trading / holiday). The importer drops n/a cells, converts millions to USD, drops the `Total`
column (recomputable, and not always filled in: 29 Oct 2024 says 0.0 against 870.1 of fund flows),
the summary rows (Total / Average / Maximum / Minimum) and placeholder rows whose every fund reads
exactly 0.0 (a day not filled in yet: 31 Oct 2024; holidays are written '-'), each with a logged count.
A record repeating an earlier one is dropped and counted; a date twice with different values is a
`DataError` naming both records.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import (
    combine,
    conform,
    provenance,
    read_csv_text,
    read_json,
    repeats_note,
    require_rows,
)

log = logging.getLogger(__name__)

SUMMARY_ROWS = frozenset({"Total", "Average", "Maximum", "Minimum"})
TOTAL_COLUMN = "Total"
_NUMBER = re.compile(r"^(\()?(-)?([0-9]{1,3}(?:,[0-9]{3})*|[0-9]+)(\.[0-9]+)?(\))?$")


def parse_farside_millions(text: str) -> float | None:
    """A Farside cell in US$ millions -> float millions; None for n/a ('-').

    '111.7' -> 111.7, '(95.1)' -> -95.1, '-52.7' -> -52.7 (the total file's sign), '1,045.0' -> 1045.0,
    '-' -> None. Raises ValueError for any other text (unbalanced parentheses, a sign inside parentheses,
    misplaced commas, letters, empty).
    """
    s = text.strip()
    if s == "-":
        return None
    m = _NUMBER.match(s)
    if m is None or bool(m.group(1)) != bool(m.group(5)) or (m.group(1) and m.group(2)):
        raise ValueError(f"not a Farside number: {text!r}")
    value = float(m.group(3).replace(",", "") + (m.group(4) or ""))
    return -value if m.group(1) or m.group(2) else value


def read_farside_json(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """The Farside scrape as long `etf_flows` rows (date, fund, flow_usd in USD, not millions); `DataError`
    naming file and record for a malformed record, and both records for a date twice with different values."""
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, list):
        raise DataError(f"{p}: expected a JSON list of rows")
    require_rows(doc, p, "rows")
    rows: list[tuple[pd.Timestamp, str, float]] = []
    summary = placeholder = na = repeated = 0
    seen: dict[str, int] = {}  # date label -> its first record
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict) or "Date" not in rec:
            raise DataError(f"{p}: record {i}: missing field 'Date'")
        label = str(rec["Date"]).strip()
        if label in SUMMARY_ROWS:
            summary += 1
            continue
        if label in seen:
            first = seen[label]
            if doc[first] != rec:
                raise DataError(f"{p}: records {first} and {i}: the date {label!r} twice with different values")
            repeated += 1
            continue
        seen[label] = i
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
    out, _ = conform("etf_flows", df.sort_values(["date", "fund"], kind="stable"), p)  # one record per date
    note = (
        "Farside US$m strings -> USD (x1e6), '(x)' negative; "
        f"dropped: {na} n/a ('-') cell(s), the Total column, {summary} summary row(s) "
        f"(Total/Average/Maximum/Minimum), {placeholder} all-0.0 placeholder row(s)." + repeats_note(repeated, "record")
    )
    return out, provenance(p, out["date"], licence, note)


ALL_FUNDS = "ALL"
"""The `fund` of a day's total over every spot fund, where the source gives no per-fund split."""


def read_farside_total_csv(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """Farside's daily TOTAL net flow (`Date,Total`, dates like '11 Jan 2024', US$ millions with quoted
    thousands '1,373.80', '(x)' negatives) as `etf_flows` rows with fund `ALL_FUNDS`, in USD.

    Dropped and counted in provenance: the summary rows (Total / Average / Maximum / Minimum) and days
    whose total is exactly 0.0 (US market holidays, and the last row's not-yet-filled day), and rows
    repeating an earlier row. A malformed date or number, or a date listed twice with different totals,
    is a `DataError` naming file, column and row.
    """
    p = Path(path)
    df = read_csv_text(p, ["Date", "Total"])
    label = df["Date"].str.strip()
    summary = label.isin(SUMMARY_ROWS)
    repeats = _repeated_rows(label, df["Total"].str.strip(), summary.to_numpy(), p)
    rows, zero = [], []
    for i in np.flatnonzero(~summary.to_numpy() & ~repeats):
        day = pd.to_datetime(label.iloc[i], format="%d %b %Y", errors="coerce", utc=True)
        if pd.isna(day):
            raise DataError(f"{p}: column 'Date', row {i + 1}: malformed date {df['Date'].iloc[i]!r}")
        try:
            value = parse_farside_millions(df["Total"].iloc[i])
        except ValueError:
            raise DataError(f"{p}: column 'Total', row {i + 1}: malformed number {df['Total'].iloc[i]!r}") from None
        if value is None:
            continue
        if value == 0.0:
            zero.append(f"{day:%Y-%m-%d}")
            continue
        rows.append((i, day, value * 1e6))
    out = pd.DataFrame([(d, ALL_FUNDS, v) for _, d, v in rows], columns=["date", "fund", "flow_usd"])
    twice = out["date"].duplicated(keep=False).to_numpy()
    if twice.any():  # one date written two ways ('02 Jan 2026', '2 Jan 2026')
        a, b = (rows[j][0] + 1 for j in np.flatnonzero(twice)[:2])
        raise DataError(f"{p}: column 'Date', rows {a} and {b}: the same date twice")
    out, _ = conform("etf_flows", out.sort_values("date", kind="stable"), p)  # dates checked unique above
    n_rep = int(repeats.sum())
    note = (
        f"fund 'ALL' = Farside's daily TOTAL over every spot fund, US$m -> USD (x1e6); dropped "
        f"{int(summary.sum())} summary row(s) and {len(zero)} day(s) reading exactly 0.0 (market holidays, and "
        f"an unfilled last day): {', '.join(sorted(zero))}." + repeats_note(n_rep)
    )
    return out, provenance(p, out["date"], licence, note)


def _repeated_rows(days: pd.Series, totals: pd.Series, skip: np.ndarray, p: Path) -> np.ndarray:
    """True on each row (not in `skip`) repeating an earlier row's date and total; `DataError` naming the file
    and both rows (1-based data rows) when a date comes again with another total."""
    out = np.zeros(len(days), dtype=bool)
    first: dict[str, int] = {}
    for i in np.flatnonzero(~skip):
        j = first.setdefault(days.iloc[i], i)
        if j == i:
            continue
        if totals.iloc[j] != totals.iloc[i]:
            raise DataError(
                f"{p}: column 'Date', rows {j + 1} and {i + 1}: the same date twice ({days.iloc[i]}) with "
                f"different totals ({totals.iloc[j]!r} vs {totals.iloc[i]!r})"
            )
        out[i] = True
    return out


def merge_flows(
    per_fund: tuple[pd.DataFrame, Provenance], totals: tuple[pd.DataFrame, Provenance]
) -> tuple[pd.DataFrame, Provenance]:
    """Per-fund rows where they exist, the `ALL_FUNDS` total on the days they do not (so a day's flow is
    always the sum of its rows, never counted twice). The notes state how the per-fund daily sums agree
    with the total on their common days (largest absolute difference, US$m)."""
    funds, p_funds = per_fund
    total, p_total = totals
    daily = funds.groupby("date")["flow_usd"].sum()
    common = total[total["date"].isin(daily.index)].set_index("date")["flow_usd"]
    diff = (daily.reindex(common.index) - common).abs() / 1e6
    later = total[~total["date"].isin(daily.index)]
    merged = tables.validate("etf_flows", pd.concat([funds, later], ignore_index=True).sort_values(["date", "fund"]))
    worst = f"US${diff.max():.1f}m (on {diff.idxmax():%Y-%m-%d})" if len(diff) else "n/a"
    note = (
        f"merge: per-fund rows win on their {len(daily)} days; on the {len(common)} days both files hold, the "
        f"per-fund sum and the TOTAL differ by at most {worst}, median US${diff.median():.2f}m; the TOTAL "
        f"(fund 'ALL') fills {len(later)} later day(s)."
    )
    prov = combine([p_funds, p_total])
    return merged, replace(prov, notes=f"{prov.notes} | {note}")
