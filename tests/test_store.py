"""History store: atomic, idempotent, append-only Parquet read back with DuckDB."""

import json
from pathlib import Path

import pandas as pd
import pytest

from capitulation.errors import StoreError
from capitulation.snapshot import Provenance, Snapshot, SourceStatus
from capitulation.store import HistoryStore
from capitulation.verdict import Status, Verdict

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


def test_source_states_load_in_the_order_they_were_asked(tmp_path):
    """Not alphabetical, not hash order: `watch` lists the sources as it asked them (DuckDB's QUALIFY alone
    returned them in either order from one run to the next)."""
    base = synthetic_snapshot("2026-02-05", [100.0, 101.0])
    asked = tuple(
        SourceStatus(name, "stale" if i % 2 else "ok", f"reason {i}" if i % 2 else "", 0 if i % 2 else 3)
        for i, name in enumerate(["vol_index", "perp_metrics", "btc_network", "option_quotes", "daily_prices"])
    )
    HistoryStore(tmp_path).write(Snapshot(base.as_of, base.tables, base.provenance, asked))
    for _ in range(5):
        assert HistoryStore(tmp_path).load(base.as_of).sources == asked


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
from capitulation.snapshot import Provenance, Snapshot, SourceStatus
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
    from capitulation.verdict import Metric

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


def stored_days(root, n: int) -> tuple[HistoryStore, list[pd.Timestamp]]:
    """A store holding `n` synthetic snapshots, one a day from 2026-01-01 (closes made up per day)."""
    store = HistoryStore(root)
    days = [pd.Timestamp("2026-01-01T23:59:59Z") + pd.Timedelta(days=k) for k in range(n)]
    for k, day in enumerate(days):
        assert store.write(synthetic_snapshot(day.isoformat(), [100.0 + k, 90.0 + k])) == 2
    return store, days


def table_file(root, table: str, day: pd.Timestamp):
    (path,) = (root / f"table={table}" / f"as_of_date={day:%Y-%m-%d}").glob("*.parquet")
    return path


def damaged_store(root, table: str, k: int, damage) -> tuple[HistoryStore, list[pd.Timestamp], Path]:
    """`stored_days(root, 31)` with `damage` done to the file of `table` on the `k`-th day (returned)."""
    store, days = stored_days(root, 31)
    path = table_file(root, table, days[k])
    damage(path)
    return store, days, path


