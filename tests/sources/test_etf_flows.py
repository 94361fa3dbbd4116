"""Farside ETF flows: US$m strings -> USD, '(x)' negatives, '-' n/a, summary rows and Total dropped."""

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.etf_flows import (
    ALL_FUNDS,
    merge_flows,
    parse_farside_millions,
    read_farside_json,
    read_farside_total_csv,
)


@pytest.fixture(scope="module")
def flows(shared_data: Path):
    return read_farside_json(shared_data / "etf_flows" / "farside-btc.json")


def flow(df: pd.DataFrame, fund: str, when: str) -> float:
    rows = df[(df["fund"] == fund) & (df["date"] == utc(when))]
    assert len(rows) == 1
    return float(rows["flow_usd"].iloc[0])


def test_first_trading_day_flows(flows):
    df, _ = flows
    assert flow(df, "IBIT", "2024-01-11") == pytest.approx(111.7e6)
    assert flow(df, "GBTC", "2024-01-11") == pytest.approx(-95.1e6)
    assert df[(df["date"] == utc("2024-01-11")) & (df["fund"] == "BTC")].empty  # '-' (not yet listed)


def test_summary_rows_total_column_and_placeholder_day_are_gone(flows):
    df, prov = flows
    assert "Total" not in set(df["fund"])
    assert df["date"].max() == utc("2024-10-30")  # 31 Oct 2024 is an unfilled all-0.0 row
    assert df[df["date"] == utc("2024-01-15")].empty  # MLK day: all '-'
    assert set(df["fund"]) == {"IBIT", "FBTC", "BITB", "ARKB", "BTCO", "EZBC", "BRRR", "HODL", "BTCW", "GBTC", "BTC"}
    assert "4 summary row(s)" in prov.notes and "1 all-0.0 placeholder row(s)" in prov.notes
    # the scrape's own 'Total' summary row (IBIT 23,987.0) is stale: the daily rows sum to 25,817.1
    assert df[df["fund"] == "IBIT"]["flow_usd"].sum() == pytest.approx(25_817.1e6, abs=1e3)


def write(tmp_path: Path, rows: list[dict]) -> Path:
    f = tmp_path / "farside.json"
    f.write_bytes(("\ufeff" + json.dumps(rows)).encode())
    return f


def test_small_scrape_with_every_wart(tmp_path: Path):
    f = write(
        tmp_path,
        [
            {"Date": "02 Jan 2025", "IBIT": "1,045.0", "GBTC": "(1,234.5)", "BTC": "-", "Total": "(189.5)"},
            {"Date": "03 Jan 2025", "IBIT": "0.0", "GBTC": "0.0", "BTC": "0.0", "Total": "0.0"},
            {"Date": "Total", "IBIT": "1,045.0", "GBTC": "(1,234.5)", "BTC": "0.0", "Total": "(189.5)"},
            {"Date": "Average", "IBIT": "1.0", "GBTC": "(1.0)", "BTC": "0.0", "Total": "0.0"},
        ],
    )
    df, _ = read_farside_json(f)
    assert list(df["fund"]) == ["GBTC", "IBIT"]
    assert list(df["flow_usd"]) == [-1234.5e6, 1045.0e6]


def test_malformed_number_names_record_and_fund(tmp_path: Path):
    f = write(tmp_path, [{"Date": "02 Jan 2025", "IBIT": "12..3"}])
    with pytest.raises(DataError, match=r"record 0 \(02 Jan 2025\): field 'IBIT': malformed number '12\.\.3'"):
        read_farside_json(f)


def test_odd_date_names_the_record(tmp_path: Path):
    f = write(tmp_path, [{"Date": "02 Jan 2025", "IBIT": "1.0"}, {"Date": "2025-01-03", "IBIT": "1.0"}])
    with pytest.raises(DataError, match=r"record 1: field 'Date': malformed date '2025-01-03'"):
        read_farside_json(f)


