"""Bitcoin network per day (`btc_network`) from recorded blockchain.com / Coin Metrics / Glassnode exports.

* `hashrate.csv` (`date,hashrate`, TH/s) -> hashrate_ehs = TH/s / 1e6;
* `difficulty.csv` (`date,difficulty`); a recorded difficulty of 0 on the days before block 1
  (2009-01-04..08: no block was mined, the protocol minimum is 1) is read as missing (NaN); a 0 from
  `FIRST_BLOCK_DAY` on is a `DataError` (every later day mined blocks: hashrate.csv is > 0 on all of them);
* daily total fees in BTC, either Coin Metrics (`active_addresses,fees_btc,tx_count,date`; date is the
  last column) or Glassnode-style (`t,total_fees`) -> fees_btc_per_block = daily fees / blocks that day,
  with blocks/day = hashrate * 86400 / (difficulty * 2^32). blockchain.com computes its hashrate from
  the day's block count and difficulty, so this inverts it (it returns whole numbers to ~1e-13 on
  almost every day) rather than assuming 144; a day's total of 0 from `FEES_PAID_FROM` on is a
  `DataError` (a missing value written as 0, not a reading);
* subsidy_btc from the halving schedule by date (`HALVINGS`); height is not recorded (NaN).

Each file's values are checked against their column's range (`tables.BTC_NETWORK`; daily fees >= 0)
before the files are merged, so that an error names the file, column and row that hold the value.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    one_per_key,
    provenance,
    read_csv_text,
    repeats_note,
    times,
)

log = logging.getLogger(__name__)

HALVINGS: tuple[tuple[str, float], ...] = (
    ("2012-11-28", 25.0),
    ("2016-07-09", 12.5),
    ("2020-05-11", 6.25),
    ("2024-04-20", 3.125),
)
"""(UTC date of the halving block, subsidy in BTC per block from then): protocol facts (50 BTC at genesis,
halved every 210,000 blocks: heights 210,000 / 420,000 / 630,000 / 840,000). A halving date's row gets
the new subsidy although the first blocks of that day still paid the old one."""

SUBSIDY_KNOWN_UNTIL = pd.Timestamp("2028-01-01", tz="UTC")
"""The fifth halving (height 1,050,000) is expected in spring 2028 but its date is not a fact yet, so
subsidy_btc is NaN from this date on."""

FIRST_BLOCK_DAY = pd.Timestamp("2009-01-09", tz="UTC")
"""UTC day of block 1 (2009-01-09 02:54 UTC; the genesis block is 2009-01-03): the days between mined no
block, so their difficulty (and hashrate) of 0 is no reading; from this day on a 0 cannot be recorded."""

FEES_PAID_FROM = pd.Timestamp("2013-01-01", tz="UTC")
"""From this day on every day's ~144 blocks carried fee-paying transactions, so a day's total fees of 0 is a
missing value written as 0 (the recorded minima: 5.34 BTC a day in btc_total_fees.csv, 2016-2022, and 1.89
in coinmetrics.csv, 2025-11..2026-02). Earlier days may really have paid no fee."""

DAILY_FEES = tables.Column("fees_btc", "float", "BTC per day", low=0.0)
"""A file's daily total fees: >= 0 (and finite, within `tables.MAGNITUDE`)."""

TH_PER_EH = 1e6
_DAY = "%Y-%m-%d"

HASHRATE_THS = tables.Column("hashrate", "float", "TH/s", low=0.0, high=tables.HASHRATE_MAX_EHS * TH_PER_EH)
"""A hashrate file's range, in its unit (TH/s): `btc_network.hashrate_ehs`'s."""


