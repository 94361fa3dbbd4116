"""Perp importers: aggregate OI ('YYYY.M.D', BOM), CoinGlass OI (leading zeros), Binance 8h OI, daily
funding, the cross-venue funding average and its calibration."""

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.derivatives import (
    funding_calibration,
    parse_dotted_dates,
    read_aggregate_oi,
    read_binance_oi,
    read_coinglass_oi,
    read_daily_funding,
    read_funding_average,
)


def at(df: pd.DataFrame, when: str) -> pd.Series:
    rows = df[df["timestamp"] == utc(when)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_aggregate_oi_reads_the_bom_file_and_dotted_dates(shared_data: Path):
    df, prov = read_aggregate_oi(shared_data / "derivatives_oi_funding" / "open_interest.csv")
    first = df.iloc[0]
    assert first["timestamp"] == utc("2019-03-30T23:59:59")  # the day's close: known at the end of the day
    assert (first["venue"], first["symbol"], first["oi_usd"]) == ("aggregate", "BTC-ALL", 605258083)
    assert at(df, "2020-03-12T23:59:59")["oi_usd"] == 740023419.7  # the March-2020 flush
    assert len(df) == 2063 and df["timestamp"].max() == utc("2024-11-20T23:59:59")
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
    assert list(df["timestamp"]) == [utc("2024-01-05T23:59:59"), utc("2024-12-31T23:59:59")]
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


def test_coinglass_oi_keeps_btc_closes_and_drops_the_leading_zeros(shared_data: Path):
    df, prov = read_coinglass_oi(shared_data / "derivatives_oi_funding" / "coinglass_futures_oi_agg_1d.csv")
    total = df[df["symbol"] == "BTC-CG"].set_index("timestamp")["oi_usd"]
    coinm = df[df["symbol"] == "BTC-CG-COINM"].set_index("timestamp")["oi_usd"]
    assert (df["venue"] == "aggregate").all() and df["oi_btc"].isna().all()
    # PROVENANCE's figures: the bar opened 2020-03-12 00:00 closes at the day's end
    assert total[utc("2020-03-12T23:59:59")] == pytest.approx(2.22e9, rel=0.01)
    assert total[utc("2024-08-05T23:59:59")] == 26646516636.0
    assert coinm[utc("2024-08-05T23:59:59")] == 3110231029.0
    assert total.index.min() == utc("2020-02-27T23:59:59") and total.index.max() == utc("2025-09-08T23:59:59")
    assert (total > 0).all() and len(total) == 2021  # 3,904 BTC rows, 1,883 of them padding before the start
    assert "1883 zero/blank BTC row(s)" in prov.notes


def coinglass_file(tmp_path: Path, rows: str) -> Path:
    f = tmp_path / "cg.csv"
    f.write_text("symbol,ts_utc,oi_total_close,oi_stable_close,oi_coinm_close,unit\n" + rows)
    return f


def test_coinglass_zero_rows_mean_missing_and_other_coins_are_ignored(tmp_path: Path):
    f = coinglass_file(
        tmp_path,
        "BTC,2020-01-01 00:00:00+00,0.0,0.0,0.0,\n"
        "BTC,2020-01-02 00:00:00+00,,0.0,0.0,\n"
        "ETH,2020-01-03 00:00:00+00,5e8,1,2,usd\n"
        "BTC,2020-01-03 00:00:00+00,3e9,1,1e9,usd\n"
        "BTC,2020-01-04 00:00:00+00,0.0,1,0.0,usd\n"
        "BTC,2020-01-05 00:00:00+00,3.3e9,1,1.1e9,usd\n",
    )
    df, prov = read_coinglass_oi(f)
    total = df[df["symbol"] == "BTC-CG"]
    assert list(total["oi_usd"]) == [3e9, 3.3e9]
    assert list(total["timestamp"]) == [utc("2020-01-03T23:59:59"), utc("2020-01-05T23:59:59")]
    assert "2 before the series starts and 1 inside it" in prov.notes


@pytest.mark.parametrize("coinm", ["0.0", "", "nan"])
def test_coinglass_coin_margined_close_missing_beside_a_total_is_dropped_and_counted(tmp_path: Path, coinm: str):
    f = coinglass_file(
        tmp_path,
        "BTC,2020-01-03 00:00:00+00,3e9,1,1e9,usd\n"
        f"BTC,2020-01-04 00:00:00+00,3.1e9,1,{coinm},usd\n"
        "BTC,2020-01-05 00:00:00+00,3.3e9,1,1.1e9,usd\n",
    )
    df, prov = read_coinglass_oi(f)
    assert df[df["symbol"] == "BTC-CG"]["oi_usd"].tolist() == [3e9, 3.1e9, 3.3e9]
    assert df[df["symbol"] == "BTC-CG-COINM"]["oi_usd"].tolist() == [1e9, 1.1e9]
    assert (
        "1 day(s) with a zero/blank oi_coinm_close beside a total (missing) dropped from 'BTC-CG-COINM'" in prov.notes
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("BTC,2020-01-03 00:00:00+00,-3e9,1,1e9,usd", r"column 'oi_total_close', row 2: negative open interest"),
        ("BTC,2020-01-03 00:00:00+00,3e9,1,1e9,btc", r"column 'unit', row 2: expected 'usd', got 'btc'"),
        ("BTC,2020-01-03 00:00:00+00,3bn,1,1e9,usd", r"column 'oi_total_close', row 2: malformed number '3bn'"),
        ("BTC,yesterday,3e9,1,1e9,usd", r"column 'ts_utc', row 2: malformed date/time 'yesterday'"),
    ],
)
def test_coinglass_bad_rows_name_file_column_and_row(tmp_path: Path, row: str, message: str):
    f = coinglass_file(tmp_path, "ETH,2020-01-02 00:00:00+00,1,1,1,usd\n" + row + "\n")
    with pytest.raises(DataError, match=rf"cg\.csv: {message}"):
        read_coinglass_oi(f)


