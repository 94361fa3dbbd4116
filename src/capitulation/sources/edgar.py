"""Treasury companies' share counts and capital stack live from SEC EDGAR's XBRL company facts ->
`treasury_companies` (public, no API key).

    GET https://data.sec.gov/api/xbrl/companyfacts/CIK##########.json      (one request per company)

The answer is `{cik, entityName, facts: {taxonomy: {tag: {label, units: {unit: [fact, ...]}}}}}`, each fact
`{end, val, accn, fy, fp, form, filed[, start, frame]}` (only facts without dimensions). EDGAR asks every client
for a User-Agent naming it with a contact (`user_agent`: env `CAPITULATION_EDGAR_USER_AGENT`, else
`DEFAULT_USER_AGENT`) and at most 10 requests a second (`PACE_S` between companies); 429/5xx are retried with
backoff, and once EDGAR has refused for good the companies not yet asked are not asked.

Per company (`CIKS`: ticker -> CIK, checked against the share counts dat-tracker derived from companyfacts), the
latest periodic filing (form 10-Q or 10-K, amendments included; latest `filed`) carrying the cover-page share
count gives one row:

=================  ===========================================================================================
column             from
=================  ===========================================================================================
as_of              the share count's `end` (the cover page's 'shares outstanding as of' date)
published          the filing's `filed` date (00:00 UTC, as the recorded importer stamps filings)
shares_basic       dei:EntityCommonStockSharesOutstanding (shares)
btc_held           us-gaap:CryptoAssetNumberOfUnits of that filing (its latest `end`) in a bitcoin unit, where the
                   company tags it without dimensions; else the bundled capital-stack TOML's latest [[company]]
                   row for the ticker whose as_of lies within `HOLDINGS_MAX_AGE` before as_of (BTC holdings are
                   not in XBRL for most filers); else the company is left out and the notes say why
debt_usd           the first of `DEBT_TAGS` the filing carries (USD, its latest `end`; a carrying amount, which
                   for convertibles is slightly below the notional the recorded tracker gives)
preferred_usd      the first of `PREFERRED_TAGS` (liquidation preference where tagged, else carrying value)
cash_usd           us-gaap:CashAndCashEquivalentsAtCarryingValue
avg_cost_usd, shares_diluted, share_price_usd   NaN (not read)
source             the filing (form, accession, filed) and the tag of each figure; the TOML row when used
=================  ===========================================================================================

Bad input: a company EDGAR refuses (429 outlasting the backoff), cannot find (404) or whose facts lack a periodic
filing with a share count is left out, named with its reason in the notes; a body that is not JSON, lacks
`facts`, or a fact without one of its fields (`FACT_FIELDS`) is a `DataError` naming the company, the tag and
the field (that company is left out the same way); two different share counts at one date in one filing (share
classes) leave the company out. No company row at all -> `SourceError` naming each company's reason, so a live
snapshot marks the table stale with it.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

from capitulation import tables
from capitulation.errors import CapitulationError, DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources import http, treasuries
from capitulation.sources.http import Backoff

log = logging.getLogger(__name__)

URL = "https://data.sec.gov/api/xbrl/companyfacts/CIK{cik}.json"
USER_AGENT_ENV = "CAPITULATION_EDGAR_USER_AGENT"
DEFAULT_USER_AGENT = "capitulation/0.1.0 (+https://github.com/capitulation/capitulation; contact via the repository)"
LICENCE = "SEC EDGAR public data (U.S. government work; SEC fair-access policy: declared User-Agent, <= 10 req/s)"
DEFAULT_BACKOFF = Backoff(attempts=3, first_delay_s=2.0, factor=2.0, max_delay_s=30.0)
PACE_S = 0.15
"""Seconds between two companies' requests: under EDGAR's 10 requests a second with a margin."""
HOLDINGS_MAX_AGE = pd.Timedelta(days=120)
"""A capital-stack TOML holdings row stands in for XBRL only when at most a quarter and a filing lag older than
the share count: an older figure would pair today's shares with another era's bitcoin."""

CIKS: dict[str, str] = {
    "MSTR": "0001050446",
    "MARA": "0001507605",
    "ABTC": "0001755953",
    "ASST": "0001920406",
    "DJT": "0001849635",
    "KULR": "0001662684",
    "NAKA": "0001946573",
    "XXI": "0002070457",
}
"""The US filers among the bitcoin-treasury companies of the recorded tracker data: ticker -> 10-digit CIK."""

SHARES = ("dei", "EntityCommonStockSharesOutstanding")
BTC_UNITS = ("us-gaap", "CryptoAssetNumberOfUnits")
DEBT_TAGS = ("LongTermDebt", "LongTermDebtNoncurrent", "ConvertibleNotesPayable", "ConvertibleLongTermNotesPayable")
PREFERRED_TAGS = ("PreferredStockLiquidationPreferenceValue", "PreferredStockValue")
CASH_TAGS = ("CashAndCashEquivalentsAtCarryingValue",)
FACT_FIELDS = ("end", "val", "accn", "form", "filed")


def user_agent() -> str:
    """The User-Agent EDGAR sees: env `CAPITULATION_EDGAR_USER_AGENT` when set (put your contact there), else
    `DEFAULT_USER_AGENT`."""
    return os.environ.get(USER_AGENT_ENV, "").strip() or DEFAULT_USER_AGENT


@dataclass(frozen=True)
class Fact:
    """One XBRL fact: its date (`end`, UTC), value, unit, and the filing that reported it."""

    end: pd.Timestamp
    val: float
    unit: str
    accn: str
    form: str
    filed: pd.Timestamp


@dataclass(frozen=True)
class Filing:
    """One company's latest periodic filing with a share count: the count and its date, and `values`: table
    column -> figure for the capital-stack columns it tags, each from the tag named in `tags`."""

    accn: str
    form: str
    filed: pd.Timestamp
    shares_end: pd.Timestamp
    shares: float
    values: Mapping[str, float]
    tags: Mapping[str, str]


def facts(body: Any, taxonomy: str, tag: str, what: str) -> list[Fact]:
    """Every fact of `taxonomy:tag` in a companyfacts body, all units; [] when the company never tagged it.
    `DataError` naming `what`, the tag and the field for a body without `facts` or a malformed fact."""
    if not isinstance(body, dict) or not isinstance(body.get("facts"), dict):
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise DataError(f"malformed response: {what}: missing field 'facts' ({keys})")
    concept = body["facts"].get(taxonomy, {}).get(tag)
    if concept is None:
        return []
    units = concept.get("units") if isinstance(concept, dict) else None
    if not isinstance(units, dict):
        raise DataError(f"malformed response: {what}: {taxonomy}:{tag}: missing field 'units'")
    out = []
    for unit, entries in units.items():
        if not isinstance(entries, list):
            raise DataError(f"malformed response: {what}: {taxonomy}:{tag} units.{unit} is not a list")
        for i, e in enumerate(entries):
            out.append(_fact(e, unit, f"{what}: {taxonomy}:{tag} units.{unit}[{i}]"))
    return out


def _fact(e: Any, unit: str, where: str) -> Fact:
    if not isinstance(e, dict):
        raise DataError(f"malformed response: {where} is not an object")
    lost = [f for f in FACT_FIELDS if f not in e]
    if lost:
        raise DataError(f"malformed response: {where}: missing field {lost[0]!r}")
    val = e["val"]
    if isinstance(val, bool) or not isinstance(val, int | float) or not math.isfinite(val):
        raise DataError(f"malformed response: {where}: field 'val' is not a finite number: {val!r:.80}")
    end, filed = (pd.to_datetime(e[k], format="%Y-%m-%d", utc=True, errors="coerce") for k in ("end", "filed"))
    for k, t in (("end", end), ("filed", filed)):
        if pd.isna(t):
            raise DataError(f"malformed response: {where}: field {k!r} is not a date: {e[k]!r:.80}")
    return Fact(end, float(val), unit, str(e["accn"]), str(e["form"]), filed)


def periodic(fs: list[Fact]) -> list[Fact]:
    """The facts reported in 10-Q / 10-K filings (amendments and transition reports included), in order of
    filing date, then date, then accession number (a later accession on the same day is the later filing)."""
    return sorted((f for f in fs if f.form.startswith(("10-Q", "10-K"))), key=lambda f: (f.filed, f.end, f.accn))


def parse_filing(body: Any, what: str) -> Filing:
    """A companyfacts body -> the latest periodic filing's share count and capital stack (see the module table).
    `SourceError` when no periodic filing carries a share count; `DataError` for a malformed body or two
    different share counts at one date of that filing."""
    shares = [f for f in periodic(facts(body, *SHARES, what)) if f.unit == "shares"]
    if not shares:
        raise SourceError(f"{what}: no 10-Q/10-K with {':'.join(SHARES)} (missing filing)")
    last = shares[-1]
    counts = {f.val for f in shares if f.accn == last.accn and f.end == last.end}
    if len(counts) > 1:
        raise DataError(
            f"{what}: filing {last.accn} gives {len(counts)} share counts at {last.end:%Y-%m-%d} (classes?)"
        )
    found: dict[str, tuple[float, str]] = {}
    wanted = {
        "btc_held": (BTC_UNITS,),
        "debt_usd": _gaap(DEBT_TAGS),
        "preferred_usd": _gaap(PREFERRED_TAGS),
        "cash_usd": _gaap(CASH_TAGS),
    }
    for col, tags in wanted.items():
        for taxonomy, tag in tags:
            mine = [f for f in facts(body, taxonomy, tag, what) if f.accn == last.accn and _unit_fits(col, f.unit)]
            if mine:
                latest = max(mine, key=lambda f: f.end)
                found[col] = (latest.val, f"{taxonomy}:{tag} at {latest.end:%Y-%m-%d}")
                break
    return Filing(
        accn=last.accn,
        form=last.form,
        filed=last.filed,
        shares_end=last.end,
        shares=last.val,
        values={col: v for col, (v, _) in found.items()},
        tags={"shares_basic": ":".join(SHARES)} | {col: tag for col, (_, tag) in found.items()},
    )


def _gaap(tags: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(("us-gaap", t) for t in tags)


def _unit_fits(col: str, unit: str) -> bool:
    """Money in USD; bitcoin counts in a unit naming bitcoin ('Bitcoin', 'BTC', ...) or the plain number 'pure'
    (another coin's unit, e.g. 'ETH', is not bitcoin)."""
    if col != "btc_held":
        return unit == "USD"
    return unit.lower() == "pure" or "btc" in unit.lower() or "bitcoin" in unit.lower()


def fetch_treasury_companies(
    ciks: Mapping[str, str] = CIKS,
    *,
    stack: str | Path = treasuries.BUNDLED_STACK_FILE,
    url: str = URL,
    session: requests.Session | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    pace: Callable[[float], None] = time.sleep,
    now: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, Provenance]:
    """One `treasury_companies` row per company of `ciks` (ticker -> CIK) from its latest periodic filing, with
    bitcoin holdings from XBRL or the capital-stack TOML `stack` (see the module notes), and the provenance.

    `url`: the companyfacts URL pattern with `{cik}`. `pace`: waits `PACE_S` between companies (tests pass a
    recorder). `session`'s User-Agent is set to `user_agent()`. `now`: the retrieval time (None: the clock).
    `SourceError` when no company gives a row."""
    s = session or http.session()
    s.headers["User-Agent"] = user_agent()
    held = treasuries.read_stack_file(stack).companies
    retrieved_at = http.utc_now() if now is None else utc(now)
    rows, notes, refused = [], [], False
    for k, (ticker, cik) in enumerate(ciks.items()):
        what = f"SEC EDGAR companyfacts {ticker} (CIK {cik})"
        if refused:
            notes.append(f"{ticker}: not asked (EDGAR refused)")
            continue
        if k:
            pace(PACE_S)
        try:
            filing = parse_filing(http.get_json(s, url.format(cik=cik), backoff=backoff, what=what), what)
            rows.append(_row(ticker, filing, held, stack))
            notes.append(f"{ticker}: {rows[-1]['source']}")
        except CapitulationError as exc:
            notes.append(f"{ticker}: left out ({exc})")
            log.warning("EDGAR: %s left out: %s", ticker, exc)
            refused = isinstance(exc, http.RefusedError)
    if not rows:
        raise SourceError("SEC EDGAR: no company row: " + "; ".join(notes))
    out = tables.validate("treasury_companies", pd.DataFrame(rows, columns=tables.TREASURY_COMPANIES.names))
    notes.append(
        "as_of = the cover page's share-count date, published = filing date; btc_held from "
        "us-gaap:CryptoAssetNumberOfUnits where tagged, else the capital-stack TOML row within "
        f"{HOLDINGS_MAX_AGE.days} days; debt/preferred/cash at the filing's balance-sheet date (carrying amounts "
        "unless a liquidation preference is tagged); avg_cost_usd, shares_diluted, share_price_usd NaN"
    )
    source = f"SEC EDGAR XBRL companyfacts ({len(rows)} of {len(ciks)} companies)"
    return out, Provenance(source, retrieved_at.isoformat(), LICENCE, ". ".join(notes) + ".")


def _row(ticker: str, f: Filing, held: pd.DataFrame, stack: str | Path) -> dict[str, Any]:
    """The table row of `ticker`'s filing; `SourceError` when neither XBRL nor the TOML gives its holdings."""
    tags = dict(f.tags)
    btc = f.values.get("btc_held", math.nan)
    if math.isnan(btc):
        mine = held[(held["ticker"] == ticker) & (held["as_of"] <= f.shares_end)]
        mine = mine[mine["as_of"] >= f.shares_end - HOLDINGS_MAX_AGE].sort_values("as_of")
        if mine.empty:
            raise SourceError(
                f"no BTC holdings: filing {f.accn} tags no {':'.join(BTC_UNITS)} and {Path(stack).name} has no "
                f"{ticker} row within {HOLDINGS_MAX_AGE.days} days before {f.shares_end:%Y-%m-%d}"
            )
        btc = float(mine["btc_held"].iloc[-1])
        tags["btc_held"] = f"{Path(stack).name} row as of {mine['as_of'].iloc[-1]:%Y-%m-%d}"
    used = ", ".join(f"{col} {tag}" for col, tag in tags.items())
    return {
        "as_of": f.shares_end,
        "published": f.filed,
        "name": treasuries.NAMES.get(ticker, ticker),
        "ticker": ticker,
        "btc_held": btc,
        "avg_cost_usd": np.nan,
        "shares_basic": f.shares,
        "shares_diluted": np.nan,
        "share_price_usd": np.nan,
        **{col: f.values.get(col, np.nan) for col in ("debt_usd", "preferred_usd", "cash_usd")},
        "source": f"SEC EDGAR {f.form} {f.accn} filed {f.filed:%Y-%m-%d}: {used}",
    }
