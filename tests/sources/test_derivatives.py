"""Perp importers: aggregate OI ('YYYY.M.D', BOM), Binance 8h OI, daily funding."""

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.derivatives import (
    parse_dotted_dates,
    read_aggregate_oi,
    read_binance_oi,
    read_daily_funding,
)


def at(df: pd.DataFrame, when: str) -> pd.Series:
    rows = df[df["timestamp"] == utc(when)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_aggregate_oi_reads_the_bom_file_and_dotted_dates(shared_data: Path):
    df, prov = read_aggregate_oi(shared_data / "derivatives_oi_funding" / "open_interest.csv")
    first = df.iloc[0]
    assert first["timestamp"] == utc("2019-03-30")
    assert (first["venue"], first["symbol"], first["oi_usd"]) == ("aggregate", "BTC-ALL", 605258083)
    assert at(df, "2020-03-12")["oi_usd"] == 740023419.7  # the March-2020 flush
    assert len(df) == 2063 and df["timestamp"].max() == utc("2024-11-20")
    assert df["oi_btc"].isna().all() and df["funding_rate"].isna().all()
    assert prov.licence == "unstated"


def test_binance_oi_around_the_2025_10_10_crash(shared_data: Path):
    df, _ = read_binance_oi(shared_data / "derivatives_oi_funding" / "binance_btcusdt_oi_8h_2025-08-16_2026-08-31.csv")
    before, after = at(df, "2025-10-10T16:00Z"), at(df, "2025-10-11T00:00Z")
    assert (before["oi_btc"], before["oi_usd"]) == (95469.95, 11340464602)
    assert (after["oi_btc"], after["oi_usd"]) == (72640.67, 8190750633)
    assert after["oi_contracts"] == after["oi_btc"]  # 1 contract = 1 BTC on Binance USDT-M
    assert (after["venue"], after["symbol"]) == ("binance", "BTCUSDT")
    assert len(df) == 1143


def test_daily_funding_is_a_daily_mean_per_8h(shared_data: Path):
    df, prov = read_daily_funding(shared_data / "derivatives_oi_funding" / "funding_rates.csv")
    # stamped 16:00 UTC, the day's last 8h settlement, when the daily mean is first known
    assert at(df, "2020-03-13T16:00Z")["funding_rate"] == -0.00127150333333333
    row = at(df, "2026-02-05T16:00Z")
    assert row["funding_rate"] == 1.50466666666667e-05
    assert row["funding_interval_h"] == 8
    assert "DAILY MEAN" in prov.notes and prov.licence == "MIT"


def test_dotted_dates_with_bom_and_without_zero_padding(tmp_path: Path):
    f = tmp_path / "oi.csv"
    f.write_bytes("\ufeffDate,Data\n2024.1.5,1e9\n2024.12.31,2.5e9\n".encode())
    df, _ = read_aggregate_oi(f)
    assert list(df["timestamp"]) == [utc("2024-01-05"), utc("2024-12-31")]
    assert list(df["oi_usd"]) == [1e9, 2.5e9]


@pytest.mark.parametrize("bad", ["2024-01-05", "2024.2.30", "2024.13.1", "24.1.5", ""])
def test_a_malformed_dotted_date_names_file_column_and_row(tmp_path: Path, bad: str):
    f = tmp_path / "oi.csv"
    f.write_text(f"Date,Data\n2024.1.4,1e9\n{bad},1e9\n")
    with pytest.raises(DataError, match=r"oi\.csv: column 'Date', row 2"):
        read_aggregate_oi(f)


def test_malformed_oi_value_names_the_row(tmp_path: Path):
    f = tmp_path / "b.csv"
    f.write_text(
        "time_utc,sum_open_interest_btc,sum_open_interest_value_usdt\n"
        "2025-10-10T00:00:00Z,96714.5,11765324685\n2025-10-10T08:00:00Z,96k,11677816342\n"
    )
    with pytest.raises(DataError, match=r"'sum_open_interest_btc', row 2: malformed number '96k'"):
        read_binance_oi(f)


def test_missing_funding_column_is_named(tmp_path: Path):
    f = tmp_path / "f.csv"
    f.write_text("date,funding\n2024-01-01,0.0001\n")
    with pytest.raises(DataError, match="missing column 'funding_mean'"):
        read_daily_funding(f)


def test_missing_file_is_a_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match=r"open_interest\.csv"):
        read_aggregate_oi(tmp_path / "open_interest.csv")


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)), st.booleans())
def test_dotted_date_round_trip(day: dt.date, pad: bool):
    text = f"{day.year}.{day.month:02d}.{day.day:02d}" if pad else f"{day.year}.{day.month}.{day.day}"
    assert parse_dotted_dates(pd.Series([text])).iloc[0] == utc(day.isoformat())


@given(st.text(max_size=12))
def test_dotted_date_parser_never_raises_and_accepts_only_its_form(text: str):
    out = parse_dotted_dates(pd.Series([text])).iloc[0]
    if not pd.isna(out):
        assert text.strip().count(".") == 2
        assert out == utc(dt.date(*map(int, text.strip().split("."))).isoformat())
