"""build_snapshot over a recorded-data folder: every table it can find, cut at as_of, one provenance each."""

import re
from pathlib import Path

import pandas as pd
import pytest

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance, utc
from capitulation.sources._files import combine, present
from capitulation.sources.recorded import DEFAULT_AS_OF, build_snapshot, load_tables


@pytest.fixture(scope="module")
def snap(shared_data: Path):
    return build_snapshot(shared_data)


def test_default_snapshot_has_every_table_and_no_look_ahead(snap):
    assert snap.as_of == utc(DEFAULT_AS_OF) == utc("2026-02-05T23:59:59Z")
    assert set(snap.tables) == set(tables.TABLES)
    for name, df in snap.tables.items():
        col = tables.spec(name).time_column
        assert (df[col] <= snap.as_of).all(), name
        prov = snap.provenance[name]
        assert prov.source and prov.retrieved_at and prov.licence and not prov.synthetic, name


def test_each_table_shows_its_own_date(snap):
    dates = snap.table_dates()
    assert dates["option_quotes"] == utc("2026-01-24T13:00")  # the Jan chain: March's is after as_of
    assert dates["etf_flows"] == utc("2025-12-31")  # the daily total runs to the end of 2025
    assert dates["treasury_companies"] == utc("2026-02-04")  # MSTR Q4 2025 results, published 4 Feb
    assert dates["perp_metrics"] == utc("2026-02-05T23:59:59")  # the cross-venue funding average's daily close
    for name in ("daily_prices", "btc_network", "vol_index", "sector_returns"):
        assert dates[name] == utc("2026-02-05"), name


def test_capitulation_day_values_in_the_snapshot(snap):
    px = snap.tables["daily_prices"]
    close = px[px["date"] == utc("2026-02-05")].set_index("symbol")["close"]
    assert close["BTC-USD"] == 62702.09765625
    assert close["MSTR"] == 106.98999786376953  # from prices_daily/, not the dat-tracker JSON
    assert {"VIX", "DXY", "ASST", "XXI"} <= set(close.index)
    assert not px.duplicated(["symbol", "date"]).any()
    vol = snap.tables["vol_index"]
    assert vol[vol["date"] == utc("2026-02-05")]["close"].iloc[0] == pytest.approx(0.8262)
    mstr = snap.tables["treasury_companies"].query("ticker == 'MSTR'").sort_values("as_of").iloc[-1]
    assert (mstr["as_of"], mstr["btc_held"]) == (utc("2026-02-02"), 713_502)


def test_binance_oi_and_funding_share_one_row_per_stamp(snap):
    perp = snap.tables["perp_metrics"]
    assert not perp.duplicated(["timestamp", "venue", "symbol"]).any()
    row = perp[(perp["timestamp"] == utc("2026-02-05T16:00Z")) & (perp["venue"] == "binance")].iloc[0]
    assert row["funding_rate"] == 1.50466666666667e-05 and row["oi_btc"] > 0


def test_an_earlier_as_of_drops_tables_that_did_not_exist_yet(shared_data: Path):
    snap = build_snapshot(shared_data, "2020-12-31T23:59:59Z")
    assert "option_quotes" not in snap.tables and "etf_flows" not in snap.tables
    assert snap.table_dates()["daily_prices"] == utc("2020-12-31")


def test_a_folder_with_one_file_gives_one_table(tmp_path: Path):
    (tmp_path / "volatility_index").mkdir()
    (tmp_path / "volatility_index" / "dvol_BTC_1y.csv").write_text(
        "date,open,high,low,close\n2026-02-05,53.47,90.33,53.44,82.62\n2026-02-06,82.62,88.61,54.11,58.85\n"
    )
    snap = build_snapshot(tmp_path)
    assert list(snap.tables) == ["vol_index"]
    assert len(snap.tables["vol_index"]) == 1  # 2026-02-06 is after the default as_of


@pytest.mark.parametrize("make", [False, True])
def test_no_data_is_a_source_error_that_says_what_to_do(tmp_path: Path, make: bool):
    folder = tmp_path / "data"
    if make:
        folder.mkdir()
    with pytest.raises(SourceError, match=r"point --data at a folder of recorded data such as \.\./shared/data"):
        build_snapshot(folder)


def _directory(p: Path) -> None:
    p.mkdir()


def _loop(p: Path) -> None:
    p.symlink_to(p.name)


def _dangling(p: Path) -> None:
    p.symlink_to(p.with_name("gone.csv"))


NOT_A_FILE = {
    _directory: "a directory",
    _loop: "a symlink that loops or points nowhere",
    _dangling: "a symlink that loops or points nowhere",
}


@pytest.mark.parametrize("make", list(NOT_A_FILE), ids=["directory", "symlink loop", "dangling symlink"])
@pytest.mark.parametrize(
    "rel",
    [
        "derivatives_oi_funding/open_interest.csv",  # a fixed name, optional
        "bitcoin_network/difficulty.csv",  # its partner hashrate.csv absent: still checked
        "volatility_index/dvol_BTC_1y.csv",  # found by a glob
        "prices_daily/MSTR.csv",  # a prices folder
        "treasury_companies/XXI.json",  # the dat-tracker price JSONs' glob
        "onchain_costbasis/checkonchain_lth-sopr.json",
        "liquidations/coinglass_long_short_all_1d.csv",
    ],
)
def test_something_that_is_not_a_file_where_one_belongs_is_an_error_naming_it(tmp_path: Path, rel: str, make):
    (tmp_path / "macro").mkdir()
    (tmp_path / "macro" / "vix.csv").write_text("date,vix\n2026-02-05,21.8\n")  # data to read otherwise
    path = tmp_path / rel
    path.parent.mkdir(exist_ok=True)
    make(path)
    with pytest.raises(DataError, match=f"^{re.escape(str(path))}: {NOT_A_FILE[make]}, not a readable file$"):
        load_tables(tmp_path)