def test_funding_average_is_per_8h_and_agrees_with_binance(shared_data: Path):
    d = shared_data / "derivatives_oi_funding"
    avg, _ = read_funding_average(d / "bmp_fr_average.json")
    assert at(avg, "2022-11-09T23:59:59")["funding_rate"] == pytest.approx(-1.3e-4, abs=5e-5)  # PROVENANCE
    assert (avg["symbol"] == "BTC-FR-AVG").all() and (avg["funding_interval_h"] == 8).all() and len(avg) == 1552
    binance, _ = read_daily_funding(d / "funding_rates.csv")
    by_day = {n: s.set_index(s["timestamp"].dt.floor("D"))["funding_rate"] for n, s in (("a", avg), ("b", binance))}
    cal = funding_calibration(by_day["a"], by_day["b"])
    # same unit: a cross-venue average runs a little under Binance's own rate, never 8x (per hour) or 3x (per day)
    assert cal.days > 1300 and cal.correlation > 0.8
    assert 0.7 < cal.slope < 1.2 and 0.7 < cal.median_ratio < 1.2


def test_funding_calibration_by_hand():
    days = pd.date_range("2024-01-01", periods=60, freq="D", tz="UTC")
    ref = pd.Series(np.linspace(1e-4, 2e-4, 60), index=days)
    cal = funding_calibration(ref * 3.0, ref)  # a per-day average against a per-8h reference
    assert (cal.days, cal.slope, cal.median_ratio) == (60, pytest.approx(3.0), pytest.approx(3.0))
    assert cal.correlation == pytest.approx(1.0)
    assert funding_calibration(ref.head(29), ref) is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"date": "2024-01-01"}', r"expected a JSON list"),
        ('[{"date": "2024-01-01"}]', r"record 0: missing field 'funding_rate'"),
        (
            '[{"date": "2024-01-01", "funding_rate": 1e-4}, {"date": "2024-13-01", "funding_rate": 1e-4}]',
            r"column 'date', record 1: malformed date/time '2024-13-01'",
        ),
        ('[{"date": "2024-01-01", "funding_rate": "high"}]', r"column 'funding_rate', record 0: malformed number"),
    ],
)
def test_funding_average_bad_records_name_the_record(tmp_path: Path, body: str, message: str):
    f = tmp_path / "fr.json"
    f.write_text(body)
    with pytest.raises(DataError, match=message):
        read_funding_average(f)


