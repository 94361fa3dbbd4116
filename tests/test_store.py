"""History store: atomic, idempotent, append-only Parquet read back with DuckDB."""

import pandas as pd
import pytest

from capitulation.errors import StoreError
from capitulation.signals.base import Status, Verdict
from capitulation.snapshot import Provenance, Snapshot
from capitulation.store import HistoryStore

PROV = Provenance(source="synthetic test frame", retrieved_at="2026-02-05T00:00:00Z", synthetic=True)


def synthetic_snapshot(as_of: str, closes: list[float]) -> Snapshot:
    """A synthetic two-table snapshot (numbers made up for the test, labelled synthetic)."""
    days = pd.date_range("2026-02-01", periods=len(closes), freq="D", tz="UTC")
    prices = pd.DataFrame(
        {"date": days, "symbol": "BTC-USD", "open": None, "high": None, "low": None, "close": closes, "volume": None}
    )
    flows = pd.DataFrame({"date": days[:1], "fund": ["IBIT"], "flow_usd": [1.5e8]})
    return Snapshot(as_of, {"daily_prices": prices, "etf_flows": flows}, {"daily_prices": PROV, "etf_flows": PROV})


def test_write_then_load_round_trips_every_table(tmp_path):
    store = HistoryStore(tmp_path)
    snap = synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0, 80.0])
    assert store.write(snap) == 2
    back = store.load("2026-02-05T23:59:59Z")
    pd.testing.assert_frame_equal(back.tables["daily_prices"], snap.tables["daily_prices"])
    assert back.provenance["etf_flows"] == PROV
    hist = store.history()
    assert list(hist["tables"]) == [2] and list(hist["rows"]) == [4]


def test_writing_the_same_snapshot_twice_stores_it_once(tmp_path):
    store = HistoryStore(tmp_path)
    snap = synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0])
    store.write(snap)
    assert store.write(snap) == 0
    assert len(list(tmp_path.rglob("*.parquet"))) == 3  # two tables + one commit record
    assert len(store.history()) == 1


def test_a_failed_write_commits_nothing_and_keeps_earlier_snapshots(tmp_path, monkeypatch):
    store = HistoryStore(tmp_path)
    store.write(synthetic_snapshot("2026-02-04T23:59:59Z", [100.0]))
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def fail_second(self, path, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fail_second)
    with pytest.raises(StoreError, match="disk full"):
        store.write(synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0]))
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*.tmp"))
    hist = store.history()
    assert len(hist) == 1 and hist["as_of"].iloc[0] == pd.Timestamp("2026-02-04T23:59:59Z")
    with pytest.raises(StoreError, match="no snapshot stored"):
        store.load("2026-02-05T23:59:59Z")
    assert store.write(synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0])) == 2


def test_verdicts_are_queryable_over_time(tmp_path):
    store = HistoryStore(tmp_path)
    for day, status in [("2026-02-04", Status.DOES_NOT_HOLD), ("2026-02-05", Status.HOLDS)]:
        v = Verdict("leverage_flush", "Leverage flush", status, "h", pd.Timestamp(day, tz="UTC"))
        store.write_verdicts([v])
        store.write_verdicts([v])
    hist = store.verdict_history("leverage_flush")
    assert list(hist["status"]) == ["does not hold", "holds"]


def test_empty_store_has_empty_history(tmp_path):
    assert HistoryStore(tmp_path / "none").history().empty
    with pytest.raises(StoreError, match="empty"):
        HistoryStore(tmp_path / "none").load("2026-02-05")


WRITER = """
import sys
import pandas as pd
from capitulation.snapshot import Provenance, Snapshot
from capitulation.store import HistoryStore

prov = Provenance(source="synthetic writer", retrieved_at="2026-02-05", synthetic=True)
store = HistoryStore(sys.argv[1])
days = pd.date_range("2020-01-01", periods=200_000, freq="min", tz="UTC")
for k in range(1000):
    prices = pd.DataFrame({"date": days, "symbol": "BTC-USD", "open": None, "high": None, "low": None,
                           "close": float(k + 1), "volume": None})  # a price is > 0
    flows = pd.DataFrame({"date": days[:1], "fund": ["IBIT"], "flow_usd": [float(k + 1)]})
    snap = Snapshot(pd.Timestamp("2026-01-01", tz="UTC") + pd.Timedelta(hours=k),
                    {"daily_prices": prices, "etf_flows": flows}, {"daily_prices": prov, "etf_flows": prov})
    store.write(snap)
    print(k, flush=True)
"""


