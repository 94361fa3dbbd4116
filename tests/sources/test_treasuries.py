"""Treasury importers: Strategy's 8-K summary, dat-tracker's numerical snapshot (companies and instruments)
and the capital-stack TOML."""

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.treasuries import (
    NUMERICAL_SNAPSHOT_AS_OF,
    attach_coupons,
    mstr_average_cost,
    read_dilutive_instruments,
    read_mstr_8k_summary,
    read_numerical_snapshot,
    read_purchase_events,
    read_stack_file,
)


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
    assert math.isnan(r["share_price_usd"])
    assert "UNDERCOUNT" in prov.notes and "PROCEEDS, not notional" in prov.notes


def test_mstr_average_cost_rolls_forward_from_the_aggregate_line(mstr):
    df, prov = mstr
    # btc-events.json took the 2025-12-22 8-K's aggregate line for a purchase: 671,268 BTC (= that 8-K's
    # holdings) at 74,972 USD/BTC. Rolled forward with the later purchases (BTC x USD/BTC):
    #   + 1,229 x 88,568 (12-29) + 3 x 88,210 (01-05) + 1,283 x 88,210 (01-05, holdings change the events miss)
    #   + 13,627 x 91,519 + 22,305 x 95,284 + 2,932 x 90,061 + 855 x 87,974
    cost = 671_268 * 74_972 + 1_229 * 88_568 + 1_286 * 88_210
    cost += 13_627 * 91_519 + 22_305 * 95_284 + 2_932 * 90_061 + 855 * 87_974
    assert cost == 54_260_308_283  # USD, for 713,502 BTC
    assert row(df, "2026-02-02")["avg_cost_usd"] == pytest.approx(cost / 713_502, rel=1e-12)  # 76,047.87
    assert row(df, "2025-12-22")["avg_cost_usd"] == 74_972
    assert math.isnan(row(df, "2025-12-15")["avg_cost_usd"])  # before the anchor: unknown, no look-ahead
    assert "1,283 BTC to 2026-01-05 not in the events, priced at 88,210 USD/BTC" in prov.notes


def test_average_cost_is_unknown_without_an_anchor_or_after_an_unpriced_change(tmp_path: Path):
    # synthetic holdings and events
    held = pd.DataFrame({"date": pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20"], utc=True)})
    held["btc"] = [1_000.0, 1_100.0, 1_300.0]
    events = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-06", "2025-01-13"], utc=True),
            "btc": [1_000.0, 100.0],
            "price_usd": [50e3, 60e3],
        }
    )
    avg, notes = mstr_average_cost(held, events)
    assert avg.iloc[0] == 50e3
    assert avg.iloc[1] == pytest.approx((1_000 * 50e3 + 100 * 60e3) / 1_100)
    assert math.isnan(avg.iloc[2]) and "cost unknown from 2025-01-20" in notes[-1]  # +200 BTC, no event
    none, _ = mstr_average_cost(held, events.assign(btc=[999.0, 100.0]))
    assert none.isna().all()


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
        "8k_filings": [{"filingDate": "2025-01-06", "accession": "a", "atmSharesSold": None, "btcHoldings": "1,010"}],
    }
    f.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"8k_filings record 0: field 'btcHoldings': malformed number '1,010'"):
        read_mstr_8k_summary(f)


def test_missing_baseline_is_named(tmp_path: Path):
    f = tmp_path / "8k.json"
    f.write_text('{"8k_filings": []}')
    with pytest.raises(DataError, match="missing field 'baseline'"):
        read_mstr_8k_summary(f)


def test_a_summary_without_filings_is_an_error_not_an_empty_table(tmp_path: Path):
    f = tmp_path / "8k.json"
    f.write_text(json.dumps({"baseline": {"asOf": "2025-01-01", "sharesOutstandingBasic": 1}, "8k_filings": []}))
    with pytest.raises(DataError, match=r"8k\.json: no records in '8k_filings'$"):
        read_mstr_8k_summary(f)


def test_bom_json_is_read_and_missing_file_is_a_source_error(tmp_path: Path):
    f = tmp_path / "8k.json"
    filing = {"filingDate": "2025-01-06", "accession": "a", "btcHoldings": 1010}
    doc = {"baseline": {"asOf": "2025-01-01", "sharesOutstandingBasic": 1}, "8k_filings": [filing]}
    f.write_bytes(("\ufeff" + json.dumps(doc)).encode())
    df, _ = read_mstr_8k_summary(f)
    assert list(df["btc_held"]) == [1010]
    with pytest.raises(SourceError, match=r"absent\.json"):
        read_numerical_snapshot(tmp_path / "absent.json")