def test_zero_or_negative_open_interest_is_refused_naming_the_file(tmp_path: Path):
    f = tmp_path / "binance_btcusdt_oi_8h.csv"
    head = "time_utc,sum_open_interest_btc,sum_open_interest_value_usdt\n2026-02-04T16:00:00Z,88000,6.2e9\n"
    f.write_text(head + "2026-02-05T00:00:00Z,0,6.1e9\n")
    with pytest.raises(DataError, match=r"oi_8h\.csv: oi_contracts 0 at 2026-02-05T00:00:00\+00:00: not a reading"):
        read_binance_oi(f)
    f.write_text(head + "2026-02-05T00:00:00Z,-5000,6.1e9\n")
    with pytest.raises(
        DataError, match=r"oi_8h\.csv: table 'perp_metrics', column 'oi_contracts', row 1: out of range"
    ):
        read_binance_oi(f)


def test_the_recorded_oi_file_ends_without_a_line_break_and_its_notes_say_so(shared_data: Path):
    _, prov = read_aggregate_oi(shared_data / "derivatives_oi_funding" / "open_interest.csv")
    assert prov.notes.endswith(" Line 2064 (the last) has no line break: the file may be cut short.")


OI_HEAD = "Date,Data\n2024.1.4,1000000000\n2024.1.5,1100000000\n"


@pytest.mark.parametrize(
    ("last", "message"),
    [
        ("2024.1.6", r"oi\.csv: row 3 \(the last line, no line break\): 1 of 2 fields: the file is cut short$"),
        (
            "2024.1.6,12",
            r"oi\.csv: column 'Data', row 3 \(the last line, no line break\): '12' is shorter than every other "
            r"value of the column: the file is cut short$",
        ),
        ("2024.1.6,", r"oi\.csv: column 'Data', row 3 .*'' is shorter than every other value"),
    ],
)
def test_a_csv_visibly_cut_mid_line_is_an_error_naming_the_row(tmp_path: Path, last: str, message: str):
    f = tmp_path / "oi.csv"
    f.write_text(OI_HEAD + last)
    with pytest.raises(DataError, match=message):
        read_aggregate_oi(f)


def test_a_whole_last_line_without_a_line_break_is_read_and_noted(tmp_path: Path):
    f = tmp_path / "oi.csv"
    f.write_text(OI_HEAD + "2024.1.6,1200000000")
    df, prov = read_aggregate_oi(f)
    assert list(df["oi_usd"]) == [1.0e9, 1.1e9, 1.2e9]
    assert prov.notes.endswith(" Line 4 (the last) has no line break: the file may be cut short.")
    f.write_text(OI_HEAD + "2024.1.6,1200000000\r\n")
    assert "cut short" not in read_aggregate_oi(f)[1].notes


@pytest.mark.parametrize(
    ("name", "body", "read"),
    [
        ("oi.csv", "Date,Data\n", read_aggregate_oi),
        ("fr.csv", "\ufeffdate,funding_mean\r\n", read_daily_funding),
        ("fr.json", "[]", read_funding_average),
    ],
)
def test_a_file_with_no_data_rows_is_an_error_naming_it(tmp_path: Path, name: str, body: str, read):
    f = tmp_path / name
    f.write_text(body)
    with pytest.raises(DataError, match=re.escape(name) + ": no (data rows|records)$"):
        read(f)


@settings(deadline=None, max_examples=80)
@given(values=st.lists(st.integers(10**8, 10**11), min_size=2, max_size=6), data=st.data())
def test_a_csv_cut_anywhere_inside_a_line_is_an_error_or_said_in_the_notes(
    tmp_path_factory: pytest.TempPathFactory, values: list[int], data: st.DataObject
):
    text = "Date,Data\n" + "".join(f"2024.1.{i + 1},{v}\n" for i, v in enumerate(values))
    cuts = [n for n in range(len("Date,Data\n") + 1, len(text)) if text[n - 1] != "\n"]  # not at a line's end
    cut = data.draw(st.sampled_from(cuts))
    f = tmp_path_factory.mktemp("cut") / "oi.csv"
    f.write_text(text[:cut])
    try:
        df, prov = read_aggregate_oi(f)
    except DataError as exc:
        assert "oi.csv" in str(exc)
    else:
        assert "(the last) has no line break: the file may be cut short." in prov.notes
        assert list(df["oi_usd"][:-1]) == values[: len(df) - 1]  # only the last value can be cut
