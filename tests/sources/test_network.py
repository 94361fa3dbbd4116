"""btc_network: hashrate TH/s -> EH/s, fees per block from the day's block count, subsidy by halving date."""

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.network import read_btc_network, read_daily_fees, read_difficulty, subsidy_btc


@pytest.fixture(scope="module")
def network(shared_data: Path):
    d = shared_data / "bitcoin_network"
    return read_btc_network(d / "hashrate.csv", d / "difficulty.csv", [d / "coinmetrics.csv", d / "btc_total_fees.csv"])


def day(df: pd.DataFrame, when: str) -> pd.Series:
    rows = df[df["date"] == utc(when)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_capitulation_day_network_figures(network):
    df, _ = network
    row = day(df, "2026-02-05")
    assert row["hashrate_ehs"] == pytest.approx(894.37969684106, rel=1e-12)  # 894379696.84106 TH/s
    assert row["difficulty"] == 141668107417558
    blocks = 894379696.84106e12 * 86400 / (141668107417558 * 2**32)
    assert blocks == pytest.approx(127, abs=1e-6)  # blockchain.com's hashrate inverts to the block count
    assert row["fees_btc_per_block"] == pytest.approx(6.14723942 / 127, rel=1e-9)
    assert row["subsidy_btc"] == 3.125
    assert pd.isna(row["height"])


def test_pre_2022_fees_come_from_the_glassnode_file(network):
    df, prov = network
    blocks = 697129.166405808e12 * 86400 / (103880340815.456 * 2**32)
    assert day(df, "2016-01-01")["fees_btc_per_block"] == pytest.approx(19.82080598 / blocks, rel=1e-9)
    assert day(df, "2016-01-01")["subsidy_btc"] == 25
    assert math.isnan(day(df, "2023-06-01")["fees_btc_per_block"])  # between the two fee files
    assert "MIT" in prov.licence and "unstated" in prov.licence
    assert "blocks estimated" in prov.notes


def test_genesis_zero_rows_give_no_infinity(network):
    df, _ = network
    row = day(df, "2009-01-04")
    assert row["hashrate_ehs"] == 0 and math.isnan(row["difficulty"])
    assert not np.isinf(df[["hashrate_ehs", "fees_btc_per_block"]].to_numpy(dtype=float)).any()
    assert day(df, "2009-01-03")["subsidy_btc"] == 50


@pytest.mark.parametrize(
    ("date", "subsidy"),
    [
        ("2012-11-27", 50),
        ("2012-11-28", 25),
        ("2016-07-08", 25),
        ("2016-07-09", 12.5),
        ("2020-05-10", 12.5),
        ("2020-05-11", 6.25),
        ("2024-04-19", 6.25),
        ("2024-04-20", 3.125),
        ("2027-12-31", 3.125),
    ],
)
def test_subsidy_follows_the_halving_dates(date: str, subsidy: float):
    assert subsidy_btc(pd.Series([utc(date)]))[0] == subsidy


def test_subsidy_after_the_unknown_fifth_halving_date_is_not_made_up():
    assert math.isnan(subsidy_btc(pd.Series([utc("2028-06-01")]))[0])


def test_fee_file_of_unknown_layout_is_a_data_error(tmp_path: Path):
    f = tmp_path / "fees.csv"
    f.write_text("day,fee\n2024-01-01,3.2\n")
    with pytest.raises(DataError, match=r"fees\.csv: missing column 'fees_btc'"):
        read_daily_fees(f)


def test_coinmetrics_layout_with_date_last_is_recognised(tmp_path: Path):
    f = tmp_path / "cm.csv"
    f.write_text("active_addresses,fees_btc,tx_count,date\n700000,3.5,400000,2026-01-02\n")
    df, prov = read_daily_fees(f)
    assert list(df["fees_btc"]) == [3.5] and list(df["date"]) == [utc("2026-01-02")]
    assert prov.licence == "MIT"


def test_zero_block_day_gives_nan_fees_per_block(tmp_path: Path):
    # blockchain.com writes 0 for both hashrate and difficulty on a day without a block (2009-01-04..08)
    (tmp_path / "h.csv").write_text("date,hashrate\n2009-01-08,0\n2009-01-09,5e-6\n")
    (tmp_path / "d.csv").write_text("date,difficulty\n2009-01-08,0\n2009-01-09,1\n")
    (tmp_path / "f.csv").write_text("t,total_fees\n2009-01-08,1.0\n2009-01-09,20.0\n")
    df, prov = read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv", [tmp_path / "f.csv"])
    assert math.isnan(df["difficulty"].iloc[0]) and math.isnan(df["fees_btc_per_block"].iloc[0])
    blocks = 5e-6 * 1e12 * 86400 / (1 * 2**32)
    assert df["fees_btc_per_block"].iloc[1] == pytest.approx(20.0 / blocks)
    assert "1 day(s) before block 1 with difficulty 0 (no block mined) read as missing (NaN)" in prov.notes


def test_zero_difficulty_once_blocks_are_mined_names_file_column_and_row(tmp_path: Path):
    (tmp_path / "d.csv").write_text("date,difficulty\n2009-01-08,0\n2026-02-04,1.4e14\n2026-02-05,0\n")
    with pytest.raises(DataError, match=r"d\.csv: column 'difficulty', row 3: 0 on 2026-02-05: the minimum is 1"):
        read_difficulty(tmp_path / "d.csv")


@pytest.mark.parametrize("bad", ["-1.4e14", "inf", "1e300", "0.5"])
def test_difficulty_out_of_range_names_its_own_file_not_the_hashrate_file(tmp_path: Path, bad: str):
    (tmp_path / "h.csv").write_text("date,hashrate\n2026-02-04,9e8\n2026-02-05,9e8\n")
    (tmp_path / "d.csv").write_text(f"date,difficulty\n2026-02-04,1.4e14\n2026-02-05,{bad}\n")
    with pytest.raises(DataError, match=r"d\.csv: column 'difficulty', row 2: out of range \(valid: >= 1 and"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")


@pytest.mark.parametrize("bad", ["-0.05", "inf", "-inf", "1e300"])
def test_daily_fees_out_of_range_name_the_fee_file(tmp_path: Path, bad: str):
    (tmp_path / "h.csv").write_text("date,hashrate\n2026-02-05,9e8\n")
    (tmp_path / "d.csv").write_text("date,difficulty\n2026-02-05,1.4e14\n")
    (tmp_path / "cm.csv").write_text(
        f"active_addresses,fees_btc,tx_count,date\n1,3.5,1,2026-02-04\n1,{bad},1,2026-02-05\n"
    )
    with pytest.raises(DataError, match=r"cm\.csv: column 'fees_btc', row 2: out of range \(valid: >= 0"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv", [tmp_path / "cm.csv"])


def test_a_day_without_fees_is_a_reading_only_before_2013(tmp_path: Path):
    f = tmp_path / "f.csv"
    f.write_text("t,total_fees\n2010-06-01,0\n2012-12-31,0\n")
    assert read_daily_fees(f)[0]["fees_btc"].tolist() == [0.0, 0.0]  # early blocks could pay no fee
    f.write_text("t,total_fees\n2012-12-31,0\n2013-01-01,0\n")
    with pytest.raises(DataError, match=r"f\.csv: column 'total_fees', row 2: 0 on 2013-01-01: blocks have paid"):
        read_daily_fees(f)


def test_malformed_hashrate_names_the_row(tmp_path: Path):
    (tmp_path / "h.csv").write_text("date,hashrate\n2024-01-01,5e8\n2024-01-02,5e8TH\n")
    (tmp_path / "d.csv").write_text("date,difficulty\n2024-01-01,7e13\n")
    with pytest.raises(DataError, match=r"h\.csv: column 'hashrate', row 2"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")


def test_missing_difficulty_file_is_a_source_error(tmp_path: Path):
    (tmp_path / "h.csv").write_text("date,hashrate\n2024-01-01,5e8\n")
    with pytest.raises(SourceError, match=r"difficulty\.csv"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "difficulty.csv")


def test_zero_hashrate_on_a_day_with_a_difficulty_is_refused(tmp_path: Path):
    (tmp_path / "h.csv").write_text("date,hashrate\n2026-02-04,9e8\n2026-02-05,0\n")
    (tmp_path / "d.csv").write_text("date,difficulty\n2026-02-04,1.2e14\n2026-02-05,1.2e14\n")
    with pytest.raises(DataError, match=r"h\.csv: column 'hashrate', date 2026-02-05: 0 on a day with a difficulty"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")


@pytest.mark.parametrize(("bad", "shown"), [("-9e8", "-900000000.0"), ("1e300", "1e+300"), ("inf", "inf")])
def test_hashrate_out_of_range_is_refused_naming_file_column_and_row(tmp_path: Path, bad: str, shown: str):
    (tmp_path / "h.csv").write_text(f"date,hashrate\n2026-02-04,9e8\n2026-02-05,{bad}\n")
    (tmp_path / "d.csv").write_text("date,difficulty\n2026-02-04,1.2e14\n2026-02-05,1.2e14\n")
    with pytest.raises(DataError, match=rf"h\.csv: column 'hashrate', row 2: out of range .*: {re.escape(shown)}$"):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")


def test_a_repeated_hashrate_day_is_dropped_and_counted_a_conflicting_one_names_both_rows(tmp_path: Path):
    (tmp_path / "d.csv").write_text("date,difficulty\n2026-02-04,1.2e14\n2026-02-05,1.2e14\n")
    (tmp_path / "h.csv").write_text("date,hashrate\n2026-02-04,9e8\n2026-02-05,8e8\n2026-02-05,8e8\n")
    df, prov = read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")
    assert df["hashrate_ehs"].tolist() == [900.0, 800.0]
    assert "1 row(s) repeating an earlier row dropped" in prov.notes
    (tmp_path / "h.csv").write_text("date,hashrate\n2026-02-04,9e8\n2026-02-05,8e8\n2026-02-05,5\n")
    with pytest.raises(
        DataError, match=r"h\.csv, rows 2 and 3 \[date 2026-02-05\]: the same key twice .*800\.0 vs 5e-06"
    ):
        read_btc_network(tmp_path / "h.csv", tmp_path / "d.csv")
