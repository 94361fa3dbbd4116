"""Daily implied-volatility index bars (`vol_index`), e.g. Deribit DVOL, from a `date,[symbol,]open,high,low,close`
CSV in vol points (82.62 = 82.62 %), converted to fractions (/100) as the table requires.

Files may list days in any order (sorted here: nothing read depends on it) and may carry a `symbol` column
(BTC -> index 'DVOL-BTC'). Several files of one index are merged by `merge_dvol`: the file retrieved last
(its range ends latest) wins on the days both hold, since its bars for those days had closed when it was
captured; the agreement on those days is measured and stated.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import combine, conform, numbers, provenance, read_csv_text, times

VOL_POINTS_PER_UNIT = 100.0
OHLC = ("open", "high", "low", "close")


def read_dvol_csv(
    path: str | Path, index: str = "DVOL-BTC", *, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """DVOL daily OHLC in vol points -> `vol_index` rows for `index`, in fractions, oldest first.

    A `symbol` column, when present, must name the index's underlying on every row (BTC for DVOL-BTC);
    a date listed twice is a `DataError` naming both rows.
    """
    p = Path(path)
    df = read_csv_text(p, ["date", *OHLC])
    stamps = times(df["date"], p, "date", "%Y-%m-%d")
    if "symbol" in df.columns:
        want = index.split("-")[-1]
        other = df["symbol"].str.strip() != want
        if other.any():
            i = int(np.flatnonzero(other)[0])
            raise DataError(f"{p}: column 'symbol', row {i + 1}: expected {want!r}, got {df['symbol'].iloc[i]!r}")
    twice = stamps.duplicated(keep=False)
    if twice.any():
        rows = np.flatnonzero(twice)
        raise DataError(f"{p}: column 'date', rows {rows[0] + 1} and {rows[1] + 1}: the same date twice")
    out = pd.DataFrame({"date": stamps, "index": index})
    for c in OHLC:
        out[c] = numbers(df[c], p, c) / VOL_POINTS_PER_UNIT
    out, _ = conform("vol_index", out.sort_values("date", ignore_index=True), p)  # dates checked unique above
    note = f"index {index!r}; vol points / 100 -> fractions; daily bars stamped 00:00 UTC."  # not the file's order
    return out, provenance(p, out["date"], licence, note)


def merge_dvol(parts: list[tuple[pd.DataFrame, Provenance]]) -> tuple[pd.DataFrame, Provenance]:
    """One `vol_index` table from several files; on common (index, date) rows the file whose range ends
    latest wins.

    The notes give, per later file, the common days and the largest close difference (vol points) and the
    days whose close differs by more than 0.5 vol points (e.g. a day captured before it closed).
    """
    ordered = sorted(parts, key=lambda part: part[0]["date"].max(), reverse=True)
    merged, prov = ordered[0]
    notes = []
    for df, p in ordered[1:]:
        common = merged.merge(df, on=["index", "date"], suffixes=("", "_other"))
        diff = (common["close"] - common["close_other"]).abs() * VOL_POINTS_PER_UNIT
        off = common.loc[diff > 0.5, "date"]
        notes.append(
            f"{Path(p.source).name} fills the days {Path(prov.source).name} lacks; on their {len(common)} common "
            f"days {Path(prov.source).name} wins (closes differ by at most {diff.max():.2f} vol points"
            + (
                f"; > 0.5 on {', '.join(f'{d:%Y-%m-%d}' for d in off)}: a bar captured before its day closed"
                if len(off)
                else ""
            )
            + ")"
            if len(common)
            else f"{Path(p.source).name} shares no day with the others"
        )
        extra = df.merge(merged[["index", "date"]], on=["index", "date"], how="left", indicator=True)
        merged = pd.concat([merged, df[(extra["_merge"] == "left_only").to_numpy()]], ignore_index=True)
        prov = combine([prov, p])
    merged = tables.validate("vol_index", merged.sort_values(["index", "date"], ignore_index=True))
    return merged, replace(prov, notes=f"{prov.notes} | merge: {'; '.join(notes)}" if notes else prov.notes)
