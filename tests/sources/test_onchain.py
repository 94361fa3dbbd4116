"""On-chain cost bases (`onchain`): hand-checked values from PROVENANCE.md, the swapped supply labels, the
one-day gaps, the SOPR filler, the files' agreement where they overlap, and malformed input."""

import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.errors import DataError
from capitulation.snapshot import utc
from capitulation.sources.onchain import (
    drop_filler,
    implausible_supply,
    read_onchain_folder,
    read_records,
    swap_holder_labels,
)


@pytest.fixture(scope="module")
def onchain(shared_data: Path):
    return read_onchain_folder(shared_data / "onchain_costbasis")


def day(df: pd.DataFrame, when: str) -> pd.Series:
    rows = df[df["date"] == utc(when)]
    assert len(rows) == 1, when
    return rows.iloc[0]


@pytest.mark.parametrize(
    "when,column,value,tol",
    [
        ("2020-03-12", "realized_price_usd", 5_653, 0.5),
        ("2022-06-18", "realized_price_usd", 22_639, 0.5),
        ("2022-06-18", "price_usd", 19_014, 0.5),
        ("2024-06-30", "realized_price_usd", 30_741, 0.5),
        ("2025-10-10", "realized_price_usd", 54_926, 0.5),
        ("2026-02-05", "realized_price_usd", 55_209, 0.5),
        ("2024-08-05", "sth_realized_price_usd", 65_020, 0.5),
        ("2025-04-07", "sth_realized_price_usd", 92_817, 0.5),
        ("2025-10-10", "sth_realized_price_usd", 113_922, 0.5),
        ("2026-02-05", "sth_realized_price_usd", 92_515, 0.5),
        ("2024-08-05", "sth_mvrv", 0.83, 0.005),
        ("2025-04-07", "sth_mvrv", 0.85, 0.005),
        ("2020-03-12", "sth_sopr", 0.906, 0.0005),
        ("2024-08-05", "sth_sopr", 0.943, 0.0005),
        ("2026-02-05", "sth_sopr", 0.950, 0.0005),
    ],
)
def test_values_quoted_in_provenance(onchain, when, column, value, tol):
    df, _ = onchain
    assert day(df, when)[column] == pytest.approx(value, abs=tol)


def test_mvrv_is_price_over_realized_price_not_the_rounded_file_column(onchain):
    df, _ = onchain
    row = day(df, "2022-06-18")
    # 19,013.87 / 22,639.23 = 0.83986; the file says 0.84 (2 decimals)
    assert row["mvrv"] == pytest.approx(19_013.867 / 22_639.232, abs=1e-5)
    assert row["mvrv"] == pytest.approx(row["price_usd"] / row["realized_price_usd"], rel=1e-15)
    assert row["mvrv"] != 0.84
    # STH-MVRV continues after its file stops (2026-01-29): 62,854 / 92,515 on 2026-02-05
    late = day(df, "2026-02-05")
    assert late["sth_mvrv"] == pytest.approx(62_854 / 92_515.17, abs=1e-5)


def test_supply_labels_are_swapped_so_long_term_holders_hold_the_larger_share(onchain):
    df, prov = onchain
    row = day(df, "2026-02-05")
    # the file's "lth" 5.69M and "sth" 14.29M (about 20.0M BTC in all): long-term holders hold the 14.29M
    assert row["lth_supply_btc"] == pytest.approx(14.29e6, rel=0.01)
    assert row["sth_supply_btc"] == pytest.approx(5.69e6, rel=0.01)
    assert "supply labels swapped" in prov.notes
    recent = df[df["date"] >= utc("2012-01-01")].dropna(subset=["lth_supply_btc"])
    assert (recent["lth_supply_btc"] > recent["sth_supply_btc"]).all()


def test_swap_is_decided_for_the_whole_column_not_day_by_day():
    lth = pd.Series([3.9, 3.8, 3.7, 3.6])  # synthetic: labelled lth, smaller on 3 of 4 days
    sth = pd.Series([3.7, 3.9, 13.0, 14.0])
    long, short, swapped = swap_holder_labels(lth, sth)
    assert swapped and list(long) == [3.7, 3.9, 13.0, 14.0] and list(short) == [3.9, 3.8, 3.7, 3.6]
    long, short, swapped = swap_holder_labels(sth, lth)  # correctly labelled: left alone
    assert not swapped and list(long) == [3.7, 3.9, 13.0, 14.0]


def test_supply_days_beyond_the_coins_issued_are_blanked(onchain):
    df, prov = onchain
    blank = df[(df["date"] >= utc("2026-07-25")) & df["price_usd"].notna()]
    # 27 days 2026-07-25..08-20 in the realized-price file; the supply file lacks 2026-08-12/13: 25 blanked
    assert blank["lth_supply_btc"].isna().all() and len(blank) == 27
    assert not math.isnan(day(df, "2026-07-24")["lth_supply_btc"])
    assert "25 supply day(s) from 2026-07-25 blanked" in prov.notes


