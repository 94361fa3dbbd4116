"""Digital-asset-treasury companies and their capital stack from the dat-tracker-next recorded files:
`treasury_companies`, `treasury_instruments` and `treasury_charges`.

* `8k-summary.json` (Strategy/MSTR): one row per 8-K filing date that reports btcHoldings
  (`read_mstr_8k_summary`), with the average cost rolled forward from the purchase events beside it;
* `numerical-snapshot.json`: per-company quarter-end holdings and shares (`earnings`, status
  'reported' only) and the tracker's latest capital stack (`companies`), BTC companies only
  (`read_numerical_snapshot`); its `dilutiveInstruments` (convertibles with conversion prices, warrants,
  options, RSUs) form `treasury_instruments` (`read_dilutive_instruments`: whether one counts as shares
  depends on the share price of the day, `analytics.treasury.dilute`);
* a user-editable TOML file (`read_stack_file`, bundled: capitulation/data/treasuries.toml) of hand-entered
  public facts: extra or corrected company rows, convertible coupons (`attach_coupons`) and annual charges
  (`treasury_charges`), each with its date and source. `sources.recorded` merges it over the recorded files.

avg_cost_usd: only MSTR, and only from the first 8-K whose aggregate holdings line the purchase-event
parser took for a purchase (see `mstr_average_cost`). The purchase-event list (btc-events*.json) cannot
support a cost from its sums: it misses whole buying periods (no 2020-12..2021 or 2025-04..05 events; its
btcAcquired sums to ~553k BTC against 713,502 BTC held on 2026-02-02), repeats the 2020-08-11 purchase
on 2020-09-15, and its totalSpentUsd switches from USD to US$ millions in June 2025 with some values
truncated (2025-08-04: 21,021 BTC 'for 2'). Its avgPriceUsd is USD per BTC throughout.

sec-shares-data.json is not used: its share counts are XBRL weighted averages filed as comparative
periods (dates a year before the filing, split-adjusted and unadjusted counts mixed, e.g. MSTR
11.8M then 116.6M), not period-end shares outstanding.
"""

from __future__ import annotations

import logging
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capitulation import tables
from capitulation.errors import DataError
from capitulation.snapshot import Provenance
from capitulation.sources._files import (
    check_not_after_written,
    conform,
    one_per_key,
    present,
    provenance,
    read_json,
    repeats_note,
    require_file,
    require_rows,
)

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
    if not math.isfinite(v):  # JSON has no NaN or Infinity (Python writes them): null is 'not given'
        raise DataError(f"{path}: {where}: field {key!r}: not a finite number {v!r}")
    return float(v)


def _require(rec: dict[str, Any], keys: tuple[str, ...], path: Path, where: str) -> None:
    """`DataError` when `rec` lacks one of `keys` (a null value is allowed: the file writes null for 'none';
    a field absent from a record is a column lost, not a value left out)."""
    lost = [k for k in keys if k not in rec]
    if lost:
        raise DataError(f"{path}: {where}: missing field {lost[0]!r}")


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


EVENTS_FILE = "btc-events.json"
"""The raw purchase-event file beside 8k-summary.json. The 'clean' variant drops the one row the average
cost is anchored on (2025-12-22: the aggregate line, 671,268 BTC at 74,972 USD/BTC, read as a purchase)."""

EVENT_FIELDS = ("filingDate", "btcAcquired", "avgPriceUsd")
"""Fields every purchase-event record carries (null where the parser found no number)."""