def subsidy_btc(dates: pd.Series) -> np.ndarray:
    """Block subsidy in BTC per block in effect on each UTC date (see `HALVINGS`); NaN from
    `SUBSIDY_KNOWN_UNTIL` on."""
    d = pd.to_datetime(dates, utc=True)
    cuts = pd.to_datetime([h for h, _ in HALVINGS], utc=True)
    values = np.array([50.0] + [v for _, v in HALVINGS])
    idx = np.searchsorted(cuts.to_numpy(), d.to_numpy(), side="right")
    out = values[idx]
    out[(d >= SUBSIDY_KNOWN_UNTIL).to_numpy()] = np.nan
    return out


def read_hashrate(path: str | Path, *, licence: str = "MIT") -> tuple[pd.DataFrame, Provenance]:
    """`date,hashrate` in TH/s -> frame (date, hashrate_ehs in EH/s); `DataError` naming file, column and row
    for a value out of `btc_network`'s range."""
    p = Path(path)
    df = read_csv_text(p, ["date", "hashrate"])
    ths = numbers(df["hashrate"], p, "hashrate")
    check_range(ths, HASHRATE_THS, p, "hashrate")
    out = pd.DataFrame({"date": times(df["date"], p, "date", _DAY), "hashrate_ehs": ths / TH_PER_EH})
    out, repeated = one_per_key(out, ["date"], p)
    note = "hashrate TH/s -> EH/s (/1e6)." + repeats_note(repeated)
    return out, provenance(p, out["date"], licence, note)


def _column(name: str) -> tables.Column:
    return next(c for c in tables.BTC_NETWORK.columns if c.name == name)


def _zero_from(values: pd.Series, stamps: pd.Series, since: pd.Timestamp, p: Path, column: str, why: str) -> None:
    """`DataError` naming file, column and row (1-based) of the first 0 dated `since` or later."""
    bad = ((values == 0) & (stamps >= since)).to_numpy()
    if bad.any():
        i = int(bad.nonzero()[0][0])
        raise DataError(f"{p}: column {column!r}, row {i + 1}: 0 on {stamps.iloc[i]:%Y-%m-%d}: {why}")


def read_difficulty(path: str | Path, *, licence: str = "MIT") -> tuple[pd.DataFrame, Provenance]:
    """`date,difficulty` -> frame (date, difficulty); a 0 before `FIRST_BLOCK_DAY` (no block mined) is
    missing (NaN); a 0 from that day on, or a value out of range (>= 1), is a `DataError`."""
    p = Path(path)
    df = read_csv_text(p, ["date", "difficulty"])
    diff = numbers(df["difficulty"], p, "difficulty")
    stamps = times(df["date"], p, "date", _DAY)
    _zero_from(diff, stamps, FIRST_BLOCK_DAY, p, "difficulty", "the minimum is 1 once blocks are mined: not a reading")
    zero = int((diff == 0).sum())
    diff = diff.where(diff != 0)
    check_range(diff, _column("difficulty"), p, "difficulty")
    out, repeated = one_per_key(pd.DataFrame({"date": stamps, "difficulty": diff}), ["date"], p)
    note = (
        f"{zero} day(s) before block 1 with difficulty 0 (no block mined) read as missing (NaN)." if zero else ""
    ) + repeats_note(repeated)
    return out, provenance(p, out["date"], licence, note)


def read_daily_fees(path: str | Path, *, licence: str | None = None) -> tuple[pd.DataFrame, Provenance]:
    """Daily total miner fees in BTC -> frame (date, fees_btc), from a Coin Metrics export
    (`fees_btc`, `date`) or a Glassnode-style one (`t`, `total_fees`), recognised by their columns.
    Licence default: MIT for the Coin Metrics file (lukmol/gamlss-btc-VaR), 'unstated' for Glassnode.
    `DataError` naming file, column and row for a negative or non-finite total, or a 0 from `FEES_PAID_FROM` on."""
    p = Path(path)
    head = read_csv_text(p, [])
    if {"fees_btc", "date"} <= set(head.columns):
        dcol, fcol, lic = "date", "fees_btc", "MIT"
    elif {"t", "total_fees"} <= set(head.columns):
        dcol, fcol, lic = "t", "total_fees", "unstated"
    else:
        raise DataError(f"{p}: missing column 'fees_btc' (Coin Metrics) or 'total_fees' (Glassnode-style)")
    fees, stamps = numbers(head[fcol], p, fcol), times(head[dcol], p, dcol, _DAY)
    check_range(fees, DAILY_FEES, p, fcol)
    _zero_from(fees, stamps, FEES_PAID_FROM, p, fcol, "blocks have paid fees every day since 2013: not a reading")
    out = pd.DataFrame({"date": stamps, "fees_btc": fees})
    out, repeated = one_per_key(out, ["date"], p)
    note = f"daily total fees in BTC from column {fcol!r}." + repeats_note(repeated)
    return out, provenance(p, out["date"], licence or lic, note)


