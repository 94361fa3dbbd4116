"""Whole-market on-chain cost bases per day (`onchain`) from recorded Bitcoin Magazine Pro (BMP) and
checkonchain JSON exports: one JSON array of daily records per file, `date` = 'YYYY-MM-DD'.

    bmp_realized_price.json      {date, realized_price, price}          realized price (USD), BTC close
    bmp_sth_realized_price.json  {date, sth_realized, price, ma200}     short-term-holder realized price
    bmp_mvrv.json                {date, mvrv, price, realized_price}    MVRV rounded to 2 decimals
    bmp_sth_mvrv.json            {date, sth_mvrv, price}                STH-MVRV, stops 2026-01-29
    bmp_sth_vs_lth_supply.json   {date, lth, sth, price}                holder supply split, BTC (labels swapped)
    checkonchain_sth-sopr.json   {date, value}                          STH spent output profit ratio
    checkonchain_lth-sopr.json   {date, value}                          LTH spent output profit ratio

One row per date of any file. Which file wins (the first that has the day):

* price_usd: realized-price file, STH file, supply file, MVRV file, STH-MVRV file. The last two repeat the
  previous day's price on some days (e.g. 2024-07-04: 60,245 against 57,189), so they come last;
* realized_price_usd: realized-price file, then the MVRV file's copy (identical to 2026-07-21, then revised);
* mvrv = price_usd / realized_price_usd, sth_mvrv = price_usd / sth_realized_price_usd wherever both are
  known (the files' own columns are used only on days without them: MVRV is rounded to 2 decimals, and the
  STH-MVRV file equals price / STH realized price to 1e-15 where its price is not stale);
* lth/sth supply: the file labels them the wrong way round (its 'lth' is 3.1-5.9M BTC, its 'sth' 3.4-16.7M).
  Long-term holders hold most of the supply, so when the column labelled 'lth' is the smaller on most
  days the two columns are swapped whole (`swap_holder_labels`), never day by day: in Aug-Nov 2011 the
  correctly-labelled STH supply was the larger, after the June 2011 bubble moved most coins;
* supply days whose lth + sth jumps against the coins issued by then are blanked (`implausible_supply`);
* SOPR: checkonchain fills the days before its series starts with 1 (or 0): the leading run of 0/1 values
  is dropped (STH to 2010-08-15, LTH to 2011-01-17).

Gaps (2025-07-11 and 2026-07-21 in every BMP file, more in the MVRV and supply files) stay gaps: no value
is invented; signals use the last known value with its age. A malformed file is a `DataError` naming
file, field and record (0-based index in the JSON array).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import (
    check_range,
    combine,
    conform,
    numbers,
    present,
    provenance,
    read_json,
    require_rows,
    times,
)
from capitulation.sources.network import subsidy_btc

log = logging.getLogger(__name__)

LICENCE = "none stated; upstream terms apply (Bitcoin Magazine Pro, checkonchain): read in place, never redistribute"

SUPPLY_JUMP = 0.005
"""A supply day is implausible when (lth + sth) / coins issued moves more than this fraction from its median
over the previous `SUPPLY_REFERENCE_DAYS` accepted days. That ratio stays within 1.045-1.050 from 2014 to
2026-07 (day-to-day changes: median 6e-6, 99.9 % below 0.003), the issuance being estimated at 144 blocks a
day; in the recorded file it jumps from 2026-07-24 to 1.077 by 2026-08-20, ~0.6M BTC that were never mined."""
SUPPLY_REFERENCE_DAYS = 30


@dataclass(frozen=True)
class _File:
    name: str
    fields: dict[str, str]  # JSON field -> column of the part frame
    optional: tuple[str, ...] = ()


FILES = (
    _File("bmp_realized_price.json", {"realized_price": "realized_price_usd", "price": "price"}),
    _File("bmp_sth_realized_price.json", {"sth_realized": "sth_realized_price_usd", "price": "price"}),
    _File("bmp_sth_vs_lth_supply.json", {"lth": "lth", "sth": "sth", "price": "price"}),
    _File("bmp_mvrv.json", {"mvrv": "mvrv", "price": "price", "realized_price": "realized_price_usd"}),
    _File("bmp_sth_mvrv.json", {"sth_mvrv": "sth_mvrv", "price": "price"}),
    _File("checkonchain_sth-sopr.json", {"value": "sth_sopr"}),
    _File("checkonchain_lth-sopr.json", {"value": "lth_sopr"}),
)
"""The recorded files, in the order their values win (see the module docstring)."""

_TABLE_COLUMN = {"price": "price_usd", "lth": "lth_supply_btc", "sth": "sth_supply_btc"}
"""The `onchain` column of a part frame's column, where the names differ."""