def test_a_repeated_record_is_dropped_and_counted(tmp_path: Path):
    day = {"Date": "02 Jan 2025", "IBIT": "1.5", "GBTC": "(2.0)", "Total": "(0.5)"}
    df, prov = read_farside_json(write(tmp_path, [day, {"Date": "03 Jan 2025", "IBIT": "3.0"}, dict(day)]))
    assert list(zip(df["date"], df["fund"], df["flow_usd"], strict=True)) == [
        (utc("2025-01-02"), "GBTC", -2.0e6),
        (utc("2025-01-02"), "IBIT", 1.5e6),
        (utc("2025-01-03"), "IBIT", 3.0e6),
    ]
    assert "1 record(s) repeating an earlier record dropped" in prov.notes


def test_a_date_twice_with_other_values_names_both_records_even_after_a_placeholder(tmp_path: Path):
    # an unfilled all-0.0 day that comes again with numbers: which is the day's flow is unknown
    rows = [
        {"Date": "02 Jan 2025", "IBIT": "1.5"},
        {"Date": "03 Jan 2025", "IBIT": "0.0", "GBTC": "0.0"},
        {"Date": "03 Jan 2025", "IBIT": "1.0", "GBTC": "1.0"},
    ]
    with pytest.raises(DataError, match=r"farside\.json: records 1 and 2: the date '03 Jan 2025' twice with different"):
        read_farside_json(write(tmp_path, rows))


def test_missing_file_is_a_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match=r"farside\.json"):
        read_farside_json(tmp_path / "farside.json")


@pytest.mark.parametrize(
    ("text", "value"),
    [("111.7", 111.7), ("(95.1)", -95.1), ("-52.7", -52.7), ("1,045.0", 1045.0), ("(20,061.9)", -20061.9), ("-", None)],
)
def test_farside_cells(text: str, value: float | None):
    assert parse_farside_millions(text) == value


@pytest.mark.parametrize("text", ["", "(1.0", "1.0)", "1,00.0", "--", "1e3", "abc", "(-1.0)", "-(1.0)", "+1.0"])
def test_farside_rejects_other_text(text: str):
    with pytest.raises(ValueError, match="not a Farside number"):
        parse_farside_millions(text)


def farside_text(tenths: int) -> str:
    body = f"{abs(tenths) / 10:,.1f}"
    return f"({body})" if tenths < 0 else body


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_farside_round_trip(tenths: int):
    assert parse_farside_millions(farside_text(tenths)) == pytest.approx(tenths / 10, abs=1e-9)
    signed = f"{tenths / 10:,.1f}"  # the total file writes negatives with a minus sign
    assert parse_farside_millions(signed) == pytest.approx(tenths / 10, abs=1e-9)


@given(st.text(max_size=10))
def test_farside_parser_returns_a_number_none_or_raises_value_error(text: str):
    try:
        out = parse_farside_millions(text)
    except ValueError:
        return
    assert out is None or isinstance(out, float)


@pytest.fixture(scope="module")
def totals(shared_data: Path):
    return read_farside_total_csv(shared_data / "etf_flows" / "farside_total_2024-01-11_2026-01-02.csv")


def test_daily_totals_with_quoted_thousands_minus_signs_and_holidays(totals):
    df, prov = totals
    assert (df["fund"] == ALL_FUNDS).all()
    by_day = df.set_index("date")["flow_usd"]
    assert by_day[utc("2024-01-11")] == pytest.approx(655.3e6)
    assert by_day[utc("2024-11-07")] == pytest.approx(1_373.8e6)  # the file's maximum, '1,373.80'
    assert by_day[utc("2025-02-25")] == pytest.approx(-1_113.7e6)  # its minimum, a minus sign
    assert utc("2024-01-15") not in by_day.index  # MLK day reads 0.0: a market holiday
    assert by_day.index.max() == utc("2025-12-31")  # 02 Jan 2026 reads 0.0: not filled in yet
    assert "4 summary row(s)" in prov.notes and "17 day(s) reading exactly 0.0" in prov.notes
    # the file's own 'Total' summary row, US$56,594.20m, is the sum of its daily rows
    assert df["flow_usd"].sum() == pytest.approx(56_594.2e6, abs=0.5e6)


