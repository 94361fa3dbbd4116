"""Snapshot: provenance per table, as-of cut without look-ahead, save/load, corrupt files."""

import json

import pandas as pd
import pytest

from capitulation.errors import DataError
from capitulation.snapshot import Provenance, Snapshot, SourceStatus, parse_as_of

PROV = Provenance(source="synthetic test frame", retrieved_at="2026-02-06T00:00:00Z", synthetic=True)


def synthetic() -> Snapshot:
    days = pd.date_range("2026-02-03", periods=3, freq="D", tz="UTC")
    prices = pd.DataFrame(
        {
            "date": days,
            "symbol": "BTC-USD",
            "open": None,
            "high": None,
            "low": None,
            "close": [1.0, 2.0, 3.0],
            "volume": None,
        }
    )
    return Snapshot("2026-02-05T23:59:59Z", {"daily_prices": prices}, {"daily_prices": PROV})


def test_a_table_without_provenance_is_refused():
    snap = synthetic()
    with pytest.raises(DataError, match="without provenance: daily_prices"):
        Snapshot(snap.as_of, snap.tables, {})


def test_upto_drops_every_row_after_the_cut_and_empty_tables():
    snap = synthetic().upto("2026-02-04T23:59:59Z")
    assert snap.tables["daily_prices"]["close"].tolist() == [1.0, 2.0]
    assert synthetic().upto("2026-01-01").tables == {}


def test_a_snapshot_reads_its_as_of_as_the_cli_does():
    """A bare date is the end of that UTC day (`timeutil.parse_as_of`) when building or cutting a snapshot."""
    snap = synthetic()
    for day in ("2026-02-04", "2026-2-4", "20260204"):
        cut = snap.upto(day)
        assert cut.as_of == parse_as_of(day) == pd.Timestamp("2026-02-04T23:59:59Z")
        assert cut.tables["daily_prices"]["close"].tolist() == [1.0, 2.0]  # 2026-02-04's close is known
    assert snap.upto("2026-02-04T00:00").tables["daily_prices"]["close"].tolist() == [1.0]
    assert Snapshot("2026-02-05", snap.tables, snap.provenance).as_of == snap.as_of


def test_save_and_load_round_trip(tmp_path):
    base = synthetic()
    stale = SourceStatus("btc_network", "stale", "mempool.space answered HTTP 503")
    snap = Snapshot(base.as_of, base.tables, base.provenance, (SourceStatus("daily_prices", "ok", rows=3), stale))
    snap.save(tmp_path / "s")
    back = Snapshot.load(tmp_path / "s")
    assert back.as_of == snap.as_of and back.provenance == snap.provenance
    assert back.sources == snap.sources and back.stale() == ["btc_network"]
    assert snap.upto("2026-02-04").sources == snap.sources
    pd.testing.assert_frame_equal(back.tables["daily_prices"], snap.tables["daily_prices"])
    with pytest.raises(DataError, match="already exists"):
        snap.save(tmp_path / "s")


def test_missing_or_corrupt_snapshot_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="no snapshot"):
        Snapshot.load(tmp_path / "nothing")
    synthetic().save(tmp_path / "s")
    (tmp_path / "s" / "daily_prices.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(DataError, match="corrupt or missing table file"):
        Snapshot.load(tmp_path / "s")
    man = tmp_path / "s" / "manifest.json"
    man.write_text(json.dumps({"as_of": "2026-02-05", "provenance": {"nope": PROV.__dict__}}))
    with pytest.raises(DataError, match="unknown table 'nope'"):
        Snapshot.load(tmp_path / "s")


def test_get_returns_none_for_absent_tables_and_rejects_unknown_names():
    snap = synthetic()
    assert snap.get("option_quotes") is None
    with pytest.raises(DataError):
        snap.get("options")


def test_a_daily_close_is_known_only_at_the_end_of_its_day():
    snap = synthetic()  # closes stamped 2026-02-03, -04, -05 at 00:00 UTC
    assert snap.upto("2026-02-05T00:00:00Z").tables["daily_prices"]["close"].tolist() == [1.0, 2.0]
    assert snap.upto("2026-02-05T12:00:00Z").tables["daily_prices"]["close"].tolist() == [1.0, 2.0]
    assert snap.upto("2026-02-05T23:59:59Z").tables["daily_prices"]["close"].tolist() == [1.0, 2.0, 3.0]