def read_purchase_events(path: str | Path) -> tuple[pd.DataFrame, str]:
    """MSTR purchase events (`btc-events*.json`) in date order: date (filingDate, UTC), btc (btcAcquired,
    BTC) and price_usd (avgPriceUsd, USD per BTC), one per filing date; and a note of what was left out.

    A record whose btcAcquired or avgPriceUsd is null is skipped and counted (the file's 2020-08-11 and
    its repeat 2020-09-15 have no price); a record repeating an earlier one is dropped and counted.
    `DataError` naming the file, record and field for a missing field, a malformed or non-finite number,
    btcAcquired outside (0, 21e6] (the file lists acquisitions) or avgPriceUsd outside (0, PRICE_MAX], a
    filing date after the file was written, and two different events on one filing date.
    """
    p = Path(path)
    doc = read_json(p)
    if not isinstance(doc, list):
        raise DataError(f"{p}: expected a JSON list of purchase events")
    require_rows(doc, p, "purchase events")
    rows = []
    for i, rec in enumerate(doc):
        where = f"record {i}"
        if not isinstance(rec, dict):
            raise DataError(f"{p}: {where}: expected an object")
        _require(rec, EVENT_FIELDS, p, where)
        btc, price = _num(rec, "btcAcquired", p, where), _num(rec, "avgPriceUsd", p, where)
        rows.append((_date(rec, "filingDate", p, where), btc, price))
    f = pd.DataFrame(rows, columns=list(EVENT_FIELDS))
    for col, high in (("btcAcquired", tables.BTC_SUPPLY_MAX), ("avgPriceUsd", tables.PRICE_MAX)):
        bad = (f[col].notna() & ~((f[col] > 0) & (f[col] <= high))).to_numpy()
        if bad.any():
            i = int(bad.nonzero()[0][0])
            raise DataError(f"{p}: record {i}: field {col!r}: out of range (valid: > 0 and <= {high:g}): {f[col][i]:g}")
    check_not_after_written(p, f["filingDate"])
    f, repeated = one_per_key(f, ["filingDate"], p, first_row=0)
    unpriced = f["btcAcquired"].isna() | f["avgPriceUsd"].isna()
    f = f[~unpriced].sort_values("filingDate", kind="stable", ignore_index=True)
    notes = [f"{int(unpriced.sum())} event(s) without btcAcquired or avgPriceUsd skipped."] if unpriced.any() else []
    if repeated:
        notes.append(repeats_note(repeated, "event").strip())
    return f.set_axis(["date", "btc", "price_usd"], axis=1), " ".join(f"{p.name}: {n}" for n in notes)


def mstr_average_cost(held: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.Series, list[str]]:
    """Average cost (USD per BTC) of each 8-K holdings row (`held`: date, btc), NaN where unknown.

    Anchor: the latest event whose btcAcquired equals the 8-K holdings of the same filing date - the
    parser read the aggregate line ('N BTC acquired at ~P per bitcoin') as a purchase, so P is the
    average cost of all N then. Later rows roll forward: cost += sum(events' btc x price) between the two
    filings, and any holdings increase the events do not explain is priced at the last event price in that
    window (named in the returned notes). A window it cannot price (no event, or events above the increase)
    leaves the cost unknown from there on.
    """
    avg = pd.Series(np.nan, index=held.index)
    notes: list[str] = []
    same = events.merge(held, on="date", suffixes=("_event", "_held"))
    anchor = same[same["btc_event"] == same["btc_held"]]
    if anchor.empty:
        return avg, notes
    a = anchor.iloc[-1]
    notes.append(
        f"anchored on the {a['date']:%Y-%m-%d} aggregate line: {a['btc_held']:,.0f} BTC at "
        f"{a['price_usd']:,.0f} USD/BTC"
    )
    start = int(held.index[held["date"] == a["date"]][-1])
    cost, prev_date, prev_btc = a["btc_held"] * a["price_usd"], a["date"], a["btc_held"]
    avg[start] = a["price_usd"]
    for i in held.index[held.index > start]:
        date, btc = held.at[i, "date"], held.at[i, "btc"]
        window = events[(events["date"] > prev_date) & (events["date"] <= date)]
        rest = btc - prev_btc - window["btc"].sum()
        if rest < 0 or (rest > 0 and window.empty):
            notes.append(f"cost unknown from {date:%Y-%m-%d}: holdings change not matched by the events")
            break
        cost += float((window["btc"] * window["price_usd"]).sum())
        if rest > 0:
            last = float(window["price_usd"].iloc[-1])
            cost += rest * last
            notes.append(f"{rest:,.0f} BTC to {date:%Y-%m-%d} not in the events, priced at {last:,.0f} USD/BTC")
        avg[i], prev_date, prev_btc = cost / btc, date, btc
    return avg, notes


FILING_FIELDS = ("filingDate", "accession", "atmSharesSold", "btcHoldings")
"""Fields every `8k_filings` record carries (null where the 8-K gives no figure)."""
ANNOUNCED = {"Preferred Issuance": "preferredIssued", "USD Reserve": "usdReserve"}
"""A filing whose `type` names one of these carries that figure (the recorded file's STRE issuance and its two
USD-reserve updates do); without it the capital stack would silently lack it."""


_FILING_COLUMNS = {
    "filingDate": "date",
    "btcHoldings": "btc",
    "atmSharesSold": "atm",
    "usdReserve": "cash",
    "preferredIssued.usdEquiv": "pref",
}
"""The figures read from each `8k_filings` record: file field -> working column."""


