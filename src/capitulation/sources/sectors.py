"""Crypto sector constituents' daily log returns (`sector_returns`) from quantbai/crypto-sectors.

`quantbai_returns.parquet` is WIDE: a `date` index (naive, daily) x one float column per symbol, NaN
before listing or without a trade; `quantbai_sector.csv` maps symbol -> sector (and role
FACTOR/RESIDUAL). Every label is kept, OTHER and RESIDUAL ones included: which baskets count is an
analytics decision. The labels are the repo's current (mid-2026) taxonomy applied to all dates.

Dates: the returns come from OKX daily candles, which run 16:00 -> 16:00 UTC (the UTC+8 day), and
quantbai labels a return by the UTC date on which its candle opened; the return labelled d therefore
ends at d+1 16:00 UTC. Against Yahoo's 00:00-UTC BTC-USD log returns, quantbai's BTC correlates 0.66
one day ahead and 0.32 on the same day, the 16 h / 8 h overlaps of those windows. Stamping the label d
would put 16 h of later prices into a snapshot as of the end of d, so each return is stamped
d + `LABEL_SHIFT_DAYS` (the UTC date on which its window ends).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance
from capitulation.sources._files import conform, provenance, read_csv_text, require_file

log = logging.getLogger(__name__)

LABEL_SHIFT_DAYS = 1
"""Days added to quantbai's date label so that a return is stamped on the UTC date its window ends."""


def read_quantbai_sectors(
    returns_parquet: str | Path,
    sector_csv: str | Path,
    *,
    label_shift_days: int = LABEL_SHIFT_DAYS,
    licence: str = "CC BY 4.0",
) -> tuple[pd.DataFrame, Provenance]:
    """Long `sector_returns` (date, symbol, sector, log_return) from the wide returns panel and the
    symbol -> sector table. Empty cells are not rows; symbols without a sector label are dropped (logged,
    noted); labelled symbols without a single return in the panel (a column lost) are named in the notes
    with their sector, whose basket goes without them."""
    rp = require_file(returns_parquet)
    sp = Path(sector_csv)
    labels = read_csv_text(sp, ["symbol", "sector"])
    blank = labels["sector"].str.strip() == ""
    if blank.any():
        i = int(blank.to_numpy().nonzero()[0][0])
        raise DataError(f"{sp}: column 'sector', row {i + 1}: empty sector label")
    if labels["symbol"].duplicated().any():
        dup = labels["symbol"][labels["symbol"].duplicated()].iloc[0]
        raise DataError(f"{sp}: column 'symbol': symbol {dup!r} listed twice")
    try:
        wide = pd.read_parquet(rp)
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {rp}: {exc}") from None
    if "date" in wide.columns:
        wide = wide.set_index("date")
    idx = pd.to_datetime(wide.index, errors="coerce", utc=True)
    if idx.isna().any():
        i = int(idx.isna().nonzero()[0][0])
        raise DataError(f"{rp}: index 'date', row {i + 1}: malformed date {wide.index[i]!r}")
    nonnum = [str(c) for c in wide.columns if not pd.api.types.is_numeric_dtype(wide[c])]
    if nonnum:
        raise DataError(f"{rp}: column {nonnum[0]!r}: expected numbers, got {wide[nonnum[0]].dtype}")
    wide = wide.set_axis(idx + pd.Timedelta(days=label_shift_days), axis=0)
    long = wide.rename_axis("date").reset_index().melt(id_vars="date", var_name="symbol", value_name="log_return")
    long = long.dropna(subset=["log_return"])
    sector = dict(zip(labels["symbol"], labels["sector"].str.strip(), strict=True))
    long["sector"] = long["symbol"].map(sector)
    unlabelled = sorted(set(long["symbol"][long["sector"].isna()]))
    if unlabelled:
        log.info("%s: dropped %d symbol(s) without a sector label: %s", rp, len(unlabelled), unlabelled)
    long = long.dropna(subset=["sector"]).sort_values(["date", "symbol"], ignore_index=True)
    present = set(long["symbol"])
    absent = [f"{s} ({sector[s]})" for s in labels["symbol"] if s not in present]
    if absent:
        log.warning("%s: %d labelled symbol(s) missing from the returns panel: %s", rp, len(absent), absent)
    out, repeated = conform("sector_returns", long[["date", "symbol", "sector", "log_return"]], rp)
    roles = ""
    if "role" in labels.columns:
        pairs = labels.drop_duplicates("sector").set_index("sector")["role"].sort_index()
        roles = " Roles: " + ", ".join(f"{k}={v}" for k, v in pairs.items()) + "."
    missing = (
        f"{len(absent)} symbol(s) of {sp.name} missing from the returns panel (their sectors' baskets go "
        f"without them): {', '.join(absent)}. "
        if absent
        else ""
    )
    note = (
        f"wide panel melted to long; empty cells dropped; dates = quantbai label + {label_shift_days} day(s) "
        "(OKX 16:00-UTC candles: a return labelled d ends at d+1 16:00 UTC); all sector labels kept "
        f"(current taxonomy applied to all dates); {len(unlabelled)} unlabelled symbol(s) dropped.{roles}{repeated} "
        f"{missing}Sectors: {', '.join(sorted(out['sector'].unique()))}."
    )
    prov = provenance(rp, out["date"], licence, note)
    return out, Provenance(f"{rp}; {sp}", prov.retrieved_at, prov.licence, prov.notes)