def test_instruments_keep_conversion_prices_and_maturities_and_are_known_from_their_issue(shared_data: Path):
    inst, prov = read_dilutive_instruments(shared_data / "treasury_companies" / "numerical-snapshot.json")
    assert list(inst.columns) == tables.TREASURY_INSTRUMENTS.names
    mstr = inst[(inst["ticker"] == "MSTR") & (inst["kind"] == "convertible")].set_index("expiration")
    assert len(mstr) == 8  # includes the notes redeemed in 2025
    note_2030 = mstr.loc[utc("2030-03-15")]
    assert (note_2030["face_value_usd"], note_2030["strike_usd"], note_2030["potential_shares"]) == (
        800_000_000,
        149.77,
        5_341_600,
    )
    assert note_2030["known"] == note_2030["issued"] == utc("2024-03-08")
    assert mstr.loc[utc("2025-12-15"), "strike_usd"] == 39.8
    assert "BMNR" not in set(inst["ticker"])  # an ETH treasury
    assert inst["coupon"].isna().all()
    # MARA's notes carry no issue date: known from the file's date only
    mara = inst[inst["ticker"] == "MARA"]
    assert mara["issued"].isna().all() and (mara["known"] == utc(NUMERICAL_SNAPSHOT_AS_OF)).all()
    assert "known = the issue date, else the file's date 2026-03-08" in prov.notes


def test_bundled_stack_file_names_a_source_for_every_entry_and_matches_recorded_notes(shared_data: Path):
    sf = read_stack_file()
    assert len(sf.coupons) == 8 and sf.coupons["source"].str.contains("Convertible Senior Notes").all()
    assert sf.companies["source"].str.startswith("treasuries.toml: MicroStrategy").all()
    assert sf.charges["source"].str.startswith("treasuries.toml: Strategy 8-K").all()
    # the USD Reserve of $1.44B "covers 21 months of dividends" (2025-12-01): 1.44B x 12 / 21 a year
    assert sf.charges["annual_preferred_dividends_usd"].iloc[0] == pytest.approx(1.44e9 * 12 / 21, abs=1)
    inst, _ = read_dilutive_instruments(shared_data / "treasury_companies" / "numerical-snapshot.json")
    mstr = attach_coupons(inst, sf.coupons).query("ticker == 'MSTR'")
    assert mstr["coupon"].notna().all() and mstr["source"].str.contains("; coupon: ").all()
    live = mstr[mstr["expiration"] > utc("2026-02-05")]
    # 1.01B x 0.625% + 0.8B x 0.625% + 0.60375B x 0.875% + 0.8B x 2.25% (+ 3.0B and 2.0B at 0%) = 34.595M USD a year
    assert (live["face_value_usd"] * live["coupon"]).sum() == pytest.approx(34_595_312.5, rel=1e-12)


def test_bundled_corrections_replace_the_trackers_stale_quarter_ends(shared_data: Path):
    df, _ = read_numerical_snapshot(shared_data / "treasury_companies" / "numerical-snapshot.json")
    fixed = read_stack_file().companies.set_index("as_of")
    for when, tracker, company in (
        ("2020-12-31", 40_824, 70_470),
        ("2021-06-30", 92_079, 105_085),
        ("2022-03-31", 125_051, 129_218),
        ("2023-03-31", 138_955, 140_000),
    ):
        old = row(df, when)
        assert old["btc_held"] == tracker
        assert fixed.loc[utc(when), "btc_held"] == company
        assert fixed.loc[utc(when), "published"] == old["published"]  # only the number changes


def _instrument(ticker: str, expiration: str) -> pd.DataFrame:
    """One synthetic `treasury_instruments` convertible."""
    return tables.validate(
        "treasury_instruments",
        pd.DataFrame(
            {
                "known": [utc("2025-01-01")],
                "ticker": [ticker],
                "kind": ["convertible"],
                "face_value_usd": [1e6],
                "strike_usd": [10.0],
                "potential_shares": [1e5],
                "issued": [utc("2025-01-01")],
                "expiration": [utc(expiration)],
                "coupon": [float("nan")],
                "source": ["synthetic"],
            }
        ),
    )