def read_btc_network(
    hashrate_csv: str | Path, difficulty_csv: str | Path, fee_csvs: Sequence[str | Path] = ()
) -> tuple[pd.DataFrame, Provenance]:
    """`btc_network` per day: one row per date of the hashrate or difficulty file.

    Fee files are taken in order; a date already given by an earlier fee file is not taken again. Fee
    dates with no hashrate/difficulty row are dropped (logged); fees on a day whose block count cannot
    be estimated (zero or missing hashrate/difficulty) give NaN, never inf.
    """
    hr, p_hr = read_hashrate(hashrate_csv)
    df_, p_df = read_difficulty(difficulty_csv)
    net = hr.merge(df_, on="date", how="outer", validate="one_to_one").sort_values("date", ignore_index=True)
    # blockchain.com writes 0 for both on the days without a block (2009-01-04..08, before block 1); a 0
    # hashrate on a day with a difficulty is a missing value written as 0, not a reading.
    no_reading = ((net["hashrate_ehs"] == 0) & net["difficulty"].notna()).to_numpy()
    if no_reading.any():
        day = net["date"].iloc[int(no_reading.nonzero()[0][0])]
        raise DataError(f"{p_hr.source}: column 'hashrate', date {day:%Y-%m-%d}: 0 on a day with a difficulty")
    provs = [p_hr, p_df]
    fees = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "fees_btc": pd.Series(dtype=float)})
    for f in fee_csvs:
        part, prov = read_daily_fees(f)
        fees = pd.concat([fees, part[~part["date"].isin(fees["date"])]], ignore_index=True)
        provs.append(prov)
    outside = int((~fees["date"].isin(net["date"])).sum())
    if outside:
        log.info("btc_network: %d fee row(s) on dates without hashrate/difficulty dropped", outside)
    net = net.merge(fees, on="date", how="left", validate="one_to_one")
    blocks = net["hashrate_ehs"] * TH_PER_EH * 1e12 * 86400 / (net["difficulty"] * 2.0**32)
    blocks = blocks.where(blocks > 0)
    out = pd.DataFrame(
        {
            "date": net["date"],
            "height": np.nan,
            "difficulty": net["difficulty"],
            "hashrate_ehs": net["hashrate_ehs"],
            "fees_btc_per_block": net["fees_btc"] / blocks,
            "subsidy_btc": subsidy_btc(net["date"]),
        }
    )
    out = conform("btc_network", out, Path(hashrate_csv))[0]
    note = (
        "fees_btc_per_block = daily total fees / blocks that day, blocks estimated as "
        "hashrate*86400/(difficulty*2^32) (inverts blockchain.com's hashrate; NaN where that is 0 or "
        "unknown); subsidy_btc from the halving schedule by date (halving dates 2012-11-28, 2016-07-09, "
        "2020-05-11, 2024-04-20; NaN from 2028); height not recorded (NaN)."
        + (f" {outside} fee row(s) outside the hashrate/difficulty dates dropped." if outside else "")
    )
    prov = combine(provs)
    return out, Provenance(prov.source, prov.retrieved_at, prov.licence, f"{note} | {prov.notes}")
