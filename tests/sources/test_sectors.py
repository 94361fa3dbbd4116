"""quantbai sector returns: wide panel -> long rows, sector labels joined, dates moved to the window's end."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitulation.errors import DataError, SourceError
from capitulation.snapshot import utc
from capitulation.sources.sectors import read_quantbai_sectors


@pytest.fixture(scope="module")
def sectors(shared_data: Path):
    d = shared_data / "sectors"
    return read_quantbai_sectors(d / "quantbai_returns.parquet", d / "quantbai_sector.csv")


def ret(df: pd.DataFrame, symbol: str, when: str) -> pd.Series:
    rows = df[(df["symbol"] == symbol) & (df["date"] == utc(when))]
    assert len(rows) == 1
    return rows.iloc[0]


def test_quantbai_label_moves_to_the_day_its_okx_window_ends(sectors):
    df, prov = sectors
    # quantbai labels 2026-02-04 the return of OKX's 2026-02-04 16:00 -> 02-05 16:00 UTC candle
    row = ret(df, "BTC", "2026-02-05")
    assert row["log_return"] == pytest.approx(-0.09395970974642509, rel=1e-15)
    assert row["sector"] == "value_transfer"
    assert ret(df, "ARB", "2026-02-05")["sector"] == "eth_scaling"
    assert ret(df, "ARB", "2026-02-05")["log_return"] == pytest.approx(-0.12084348180948945, rel=1e-15)
    assert df["date"].min() == utc("2019-11-29")  # first return labelled 2019-11-28, one day on
    assert prov.licence == "CC BY 4.0"
    assert "quantbai_sector.csv" in prov.source


def test_shifted_returns_line_up_with_yahoo_btc(sectors, shared_data: Path):
    df, _ = sectors
    btc = df[df["symbol"] == "BTC"].set_index("date")["log_return"]
    px = pd.read_csv(shared_data / "prices_daily" / "btc_price_volume.csv", parse_dates=["date"])
    yahoo = np.log(px.set_index(pd.to_datetime(px["date"], utc=True))["price"]).diff()
    both = pd.concat([btc, yahoo], axis=1, join="inner").dropna()
    assert both.corr().iloc[0, 1] > 0.6  # 16 of 24 hours shared; unshifted it would be ~0.3


def test_all_labels_kept_and_empty_cells_are_not_rows(sectors):
    df, _ = sectors
    assert {"eth_scaling", "metaverse_gaming", "meme", "defi", "OTHER"} <= set(df["sector"])
    assert df["sector"].nunique() == 13
    assert df["symbol"].nunique() == 232
    assert not df["log_return"].isna().any()
    assert not df.duplicated(["date", "symbol"]).any()


def write_panel(tmp_path: Path, labels: str) -> tuple[Path, Path]:
    wide = pd.DataFrame(
        {"AAA": [0.01, np.nan], "BBB": [0.02, -0.03]},
        index=pd.DatetimeIndex(["2024-01-01", "2024-01-02"], name="date"),
    )
    rp, sp = tmp_path / "r.parquet", tmp_path / "s.csv"
    wide.to_parquet(rp)
    sp.write_text(labels)
    return rp, sp


def test_symbol_without_label_is_dropped_and_counted(tmp_path: Path):
    rp, sp = write_panel(tmp_path, "symbol,sector,role\nAAA,meme,FACTOR\n")
    df, prov = read_quantbai_sectors(rp, sp, label_shift_days=0)
    assert list(df["symbol"]) == ["AAA"] and list(df["log_return"]) == [0.01]
    assert "1 unlabelled symbol(s) dropped" in prov.notes


def test_missing_sector_column_is_named(tmp_path: Path):
    rp, sp = write_panel(tmp_path, "symbol,label\nAAA,meme\n")
    with pytest.raises(DataError, match=r"s\.csv: missing column 'sector'"):
        read_quantbai_sectors(rp, sp)


def test_missing_parquet_is_a_source_error(tmp_path: Path):
    _, sp = write_panel(tmp_path, "symbol,sector\nAAA,meme\n")
    with pytest.raises(SourceError, match=r"nope\.parquet"):
        read_quantbai_sectors(tmp_path / "nope.parquet", sp)


def test_a_labelled_symbol_missing_from_the_panel_is_named_with_its_sector(tmp_path: Path):
    rp, sp = write_panel(tmp_path, "symbol,sector\nAAA,meme\nBBB,defi\nCCC,defi\n")  # no CCC column
    df, prov = read_quantbai_sectors(rp, sp, label_shift_days=0)
    assert set(df["symbol"]) == {"AAA", "BBB"}
    assert "1 symbol(s) of s.csv missing from the returns panel" in prov.notes
    assert "without them): CCC (defi)." in prov.notes
    sp.write_text("symbol,sector\nAAA,meme\nBBB,defi\n")
    assert "missing" not in read_quantbai_sectors(rp, sp)[1].notes


def test_a_column_with_no_return_at_all_counts_as_missing(tmp_path: Path):
    rp, sp = write_panel(tmp_path, "symbol,sector\nAAA,meme\nBBB,defi\n")
    pd.read_parquet(rp).assign(AAA=np.nan).to_parquet(rp)
    _, prov = read_quantbai_sectors(rp, sp, label_shift_days=0)
    assert "without them): AAA (meme)." in prov.notes


def test_the_recorded_panel_has_every_labelled_symbol(sectors):
    assert "missing from the returns panel" not in sectors[1].notes