def truncate(path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def zero_64_bytes(path) -> None:
    """64 zero bytes in the middle of the file (its length and Parquet footer unchanged)."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    assert any(data[mid : mid + 64])  # the bytes really change
    data[mid : mid + 64] = bytes(64)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [truncate, zero_64_bytes], ids=["truncated", "zeroed"])
def test_a_damaged_table_file_is_quarantined_and_named_and_every_other_snapshot_stays_readable(tmp_path, damage):
    store, days, path = damaged_store(tmp_path, "daily_prices", 17, damage)
    hit = days[17]
    damaged_bytes = path.read_bytes()
    hist = HistoryStore(tmp_path).history()
    assert list(hist["as_of"]) == days  # all 31 still listed
    (bad,) = hist.index[hist["damaged"] != ""]
    assert hist["as_of"][bad] == hit and hist["damaged"][bad].startswith("daily_prices (")
    assert ("truncated" if damage is truncate else "SHA-256 differs") in hist["damaged"][bad]
    assert not path.exists()
    moved = HistoryStore(tmp_path).damage()
    assert list(moved["file"]) == [path.relative_to(tmp_path).as_posix()]  # moved aside, not deleted
    assert Path(moved["moved_to"].iloc[0]).read_bytes() == damaged_bytes
    again = HistoryStore(tmp_path).history()  # a later reader still names it, with the reason noted
    assert again["damaged"][bad].startswith("daily_prices (") and "_quarantine" in again["damaged"][bad]
    for k, day in enumerate(days):
        if day != hit:
            assert HistoryStore(tmp_path).load(day).tables["daily_prices"]["close"].iloc[0] == 100.0 + k
    with pytest.raises(StoreError, match="is damaged: daily_prices"):
        store.load(hit)
    assert store.write(synthetic_snapshot("2026-03-01T23:59:59Z", [1.0])) == 2  # later writes succeed
    assert store.write(synthetic_snapshot(hit.isoformat(), [117.0, 107.0])) == 1  # rewriting it repairs it
    assert (HistoryStore(tmp_path).history()["damaged"] == "").all()
    assert store.load(hit).tables["daily_prices"]["close"].tolist() == [117.0, 107.0]


@pytest.mark.parametrize("damage", [truncate, zero_64_bytes], ids=["truncated", "zeroed"])
def test_a_damaged_commit_record_hides_only_its_snapshot_and_writes_go_on(tmp_path, damage):
    store, days, commit = damaged_store(tmp_path, "_snapshots", 4, damage)
    hit = days[4]
    hist = store.history()
    assert list(hist["as_of"]) == days[:4] + days[5:] and (hist["damaged"] == "").all()
    (note,) = store.damage().itertuples()
    assert note.file == commit.relative_to(tmp_path).as_posix() and "SHA-256 differs" in note.reason
    with pytest.raises(StoreError, match="no snapshot stored"):
        store.load(hit)
    assert store.write(synthetic_snapshot("2026-03-01T23:59:59Z", [1.0])) == 2
    assert len(store.history()) == 31
    assert list(store.history(since="2026-01-30")["as_of"]) == [*days[29:], pd.Timestamp("2026-03-01T23:59:59Z")]


def test_history_cli_lists_the_intact_snapshots_and_names_the_damaged_ones(tmp_path):
    from typer.testing import CliRunner

    from capitulation.cli import app

    _, days = stored_days(tmp_path, 5)
    truncate(table_file(tmp_path, "etf_flows", days[1]))
    zero_64_bytes(table_file(tmp_path, "_snapshots", days[3]))
    res = CliRunner().invoke(app, ["history", "--db", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["snapshots"]
    assert [r["as_of"][:10] for r in rows] == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-05"]
    assert [r["damaged"] is not None for r in rows] == [False, True, False, False]
    assert rows[1]["damaged"].startswith("etf_flows (table=etf_flows/as_of_date=2026-01-02/")
    (warning,) = res.stderr.splitlines()  # the damaged commit record, which no listed snapshot names
    assert warning.startswith("warning: quarantined table=_snapshots/as_of_date=2026-01-04/")
    assert "SHA-256 differs" in warning
    res = CliRunner().invoke(app, ["history", "--db", str(tmp_path)])
    assert res.exit_code == 0 and "damaged" in res.stdout and "2026-01-05" in res.stdout


def test_stale_temporary_and_uncommitted_files_are_cleaned_on_the_next_write_and_fresh_ones_kept(tmp_path):
    import os
    import time

    from capitulation.store import GRACE_S

    store, _ = stored_days(tmp_path, 1)
    folder = tmp_path / "table=daily_prices" / "as_of_date=2026-01-01"
    old_tmp, fresh_tmp = folder / ".a.dead.tmp", folder / ".b.running.tmp"
    orphan, fresh = folder / "0123456789abcdef01234567.parquet", folder / "76543210fedcba9876543210.parquet"
    for path in (old_tmp, fresh_tmp):
        path.write_bytes(b"half a parquet file")
    for path in (orphan, fresh):  # table files no commit record names
        synthetic_snapshot("2026-01-01", [5.0]).tables["daily_prices"].to_parquet(path)
    long_ago = time.time() - GRACE_S - 60
    for path in (old_tmp, orphan):
        os.utime(path, (long_ago, long_ago))
    assert store.write(synthetic_snapshot("2026-01-02T23:59:59Z", [1.0])) == 2
    assert not old_tmp.exists() and not orphan.exists()
    assert fresh_tmp.exists() and fresh.exists()  # a running writer's files are younger than the grace period
    (note,) = store.damage().itertuples()
    assert note.file == orphan.relative_to(tmp_path).as_posix() and note.reason.startswith("uncommitted")
    assert len(store.history()) == 2


def test_the_same_data_under_another_source_spelling_is_stored_once(tmp_path):
    store = HistoryStore(tmp_path)
    snap = synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0])
    assert store.write(snap) == 2
    other = Provenance(source="../shared/./data/prices.csv", retrieved_at="2026-02-05T00:00:00Z", synthetic=True)
    respelled = Snapshot(snap.as_of, snap.tables, dict.fromkeys(snap.tables, other))
    assert store.write(respelled) == 0
    changed = synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 91.0])  # other data at the same time
    assert store.write(changed) == 1  # daily_prices only: etf_flows is the same
    assert store.load(snap.as_of).tables["daily_prices"]["close"].tolist() == [100.0, 91.0]  # written last wins
    assert store.history()["tables"].tolist() == [2]


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_path_that_is_not_a_store_is_refused_with_one_line_and_exit_2(tmp_path, what):
    from typer.testing import CliRunner

    from capitulation.cli import app

    path = tmp_path / "notes.txt"
    path.write_text("not a store")
    db = path if what == "file" else tmp_path
    with pytest.raises(StoreError, match="not a history store"):
        HistoryStore(db)
    res = CliRunner().invoke(app, ["history", "--db", str(db)])
    assert res.exit_code == 2
    (line,) = res.output.splitlines()
    assert line.startswith("error: ") and str(db) in line
    assert not list(tmp_path.glob("table=*"))


def test_a_query_error_is_one_line_without_duckdbs_caret_lines(tmp_path):
    folder = tmp_path / "table=_verdicts" / "as_of_date=2026-02-05"
    folder.mkdir(parents=True)
    pd.DataFrame({"signal": ["leverage_flush"]}).to_parquet(folder / "old.parquet")  # no verdict_json column
    with pytest.raises(StoreError) as err:
        HistoryStore(tmp_path).verdict_history()
    assert "\n" not in str(err.value) and "snapshot_as_of" in str(err.value)
    import duckdb

    from capitulation.store import one_line

    with pytest.raises(duckdb.Error) as raw:
        duckdb.connect().execute(
            "SELECT snapshot_as_of FROM read_parquet($f, hive_partitioning=false)", {"f": [str(folder / "old.parquet")]}
        )
    assert "\nLINE 1: SELECT" in str(raw.value) and "^^^" in str(raw.value)  # DuckDB's own message: several lines
    assert one_line(raw.value) == (
        'Binder Error: Referenced column "snapshot_as_of" not found in FROM clause! Candidate bindings: "signal"'
    )


def test_a_store_written_before_checksums_is_read_unchecked(tmp_path):
    store = HistoryStore(tmp_path)
    snap = synthetic_snapshot("2026-02-05T23:59:59Z", [100.0, 90.0])
    store.write(snap)
    commit = table_file(tmp_path, "_snapshots", snap.as_of)
    old = pd.read_parquet(commit).drop(columns=["file", "sha256", "bytes"])  # the earlier record layout
    commit.unlink()
    old.to_parquet(commit.with_name("0123456789abcdef01234567.parquet"))
    prices = table_file(tmp_path, "daily_prices", snap.as_of)
    zero_64_bytes(prices)  # with no checksum recorded, nothing can tell
    assert (store.history()["damaged"] == "").all()
    assert store.load(snap.as_of).tables["etf_flows"]["flow_usd"].tolist() == [1.5e8]
