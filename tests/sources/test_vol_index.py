"""DVOL importer: vol points -> fractions."""

from pathlib import Path

import pytest

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.vol_index import read_dvol_csv


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