def test_implausible_supply_flags_a_jump_and_everything_after_it_that_stays_off():
    # synthetic: 40 days of supply growing with issuance (3.125 x 144 = 450 BTC a day), then +1 %
    dates = pd.Series(pd.date_range("2025-01-01", periods=60, freq="D", tz="UTC"))
    total = pd.Series(19.8e6 + 450.0 * np.arange(60))
    total.iloc[40:] *= 1.01
    bad = implausible_supply(dates, total)
    assert not bad[:40].any() and bad[40:].all()
    total.iloc[40:] /= 1.01 * 1.002  # a 0.2 % wobble is within the 0.5 % tolerance
    assert not implausible_supply(dates, total).any()


def test_one_day_gaps_stay_gaps(onchain):
    df, _ = onchain
    gap = day(df, "2025-07-11")  # missing in every BMP file, present in checkonchain
    assert math.isnan(gap["realized_price_usd"]) and math.isnan(gap["price_usd"]) and math.isnan(gap["mvrv"])
    assert gap["sth_sopr"] > 0 and gap["source"] == "checkonchain_sth-sopr+checkonchain_lth-sopr"
    assert df[df["date"] == utc("2026-07-21")].empty  # no file has that day after SOPR ends (2026-06-21)
    assert df["date"].is_unique and df["date"].is_monotonic_increasing


def test_sopr_filler_before_the_series_starts_is_dropped(onchain):
    df, prov = onchain
    sth = df.dropna(subset=["sth_sopr"])
    lth = df.dropna(subset=["lth_sopr"])
    assert sth["date"].min() == utc("2010-08-16") and lth["date"].min() == utc("2011-01-18")
    assert df["date"].min() == utc("2010-08-16")  # nothing from 2009: those rows were filler only
    assert "592 day(s) of 0/1" in prov.notes and "747 day(s) of 0/1" in prov.notes


def test_drop_filler_drops_only_the_leading_run():
    s = pd.Series([1.0, 0.0, 1.0, 0.97, 1.0, 1.02])  # synthetic
    kept, n = drop_filler(s)
    assert n == 3 and list(kept) == [0.97, 1.0, 1.02]
    assert drop_filler(pd.Series([1.0, 1.0]))[1] == 2


def test_prices_agree_with_the_btc_usd_closes_of_the_same_day(onchain, recorded_full):
    df, _ = onchain
    px = recorded_full.tables["daily_prices"]
    close = px[px["symbol"] == "BTC-USD"].set_index("date")["close"]
    ours = df.set_index("date")["price_usd"]

    def rel(shift: int) -> pd.Series:
        return (ours / close.shift(shift).reindex(ours.index) - 1).abs().dropna()

    same = rel(0)
    assert len(same) > 4_000  # 2015-01-01 .. 2026-02-13
    # measured: median 0.15 %, 99th percentile 2.3 %, max 4.8 % (2017-12-07): the same day's close
    assert same.median() < 0.002 and same.quantile(0.99) < 0.03 and same.max() < 0.05
    assert same.median() * 5 < min(rel(1).median(), rel(-1).median())  # not the day before or after


def test_provenance_states_how_the_files_agree(onchain):
    _, prov = onchain
    assert "price of bmp_sth_realized_price.json vs the realized-price file: 0 of 5846" in prov.notes
    assert "price of bmp_mvrv.json vs the realized-price file: 146 of 5831 days differ" in prov.notes
    assert "to 0.0050 (2-decimal rounding)" in prov.notes
    assert prov.licence.startswith("none stated")


def test_snapshot_carries_the_onchain_table_cut_at_as_of(default_snapshot):
    df = default_snapshot.tables["onchain"]
    assert df["date"].max() == utc("2026-02-05")
    assert "onchain_costbasis" in default_snapshot.provenance["onchain"].source


def write(folder: Path, name: str, doc: object) -> Path:
    f = folder / name
    f.write_text(json.dumps(doc))
    return f


def test_a_folder_with_one_synthetic_supply_file_is_read_and_swapped(tmp_path: Path):
    recs = [{"date": f"2024-01-0{i}", "lth": 4.0e6, "sth": 15.7e6, "price": 44_000.0} for i in range(1, 4)]
    write(tmp_path, "bmp_sth_vs_lth_supply.json", recs)
    df, prov = read_onchain_folder(tmp_path)
    assert "supply labels swapped" in prov.notes
    assert list(df["lth_supply_btc"]) == [15.7e6] * 3 and list(df["price_usd"]) == [44_000.0] * 3
    assert df["realized_price_usd"].isna().all() and set(df["source"]) == {"bmp_sth_vs_lth_supply"}
    assert read_onchain_folder(tmp_path / "nothing") is None