def test_stack_file_rows_are_checked_and_a_coupon_must_match_a_note(tmp_path: Path):
    f = tmp_path / "stack.toml"
    f.write_text(
        '[[company]]\nticker = "SYN"\nas_of = "2026-01-31"\nsource = "synthetic"\nbtc_held = 10\ndebt_usd = 5\n'
        '[[coupon]]\nticker = "SYN"\nexpiration = "2030-01-01"\ncoupon = 0.01\nsource = "synthetic"\n'
        '[[charges]]\nticker = "SYN"\nas_of = "2026-01-31"\nannual_interest_usd = 7\nsource = "synthetic"\n'
    )
    sf = read_stack_file(f)
    r = sf.companies.iloc[0]
    assert (r["ticker"], r["btc_held"], r["debt_usd"], r["published"]) == ("SYN", 10, 5, utc("2026-01-31"))
    assert r["source"] == "stack.toml: synthetic" and math.isnan(r["cash_usd"])
    c = sf.charges.iloc[0]
    assert list(sf.charges.columns) == tables.TREASURY_CHARGES.names
    assert (c["as_of"], c["annual_interest_usd"], c["source"]) == (utc("2026-01-31"), 7, "stack.toml: synthetic")
    assert math.isnan(c["annual_preferred_dividends_usd"])
    assert attach_coupons(_instrument("SYN", "2030-01-01"), sf.coupons)["coupon"].iloc[0] == 0.01
    with pytest.raises(DataError, match="SYN 2030-01-01"):
        attach_coupons(_instrument("SYN", "2031-01-01"), sf.coupons)
    with pytest.raises(DataError, match="coupon given twice for SYN 2030-01-01"):
        attach_coupons(_instrument("SYN", "2030-01-01"), pd.concat([sf.coupons, sf.coupons]))
    f.write_text('[[company]]\nticker = "SYN"\nas_of = "2026-01-31"\nbtc_held = 10\n')
    with pytest.raises(DataError, match="company entry 0: missing source"):
        read_stack_file(f)
    f.write_text("[[company]\n")
    with pytest.raises(DataError, match="not valid TOML"):
        read_stack_file(f)


def test_purchase_events_without_a_record_are_an_error(tmp_path: Path):
    f = tmp_path / "btc-events.json"
    f.write_text("[]")
    with pytest.raises(DataError, match=r"btc-events\.json: no purchase events$"):
        read_purchase_events(f)


# --- bad input: purchase events and 8-K records --------------------------------------------------------------


def event(date: str, btc: float | None, price: float | None) -> dict:
    return {"filingDate": date, "accession": date, "btcAcquired": btc, "avgPriceUsd": price, "snippet": None}


EVENTS = [event("2025-01-06", 1_000, 50e3), event("2025-01-13", 100, 60e3), event("2025-01-20", 200, 70e3)]


def write(tmp_path: Path, doc: object, name: str = "events.json") -> Path:
    f = tmp_path / name
    f.write_text(json.dumps(doc))  # NaN / Infinity written as Python writes them
    return f


def test_purchase_events_in_date_order_and_unpriced_ones_counted(tmp_path: Path):
    doc = [EVENTS[2], event("2020-08-11", 21_454, None), EVENTS[0], EVENTS[1]]
    df, note = read_purchase_events(write(tmp_path, doc))
    assert list(df["btc"]) == [1_000, 100, 200] and list(df["price_usd"]) == [50e3, 60e3, 70e3]
    assert df["date"].is_monotonic_increasing
    assert note == "events.json: 1 event(s) without btcAcquired or avgPriceUsd skipped."


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("btcAcquired", math.nan, "not a finite number nan"),
        ("avgPriceUsd", math.inf, "not a finite number inf"),
        ("btcAcquired", 0, r"out of range \(valid: > 0 and <= 2.1e\+07\): 0"),
        ("btcAcquired", -855, "out of range .*: -855"),
        ("avgPriceUsd", 1e300, "out of range .*: 1e\\+300"),
        ("avgPriceUsd", "abc", "malformed number 'abc'"),
    ],
)
def test_a_corrupt_event_number_names_file_record_and_field(tmp_path: Path, field: str, value: object, says: str):
    doc = [dict(e) for e in EVENTS]
    doc[1][field] = value
    with pytest.raises(DataError, match=rf"events\.json: record 1: field '{field}': {says}"):
        read_purchase_events(write(tmp_path, doc))


@pytest.mark.parametrize("field", ["filingDate", "btcAcquired", "avgPriceUsd"])
def test_an_event_field_lost_from_the_file_is_named(tmp_path: Path, field: str):
    doc = [{k: v for k, v in e.items() if k != field} for e in EVENTS]
    with pytest.raises(DataError, match=rf"record 0: missing field '{field}'"):
        read_purchase_events(write(tmp_path, doc))


def test_a_repeated_event_is_dropped_and_counted_and_a_different_one_refused(tmp_path: Path):
    df, note = read_purchase_events(write(tmp_path, [*EVENTS, EVENTS[1]]))
    assert list(df["btc"]) == [1_000, 100, 200]
    assert "1 event(s) repeating an earlier event dropped." in note
    other = event("2025-01-13", 200, 120e3)
    with pytest.raises(DataError, match=r"rows 1 and 3 \[filingDate 2025-01-13.*btcAcquired 100.0 vs 200.0"):
        read_purchase_events(write(tmp_path, [*EVENTS, other]))