def test_a_file_that_is_not_there_is_skipped(tmp_path: Path):
    (tmp_path / "macro").mkdir()
    (tmp_path / "macro" / "vix.csv").write_text("date,vix\n2026-02-05,21.8\n")
    for d in ("derivatives_oi_funding", "bitcoin_network", "onchain_costbasis", "liquidations"):
        (tmp_path / d).mkdir()  # the folders, empty
    assert list(load_tables(tmp_path)) == ["daily_prices"]


def test_present_is_true_for_a_file_or_a_link_to_one_and_false_for_nothing(tmp_path: Path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "link.csv").symlink_to("a.csv")
    assert present(tmp_path / "a.csv") and present(tmp_path / "link.csv")
    assert not present(tmp_path / "absent.csv")


def test_capital_stack_tables_are_in_the_snapshot_as_known_on_its_date(snap):
    inst, charges = snap.tables["treasury_instruments"], snap.tables["treasury_charges"]
    assert (inst["known"] <= snap.as_of).all()
    mstr = inst[inst["ticker"] == "MSTR"]
    assert len(mstr) == 8 and mstr["coupon"].notna().all()  # every note's coupon from the bundled file
    assert "MARA" not in set(inst["ticker"])  # MARA's notes carry no issue date: known from 2026-03-08 only
    assert "known = the issue date, else the file's date" in snap.provenance["treasury_instruments"].notes
    assert list(charges["ticker"]) == ["MSTR"] and charges["as_of"].iloc[0] == utc("2025-12-01")
    tr = snap.tables["treasury_companies"]
    fixed = tr[(tr["ticker"] == "MSTR") & (tr["as_of"] == utc("2020-12-31"))]
    assert list(fixed["btc_held"]) == [40_824, 70_470]  # the tracker's row, then the bundled correction
    assert snap.provenance["treasury_companies"].source.endswith("treasuries.toml")


def test_capital_stack_travels_with_the_snapshot_through_a_cut_save_load_and_the_store(snap, tmp_path: Path):
    from capitulation.snapshot import Snapshot
    from capitulation.store import HistoryStore

    early = snap.upto("2024-11-25T23:59:59Z")
    inst = early.tables["treasury_instruments"]
    issued = inst.loc[inst["ticker"] == "MSTR", "issued"]
    assert len(issued) == 7 and issued.max() == utc("2024-11-20")  # the 2029 notes; the 2030-03-01 ones come in 2025
    assert "treasury_charges" not in early.tables  # first charges row: 2025-12-01
    back = Snapshot.load(snap.save(tmp_path / "snap"))
    stored = HistoryStore(tmp_path / "db")
    stored.write(snap)
    again = stored.load(snap.as_of)
    for name in ("treasury_companies", "treasury_instruments", "treasury_charges"):
        pd.testing.assert_frame_equal(back.tables[name], snap.tables[name])
        pd.testing.assert_frame_equal(again.tables[name], snap.tables[name])


def test_a_stack_file_replaces_the_bundled_one_and_is_checked(shared_data: Path, tmp_path: Path):
    f = tmp_path / "stack.toml"
    f.write_text(
        '[[company]]\nticker = "MSTR"\nas_of = "2026-02-03"\nbtc_held = 700000\nsource = "synthetic"\n'
        '[[charges]]\nticker = "MSTR"\nas_of = "2026-01-02"\nannual_interest_usd = 1e6\nsource = "synthetic"\n'
    )
    tables_ = load_tables(shared_data, stack=f)
    tr, _ = tables_["treasury_companies"]
    assert not (tr["btc_held"] == 70_470).any()  # the bundled corrections are not read
    assert tr["source"].iloc[-1] == "stack.toml: synthetic"
    assert tables_["treasury_charges"][0]["annual_interest_usd"].tolist() == [1e6]
    assert tables_["treasury_instruments"][0]["coupon"].isna().all()  # no coupons in this file
    f.write_text('[[coupon]]\nticker = "MSTR"\nexpiration = "2040-01-01"\ncoupon = 0.01\nsource = "synthetic"\n')
    with pytest.raises(DataError, match=r"stack\.toml: coupon\(s\) for no recorded convertible: MSTR 2040-01-01"):
        load_tables(shared_data, stack=f)


def test_the_stack_file_applies_only_where_there_is_treasury_data(tmp_path: Path):
    (tmp_path / "treasury_companies").mkdir()
    (tmp_path / "volatility_index").mkdir()
    (tmp_path / "volatility_index" / "dvol_BTC_1y.csv").write_text("date,open,high,low,close\n2026-02-05,53,90,53,82\n")
    assert list(load_tables(tmp_path)) == ["vol_index"]  # no treasury file: the bundled rows alone are not data


def test_combined_provenance_lists_every_file_once_per_licence():
    a = Provenance("/d/a.csv", "2026-01-01T00:00:00+00:00", "MIT", "note a")
    b = Provenance("/d/b.csv", "2026-02-01T00:00:00+00:00", "unstated", "note b")
    c = Provenance("/d/c.csv", "2025-01-01T00:00:00+00:00", "MIT", "note c")
    both = combine([combine([a, b]), c])
    assert both.source == "/d/a.csv; /d/b.csv; /d/c.csv"
    assert both.licence == "MIT; unstated"
    assert both.retrieved_at == "2026-02-01T00:00:00+00:00"
    assert both.notes == "[a.csv] note a | [b.csv] note b | [c.csv] note c"
    assert combine([a]) is a