def _announced(rec: dict[str, Any], path: Path, where: str) -> None:
    kind = str(rec.get("type", ""))
    for words, key in ANNOUNCED.items():
        if words in kind and rec.get(key) is None:
            raise DataError(f"{path}: {where}: type {kind!r} but field {key!r} missing")


def read_mstr_8k_summary(
    path: str | Path, *, events: str | Path | None = None, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """Strategy (MSTR) rows from `8k-summary.json`: one per filing date with btcHoldings.

    as_of = filing date; shares_basic / shares_diluted = the 10-Q baseline's basic / diluted shares +
    the cumulative atmSharesSold of all filings up to that date (undercounts: the file's own
    `calculated` block shows a gap to the company's count from ATM sales before the weekly format,
    stock compensation and exercises); debt_usd = baseline totalDebt; preferred_usd = baseline
    preferredProceeds + later `preferredIssued.usdEquiv` (proceeds, not notional); cash_usd = the latest
    usdReserve disclosed up to that date (NaN before the first); share_price_usd NaN; avg_cost_usd from
    `mstr_average_cost` over the purchase events in `events` (default: `EVENTS_FILE` beside `path`, when
    present; NaN without it).

    Every filing record carries `FILING_FIELDS` and the figure its type announces (`ANNOUNCED`); a record
    repeating an earlier one (same accession) is dropped and counted; `DataError` naming file, record and
    field otherwise, and for two different records of one accession or a filing date after the file was
    written.
    """
    p = Path(path)
    ev_path = p.parent / EVENTS_FILE if events is None else Path(events)
    doc = read_json(p)
    if not isinstance(doc, dict):
        raise DataError(f"{p}: expected a JSON object")
    base = doc.get("baseline")
    filings = doc.get("8k_filings")
    if not isinstance(base, dict):
        raise DataError(f"{p}: missing field 'baseline'")
    if not isinstance(filings, list):
        raise DataError(f"{p}: missing field '8k_filings'")
    require_rows(filings, p, "records in '8k_filings'")
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
        _require(rec, FILING_FIELDS, p, where)
        _announced(rec, p, where)
        issued = rec.get("preferredIssued")
        pref = _num(issued, "usdEquiv", p, f"{where}.preferredIssued") if isinstance(issued, dict) else np.nan
        rows.append(
            {
                "filingDate": _date(rec, "filingDate", p, where),
                "btcHoldings": _num(rec, "btcHoldings", p, where),
                "atmSharesSold": _num(rec, "atmSharesSold", p, where),
                "usdReserve": _num(rec, "usdReserve", p, where),
                "preferredIssued.usdEquiv": pref,
                "accession": str(rec["accession"]),
            }
        )
    f = pd.DataFrame(rows, columns=[*_FILING_COLUMNS, "accession"])  # positions = record indices
    check_not_after_written(p, f["filingDate"])
    f, repeated = one_per_key(f, ["accession"], p, first_row=0)  # one 8-K, one record: a second copy would count twice
    f = f.rename(columns=_FILING_COLUMNS)
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
    if events is not None or present(ev_path):
        events, events_note = read_purchase_events(ev_path)
        avg, cost_notes = mstr_average_cost(held[["date", "btc"]], events)
    else:
        avg, cost_notes, events_note = pd.Series(np.nan, index=held.index), [f"{ev_path.name} absent"], ""
    out = pd.DataFrame(
        {
            "as_of": held["date"],
            "published": held["date"],
            "name": NAMES["MSTR"],
            "ticker": "MSTR",
            "btc_held": held["btc"],
            "avg_cost_usd": avg,
            "shares_basic": b_basic + held["atm_cum"],
            "shares_diluted": b_dil + held["atm_cum"],
            "share_price_usd": np.nan,
            "debt_usd": b_debt,
            "preferred_usd": b_pref + held["pref_cum"],
            "cash_usd": held["cash_known"],
            "source": "8-K " + held["accession"] + " (" + p.name + ")",
        }
    )
    out, _ = conform("treasury_companies", out, p)  # one row per filing by construction
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
        "the first, 2025-12-01). avg_cost_usd from the purchase events ("
        + ev_path.name
        + "): "
        + "; ".join(cost_notes)
        + " (NaN before the anchor). "
        + (f"Dropped isolated holdings dip(s) as parse errors: {', '.join(dropped)}. " if dropped else "")
        + (f"{repeated} 8-K record(s) repeating an earlier record dropped. " if repeated else "")
        + events_note
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
    out, _ = conform("treasury_companies", pd.DataFrame(rows, columns=tables.TREASURY_COMPANIES.names), p)
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


INSTRUMENT_KINDS = frozenset({"convertible", "preferred", "warrant", "option", "rsu", "free_shares"})


def _opt_date(rec: dict[str, Any], key: str, path: Path, where: str) -> pd.Timestamp:
    return pd.NaT if rec.get(key) in (None, "") else _date(rec, key, path, where)


def read_dilutive_instruments(
    path: str | Path, *, as_of: str = NUMERICAL_SNAPSHOT_AS_OF, licence: str = "unstated"
) -> tuple[pd.DataFrame, Provenance]:
    """`dilutiveInstruments` of the BTC companies in `numerical-snapshot.json` as `treasury_instruments`.

    known = issuedDate, else `as_of` (the file's date): an instrument without an issue date enters a
    snapshot only from then. Every listed instrument is kept, matured or redeemed ones included (MSTR's
    2025 notes, whose `expiration` is the date they ceased): select the live ones for a date with
    `analytics.treasury.live_instruments`. coupon is NaN (the file has none; see `attach_coupons`).
    An unknown `type` raises `DataError`.
    """
    p = Path(path)
    doc = read_json(p)
    comps = doc.get("companies") if isinstance(doc, dict) else None
    insts = doc.get("dilutiveInstruments") if isinstance(doc, dict) else None
    if not isinstance(comps, dict) or not isinstance(insts, dict):
        raise DataError(f"{p}: missing field 'companies' or 'dilutiveInstruments'")
    stamp = pd.Timestamp(as_of, tz="UTC")
    btc = {t for t, c in comps.items() if isinstance(c, dict) and c.get("asset") == "BTC"}
    rows = []
    for ticker in sorted(btc & set(insts)):
        for i, rec in enumerate(insts[ticker]):
            where = f"dilutiveInstruments.{ticker} record {i}"
            if not isinstance(rec, dict) or rec.get("type") not in INSTRUMENT_KINDS:
                raise DataError(f"{p}: {where}: unknown instrument {rec!r}")
            issued = _opt_date(rec, "issuedDate", p, where)
            rows.append(
                {
                    "known": stamp if pd.isna(issued) else issued,
                    "ticker": ticker,
                    "kind": rec["type"],
                    "face_value_usd": _num(rec, "faceValue", p, where),
                    "strike_usd": _num(rec, "strikePrice", p, where),
                    "potential_shares": _num(rec, "potentialShares", p, where),
                    "issued": issued,
                    "expiration": _opt_date(rec, "expiration", p, where),
                    "coupon": np.nan,
                    "source": f"{p.name} dilutiveInstruments",
                }
            )
    out, _ = conform("treasury_instruments", pd.DataFrame(rows, columns=tables.TREASURY_INSTRUMENTS.names), p)
    undated = int(out["issued"].isna().sum())
    note = (
        f"{len(out)} dilutive instruments of the BTC companies (all listed, matured or redeemed ones included: "
        "`expiration` is when a note ceased, e.g. MSTR's 2025 notes redeemed or converted early). known = the "
        f"issue date, else the file's date {as_of} ({undated} instrument(s) without an issue date enter a "
        "snapshot only from then). face_value_usd and strike_usd taken as USD as the tracker stores them "
        "(split-adjusted conversion prices); coupon NaN unless the capital-stack file gives it."
    )
    return out, provenance(p, out["known"], licence, note)


def attach_coupons(instruments: pd.DataFrame, coupons: pd.DataFrame) -> pd.DataFrame:
    """`treasury_instruments` with `coupon` filled from `coupons` (ticker, expiration, coupon) for the
    convertibles they name; a coupon naming no recorded convertible raises `DataError` (a typo would go
    unseen)."""
    conv = instruments["kind"] == "convertible"
    keys = set(zip(instruments.loc[conv, "ticker"], instruments.loc[conv, "expiration"], strict=True))
    pairs = list(zip(coupons["ticker"], coupons["expiration"], strict=True))
    unmatched = [f"{t} {e:%Y-%m-%d}" for t, e in pairs if (t, e) not in keys]
    if unmatched:
        raise DataError(f"coupon(s) for no recorded convertible: {', '.join(unmatched)}")
    twice = coupons.duplicated(["ticker", "expiration"])
    if twice.any():
        dup = coupons[twice].iloc[0]
        raise DataError(f"coupon given twice for {dup['ticker']} {dup['expiration']:%Y-%m-%d}")
    given = coupons.rename(columns={"coupon": "_coupon", "source": "_source"})
    m = instruments[["ticker", "expiration"]].merge(given, on=["ticker", "expiration"], how="left")
    hit = conv.to_numpy() & m["_coupon"].notna().to_numpy()
    return instruments.assign(
        coupon=np.where(hit, m["_coupon"], instruments["coupon"]),
        source=np.where(hit, instruments["source"] + "; coupon: " + m["_source"].fillna(""), instruments["source"]),
    )


@dataclass(frozen=True)
class StackFile:
    """The user-editable capital-stack file: extra `treasury_companies` rows, convertible coupons
    (ticker, expiration, coupon as a fraction, source) for `attach_coupons`, and `treasury_charges` rows."""

    companies: pd.DataFrame
    coupons: pd.DataFrame
    charges: pd.DataFrame
    provenance: Provenance


BUNDLED_STACK_FILE = Path(__file__).resolve().parents[1] / "data" / "treasuries.toml"

_COMPANY_MONEY = ("avg_cost_usd", "shares_basic", "shares_diluted", "share_price_usd", "debt_usd")
_COMPANY_MONEY += ("preferred_usd", "cash_usd")


def _entries(doc: dict[str, Any], key: str, path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    items = doc.get(key, [])
    if not isinstance(items, list):
        raise DataError(f"{path}: [[{key}]] must be an array of tables")
    for i, e in enumerate(items):
        missing = [k for k in required if k not in e]
        if missing:
            raise DataError(f"{path}: {key} entry {i}: missing {', '.join(missing)}")
    return items


def _day(v: object, path: Path, where: str) -> pd.Timestamp:
    t = pd.to_datetime(str(v), errors="coerce", utc=True)
    if pd.isna(t):
        raise DataError(f"{path}: {where}: malformed date {v!r}")
    return t


def read_stack_file(path: str | Path = BUNDLED_STACK_FILE) -> StackFile:
    """Read the capital-stack TOML (format in the bundled file's header). Every entry needs `source`;
    company and charge entries need `as_of` (a company row is public from `published`, default as_of)."""
    p = require_file(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not valid TOML ({exc})") from None
    companies = []
    for i, e in enumerate(_entries(doc, "company", p, ("ticker", "as_of", "btc_held", "source"))):
        where = f"company entry {i}"
        as_of = _day(e["as_of"], p, where)
        row = {
            "as_of": as_of,
            "published": _day(e.get("published", e["as_of"]), p, where),
            "name": str(e.get("name", NAMES.get(e["ticker"], e["ticker"]))),
            "ticker": str(e["ticker"]),
            "btc_held": _num(e, "btc_held", p, where, required=True),
            "source": f"{p.name}: {e['source']}",
        }
        companies.append(row | {k: _num(e, k, p, where) for k in _COMPANY_MONEY})
    coupons = [
        {
            "ticker": str(e["ticker"]),
            "expiration": _day(e["expiration"], p, f"coupon entry {i}"),
            "coupon": _num(e, "coupon", p, f"coupon entry {i}", required=True),
            "source": str(e["source"]),
        }
        for i, e in enumerate(_entries(doc, "coupon", p, ("ticker", "expiration", "coupon", "source")))
    ]
    charges = [
        {
            "as_of": _day(e["as_of"], p, f"charges entry {i}"),
            "ticker": str(e["ticker"]),
            "annual_interest_usd": _num(e, "annual_interest_usd", p, f"charges entry {i}"),
            "annual_preferred_dividends_usd": _num(e, "annual_preferred_dividends_usd", p, f"charges entry {i}"),
            "source": f"{p.name}: {e['source']}",
        }
        for i, e in enumerate(_entries(doc, "charges", p, ("ticker", "as_of", "source")))
    ]
    comp_df = tables.validate("treasury_companies", pd.DataFrame(companies, columns=tables.TREASURY_COMPANIES.names))
    coup_df = pd.DataFrame(coupons, columns=["ticker", "expiration", "coupon", "source"])
    charge_df = tables.validate("treasury_charges", pd.DataFrame(charges, columns=tables.TREASURY_CHARGES.names))
    note = (
        f"hand-entered public facts: {len(companies)} company row(s), {len(coupons)} coupon(s), "
        f"{len(charges)} annual charge(s); each entry names its source. Company rows join treasury_companies "
        "(a row wins over recorded rows of the same or an earlier as_of), coupons fill treasury_instruments' "
        "coupon, charges form treasury_charges (known = as_of)."
    )
    prov = Provenance(
        source=str(p),
        retrieved_at=pd.Timestamp(p.stat().st_mtime, unit="s", tz="UTC").isoformat(),
        licence="user file",
        notes=note,
    )
    return StackFile(comp_df, coup_df, charge_df, prov)
