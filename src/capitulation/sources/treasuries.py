"""Digital-asset-treasury companies (`treasury_companies`) from the dat-tracker-next recorded files.

* `8k-summary.json` (Strategy/MSTR): one row per 8-K filing date that reports btcHoldings
  (`read_mstr_8k_summary`);
* `numerical-snapshot.json`: per-company quarter-end holdings and shares (`earnings`, status
  'reported' only) and the tracker's latest capital stack (`companies`), BTC companies only
  (`read_numerical_snapshot`).

avg_cost_usd is left NaN everywhere. The purchase-event list (btc-events-clean.json) cannot support an
average cost: it misses whole buying periods (no 2020-12..2021 or 2025-04..05 events; its btcAcquired
sums to ~553k BTC against 713,502 BTC held on 2026-02-02), repeats the 2020-08-11 purchase on
2020-09-15, and its totalSpentUsd switches from USD to US$ millions in June 2025 with some values
truncated (2025-08-04: 21,021 BTC 'for 2').

sec-shares-data.json is not used: its share counts are XBRL weighted averages filed as comparative
periods (dates a year before the filing, split-adjusted and unadjusted counts mixed, e.g. MSTR
11.8M then 116.6M), not period-end shares outstanding.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import provenance, read_json

log = logging.getLogger(__name__)

NAMES = {"MSTR": "Strategy"}
"""Company names where the files give none (other tickers are named by their ticker)."""

DIP_TOLERANCE = 0.02
"""A filing whose btcHoldings is more than 2 % below BOTH its neighbours (the previous filing, or the
baseline for the first one, and the next filing) is taken as a parse error and dropped: an isolated dip
that is undone a week later is not a sale (Strategy's only sale, Dec 2022, was ~0.5 % of holdings).
In the recorded file this drops 2025-10-06's 603,750, which is the $603.75M face value of the 2031
convertible notes, not BTC (the 10-Q gives 640,031 BTC at 2025-09-30)."""

NUMERICAL_SNAPSHOT_AS_OF = "2026-03-08"
"""numerical-snapshot.json's `companies` block has no date of its own; PROVENANCE dates the file's last
change to 2026-03-08 (MSTR's 720,737 BTC is the 2026-03-02 8-K figure), so its rows are stamped then."""


def _num(rec: dict[str, Any], key: str, path: Path, where: str, *, required: bool = False) -> float:
    v = rec.get(key)
    if v is None:
        if required:
            raise DataError(f"{path}: {where}: missing field {key!r}")
        return np.nan
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise DataError(f"{path}: {where}: field {key!r}: malformed number {v!r}")
    return float(v)


def _date(rec: dict[str, Any], key: str, path: Path, where: str) -> pd.Timestamp:
    v = rec.get(key)
    t = pd.to_datetime(v, format="%Y-%m-%d", errors="coerce", utc=True) if isinstance(v, str) else pd.NaT
    if pd.isna(t):
        raise DataError(f"{path}: {where}: field {key!r}: malformed date {v!r}")
    return t


def _isolated_dips(held: pd.Series, before: float) -> pd.Series:
    """True where a value is more than `DIP_TOLERANCE` below both neighbours (`before` precedes the
    first value; the last value, having no successor, is never a dip)."""
    prev = held.shift(1)
    if len(prev):
        prev.iloc[0] = before
    nxt = held.shift(-1)
    return (held < prev * (1 - DIP_TOLERANCE)) & (held < nxt * (1 - DIP_TOLERANCE))


def read_mstr_8k_summary(path: str | Path, *, licence: str = "unstated") -> tuple[pd.DataFrame, Provenance]:
    """Strategy (MSTR) rows from `8k-summary.json`: one per filing date with btcHoldings.

    as_of = filing date; shares_basic / shares_diluted = the 10-Q baseline's basic / diluted shares +
    the cumulative atmSharesSold of all filings up to that date (undercounts: the file's own
    `calculated` block shows a gap to the company's count from ATM sales before the weekly format,
    stock compensation and exercises); debt_usd = baseline totalDebt; preferred_usd = baseline
    preferredProceeds + later `preferredIssued.usdEquiv` (proceeds, not notional); cash_usd = the latest
    usdReserve disclosed up to that date (NaN before the first); share_price_usd and avg_cost_usd NaN.
    """
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, dict):
        raise DataError(f"{p}: expected a JSON object")
    base = doc.get("baseline")
    filings = doc.get("8k_filings")
    if not isinstance(base, dict):
        raise DataError(f"{p}: missing field 'baseline'")
    if not isinstance(filings, list):
        raise DataError(f"{p}: missing field '8k_filings'")
    b_basic = _num(base, "sharesOutstandingBasic", p, "baseline", required=True)
    b_dil = _num(base, "sharesOutstandingDiluted", p, "baseline")
    b_debt = _num(base, "totalDebt", p, "baseline")
    b_pref = _num(base, "preferredProceeds", p, "baseline")
    b_btc = _num(base, "btcHoldings", p, "baseline")
    b_as_of = _date(base, "asOf", p, "baseline")
    rows = []
    for i, rec in enumerate(filings):
        where = f"8k_filings record {i}"
        if not isinstance(rec, dict):
            raise DataError(f"{p}: {where}: expected an object")
        issued = rec.get("preferredIssued")
        pref = _num(issued, "usdEquiv", p, f"{where}.preferredIssued") if isinstance(issued, dict) else np.nan
        rows.append(
            {
                "date": _date(rec, "filingDate", p, where),
                "btc": _num(rec, "btcHoldings", p, where),
                "atm": _num(rec, "atmSharesSold", p, where),
                "cash": _num(rec, "usdReserve", p, where),
                "pref": pref,
                "accession": str(rec.get("accession", "")),
            }
        )
    f = pd.DataFrame(rows, columns=["date", "btc", "atm", "cash", "pref", "accession"])
    f = f.sort_values("date", kind="stable", ignore_index=True)
    f["atm_cum"] = f["atm"].fillna(0).cumsum()
    f["pref_cum"] = f["pref"].where(f["date"] > b_as_of).fillna(0).cumsum()
    f["cash_known"] = f["cash"].ffill()
    held = f[f["btc"].notna()]
    same_day = held.duplicated("date", keep="last")
    if same_day.any():
        log.info("%s: %d same-day holdings report(s) superseded by a later one", p, int(same_day.sum()))
        held = held[~same_day]
    held = held.reset_index(drop=True)
    dip = _isolated_dips(held["btc"], b_btc)
    dropped = [f"{d:%Y-%m-%d} ({v:,.0f} BTC)" for d, v in zip(held["date"][dip], held["btc"][dip], strict=True)]
    if dropped:
        log.warning("%s: dropped isolated holdings dip(s) as parse errors: %s", p, ", ".join(dropped))
    held = held[~dip].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "as_of": held["date"],
            "published": held["date"],
            "name": NAMES["MSTR"],
            "ticker": "MSTR",
            "btc_held": held["btc"],
            "avg_cost_usd": np.nan,
            "shares_basic": b_basic + held["atm_cum"],
            "shares_diluted": b_dil + held["atm_cum"],
            "share_price_usd": np.nan,
            "debt_usd": b_debt,
            "preferred_usd": b_pref + held["pref_cum"],
            "cash_usd": held["cash_known"],
            "source": "8-K " + held["accession"] + " (" + p.name + ")",
        }
    )
    out = tables.validate("treasury_companies", out)
    calc = doc.get("calculated") if isinstance(doc.get("calculated"), dict) else {}
    gap = calc.get("gap")
    note = (
        f"MSTR per 8-K filing with btcHoldings (as_of = filing date). Baseline = {base.get('source')} "
        f"(as of {b_as_of:%Y-%m-%d}, filed {base.get('filedDate')}): shares_basic/diluted = baseline + "
        "cumulative weekly-8-K ATM shares, an UNDERCOUNT"
        + (f" (the file's own check: {gap:,} shares short of the company's count)" if gap else "")
        + "; some 8-K ATM periods overlap (2025-12-01 'Nov 17-30' and 2025-12-08 'Nov 24-30'). "
        "debt_usd = baseline totalDebt; preferred_usd = baseline preferredProceeds + later preferred "
        "issues' usdEquiv: PROCEEDS, not notional; cash_usd = latest usdReserve disclosed (NaN before "
        "the first, 2025-12-01). avg_cost_usd NaN: the purchase-event file is incomplete and mixes units. "
        + (f"Dropped isolated holdings dip(s) as parse errors: {', '.join(dropped)}." if dropped else "")
    )
    return out, provenance(p, out["published"], licence, note)


