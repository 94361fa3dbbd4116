"""DVOL importer: vol points -> fractions, files in either order, the merge of the two recorded files."""

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.vol_index import merge_dvol, read_dvol_csv


def test_dvol_spike_on_the_capitulation_day(shared_data: Path):
    df, prov = read_dvol_csv(shared_data / "volatility_index" / "dvol_BTC_1y.csv")
    row = df[df["date"] == utc("2026-02-05")].iloc[0]
    assert row["index"] == "DVOL-BTC"
    assert (row["open"], row["high"], row["low"], row["close"]) == pytest.approx((0.5347, 0.9033, 0.5344, 0.8262))
    assert len(df) == 366
    assert "/ 100" in prov.notes


def test_missing_column_is_named(tmp_path: Path):
    f = tmp_path / "dvol.csv"
    f.write_text("date,open,high,low\n2026-02-05,53.47,90.33,53.44\n")
    with pytest.raises(DataError, match=r"dvol\.csv: missing column 'close'"):
        read_dvol_csv(f)


def test_malformed_value_names_the_row(tmp_path: Path):
    f = tmp_path / "dvol.csv"
    f.write_text("date,open,high,low,close\n2026-02-05,53.47,90.33,53.44,82.62%\n")
    with pytest.raises(DataError, match=r"'close', row 1: malformed number '82\.62%'"):
        read_dvol_csv(f)


def test_missing_file_is_a_source_error(tmp_path: Path):
    with pytest.raises(SourceError, match=r"dvol\.csv"):
        read_dvol_csv(tmp_path / "dvol.csv")


def test_dvol_since_launch_reads_newest_first_and_the_symbol_column(shared_data: Path):
    df, _ = read_dvol_csv(shared_data / "volatility_index" / "deribit_btc_dvol_daily_2021-03-24_2026-04-06.csv")
    assert df["date"].is_monotonic_increasing and len(df) == 1840
    assert df["date"].iloc[0] == utc("2021-03-24") and df["date"].iloc[-1] == utc("2026-04-06")
    close = df.set_index("date")["close"]
    # PROVENANCE's figures, vol points / 100
    assert close[utc("2021-05-19")] == pytest.approx(1.248, abs=5e-4)  # PROVENANCE rounds to 124.8
    assert close[utc("2022-06-18")] == pytest.approx(1.150, abs=5e-4)
    assert close[utc("2024-08-05")] == pytest.approx(0.631, abs=5e-4)


def test_the_order_of_a_files_rows_changes_nothing_read(tmp_path: Path):
    rows = ["2026-02-04,50,60,49,55", "2026-02-05,53.47,90.33,53.44,82.62", "2026-02-06,82,85,70,75"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "dvol.csv").write_text("date,open,high,low,close\n" + "\n".join(rows) + "\n")
    (tmp_path / "b" / "dvol.csv").write_text("date,open,high,low,close\n" + "\n".join(rows[::-1]) + "\n")
    (old, p_old), (new, p_new) = read_dvol_csv(tmp_path / "a" / "dvol.csv"), read_dvol_csv(tmp_path / "b" / "dvol.csv")
    assert new.equals(old) and list(new["close"]) == pytest.approx([0.55, 0.8262, 0.75])
    assert p_new.notes == p_old.notes and p_new.retrieved_at == p_old.retrieved_at == "2026-02-06T00:00:00+00:00"


def test_the_two_dvol_files_merge_with_the_later_file_winning(shared_data: Path):
    d = shared_data / "volatility_index"
    long = read_dvol_csv(d / "deribit_btc_dvol_daily_2021-03-24_2026-04-06.csv")
    year = read_dvol_csv(d / "dvol_BTC_1y.csv")
    df, prov = merge_dvol([long, year])
    assert not df.duplicated(["index", "date"]).any()
    assert df["date"].min() == utc("2021-03-24") and df["date"].max() == utc("2026-09-19")
    assert len(df) == 1840 + 366 - 200  # 200 common days
    close = df.set_index("date")["close"]
    # 2026-04-06 is the long file's last row, captured before the day closed (47.76 vs the 1y file's 48.99)
    assert close[utc("2026-04-06")] == pytest.approx(0.4899)
    assert close[utc("2026-02-05")] == pytest.approx(0.8262)
    assert "200 common days" in prov.notes and "2026-04-06" in prov.notes
    assert merge_dvol([year, long])[0].equals(df)  # the order the files are listed in does not matter


def dvol_file(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "dvol.csv"
    f.write_text(body)
    return f


def test_a_date_listed_twice_is_an_error_naming_both_rows(tmp_path: Path):
    f = dvol_file(tmp_path, "date,open,high,low,close\n2026-02-05,1,2,1,2\n2026-02-06,1,2,1,2\n2026-02-05,1,9,1,9\n")
    with pytest.raises(DataError, match=r"dvol\.csv: column 'date', rows 1 and 3: the same date twice"):
        read_dvol_csv(f)


def test_a_symbol_other_than_the_index_underlying_is_an_error(tmp_path: Path):
    f = dvol_file(tmp_path, "date,symbol,open,high,low,close\n2026-02-06,BTC,1,2,1,2\n2026-02-05,ETH,1,2,1,2\n")
    with pytest.raises(DataError, match=r"column 'symbol', row 2: expected 'BTC', got 'ETH'"):
        read_dvol_csv(f)


@settings(deadline=None, max_examples=50)  # file I/O per example: no per-example time limit
@given(st.lists(st.dates(dt.date(2021, 1, 1), dt.date(2026, 6, 30)), min_size=1, max_size=30, unique=True))
def test_any_row_order_reads_to_the_same_sorted_table(days):
    import tempfile

    rows = [f"{d:%Y-%m-%d},{i},{i + 2},{i},{i + 1}" for i, d in enumerate(days, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        a = dvol_file(Path(tmp), "date,open,high,low,close\n" + "\n".join(rows) + "\n")
        first = read_dvol_csv(a)[0]
        b = dvol_file(Path(tmp), "date,open,high,low,close\n" + "\n".join(reversed(rows)) + "\n")
        second = read_dvol_csv(b)[0]
    assert first.equals(second) and first["date"].is_monotonic_increasing
    assert sorted(first["date"].dt.date) == sorted(days)


def test_a_negative_or_absurd_dvol_is_refused_naming_file_column_and_date(tmp_path: Path):
    f = dvol_file(tmp_path, "date,open,high,low,close\n2026-02-04,80,90,70,85\n2026-02-05,85,90,70,-82.6\n")
    with pytest.raises(
        DataError,
        match=r"dvol\.csv: table 'vol_index', column 'close', row 1: out of range .*-0\.826 \[date 2026-02-05",
    ):
        read_dvol_csv(f)
    f = dvol_file(tmp_path, "date,open,high,low,close\n2026-02-04,80,90,70,85\n2026-02-05,85,900,70,826\n")
    with pytest.raises(DataError, match=r"column 'high', row 1: out of range \(valid: > 0 and <= 5\): 9"):
        read_dvol_csv(f)