def test_per_fund_rows_win_and_the_total_fills_the_later_days(flows, totals):
    df, prov = merge_flows(flows, totals)
    daily = df.groupby("date")["flow_usd"].sum()
    per_fund_days = set(flows[0]["date"])
    assert set(df.loc[df["fund"] == ALL_FUNDS, "date"]).isdisjoint(per_fund_days)  # never counted twice
    assert df[df["fund"] != ALL_FUNDS]["date"].max() == utc("2024-10-30")
    assert daily.index.max() == utc("2025-12-31")
    assert daily[utc("2024-11-07")] == pytest.approx(1_373.8e6)
    assert "per-fund rows win on their 203 days" in prov.notes and "US$39.7m (on 2024-10-10)" in prov.notes


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Date,Total\n11 Jan 2024,655.3\n2024-01-12,203\n", r"column 'Date', row 2: malformed date '2024-01-12'"),
        ("Date,Total\n11 Jan 2024,655.3\n12 Jan 2024,(-3)\n", r"column 'Total', row 2: malformed number '\(-3\)'"),
        ("Date,Total\n11 Jan 2024,655.3\n11 Jan 2024,203\n", r"column 'Date', rows 1 and 2: the same date twice"),
        (  # a not-yet-filled day (0, dropped) and the same day again with a number
            "Date,Total\n11 Jan 2024,655.3\n12 Jan 2024,0\n12 Jan 2024,1.0\n",
            r"column 'Date', rows 2 and 3: the same date twice \(12 Jan 2024\) with different totals \('0' vs '1\.0'\)",
        ),
    ],
)
def test_a_bad_total_row_names_file_column_and_row(tmp_path: Path, body: str, message: str):
    f = tmp_path / "total.csv"
    f.write_text(body)
    with pytest.raises(DataError, match=rf"total\.csv: {message}"):
        read_farside_total_csv(f)


def test_an_empty_scrape_or_a_total_with_a_header_only_is_an_error(tmp_path: Path):
    (tmp_path / "farside.json").write_text("[]")
    with pytest.raises(DataError, match=r"farside\.json: no rows$"):
        read_farside_json(tmp_path / "farside.json")
    (tmp_path / "total.csv").write_text("Date,Total\n")
    with pytest.raises(DataError, match=r"total\.csv: no data rows$"):
        read_farside_total_csv(tmp_path / "total.csv")


def test_zero_days_are_listed_in_date_order_whatever_the_file_order(tmp_path: Path):
    rows = ["15 Jan 2024,0.00", "16 Jan 2024,12.5", "19 Feb 2024,0.00"]
    (tmp_path / "a.csv").write_text("Date,Total\n" + "\n".join(rows) + "\n")
    (tmp_path / "b.csv").write_text("Date,Total\n" + "\n".join(rows[::-1]) + "\n")
    (a, pa), (b, pb) = read_farside_total_csv(tmp_path / "a.csv"), read_farside_total_csv(tmp_path / "b.csv")
    assert a.equals(b) and list(a["flow_usd"]) == [12.5e6]
    assert pa.notes == pb.notes and pa.notes.endswith("an unfilled last day): 2024-01-15, 2024-02-19.")


def test_the_recorded_total_ends_without_a_line_break_and_its_notes_say_so(totals):
    assert totals[1].notes.endswith(" Line 517 (the last) has no line break: the file may be cut short.")


def test_a_repeated_total_row_is_dropped_and_counted(tmp_path: Path):
    f = tmp_path / "total.csv"
    f.write_text('Date,Total\n11 Jan 2024,655.3\n12 Jan 2024,"1,000.0"\n12 Jan 2024,"1,000.0"\nTotal,"1,655.3"\n')
    df, prov = read_farside_total_csv(f)
    assert list(df["flow_usd"]) == [655.3e6, 1000.0e6]
    assert "1 row(s) repeating an earlier row dropped" in prov.notes
