"""Observed liquidations and long/short ratios: CoinGlass's aggregate, Hyperliquid's notional, the warts."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.liquidations import (
    read_coinglass_liquidations,
    read_coinglass_long_short,
    read_hyperliquid_liquidations,
)
from capitulation.tables import AGGREGATE

HEADER = "symbol,ts_utc,liq_long_usd,liq_short_usd\n"


@pytest.fixture(scope="module")
def coinglass(shared_data: Path):
    return read_coinglass_liquidations(shared_data / "liquidations" / "coinglass_liquidation_agg_1d.csv")


@pytest.fixture(scope="module")
def hyperliquid(shared_data: Path):
    return read_hyperliquid_liquidations(
        shared_data / "liquidations" / "hl_stats_daily_notional_liquidated_by_coin.json"
    )


def _day(df, date: str):
    return df[df["date"] == utc(date)].iloc[0]


def test_coinglass_btc_figures_match_provenance(coinglass):
    df, _ = coinglass
    assert set(df["venue"]) == {AGGREGATE} and set(df["symbol"]) == {"BTC"}
    for date, long_, short in (
        ("2021-05-19", 1.386008445366e9, 2.0262185743543e8),  # PROVENANCE: long 1.39e9 / short 2.0e8
        ("2022-06-18", 9.929442132413e7, 4.779828726020e7),  # 9.9e7 / 4.8e7
        ("2024-08-05", 1.8351134615639e8, 1.0852921120394e8),  # 1.84e8 / 1.09e8
        ("2025-04-07", 1.746412762807e8, 1.1911978504098e8),  # 1.75e8 / 1.19e8
    ):
        row = _day(df, date)
        assert (row["long_usd"], row["short_usd"]) == pytest.approx((long_, short), rel=1e-12)
        assert row["total_usd"] == pytest.approx(long_ + short, rel=1e-12)


def test_coinglass_leading_zeros_are_missing_not_quiet_days(coinglass):
    df, prov = coinglass
    # BTC rows run from 2015-01-01 but read 0 before 2020-12-23: the COVID crash 2020-03-12 is missing
    assert df["date"].min() == utc("2020-12-23") and df["date"].max() == utc("2025-09-08")
    assert utc("2020-03-12") not in set(df["date"])
    assert len(df) == 1721  # every day 2020-12-23..2025-09-08, none dropped inside
    assert (df["date"].diff().dropna() == np.timedelta64(1, "D")).all()
    assert (df["total_usd"] > 0).all()
    assert "Dropped 2183 BTC row(s) of zeros before the series starts" in prov.notes


def test_coinglass_zero_or_blank_rows_inside_are_gaps_and_one_blank_side_is_incomplete(tmp_path: Path):
    # synthetic file: BTC padded with zeros, a real one-sided zero, a both-zero gap, a one-side-blank row, ETH ignored
    f = tmp_path / "liq.csv"
    f.write_text(
        HEADER
        + "BTC,2021-01-01 00:00:00+00,0.0,0.0\n"
        + "BTC,2021-01-02 00:00:00+00,,\n"
        + "ETH,2021-01-02 00:00:00+00,5.0,5.0\n"
        + "BTC,2021-01-03 00:00:00+00,10.0,0.0\n"
        + "BTC,2021-01-04 00:00:00+00,0.0,0.0\n"
        + "BTC,2021-01-05 00:00:00+00,7.0,\n"
        + "BTC,2021-01-06 00:00:00+00,1.5,2.5\n"
    )
    df, prov = read_coinglass_liquidations(f)
    assert df["date"].tolist() == [utc("2021-01-03"), utc("2021-01-06")]
    assert df["long_usd"].tolist() == [10.0, 1.5] and df["short_usd"].tolist() == [0.0, 2.5]
    assert df["total_usd"].tolist() == [10.0, 4.0]
    assert "Dropped 2 BTC row(s) of zeros before the series starts" in prov.notes
    assert "1 all-zero/blank row(s) inside it (gaps)" in prov.notes
    assert "1 row(s) with one side blank" in prov.notes


def test_coinglass_newest_first_rows_come_out_oldest_first(tmp_path: Path):
    f = tmp_path / "liq.csv"
    f.write_text(HEADER + "BTC,2021-01-02 00:00:00+00,2,2\nBTC,2021-01-01 00:00:00+00,1,1\n")
    df, _ = read_coinglass_liquidations(f)
    assert df["date"].tolist() == [utc("2021-01-01"), utc("2021-01-02")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("BTC,2021-01-01 00:00:00+00,12x,1", r"column 'liq_long_usd', row 2: malformed number '12x'"),
        ("BTC,2021-01-01 00:00:00+00,1,-3", r"column 'liq_short_usd', row 2: negative liquidations '-3'"),
        ("BTC,2021-13-01 00:00:00+00,1,1", r"column 'ts_utc', row 2: malformed date/time"),
        ("BTC,2021-01-01 12:00:00+00,1,1", r"column 'ts_utc', row 2: not a day's 00:00 UTC"),
        ("BTC,2020-12-31 00:00:00+00,1,1", r"column 'ts_utc', row 2: second row for the day"),
    ],
)
def test_coinglass_bad_rows_name_file_column_and_row(tmp_path: Path, row: str, message: str):
    f = tmp_path / "liq.csv"
    f.write_text(HEADER + "BTC,2020-12-31 00:00:00+00,1,1\n" + row + "\n")
    with pytest.raises(DataError, match=r"liq\.csv: " + message):
        read_coinglass_liquidations(f)


def test_negative_values_of_other_coins_do_not_stop_btc(tmp_path: Path):
    f = tmp_path / "liq.csv"
    f.write_text(HEADER + "ETH,2021-01-01 00:00:00+00,-1,1\nBTC,2021-01-01 00:00:00+00,1,1\n")
    assert len(read_coinglass_liquidations(f)[0]) == 1


def test_missing_column_and_missing_file(tmp_path: Path):
    f = tmp_path / "liq.csv"
    f.write_text("symbol,ts_utc,liq_long_usd\nBTC,2021-01-01 00:00:00+00,1\n")
    with pytest.raises(DataError, match=r"liq\.csv: missing column 'liq_short_usd'"):
        read_coinglass_liquidations(f)
    with pytest.raises(SourceError, match=r"nope\.csv"):
        read_coinglass_liquidations(tmp_path / "nope.csv")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.just((0.0, 0.0)), st.tuples(st.floats(0, 1e10), st.floats(0, 1e10))),
        min_size=1,
        max_size=25,
    )
)
def test_coinglass_parser_keeps_exactly_the_non_zero_days_after_the_series_starts(rows):
    # synthetic: random daily (long, short) pairs written out and read back
    import tempfile

    body = "".join(f"BTC,2021-01-{i + 1:02d} 00:00:00+00,{lo!r},{sh!r}\n" for i, (lo, sh) in enumerate(rows))
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "liq.csv"
        f.write_text(HEADER + body)
        df, _ = read_coinglass_liquidations(f)
    expected = [(i, lo, sh) for i, (lo, sh) in enumerate(rows) if lo > 0 or sh > 0]
    assert [d.day - 1 for d in df["date"]] == [i for i, _, _ in expected]
    assert df["long_usd"].tolist() == [lo for _, lo, _ in expected]
    assert df["short_usd"].tolist() == [sh for _, _, sh in expected]
    assert np.allclose(df["total_usd"], df["long_usd"] + df["short_usd"], rtol=1e-15, atol=0)


def test_hyperliquid_btc_figures_match_provenance(hyperliquid):
    df, _ = hyperliquid
    assert set(df["venue"]) == {"hyperliquid"} and df["long_usd"].isna().all() and df["short_usd"].isna().all()
    for date, total in (("2024-08-05", 1.121409e8), ("2025-02-03", 4.724739e8), ("2025-04-07", 1.63e8)):
        assert _day(df, date)["total_usd"] == pytest.approx(total, rel=5e-3)
    assert df["date"].min() == utc("2023-06-14") and df["date"].max() == utc("2025-05-02")


def test_hyperliquid_absent_days_are_zero_when_the_feed_recorded_the_day_else_missing(hyperliquid):
    df, prov = hyperliquid
    days = set(df["date"])
    # 2023-06-17: only kPEPE was liquidated, so BTC's absence means nothing of BTC was liquidated
    assert _day(df, "2023-06-17")["total_usd"] == 0.0
    # 2023-09-22..10-02: the feed has no record for any coin: missing, not zero
    assert not days & {utc(f"2023-09-{d}") for d in range(22, 31)}
    assert len(df) == 598 + 69 and (df["total_usd"] == 0).sum() == 69
    assert "69 day(s) listed for other coins but not BTC are 0" in prov.notes
    assert "22 day(s) with no record for any coin are missing" in prov.notes


def _hl(tmp_path: Path, records: list[dict]) -> Path:
    f = tmp_path / "hl.json"
    f.write_text(json.dumps({"chart_data": records}))
    return f


def test_hyperliquid_zero_and_missing_days_by_hand(tmp_path: Path):
    # synthetic feed: day 1 ETH only (before BTC starts), day 2 BTC, day 3 ETH only (BTC 0), day 4 no record, day 5 BTC
    rec = [
        {"time": "2024-01-01T00:00:00", "coin": "ETH", "daily_notional_liquidated": 5.0},
        {"time": "2024-01-02T00:00:00", "coin": "BTC", "daily_notional_liquidated": 100.0},
        {"time": "2024-01-03T00:00:00", "coin": "ETH", "daily_notional_liquidated": 7.0},
        {"time": "2024-01-05T00:00:00", "coin": "BTC", "daily_notional_liquidated": 50.5},
    ]
    df, _ = read_hyperliquid_liquidations(_hl(tmp_path, rec))
    assert df["date"].tolist() == [utc("2024-01-02"), utc("2024-01-03"), utc("2024-01-05")]
    assert df["total_usd"].tolist() == [100.0, 0.0, 50.5]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"time": "2024-01-02T00:00:00", "coin": "BTC"}, r"record 1: missing field 'daily_notional_liquidated'"),
        (
            {"time": "2024-01-02T00:00:00", "coin": "BTC", "daily_notional_liquidated": "lots"},
            r"column 'daily_notional_liquidated', record 1: malformed number 'lots'",
        ),
        (
            {"time": "2024-01-02T00:00:00", "coin": "BTC", "daily_notional_liquidated": -4},
            r"column 'daily_notional_liquidated', record 1: negative liquidations '-4'",
        ),
        (
            {"time": "2024-01-02T00:00:00", "coin": "BTC", "daily_notional_liquidated": 1e300},
            r"column 'daily_notional_liquidated', record 1: out of range \(valid: >= 0 and \|x\| <= 1e\+15\): 1e\+300",
        ),
        (  # the feed lists only the coins liquidated on a day (none of its 35,608 recorded rows is 0)
            {"time": "2024-01-02T00:00:00", "coin": "BTC", "daily_notional_liquidated": 0.0},
            r"column 'daily_notional_liquidated', record 1: listed with 0 \(the feed lists a coin only on a day",
        ),
        (
            {"time": "2024-01-02T06:00:00", "coin": "BTC", "daily_notional_liquidated": 4},
            r"column 'time', record 1: not a day's 00:00 UTC",
        ),
        (
            {"time": "2024-01-01T00:00:00", "coin": "BTC", "daily_notional_liquidated": 4},
            r"column 'time', record 1: second row for the day",
        ),
    ],
)
def test_hyperliquid_bad_records_name_file_field_and_record(tmp_path: Path, record: dict, message: str):
    first = {"time": "2024-01-01T00:00:00", "coin": "BTC", "daily_notional_liquidated": 1.0}
    with pytest.raises(DataError, match=r"hl\.json: " + message):
        read_hyperliquid_liquidations(_hl(tmp_path, [first, record]))


def test_hyperliquid_wrong_shape_is_a_data_error(tmp_path: Path):
    f = tmp_path / "hl.json"
    f.write_text(json.dumps([{"time": "2024-01-01T00:00:00"}]))
    with pytest.raises(DataError, match=r"hl\.json: expected \{'chart_data'"):
        read_hyperliquid_liquidations(f)


def test_long_short_ratios_keep_btc_with_lsr_global_often_empty(shared_data: Path):
    df, prov = read_coinglass_long_short(shared_data / "liquidations" / "coinglass_long_short_all_1d.csv")
    assert len(df) == 1942 and df["date"].min() == utc("2020-05-16") and df["date"].max() == utc("2025-09-08")
    first, last = _day(df, "2020-05-16"), _day(df, "2025-09-08")
    assert np.isnan(first["lsr_global"]) and (first["lsr_top_accounts"], first["lsr_top_positions"]) == (0.87, 1.14)
    assert (last["lsr_global"], last["lsr_top_accounts"], last["lsr_top_positions"]) == (1.67, 1.81, 1.99)
    assert df["lsr_global"].isna().sum() == 154 and "lsr_global blank on 154 day(s)" in prov.notes


def test_long_short_zero_ratio_is_missing_and_negative_is_named(tmp_path: Path):
    f = tmp_path / "lsr.csv"
    head = "symbol,ts_utc,lsr_global,lsr_top_accounts,lsr_top_positions\n"
    f.write_text(head + "BTC,2021-01-01 00:00:00+00,0,1.2,1.1\nBTC,2021-01-02 00:00:00+00,,,\n")
    df, prov = read_coinglass_long_short(f)
    assert len(df) == 1 and np.isnan(df["lsr_global"].iloc[0]) and df["lsr_top_accounts"].iloc[0] == 1.2
    assert "dropped 1 BTC row(s) with no ratio" in prov.notes
    f.write_text(head + "BTC,2021-01-01 00:00:00+00,1,-1.2,1.1\n")
    with pytest.raises(DataError, match=r"lsr\.csv: column 'lsr_top_accounts', row 1: negative ratio '-1\.2'"):
        read_coinglass_long_short(f)


def test_the_snapshot_carries_both_venues_and_the_ratios(recorded_full):
    liq = recorded_full.tables["liquidations"]
    assert set(liq["venue"]) == {AGGREGATE, "hyperliquid"}
    assert not liq.duplicated(["date", "venue", "symbol"]).any()
    assert recorded_full.table_dates()["liquidations"] == utc("2025-09-08")
    assert recorded_full.table_dates()["long_short_ratios"] == utc("2025-09-08")
    # a daily bar is known at the end of its day: the 2025-09-08 row is not in a snapshot cut at noon that day
    noon = recorded_full.upto("2025-09-08T12:00:00Z")
    assert noon.table_dates()["liquidations"] == utc("2025-09-07")


def test_hyperliquid_without_records_is_an_error_not_an_empty_table(tmp_path: Path):
    with pytest.raises(DataError, match=r"hl\.json: no records in 'chart_data'$"):
        read_hyperliquid_liquidations(_hl(tmp_path, []))


def test_long_short_ratios_header_only_is_an_error(tmp_path: Path):
    f = tmp_path / "lsr.csv"
    f.write_text("symbol,ts_utc,lsr_global,lsr_top_accounts,lsr_top_positions\n")
    with pytest.raises(DataError, match=r"lsr\.csv: no data rows$"):
        read_coinglass_long_short(f)
