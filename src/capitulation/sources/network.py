"""Bitcoin network per day (`btc_network`) from recorded blockchain.com / Coin Metrics / Glassnode exports.

* `hashrate.csv` (`date,hashrate`, TH/s) -> hashrate_ehs = TH/s / 1e6;
* `difficulty.csv` (`date,difficulty`); a recorded difficulty of 0 (2009-01-04..08; the protocol minimum
  is 1) is read as NaN;
* daily total fees in BTC, either Coin Metrics (`active_addresses,fees_btc,tx_count,date`; date is the
  last column) or Glassnode-style (`t,total_fees`) -> fees_btc_per_block = daily fees / blocks that day,
  with blocks/day = hashrate * 86400 / (difficulty * 2^32). blockchain.com computes its hashrate from
  the day's block count and difficulty, so this inverts it (it returns whole numbers to ~1e-13 on
  almost every day) rather than assuming 144;
* subsidy_btc from the halving schedule by date (`HALVINGS`); height is not recorded (NaN).
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
from capitulation.sources._files import combine, numbers, provenance, read_csv_text, times

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

TH_PER_EH = 1e6
_DAY = "%Y-%m-%d"


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
    """`date,hashrate` in TH/s -> frame (date, hashrate_ehs in EH/s)."""
    p = Path(path)
    df = read_csv_text(p, ["date", "hashrate"])
    out = pd.DataFrame(
        {"date": times(df["date"], p, "date", _DAY), "hashrate_ehs": numbers(df["hashrate"], p, "hashrate") / TH_PER_EH}
    )
    return out, provenance(p, out["date"], licence, "hashrate TH/s -> EH/s (/1e6).")


def read_difficulty(path: str | Path, *, licence: str = "MIT") -> tuple[pd.DataFrame, Provenance]:
    """`date,difficulty` -> frame (date, difficulty); a recorded 0 becomes NaN (the minimum is 1)."""
    p = Path(path)
    df = read_csv_text(p, ["date", "difficulty"])
    diff = numbers(df["difficulty"], p, "difficulty")
    zero = int((diff == 0).sum())
    out = pd.DataFrame({"date": times(df["date"], p, "date", _DAY), "difficulty": diff.where(diff != 0)})
    note = f"{zero} row(s) with difficulty 0 read as NaN." if zero else ""
    return out, provenance(p, out["date"], licence, note)


def read_daily_fees(path: str | Path, *, licence: str | None = None) -> tuple[pd.DataFrame, Provenance]:
    """Daily total miner fees in BTC -> frame (date, fees_btc), from a Coin Metrics export
    (`fees_btc`, `date`) or a Glassnode-style one (`t`, `total_fees`), recognised by their columns.
    Licence default: MIT for the Coin Metrics file (lukmol/gamlss-btc-VaR), 'unstated' for Glassnode."""
    p = Path(path)
    head = read_csv_text(p, [])
    if {"fees_btc", "date"} <= set(head.columns):
        dcol, fcol, lic = "date", "fees_btc", "MIT"
    elif {"t", "total_fees"} <= set(head.columns):
        dcol, fcol, lic = "t", "total_fees", "unstated"
    else:
        raise DataError(f"{p}: missing column 'fees_btc' (Coin Metrics) or 'total_fees' (Glassnode-style)")
    out = pd.DataFrame({"date": times(head[dcol], p, dcol, _DAY), "fees_btc": numbers(head[fcol], p, fcol)})
    return out, provenance(p, out["date"], licence or lic, f"daily total fees in BTC from column {fcol!r}.")


def _one_per_date(part: tuple[pd.DataFrame, Provenance]) -> tuple[pd.DataFrame, Provenance]:
    """`part` unchanged; `DataError` naming its file and both rows when a date is given twice (the files are
    merged on the date, one row each)."""
    df, prov = part
    dup = np.flatnonzero(df["date"].duplicated(keep=False).to_numpy())
    if len(dup):
        first, again = (int(i) for i in np.flatnonzero((df["date"] == df["date"].iloc[dup[0]]).to_numpy())[:2])
        day = df["date"].iloc[first]
        raise DataError(f"{prov.source}: column 'date', rows {first + 1} and {again + 1}: {day:%Y-%m-%d} given twice")
    return part


def read_btc_network(
    hashrate_csv: str | Path, difficulty_csv: str | Path, fee_csvs: Sequence[str | Path] = ()
) -> tuple[pd.DataFrame, Provenance]:
    """`btc_network` per day: one row per date of the hashrate or difficulty file.

    Fee files are taken in order; a date already given by an earlier fee file is not taken again. Fee
    dates with no hashrate/difficulty row are dropped (logged); fees on a day whose block count cannot
    be estimated (zero or missing hashrate/difficulty) give NaN, never inf.
    """
    hr, p_hr = _one_per_date(read_hashrate(hashrate_csv))
    df_, p_df = _one_per_date(read_difficulty(difficulty_csv))
    net = hr.merge(df_, on="date", how="outer", validate="one_to_one").sort_values("date", ignore_index=True)
    provs = [p_hr, p_df]
    fees = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "fees_btc": pd.Series(dtype=float)})
    for f in fee_csvs:
        part, prov = _one_per_date(read_daily_fees(f))
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
    out = tables.validate("btc_network", out)
    note = (
        "fees_btc_per_block = daily total fees / blocks that day, blocks estimated as "
        "hashrate*86400/(difficulty*2^32) (inverts blockchain.com's hashrate; NaN where that is 0 or "
        "unknown); subsidy_btc from the halving schedule by date (halving dates 2012-11-28, 2016-07-09, "
        "2020-05-11, 2024-04-20; NaN from 2028); height not recorded (NaN)."
        + (f" {outside} fee row(s) outside the hashrate/difficulty dates dropped." if outside else "")
    )
    prov = combine(provs)
    return out, Provenance(prov.source, prov.retrieved_at, prov.licence, f"{note} | {prov.notes}")