POSITIVE = tables.Column("value", "float", "", low=0.0, low_open=True)
"""The range of a field without a column of its own: > 0 (and finite, within `tables.MAGNITUDE`)."""


def field_ranges(f: _File) -> dict[str, tables.Column]:
    """The `onchain` column whose range each JSON field of `f` must keep."""
    cols = {c.name: c for c in tables.ONCHAIN.columns}
    return {field: cols[_TABLE_COLUMN.get(part, part)] for field, part in f.fields.items()}


def read_records(
    path: str | Path, fields: Sequence[str], ranges: Mapping[str, tables.Column] | None = None
) -> pd.DataFrame:
    """A JSON array of daily records -> frame (date, *fields), sorted by date; values float64, null -> NaN.

    `DataError` naming the file, the field and the record (0-based) for: not an array, a record that is not
    an object, a missing field, a malformed date or number, a non-positive value, a value out of its
    column's range (`ranges`: field -> column; else `POSITIVE`, which also rejects inf and 1e300), a
    repeated date.
    """
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, list):
        raise DataError(f"{p}: expected a JSON array of daily records, got {type(doc).__name__}")
    require_rows(doc, p, "daily records")
    for i, rec in enumerate(doc):
        if not isinstance(rec, dict):
            raise DataError(f"{p}: record {i}: not an object ({str(rec)[:40]!r})")
        for f in ("date", *fields):
            if f not in rec:
                raise DataError(f"{p}: field {f!r}, record {i}: missing")
    raw = pd.DataFrame({f: pd.Series([rec[f] for rec in doc], dtype=object) for f in ("date", *fields)})
    out = pd.DataFrame({"date": times(raw["date"], p, "date", "%Y-%m-%d", row="record")})
    for f in fields:
        out[f] = numbers(raw[f], p, f, blank_ok=True, row="record")
        bad = out[f] <= 0
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{p}: field {f!r}, record {i}: not a positive number {raw[f].iloc[i]!r}")
        check_range(out[f], (ranges or {}).get(f, POSITIVE), p, f, row="record")
    dup = out["date"].duplicated(keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{p}: field 'date', record {i}: date {raw['date'].iloc[i]!r} appears twice")
    return out.sort_values("date", ignore_index=True)


def drop_filler(values: pd.Series) -> tuple[pd.Series, int]:
    """`values` (in date order) without its leading run of exactly 0 or 1 (a series' filler before it
    starts); the count dropped. Later values of exactly 1 are kept."""
    real = ~values.isin([0.0, 1.0]) & values.notna()
    n = int(np.argmax(real.to_numpy())) if real.any() else len(values)
    return values.iloc[n:], n


def swap_holder_labels(lth: pd.Series, sth: pd.Series) -> tuple[pd.Series, pd.Series, bool]:
    """(long-term, short-term, swapped): the two supply columns, swapped whole when the one labelled
    long-term is the smaller on most days (long-term holders hold most coins in every cycle since 2012)."""
    both = lth.notna() & sth.notna()
    swapped = bool(both.any() and (lth[both] < sth[both]).mean() > 0.5)
    return (sth, lth, True) if swapped else (lth, sth, False)


def implausible_supply(dates: pd.Series, total_btc: pd.Series) -> np.ndarray:
    """True on days whose total holder supply (BTC) jumps against the coins issued by then (`SUPPLY_JUMP`).

    Issued coins are estimated as the cumulative subsidy at 144 blocks a day since 2009-01-03 (protocol
    schedule, `sources.network.HALVINGS`); only the ratio's stability is used, not its level (blocks come
    ~5 % faster than 144 a day as hashrate grows, which puts the ratio near 1.05).
    """
    d = pd.to_datetime(dates, utc=True).reset_index(drop=True)
    if d.empty:
        return np.zeros(0, dtype=bool)
    days = pd.date_range(pd.Timestamp("2009-01-03", tz="UTC"), d.max(), freq="D")
    issued = pd.Series(np.nan_to_num(subsidy_btc(pd.Series(days))) * 144.0, index=days).cumsum()
    ratio = total_btc.to_numpy(dtype=float) / issued.reindex(d).to_numpy()
    bad = np.zeros(len(ratio), dtype=bool)
    accepted: list[float] = []
    for i, r in enumerate(ratio):
        if not np.isfinite(r):
            continue
        ref = accepted[-SUPPLY_REFERENCE_DAYS:]
        if len(ref) >= 10 and abs(r / float(np.median(ref)) - 1.0) > SUPPLY_JUMP:
            bad[i] = True
        else:
            accepted.append(float(r))
    return bad


def _first(parts: list[pd.Series], index: pd.DatetimeIndex) -> pd.Series:
    """Per date, the first non-null value of `parts` (in order)."""
    out = pd.Series(np.nan, index=index)
    for s in parts:
        out = out.fillna(s.reindex(index))
    return out


def _agreement(a: pd.Series, b: pd.Series) -> tuple[int, int, float]:
    """(days both known, days differing by more than 0.1 %, largest relative difference)."""
    both = pd.concat([a, b], axis=1, join="inner").dropna()
    rel = (both.iloc[:, 0] / both.iloc[:, 1] - 1.0).abs()
    return len(rel), int((rel > 1e-3).sum()), float(rel.max()) if len(rel) else float("nan")


def read_onchain_folder(folder: str | Path) -> tuple[pd.DataFrame, Provenance] | None:
    """Every recorded file of `FILES` found in `folder` merged into `onchain` rows; None when none is there."""
    root = Path(folder)
    parts: dict[str, pd.DataFrame] = {}
    provs: list[Provenance] = []
    notes: list[str] = []
    for f in FILES:
        path = root / f.name
        if not present(path):
            continue
        df = read_records(path, list(f.fields), field_ranges(f)).rename(columns=f.fields).set_index("date")
        note = ""
        if "sth_sopr" in df or "lth_sopr" in df:
            col = df.columns[0]
            kept, n = drop_filler(df[col])
            note = f"leading filler dropped: {n} day(s) of 0/1 before {kept.index.min():%Y-%m-%d}." if n else ""
            df = kept.to_frame()
        parts[f.name] = df
        provs.append(provenance(path, df.index.to_series(), LICENCE, note))
    if not parts:
        return None
    index = pd.DatetimeIndex(sorted(set().union(*(p.index for p in parts.values()))), name="date")
    col = {
        c: [p[c] for p in parts.values() if c in p] for c in ("price", "realized_price_usd", "sth_realized_price_usd")
    }
    price = _first(col["price"], index)
    rp = _first(col["realized_price_usd"], index)
    sth_rp = _first(col["sth_realized_price_usd"], index)
    own = {c: _first([p[c] for p in parts.values() if c in p], index) for c in ("mvrv", "sth_mvrv")}
    out = pd.DataFrame(
        {
            "date": index,
            "price_usd": price.to_numpy(),
            "realized_price_usd": rp.to_numpy(),
            "sth_realized_price_usd": sth_rp.to_numpy(),
            "mvrv": (price / rp).fillna(own["mvrv"]).to_numpy(),
            "sth_mvrv": (price / sth_rp).fillna(own["sth_mvrv"]).to_numpy(),
            "lth_supply_btc": np.nan,
            "sth_supply_btc": np.nan,
            "sth_sopr": _first([p["sth_sopr"] for p in parts.values() if "sth_sopr" in p], index).to_numpy(),
            "lth_sopr": _first([p["lth_sopr"] for p in parts.values() if "lth_sopr" in p], index).to_numpy(),
        }
    )
    supply = parts.get("bmp_sth_vs_lth_supply.json")
    if supply is not None:
        lth, sth, swapped = swap_holder_labels(supply["lth"], supply["sth"])
        bad = implausible_supply(supply.index.to_series(), lth + sth)
        lth, sth = lth.where(~bad), sth.where(~bad)
        out["lth_supply_btc"] = lth.reindex(index).to_numpy()
        out["sth_supply_btc"] = sth.reindex(index).to_numpy()
        if swapped:
            notes.append("supply labels swapped in the file: its 'sth' column (the larger) read as lth_supply_btc")
        if bad.any():
            first = supply.index[bad][0]
            notes.append(
                f"{int(bad.sum())} supply day(s) from {first:%Y-%m-%d} blanked: lth + sth jumps by more than "
                f"{SUPPLY_JUMP:.1%} against the coins issued (coins that were never mined)"
            )
    labels = np.full(len(index), "", dtype=object)
    for name, part in parts.items():
        has = part.notna().any(axis=1).reindex(index, fill_value=False).to_numpy(dtype=bool)
        labels = np.where(has, labels + Path(name).stem + "+", labels)
    out["source"] = [str(s).rstrip("+") for s in labels]
    out, _ = conform("onchain", out, root)  # one row per date by construction
    notes += _checks(parts, out)
    prov = combine(provs)
    head = (
        "mvrv = price / realized price and sth_mvrv = price / STH realized price wherever both are known (the "
        "files' own columns only on other days); price, realized price: first file that has the day in the "
        "order realized-price, STH, supply, MVRV, STH-MVRV; gaps left as gaps. "
    )
    return out, Provenance(prov.source, prov.retrieved_at, prov.licence, head + "; ".join(notes) + " | " + prov.notes)


def _checks(parts: dict[str, pd.DataFrame], out: pd.DataFrame) -> list[str]:
    """Agreement of the files where they overlap, as provenance sentences."""
    notes = []
    base = parts.get("bmp_realized_price.json")
    for name, p in parts.items():
        if base is not None and name != "bmp_realized_price.json" and "price" in p:
            n, off, worst = _agreement(p["price"], base["price"])
            notes.append(
                f"price of {name} vs the realized-price file: {off} of {n} days differ by > 0.1 % (max {worst:.1%})"
            )
    mv = parts.get("bmp_mvrv.json")
    if mv is not None:
        own = (mv["mvrv"] - mv["price"] / mv["realized_price_usd"]).abs()
        ours = (mv["mvrv"] - out.set_index("date")["mvrv"].reindex(mv.index)).abs()
        notes.append(
            f"bmp_mvrv.json: its mvrv = its price / its realized price to {own.max():.4f} (2-decimal rounding), "
            f"{(ours > 0.0051).sum()} day(s) off our mvrv by more than the rounding (stale price or revised "
            "realized price)"
        )
        if base is not None:
            n, off, worst = _agreement(mv["realized_price_usd"], base["realized_price_usd"])
            notes.append(
                f"realized price of bmp_mvrv.json vs the realized-price file: {off} of {n} days differ by > 0.1 % "
                f"(max {worst:.1%})"
            )
    sm = parts.get("bmp_sth_mvrv.json")
    if sm is not None:
        ours = (sm["sth_mvrv"] - out.set_index("date")["sth_mvrv"].reindex(sm.index)).abs()
        notes.append(f"bmp_sth_mvrv.json vs price / STH realized price: {(ours > 1e-9).sum()} of {len(sm)} days differ")
    return notes