def test_an_event_dated_after_the_file_was_written_is_refused(tmp_path: Path):
    doc = [*EVENTS[:2], event("2100-01-20", 200, 70e3)]
    with pytest.raises(DataError, match=r"events\.json: column 'filingDate', row 2: 2100-01-20"):
        read_purchase_events(write(tmp_path, doc))


HELD = pd.DataFrame({"date": pd.to_datetime(["2025-01-06", "2025-01-13", "2025-01-20"], utc=True)})
HELD["btc"] = [1_000.0, 1_100.0, 1_500.0]  # +400 BTC to 01-20, events 300: 100 priced at the window's last event


@settings(deadline=None, max_examples=25)
@given(st.permutations(range(4)))
def test_the_average_cost_does_not_depend_on_the_files_row_order(order: list[int]):
    import tempfile

    doc = [*EVENTS, event("2025-01-17", 100, 65e3)]
    with tempfile.TemporaryDirectory() as tmp:
        events, _ = read_purchase_events(write(Path(tmp), [doc[i] for i in order]))
    avg, notes = mstr_average_cost(HELD, events)
    cost = 1_000 * 50e3 + 100 * 60e3 + 100 * 65e3 + 200 * 70e3 + 100 * 70e3  # the rest at 01-20's price
    assert avg.iloc[2] == pytest.approx(cost / 1_500, rel=1e-12)
    assert "100 BTC to 2025-01-20 not in the events, priced at 70,000 USD/BTC" in notes


def filing(date: str, btc: float | None, atm: float | None = None, **more: object) -> dict:
    return {"filingDate": date, "accession": f"acc-{date}", "atmSharesSold": atm, "btcHoldings": btc, **more}


def write_8k(tmp_path: Path, filings: list[dict]) -> Path:
    base = {"asOf": "2025-01-01", "sharesOutstandingBasic": 100, "btcHoldings": 1000, "preferredProceeds": 0}
    return write(tmp_path, {"baseline": base, "8k_filings": filings}, "8k.json")


def test_a_repeated_8k_record_counts_its_atm_shares_once_and_a_different_one_is_refused(tmp_path: Path):
    filings = [filing("2025-01-06", 1_010, 5), filing("2025-01-13", 1_020, 7)]
    df, prov = read_mstr_8k_summary(write_8k(tmp_path, [*filings, filings[1]]), events=write(tmp_path, EVENTS))
    assert list(df["shares_basic"]) == [105, 112]
    assert "1 8-K record(s) repeating an earlier record dropped." in prov.notes
    other = filing("2025-01-13", 2_040, 14)
    with pytest.raises(DataError, match=r"8k\.json, rows 1 and 2 \[accession acc-2025-01-13\].*btcHoldings"):
        read_mstr_8k_summary(write_8k(tmp_path, [*filings, other]))


@pytest.mark.parametrize("field", ["accession", "atmSharesSold", "btcHoldings"])
def test_an_8k_field_lost_from_the_file_is_named(tmp_path: Path, field: str):
    filings = [{k: v for k, v in filing("2025-01-06", 1_010).items() if k != field}]
    with pytest.raises(DataError, match=rf"8k\.json: 8k_filings record 0: missing field '{field}'"):
        read_mstr_8k_summary(write_8k(tmp_path, filings))


def test_a_nan_holding_is_refused_not_read_as_no_report(tmp_path: Path):
    with pytest.raises(DataError, match=r"8k_filings record 1: field 'btcHoldings': not a finite number nan"):
        read_mstr_8k_summary(write_8k(tmp_path, [filing("2025-01-06", 1_010), filing("2025-01-13", math.nan)]))


@pytest.mark.parametrize(
    ("kind", "field", "figure", "column", "value"),
    [
        ("STRE Preferred Issuance", "preferredIssued", {"usdEquiv": 717e6}, "preferred_usd", 717e6),
        ("Weekly ATM + USD Reserve", "usdReserve", 1.44e9, "cash_usd", 1.44e9),
    ],
)
def test_a_filing_whose_type_announces_a_figure_must_carry_it(
    tmp_path: Path, kind: str, field: str, figure: object, column: str, value: float
):
    df, _ = read_mstr_8k_summary(write_8k(tmp_path, [filing("2025-01-06", 1_010, type=kind, **{field: figure})]))
    assert df[column].iloc[0] == value
    without = filing("2025-01-06", 1_010, type=kind)
    with pytest.raises(DataError, match=rf"8k_filings record 0: type '{re.escape(kind)}' but field '{field}' missing"):
        read_mstr_8k_summary(write_8k(tmp_path, [without]))
