"""Treasury share counts and capital stack live from SEC EDGAR companyfacts -> treasury_companies, replayed.

No real companyfacts capture exists in ../shared/data. The bodies replayed here are BUILT HERE in the
documented companyfacts shape ({cik, entityName, facts: {dei|us-gaap: {tag: {label, units: {unit: [{end, val,
accn, fy, fp, form, filed}]}}}}}) from the real share counts in
../shared/data/treasury_companies/sec-shares-data.json, which dat-tracker derived from companyfacts (date = the
fact's `end`, shares = its `val`, with form, filed, fy, fp). That file has no accession numbers: the ones here are
made up ('TEST-<filed>-<form>'). The us-gaap facts (bitcoin units, debt, cash) and the bad-input bodies are
hand-made numbers, marked HAND-MADE where used; they are not real filings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.sources import edgar, live
from replay import HttpReplay, no_wait

NOW = pd.Timestamp("2025-11-25T12:00Z")
DEI_TICKERS = ("MARA", "ABTC", "DJT", "KULR", "NAKA")  # their sec-shares-data rows are dei cover-page counts


@pytest.fixture(scope="module")
def sec_shares(shared_data: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((shared_data / "treasury_companies" / "sec-shares-data.json").read_text())
    return {r["ticker"]: r for r in doc}


def path(ticker: str) -> str:
    return f"/api/xbrl/companyfacts/CIK{edgar.CIKS[ticker]}.json"


def accn(entry: dict[str, Any]) -> str:
    return f"TEST-{entry['filed']}-{entry['form']}"


def companyfacts(record: dict[str, Any], gaap: dict[str, dict[str, list[dict]]] | None = None) -> dict[str, Any]:
    """A companyfacts body of `record` (a sec-shares-data company) with its real cover-page share counts, plus
    `gaap` us-gaap facts (tag -> unit -> facts)."""
    shares = [
        {
            "end": e["date"],
            "val": e["shares"],
            "accn": accn(e),
            "fy": e["fy"],
            "fp": e["fp"],
            "form": e["form"],
            "filed": e["filed"],
        }
        for e in record["sharesData"]
    ]
    facts = {
        "dei": {
            "EntityCommonStockSharesOutstanding": {
                "label": "Entity Common Stock, Shares Outstanding",
                "units": {"shares": shares},
            }
        }
    }
    if gaap:
        facts["us-gaap"] = {tag: {"label": tag, "units": units} for tag, units in gaap.items()}
    return {"cik": int(record["cik"]), "entityName": record["entityName"], "facts": facts}


def latest(record: dict[str, Any]) -> dict[str, Any]:
    return max(record["sharesData"], key=lambda e: (e["filed"], e["date"]))


def fact(entry: dict[str, Any], end: str, val: float) -> dict[str, Any]:
    """A HAND-MADE us-gaap fact `val` at `end` in the filing of share-count `entry`."""
    return {
        "end": end,
        "val": val,
        "accn": accn(entry),
        "fy": entry["fy"],
        "fp": entry["fp"],
        "form": entry["form"],
        "filed": entry["filed"],
    }


def stack(tmp_path: Path, rows: str = "") -> Path:
    p = tmp_path / "stack.toml"
    p.write_text(rows)
    return p


def fetch(ciks: dict[str, str], stack_file: Path, backoff=None) -> tuple[pd.DataFrame, Any]:
    return edgar.fetch_treasury_companies(
        ciks, stack=stack_file, backoff=backoff or no_wait()[0], pace=lambda s: None, now=NOW
    )


# ---- the parser against dat-tracker's companyfacts-derived share counts ------------------------------------


def test_ciks_are_the_ones_edgar_lists_for_each_ticker(sec_shares) -> None:
    assert {t: sec_shares[t]["cik"] for t in edgar.CIKS} == edgar.CIKS


@pytest.mark.parametrize("ticker", DEI_TICKERS)
def test_share_counts_read_back_equal_dat_trackers_companyfacts_numbers(sec_shares, ticker: str) -> None:
    record = sec_shares[ticker]
    got = edgar.periodic(edgar.facts(companyfacts(record), *edgar.SHARES, ticker))
    want = sorted(record["sharesData"], key=lambda e: (e["filed"], e["date"]))
    assert [(f"{f.end:%Y-%m-%d}", f.val, f.form, f"{f.filed:%Y-%m-%d}") for f in got] == [
        (e["date"], e["shares"], e["form"], e["filed"]) for e in want
    ]
    filing = edgar.parse_filing(companyfacts(record), ticker)
    assert (filing.shares, f"{filing.shares_end:%Y-%m-%d}") == (latest(record)["shares"], latest(record)["date"])


def test_mara_latest_filing_is_the_q3_2025_10q(sec_shares) -> None:
    filing = edgar.parse_filing(companyfacts(sec_shares["MARA"]), "MARA")
    assert (filing.form, filing.filed, filing.shares) == ("10-Q", pd.Timestamp("2025-11-04", tz="UTC"), 378_184_353)


# ---- the fetch, replayed --------------------------------------------------------------------------------------


def test_rows_take_xbrl_bitcoin_units_or_a_recent_toml_row_and_leave_out_the_rest(
    http: HttpReplay, sec_shares, tmp_path: Path
) -> None:
    mara, djt, kulr = (sec_shares[t] for t in ("MARA", "DJT", "KULR"))
    q3 = latest(mara)
    gaap = {  # HAND-MADE figures in MARA's real latest filing
        "CryptoAssetNumberOfUnits": {
            "Bitcoin": [fact(q3, "2025-09-30", 50_000.0), fact(q3, "2024-12-31", 44_000.0)],
            "ETH": [fact(q3, "2025-09-30", 9_999.0)],  # another coin: never read as bitcoin
        },
        "LongTermDebt": {"USD": [fact(q3, "2025-09-30", 3.2e9)]},
        "CashAndCashEquivalentsAtCarryingValue": {"USD": [fact(q3, "2025-09-30", 1.0e8)]},
    }
    toml = stack(  # HAND-MADE rows: DJT's is 36 days before its share date, KULR's 200 days (too old)
        tmp_path,
        '[[company]]\nticker = "DJT"\nas_of = "2025-09-30"\nbtc_held = 11_500\nsource = "test"\n'
        '[[company]]\nticker = "KULR"\nas_of = "2025-04-28"\nbtc_held = 1_000\nsource = "test"\n',
    )
    http.script(
        {
            path(t): [(200, json.dumps(companyfacts(r, gaap if t == "MARA" else None)))]
            for t, r in (("MARA", mara), ("DJT", djt), ("KULR", kulr))
        }
    )
    df, prov = fetch({t: edgar.CIKS[t] for t in ("MARA", "DJT", "KULR")}, toml)
    assert df["ticker"].tolist() == ["MARA", "DJT"]
    m, d = df.iloc[0], df.iloc[1]
    assert (m["btc_held"], m["shares_basic"], m["debt_usd"], m["cash_usd"]) == (50_000, 378_184_353, 3.2e9, 1e8)
    assert pd.isna(m["preferred_usd"]) and pd.isna(m["avg_cost_usd"])
    assert (m["as_of"], m["published"]) == (pd.Timestamp("2025-10-28", tz="UTC"), pd.Timestamp("2025-11-04", tz="UTC"))
    assert m["source"] == (
        "SEC EDGAR 10-Q TEST-2025-11-04-10-Q filed 2025-11-04: shares_basic dei:EntityCommonStockSharesOutstanding, "
        "btc_held us-gaap:CryptoAssetNumberOfUnits at 2025-09-30, debt_usd us-gaap:LongTermDebt at 2025-09-30, "
        "cash_usd us-gaap:CashAndCashEquivalentsAtCarryingValue at 2025-09-30"
    )
    assert (d["btc_held"], d["shares_basic"]) == (11_500, 279_997_636)
    assert d["source"].endswith("btc_held stack.toml row as of 2025-09-30")
    assert "KULR: left out (no BTC holdings: filing TEST-2025-11-18-10-Q tags no us-gaap:CryptoAssetNumberOfUnits" in (
        prov.notes
    )
    assert prov.source == "SEC EDGAR XBRL companyfacts (2 of 3 companies)"


def test_edgar_gets_the_configured_user_agent(http: HttpReplay, sec_shares, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(edgar.USER_AGENT_ENV, "capitulation-test ops@example.org")
    http.script({path("DJT"): [(200, json.dumps(companyfacts(sec_shares["DJT"])))]})
    s = edgar.http.session()
    toml = stack(tmp_path, '[[company]]\nticker = "DJT"\nas_of = "2025-09-30"\nbtc_held = 11_500\nsource = "t"\n')
    edgar.fetch_treasury_companies({"DJT": edgar.CIKS["DJT"]}, stack=toml, session=s, backoff=no_wait()[0], now=NOW)
    assert s.headers["User-Agent"] == "capitulation-test ops@example.org"
    monkeypatch.delenv(edgar.USER_AGENT_ENV)
    assert edgar.user_agent() == edgar.DEFAULT_USER_AGENT and "contact" in edgar.DEFAULT_USER_AGENT


# ---- bad input --------------------------------------------------------------------------------------------------


def test_a_429_outlasting_the_backoff_leaves_the_rest_unasked_and_the_snapshot_says_why(
    http: HttpReplay, tmp_path: Path
) -> None:
    http.script({path("MSTR"): [(429, '{"message": "Request rate threshold exceeded"}')]})
    backoff, waits = no_wait()
    fetcher = lambda: fetch({"MSTR": edgar.CIKS["MSTR"], "MARA": edgar.CIKS["MARA"]}, stack(tmp_path), backoff)  # noqa: E731
    with pytest.raises(SourceError) as err:
        live.live_snapshot({"treasury_companies": fetcher}, NOW)
    assert waits == [1.0, 2.0, 4.0] and len(http.seen) == 4
    assert str(err.value) == (
        "every source failed: treasury_companies: SEC EDGAR: no company row: MSTR: left out (rate limited: SEC EDGAR "
        "companyfacts MSTR (CIK 0001050446) answered HTTP 429 (4 tries)); MARA: not asked (EDGAR refused)"
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ((404, '{"error": "not found"}'), "answered HTTP 404"),
        ((200, "<html>"), "is not JSON"),
        ((200, '{"cik": 1}'), "missing field 'facts'"),
        ((200, '{"facts": {"dei": {}}}'), "no 10-Q/10-K with dei:EntityCommonStockSharesOutstanding (missing filing)"),
        ((200, '{"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"label": "x"}}}}'), "missing field 'units'"),
        (
            (
                200,
                '{"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": '
                '[{"end": "2025-09-30", "val": 5, "form": "10-Q", "filed": "2025-11-01"}]}}}}}',
            ),
            "EntityCommonStockSharesOutstanding units.shares[0]: missing field 'accn'",
        ),
        (
            (
                200,
                '{"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": '
                '[{"end": "2025-09-30", "val": "5", "accn": "a", "form": "10-Q", "filed": "2025-11-01"}]}}}}}',
            ),
            "field 'val' is not a finite number",
        ),
        (
            (
                200,
                '{"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": '
                '[{"end": "2025-09-30", "val": 5, "accn": "a", "form": "10-Q", "filed": "2025-11-01"}, '
                '{"end": "2025-09-30", "val": 7, "accn": "a", "form": "10-Q", "filed": "2025-11-01"}]}}}}}',
            ),
            "filing a gives 2 share counts at 2025-09-30",
        ),
    ],
)
def test_a_bad_company_is_left_out_naming_why(http: HttpReplay, tmp_path: Path, answer, why: str) -> None:
    http.script({path("MSTR"): [answer]})
    with pytest.raises(SourceError, match="SEC EDGAR: no company row: MSTR: left out") as err:
        fetch({"MSTR": edgar.CIKS["MSTR"]}, stack(tmp_path))
    assert why in str(err.value)


def test_malformed_facts_are_data_errors_naming_the_tag_and_field() -> None:
    body = {
        "facts": {
            "us-gaap": {
                "LongTermDebt": {
                    "units": {
                        "USD": [{"end": "2025-13-40", "val": 1, "accn": "a", "form": "10-Q", "filed": "2025-11-01"}]
                    }
                }
            }
        }
    }
    with pytest.raises(DataError, match=r"X: us-gaap:LongTermDebt units.USD\[0\]: field 'end' is not a date"):
        edgar.facts(body, "us-gaap", "LongTermDebt", "X")


# ---- properties -------------------------------------------------------------------------------------------------

day = st.dates(min_value=pd.Timestamp("2015-01-01").date(), max_value=pd.Timestamp("2026-12-31").date())
entry = st.tuples(day, day, st.integers(1, 10**10), st.sampled_from(["10-Q", "10-K", "10-K/A", "8-K", "S-1"]))


@given(st.lists(entry, min_size=1, max_size=30))
def test_the_share_count_is_the_latest_filed_periodic_one(entries) -> None:
    rows = [
        {"end": f"{e}", "val": v, "accn": f"{f}-{form}", "form": form, "filed": f"{f}"} for e, f, v, form in entries
    ]
    # one count per (filing, date): a filing lists each date once
    rows = list({(r["accn"], r["end"]): r for r in rows}.values())
    body = {"facts": {"dei": {"EntityCommonStockSharesOutstanding": {"units": {"shares": rows}}}}}
    periodic = [r for r in rows if r["form"] in ("10-Q", "10-K", "10-K/A")]
    if not periodic:
        with pytest.raises(SourceError, match="missing filing"):
            edgar.parse_filing(body, "P")
        return
    want = max(periodic, key=lambda r: (r["filed"], r["end"], r["accn"]))
    got = edgar.parse_filing(body, "P")
    assert (got.shares, f"{got.shares_end:%Y-%m-%d}", got.accn) == (want["val"], want["end"], want["accn"])