@pytest.mark.parametrize(
    "doc,needle",
    [
        ({"date": "2024-01-01"}, "expected a JSON array"),
        ([["2024-01-01", 1.0]], "record 0: not an object"),
        ([{"date": "2024-01-01", "value": 1.0}, {"value": 1.1}], "field 'date', record 1: missing"),
        ([{"date": "2024-01-01"}], "field 'value', record 0: missing"),
        ([{"date": "2024-13-01", "value": 1.0}], "column 'date', record 0: malformed date"),
        ([{"date": "2024-01-01", "value": "abc"}], "column 'value', record 0: malformed number"),
        ([{"date": "2024-01-01", "value": 1.0}, {"date": "2024-01-02", "value": True}], "record 1: malformed"),
        ([{"date": "2024-01-01", "value": -0.5}], "field 'value', record 0: not a positive number"),
        ([{"date": "2024-01-01", "value": math.inf}], "column 'value', record 0: out of range (valid: > 0 and"),
        ([{"date": "2024-01-01", "value": 1.0}, {"date": "2024-01-02", "value": 1e300}], "record 1: out of range"),
        (
            [{"date": "2024-01-02", "value": 1.0}, {"date": "2024-01-02", "value": 1.1}],
            "field 'date', record 1: date '2024-01-02' appears twice",
        ),
    ],
)
def test_malformed_records_name_file_field_and_record(tmp_path: Path, doc, needle):
    f = write(tmp_path, "checkonchain_sth-sopr.json", doc)
    with pytest.raises(DataError, match=r"checkonchain_sth-sopr\.json") as err:
        read_onchain_folder(tmp_path)
    assert needle in str(err.value)
    with pytest.raises(DataError):
        read_records(f, ["value"])


@pytest.mark.parametrize(
    ("name", "record", "needle"),
    [
        (
            "bmp_realized_price.json",
            {"realized_price": 3e4, "price": 2e8},
            "column 'price', record 1: out of range (valid: > 0 and <= 1e+08): 200000000.0",
        ),
        (
            "bmp_sth_vs_lth_supply.json",
            {"lth": 4e6, "sth": 2.2e7, "price": 4e4},
            "column 'sth', record 1: out of range (valid: >= 0 and <= 2.1e+07)",
        ),
    ],
)
def test_a_value_out_of_its_column_range_names_its_own_file(tmp_path: Path, name: str, record: dict, needle: str):
    ok = {k: v / 2 for k, v in record.items()}
    write(tmp_path, name, [{"date": "2024-01-01", **ok}, {"date": "2024-01-02", **record}])
    with pytest.raises(DataError, match=re.escape(f"{name}: {needle}")):
        read_onchain_folder(tmp_path)


def test_an_unreadable_file_is_a_data_error(tmp_path: Path):
    (tmp_path / "bmp_mvrv.json").write_text("[{not json")
    with pytest.raises(DataError, match=r"bmp_mvrv\.json: not valid JSON"):
        read_onchain_folder(tmp_path)


_day = st.integers(min_value=0, max_value=20_000)
_value = st.none() | st.floats(min_value=1e-9, max_value=1e9, allow_nan=False) | st.integers(1, 10**9)


@settings(max_examples=60, deadline=None)
@given(rows=st.dictionaries(_day, _value, min_size=1, max_size=40), order=st.randoms(use_true_random=False))
def test_read_records_returns_every_record_sorted_by_date_whatever_the_file_order(rows, order):
    # synthetic records: distinct days since 2000-01-01, positive numbers, ints or nulls, shuffled
    items = list(rows.items())
    order.shuffle(items)
    start = pd.Timestamp("2000-01-01", tz="UTC")
    doc = [{"date": f"{start + pd.Timedelta(days=d):%Y-%m-%d}", "value": v} for d, v in items]
    with tempfile.TemporaryDirectory() as tmp:
        out = read_records(write(Path(tmp), "x.json", doc), ["value"])
    assert list(out["date"]) == [start + pd.Timedelta(days=d) for d in sorted(rows)]
    want = [np.nan if rows[d] is None else float(rows[d]) for d in sorted(rows)]
    assert out["value"].to_numpy() == pytest.approx(np.array(want), nan_ok=True, rel=0, abs=0)


def test_an_empty_record_list_is_an_error_naming_the_file(tmp_path: Path):
    write(tmp_path, "checkonchain_lth-sopr.json", [])
    with pytest.raises(DataError, match=r"checkonchain_lth-sopr\.json: no daily records$"):
        read_onchain_folder(tmp_path)


def test_a_directory_in_place_of_a_file_is_an_error_and_an_absent_file_is_skipped(tmp_path: Path):
    write(tmp_path, "bmp_mvrv.json", [{"date": "2024-01-01", "mvrv": 1.5, "price": 45000, "realized_price": 30000}])
    assert read_onchain_folder(tmp_path) is not None  # the other six files are absent: skipped
    (tmp_path / "checkonchain_lth-sopr.json").mkdir()
    with pytest.raises(DataError, match=r"checkonchain_lth-sopr\.json: a directory, not a readable file$"):
        read_onchain_folder(tmp_path)