def test_a_killed_writer_leaves_only_whole_snapshots(tmp_path):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    written = [proc.stdout.readline() for _ in range(3)]  # three snapshots committed, the fourth under way
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert all(line.strip() for line in written)
    store = HistoryStore(tmp_path)
    hist = store.history()
    assert len(hist) >= 3 and (hist["tables"] == 2).all()
    for as_of in hist["as_of"]:
        snap = store.load(as_of)  # every committed snapshot reads back whole
        k = float(snap.tables["etf_flows"]["flow_usd"].iloc[0])
        assert (snap.tables["daily_prices"]["close"] == k).all()
        assert len(snap.tables["daily_prices"]) == 200_000


def test_a_reader_during_writes_sees_only_committed_snapshots(tmp_path):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        store = HistoryStore(tmp_path)
        for _ in range(5):  # read while the other process keeps writing
            hist = store.history()
            assert (hist["tables"] == 2).all()
            snap = store.load(hist["as_of"].iloc[-1])
            assert set(snap.tables) == {"daily_prices", "etf_flows"}
    finally:
        proc.kill()
        proc.wait(timeout=30)


def test_verdict_history_carries_each_verdicts_key_metric(tmp_path):
    from capitulation.signals.base import Metric

    store = HistoryStore(tmp_path)
    v = Verdict(
        "leverage_flush",
        "Leverage flush",
        Status.HOLDS,
        "h",
        pd.Timestamp("2026-02-05", tz="UTC"),
        metrics=(Metric("flush_ratio_btc", 0.62, "fraction", ("perp_metrics",)),),
    )
    store.write_verdicts([v])
    row = store.verdict_history("leverage_flush").iloc[0]
    assert (row.key_metric, row.key_value, row.key_unit) == ("flush_ratio_btc", 0.62, "fraction")


def synthetic_timeline(days: list[str], status: str = "holds") -> pd.DataFrame:
    """Backtest timeline rows of one signal on `days` (made-up verdicts, labelled synthetic in the headline)."""
    from capitulation.backtest.run import frame

    return frame(
        [
            {"as_of": pd.Timestamp(f"{d}T23:59:59Z"), "signal": "leverage_flush", "status": status}
            | {"headline": "synthetic", "key_metric": None, "key_value": None, "key_unit": None, "metrics_json": "[]"}
            for d in days
        ]
    )


def test_backtest_runs_lists_each_run_with_its_range_label_and_write_time_newest_first(tmp_path):
    import os

    store = HistoryStore(tmp_path)
    assert store.backtest_runs().empty
    assert list(store.backtest_runs().columns) == ["run", "kind", "start", "end", "dates", "written_at"]
    store.write_backtest("01234567890123456789", synthetic_timeline(["2024-07-01", "2024-07-02"]))  # digits only
    store.write_backtest("01234567890123456789", synthetic_timeline(["2024-07-03"]))  # a second chunk
    store.write_backtest("abcdef", synthetic_timeline(["2024-07-01"], "does not hold"))
    for f in (tmp_path / "table=_backtest" / "run=01234567890123456789").glob("*.parquet"):
        os.utime(f, (1_700_000_000, 1_700_000_000))  # 2023-11-14 22:13:20 UTC
    for f in (tmp_path / "table=_backtest" / "run=abcdef").glob("*.parquet"):
        os.utime(f, (1_800_000_000, 1_800_000_000))
    store.label_backtest("01234567890123456789", "fitted before 2024-01-01")
    store.label_backtest("01234567890123456789", "walk-forward")  # the label written last wins
    runs = store.backtest_runs()
    assert list(runs["run"]) == ["abcdef", "01234567890123456789"]
    assert list(runs["kind"]) == [None, "walk-forward"]
    assert list(runs["dates"]) == [1, 3]
    assert runs["start"].iloc[1] == pd.Timestamp("2024-07-01T23:59:59Z")
    assert runs["end"].iloc[1] == pd.Timestamp("2024-07-03T23:59:59Z")
    assert runs["written_at"].iloc[1] == pd.Timestamp("2023-11-14T22:13:20Z")
    assert len(store.backtest_timeline("01234567890123456789")) == 3  # the label is not a timeline row
