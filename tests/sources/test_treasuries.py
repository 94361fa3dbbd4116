"""Treasury importers: Strategy's 8-K summary and dat-tracker's numerical snapshot."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.treasuries import read_mstr_8k_summary, read_numerical_snapshot


@pytest.fixture(scope="module")
def mstr(shared_data: Path):
    return read_mstr_8k_summary(shared_data / "treasury_companies" / "8k-summary.json")


def row(df: pd.DataFrame, when: str, ticker: str = "MSTR") -> pd.Series:
    rows = df[(df["as_of"] == utc(when)) & (df["ticker"] == ticker)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_latest_8k_before_the_capitulation_day(mstr):
    df, prov = mstr
    r = row(df, "2026-02-02")
    assert (r["name"], r["btc_held"]) == ("Strategy", 713_502)
    assert r["shares_basic"] == 267_713_485 + 28_591_368  # baseline + all weekly ATM shares in the file
    assert r["shares_basic"] == 296_304_853  # = the file's own 'calculatedCurrentShares'
    assert r["shares_diluted"] == 315_390_000 + 28_591_368
    assert r["debt_usd"] == 8_173_903_000
    assert r["preferred_usd"] == 5_890_000_000 + 717_000_000  # baseline proceeds + STRE (2025-11-13)
    assert r["cash_usd"] == 2_250_000_000
    assert math.isnan(r["avg_cost_usd"]) and math.isnan(r["share_price_usd"])
    assert "UNDERCOUNT" in prov.notes and "PROCEEDS, not notional" in prov.notes


def test_one_row_per_filing_with_holdings_and_cash_known_only_after_disclosure(mstr):
    df, _ = mstr
    assert len(df) == 14 and df["as_of"].is_monotonic_increasing
    assert math.isnan(row(df, "2025-11-17")["cash_usd"])
    assert row(df, "2025-12-01")["cash_usd"] == 1_440_000_000
    assert row(df, "2025-11-10")["preferred_usd"] == 5_890_000_000


def test_holdings_misparse_of_2025_10_06_is_dropped(mstr):
    df, prov = mstr
    # 603,750 is the $603.75M face value of the 2031 converts, not BTC; holdings never fell that week
    assert utc("2025-10-06") not in set(df["as_of"])
    assert "2025-10-06 (603,750 BTC)" in prov.notes
    assert df["btc_held"].min() == 640_418


def test_purchase_events_cannot_support_an_average_cost(shared_data: Path):
    events = json.loads((shared_data / "treasury_companies" / "btc-events-clean.json").read_text("utf-8-sig"))
    acquired = sum(e["btcAcquired"] or 0 for e in events)
    assert acquired < 0.8 * 713_502  # whole buying periods are missing
    assert events[0]["btcAcquired"] == events[1]["btcAcquired"] == 21_454  # the 2020-09-15 repeat
    by_date = {e["filingDate"]: e for e in events}
    assert by_date["2024-11-18"]["totalSpentUsd"] == 4_600_000_000  # USD ...
    assert by_date["2026-01-20"]["totalSpentUsd"] == 2125  # ... then US$ millions


def test_numerical_snapshot_gives_btc_treasuries_only(shared_data: Path):
    df, prov = read_numerical_snapshot(shared_data / "treasury_companies" / "numerical-snapshot.json")
    current = row(df, "2026-03-08")
    assert current["btc_held"] == 720_737
    assert (current["cash_usd"], current["debt_usd"], current["preferred_usd"]) == (
        2_301_470_000,
        8_190_155_000,
        6_919_514_000,
    )
    assert current["shares_basic"] == 333_752_250 and math.isnan(current["shares_diluted"])
    assert row(df, "2025-12-31")["btc_held"] == 672_498
    assert row(df, "2025-09-30", "MARA")["btc_held"] == 52_850
    assert df[df["as_of"] == utc("2026-03-08")]["ticker"].nunique() == 25
    assert "BMNR" not in set(df["ticker"])  # an ETH treasury
    assert prov.licence == "unstated"


def test_isolated_dip_rule_keeps_a_real_drop_that_persists(tmp_path: Path):
    def filing(date: str, btc: float | None) -> dict:
        return {"filingDate": date, "accession": date, "btcHoldings": btc, "atmSharesSold": None}

    doc = {
        "baseline": {"asOf": "2025-01-01", "sharesOutstandingBasic": 100, "btcHoldings": 1000},
        "8k_filings": [
            filing("2025-01-06", 1010),
            filing("2025-01-13", 500),  # isolated dip: dropped
            filing("2025-01-20", 1020),
            filing("2025-01-27", 900),  # a drop that is not undone: kept
            filing("2025-02-03", 905),
        ],
    }
    f = tmp_path / "8k.json"
    f.write_text(json.dumps(doc))
    df, _ = read_mstr_8k_summary(f)
    assert list(df["btc_held"]) == [1010, 1020, 900, 905]


def test_text_holdings_name_the_record(tmp_path: Path):
    f = tmp_path / "8k.json"
    doc = {
        "baseline": {"asOf": "2025-01-01", "sharesOutstandingBasic": 100},
        "8k_filings": [{"filingDate": "2025-01-06", "btcHoldings": "1,010"}],
    }
    f.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"8k_filings record 0: field 'btcHoldings': malformed number '1,010'"):
        read_mstr_8k_summary(f)


def test_missing_baseline_is_named(tmp_path: Path):
    f = tmp_path / "8k.json"
    f.write_text('{"8k_filings": []}')
    with pytest.raises(DataError, match="missing field 'baseline'"):
        read_mstr_8k_summary(f)


def test_bom_json_is_read_and_missing_file_is_a_source_error(tmp_path: Path):
    f = tmp_path / "8k.json"
    doc = {"baseline": {"asOf": "2025-01-01", "sharesOutstandingBasic": 1}, "8k_filings": []}
    f.write_bytes(("\ufeff" + json.dumps(doc)).encode())
    df, _ = read_mstr_8k_summary(f)
    assert df.empty
    with pytest.raises(SourceError, match=r"absent\.json"):
        read_numerical_snapshot(tmp_path / "absent.json")
