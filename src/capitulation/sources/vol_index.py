"""Daily implied-volatility index bars (`vol_index`), e.g. Deribit DVOL, from a `date,open,high,low,close`
CSV in vol points (82.62 = 82.62 %), converted to fractions (/100) as the table requires."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from capitulation import tables
from capitulation.snapshot import Provenance
from capitulation.sources._files import numbers, provenance, read_csv_text, times

VOL_POINTS_PER_UNIT = 100.0


def read_dvol_csv(
    path: str | Path, index: str = "DVOL-BTC", *, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """DVOL daily OHLC in vol points -> `vol_index` rows for `index`, in fractions."""
    p = Path(path)
    cols = ["date", "open", "high", "low", "close"]
    df = read_csv_text(p, cols)
    out = pd.DataFrame({"date": times(df["date"], p, "date", "%Y-%m-%d"), "index": index})
    for c in cols[1:]:
        out[c] = numbers(df[c], p, c) / VOL_POINTS_PER_UNIT
    out = tables.validate("vol_index", out)
    note = f"index {index!r}; vol points / 100 -> fractions; daily bars stamped 00:00 UTC."
    return out, provenance(p, out["date"], licence, note)
