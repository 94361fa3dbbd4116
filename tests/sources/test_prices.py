"""Daily price importers: Yahoo-style closes, BTC price+volume, dat-tracker OHLCV JSON, macro series."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.prices import (
    concat_prices,
    read_btc_price_volume,
    read_macro_csv,
    read_ohlc_csv,
    read_ohlcv_json,
    read_prices_folder,
    read_yahoo_csv,
)

DAY = pd.Timestamp("2026-02-05", tz="UTC")


def on(df: pd.DataFrame, symbol: str, day: str | pd.Timestamp = DAY) -> pd.Series:
    rows = df[(df["symbol"] == symbol) & (df["date"] == utc(day))]
    assert len(rows) == 1, f"expected one {symbol} row on {day}, got {len(rows)}"
    return rows.iloc[0]


def test_yahoo_close_csv_gives_mstr_capitulation_close(shared_data: Path):
    df, prov = read_yahoo_csv(shared_data / "prices_daily" / "MSTR.csv")
    row = on(df, "MSTR")
    assert row["close"] == 106.98999786376953
    assert math.isnan(row["open"]) and math.isnan(row["volume"])
    assert on(df, "MSTR", "2024-11-21")["close"] == pytest.approx(397.28, abs=0.005)
    assert str(df["date"].dtype) == "datetime64[ns, UTC]"
    assert prov.source.endswith("MSTR.csv") and prov.licence == "unstated"
    assert prov.retrieved_at.startswith("2026-08-03")


def test_btc_price_volume_is_btc_usd_with_usd_volume(shared_data: Path):
    df, prov = read_btc_price_volume(shared_data / "prices_daily" / "btc_price_volume.csv")
    row = on(df, "BTC-USD")
    assert row["close"] == 62702.09765625
    assert row["volume"] == 125509410908
    assert len(df) == 4062
    assert prov.licence == "MIT"


def test_dat_tracker_json_gives_full_ohlcv(shared_data: Path):
    df, prov = read_ohlcv_json(shared_data / "treasury_companies" / "MSTR.json")
    row = on(df, "MSTR")
    assert (row["open"], row["high"], row["low"], row["close"]) == (120.25, 122.0, 104.17, 106.99)
    assert "volume in shares" in prov.notes
    assert row["volume"] == 60129688


def test_dat_tracker_json_in_yen_is_refused(shared_data: Path):
    with pytest.raises(DataError, match="JPY"):
        read_ohlcv_json(shared_data / "treasury_companies" / "3350_T.json")


def test_macro_series_skip_blank_days_and_count_them(shared_data: Path):
    vix, _ = read_macro_csv(shared_data / "macro" / "vix.csv")
    dxy, prov = read_macro_csv(shared_data / "macro" / "dxy.csv")
    assert on(vix, "VIX")["close"] == 21.7700004577637
    assert on(dxy, "DXY")["close"] == 97.8199996948242
    assert len(dxy) == 3380 - 584
    assert "584 blank row(s) skipped" in prov.notes


def test_prices_folder_reads_every_csv_and_skips_glassnode_btc_when_yahoo_btc_is_there(shared_data: Path):
    df, prov = read_prices_folder(shared_data / "prices_daily")
    assert on(df, "BTC-USD")["close"] == 62702.09765625
    assert on(df, "IBIT")["close"] > 0
    assert not df.duplicated(["symbol", "date"]).any()
    assert "btc_ohlc.csv" not in prov.source
    assert "MIT" in prov.licence and "unstated" in prov.licence


def test_prices_folder_uses_glassnode_ohlc_when_it_is_the_only_btc(tmp_path: Path):
    (tmp_path / "btc_ohlc.csv").write_text("t,open,high,low,close\n2020-03-12,7900,7950,4800,4900\n")
    (tmp_path / "QQQ.csv").write_text("Date,Close\n2020-03-12,170.5\n")
    df, _ = read_prices_folder(tmp_path)
    row = on(df, "BTC-USD", "2020-03-12")
    assert (row["open"], row["low"], row["close"]) == (7900, 4800, 4900)
    assert math.isnan(row["volume"])


def test_concat_keeps_a_symbol_from_its_first_file_only(shared_data: Path):
    csv = read_yahoo_csv(shared_data / "prices_daily" / "NAKA.csv")
    js = read_ohlcv_json(shared_data / "treasury_companies" / "NAKA.json")
    # the two NAKA series disagree by ~40x (a later reverse split adjusts only the Yahoo one): never splice
    assert on(csv[0], "NAKA")["close"] == pytest.approx(10.24, abs=0.001)
    assert on(js[0], "NAKA")["close"] == 0.256
    df, prov = concat_prices([csv, js])
    assert len(df) == len(csv[0])
    assert "NAKA.json" not in prov.source


def test_yahoo_download_with_bom_full_bar_and_null_row(tmp_path: Path):
    f = tmp_path / "SPY.csv"
    f.write_bytes(
        "\ufeffDate,Open,High,Low,Close,Adj Close,Volume\n"
        "2024-01-02,472.2,473.7,470.5,472.7,470.1,123000\n"
        "2024-01-03,null,null,null,null,null,null\n".encode()
    )
    df, _ = read_yahoo_csv(f)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["symbol"], row["open"], row["close"], row["volume"]) == ("SPY", 472.2, 472.7, 123000)


def test_malformed_close_names_file_column_and_row(tmp_path: Path):
    f = tmp_path / "X.csv"
    f.write_text("Date,Close\n2024-01-02,1.5\n2024-01-03,1.5.2\n")
    with pytest.raises(DataError, match=r"X\.csv.*'Close', row 2.*'1\.5\.2'"):
        read_yahoo_csv(f)


def test_odd_date_names_the_row(tmp_path: Path):
    f = tmp_path / "X.csv"
    f.write_text("Date,Close\n2024-01-02,1.5\n03/01/2024,1.6\n")
    with pytest.raises(DataError, match=r"'Date', row 2.*03/01/2024"):
        read_yahoo_csv(f)


def test_missing_column_is_named(tmp_path: Path):
    f = tmp_path / "btc.csv"
    f.write_text("date,price\n2024-01-02,45000\n")
    with pytest.raises(DataError, match=r"btc\.csv.*missing column 'volume'"):
        read_btc_price_volume(f)


def test_missing_file_is_a_source_error_with_the_path(tmp_path: Path):
    with pytest.raises(SourceError, match=r"nope\.csv"):
        read_ohlc_csv(tmp_path / "nope.csv")


def test_ragged_csv_is_a_data_error_naming_the_file(tmp_path: Path):
    f = tmp_path / "X.csv"
    f.write_text("Date,Close\n2024-01-02,1.5\n2024-01-03,1,5\n")
    with pytest.raises(DataError, match=r"X\.csv"):
        read_yahoo_csv(f)


def test_json_record_with_text_price_names_the_record(tmp_path: Path):
    f = tmp_path / "T.json"
    f.write_text(
        '{"ticker":"T","currency":"USD","prices":[{"date":"2024-01-02","open":1,"high":1,"low":1,"close":1,'
        '"volume":5},{"date":"2024-01-03","open":1,"high":1,"low":1,"close":"n.a.","volume":5}]}'
    )
    with pytest.raises(DataError, match=r"prices\.close', record 1.*n\.a\."):
        read_ohlcv_json(f)


def test_a_repeated_day_with_another_price_names_the_file_and_both_rows(tmp_path: Path):
    f = tmp_path / "btc_price_volume.csv"
    f.write_text("date,price,volume\n2026-02-04,73019.7,1\n2026-02-05,62702.1,1\n2026-02-05,627021.0,1\n")
    with pytest.raises(DataError, match=r"btc_price_volume\.csv: table 'daily_prices', rows 1 and 2 \[date 2026-02-05"):
        read_btc_price_volume(f)
    f.write_text("date,price,volume\n2026-02-04,73019.7,1\n2026-02-05,62702.1,1\n2026-02-05,62702.1,1\n")
    df, prov = read_btc_price_volume(f)
    assert df["close"].tolist() == [73019.7, 62702.1] and "1 row(s) repeating an earlier row dropped" in prov.notes


def test_a_row_dated_after_the_file_was_written_is_an_error(tmp_path: Path):
    f = tmp_path / "MSTR.csv"
    f.write_text("Date,Close\n2026-02-05,106.99\n2100-01-01,107.0\n")
    with pytest.raises(DataError, match=r"MSTR\.csv: column 'date', row 1: 2100-01-01.* is after the file was written"):
        read_yahoo_csv(f)


def test_dat_tracker_intraday_updates_resolve_to_the_days_last_update(shared_data: Path):
    df, prov = read_ohlcv_json(shared_data / "treasury_companies" / "ASST.json")
    assert not df.duplicated(["date", "symbol"]).any()
    row = on(df, "ASST", "2026-02-06")  # updates 07:22 (close 0.4931, before the reverse split) .. 16:45
    assert row["close"] == 11.915
    assert "intraday update(s) superseded by the day's last update" in prov.notes


def _bar(date: str, close: float, time: str | None = None) -> dict:
    bar = {"date": date, "open": close, "high": close, "low": close, "close": close, "volume": 1000}
    return bar if time is None else {**bar, "time": time}


XXI_LIKE = [_bar("2026-02-05", 5.92), _bar("2026-02-06", 6.37, "07:51"), _bar("2026-02-06", 6.41, "08:15")]


def _ohlcv(tmp_path: Path, prices: list[dict]) -> Path:
    f = tmp_path / "XXI.json"
    f.write_text(json.dumps({"ticker": "XXI", "currency": "USD", "prices": prices}))
    return f


@pytest.mark.parametrize("i", [0, 2])  # a day's bar, an intraday update
def test_a_dat_tracker_record_repeated_is_dropped_and_counted(tmp_path: Path, i: int):
    df, prov = read_ohlcv_json(_ohlcv(tmp_path, [*XXI_LIKE, XXI_LIKE[i]]))
    assert list(df["close"]) == [5.92, 6.41]
    assert "1 intraday update(s) superseded by the day's last update." in prov.notes
    assert "1 record(s) repeating an earlier record dropped." in prov.notes


@pytest.mark.parametrize(("i", "key"), [(0, "2026-02-05, time 24:00"), (2, "2026-02-06, time 08:15")])
def test_two_different_dat_tracker_records_of_one_time_are_refused(tmp_path: Path, i: int, key: str):
    other = {**XXI_LIKE[i], "close": 2 * XXI_LIKE[i]["close"]}
    with pytest.raises(DataError, match=rf"XXI\.json, rows {i} and 3 \[date {key}\]: .*close"):
        read_ohlcv_json(_ohlcv(tmp_path, [*XXI_LIKE, other]))


def test_a_missing_btc_file_makes_the_glassnode_substitution_visible(tmp_path: Path):
    (tmp_path / "btc_ohlc.csv").write_text("t,open,high,low,close\n2022-09-01,20050,20191,19656,20114.4\n")
    df, prov = read_prices_folder(tmp_path)
    assert on(df, "BTC-USD", "2022-09-01")["close"] == 20114.4
    assert "SUBSTITUTED: 'BTC-USD' read from btc_ohlc.csv" in prov.notes


def test_an_empty_btc_file_is_an_error_not_a_substitution(tmp_path: Path):
    (tmp_path / "btc_price_volume.csv").write_text("date,price,volume\n")
    (tmp_path / "btc_ohlc.csv").write_text("t,open,high,low,close\n2022-09-01,20050,20191,19656,20114.4\n")
    with pytest.raises(DataError, match=r"btc_price_volume\.csv: no data rows$"):
        read_prices_folder(tmp_path)


def test_a_yahoo_day_without_a_close_stays_a_gap_and_is_listed(tmp_path: Path):
    f = tmp_path / "MSTR.csv"
    f.write_text("Date,Close\n2026-02-04,120.0\n2026-02-05,null\n")
    df, prov = read_yahoo_csv(f)
    assert df["date"].tolist() == [pd.Timestamp("2026-02-04", tz="UTC")]
    assert "1 day(s) without a close (Yahoo 'null'/blank) left as gaps, not filled: 2026-02-05" in prov.notes