def _published(earnings_date: object, quarter_end: pd.Timestamp, path: Path, where: str) -> pd.Timestamp:
    """When quarter-end figures became public: the earnings date, else quarter end + 45 days (10-Q deadline)."""
    if earnings_date in (None, ""):
        return (quarter_end + pd.Timedelta(days=45)).tz_localize("UTC")
    try:
        return pd.Timestamp(str(earnings_date), tz="UTC")
    except ValueError:
        raise DataError(f"{path}: {where}: field 'earningsDate': malformed date {earnings_date!r}") from None


def read_numerical_snapshot(
    path: str | Path, *, as_of: str = NUMERICAL_SNAPSHOT_AS_OF, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """BTC-treasury rows from dat-tracker's `numerical-snapshot.json`.

    * quarterly history (`earnings`, status 'reported', holdingsAtQuarterEnd present): as_of = quarter
      end, published = the earnings date (quarter end + 45 days when missing), so an as-of run never sees
      them early; btc_held, shares_basic = sharesAtQuarterEnd; other fields NaN;
    * the tracker's current inputs (`companies`): as_of = `as_of`, btc_held = holdings, shares_basic =
      sharesForMnav, debt_usd = totalDebt, preferred_usd = preferredEquity, cash_usd = cashReserves.
      shares_diluted is NaN: the file's diluted count is computed at placeholder prices (stock 1,000).

    Only companies whose `asset` is BTC are kept (holdings of other assets do not fit btc_held);
    tickers in `earnings` without a `companies` entry have no asset and are skipped (logged).
    """
    p = Path(path)
    doc = read_json(p)
    comps = doc.get("companies") if isinstance(doc, dict) else None
    if not isinstance(comps, dict):
        raise DataError(f"{p}: missing field 'companies'")
    earnings = doc.get("earnings", {})
    if not isinstance(earnings, dict):
        raise DataError(f"{p}: field 'earnings': expected an object keyed by ticker")
    stamp = pd.Timestamp(as_of, tz="UTC")
    btc = {t for t, c in comps.items() if isinstance(c, dict) and c.get("asset") == "BTC"}
    rows: list[dict[str, Any]] = []
    no_asset = sorted(set(earnings) - set(comps))
    if no_asset:
        log.info("%s: earnings of %s skipped (no companies entry, asset unknown)", p, ", ".join(no_asset))
    for ticker in sorted(btc & set(earnings)):
        for i, q in enumerate(earnings[ticker]):
            where = f"earnings.{ticker} record {i}"
            if not isinstance(q, dict):
                raise DataError(f"{p}: {where}: expected an object")
            if q.get("status") != "reported" or q.get("holdingsAtQuarterEnd") is None:
                continue
            year, quarter = int(_num(q, "calendarYear", p, where, required=True)), q.get("calendarQuarter")
            if quarter not in (1, 2, 3, 4):
                raise DataError(f"{p}: {where}: field 'calendarQuarter': malformed quarter {quarter!r}")
            end = pd.Period(year=year, quarter=int(quarter), freq="Q").end_time.normalize()
            rows.append(
                _row(
                    end.tz_localize("UTC"),
                    ticker,
                    _num(q, "holdingsAtQuarterEnd", p, where),
                    shares=_num(q, "sharesAtQuarterEnd", p, where),
                    published=_published(q.get("earningsDate"), end, p, where),
                    source=f"{p.name} earnings {year}Q{quarter}",
                )
            )
    for ticker in sorted(btc):
        c, where = comps[ticker], f"companies.{ticker}"
        rows.append(
            _row(
                stamp,
                ticker,
                _num(c, "holdings", p, where, required=True),
                shares=_num(c, "sharesForMnav", p, where),
                debt=_num(c, "totalDebt", p, where),
                pref=_num(c, "preferredEquity", p, where),
                cash=_num(c, "cashReserves", p, where),
                source=f"{p.name} companies (tracker inputs)",
            )
        )
    out = tables.validate("treasury_companies", pd.DataFrame(rows, columns=tables.TREASURY_COMPANIES.names))
    note = (
        f"{len(btc)} BTC-treasury companies. Quarter-end rows from 'earnings' (status reported): as_of = "
        "quarter end, published = the earnings date (quarter end + 45 d if missing). "
        "Current rows from 'companies' "
        f"stamped {as_of} (file last changed; the block has no date); shares_basic = sharesForMnav; "
        "preferred_usd = preferredEquity as the tracker gives it; money fields taken as USD as the tracker "
        "stores them (not checked per company, e.g. 3350.T); shares_diluted NaN (computed at "
        "placeholder prices); mNAV/market-cap fields ignored (placeholder prices); avg_cost_usd NaN."
    )
    return out, provenance(p, out["published"], licence, note)


def _row(
    as_of: pd.Timestamp,
    ticker: str,
    held: float,
    *,
    published: pd.Timestamp | None = None,
    shares: float = np.nan,
    debt: float = np.nan,
    pref: float = np.nan,
    cash: float = np.nan,
    source: str,
) -> dict[str, Any]:
    return {
        "as_of": as_of,
        "published": as_of if published is None else published,
        "name": NAMES.get(ticker, ticker),
        "ticker": ticker,
        "btc_held": held,
        "avg_cost_usd": np.nan,
        "shares_basic": shares,
        "shares_diluted": np.nan,
        "share_price_usd": np.nan,
        "debt_usd": debt,
        "preferred_usd": pref,
        "cash_usd": cash,
        "source": source,
    }
