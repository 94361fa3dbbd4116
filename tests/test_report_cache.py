"""The document cache (`cli.documents`): a warm `report` prints what a computed one prints without
evaluating the signals; a changed input, code, thresholds file or store makes it compute again; the log of
the computation is said again on a hit."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from capitulation.cli import app
from capitulation.cli import documents as cache
from capitulation.report import model

FOLDERS = ("prices_daily", "volatility_index", "etf_flows", "bitcoin_network")
"""Four real folders: BTC's closes (spot), DVOL, ETF flows and the network (miners' levels)."""
DVOL_ROW = "2026-02-05,"
"""DVOL's line for the report's day in dvol_BTC_1y.csv, whose close the options verdict quotes."""


@pytest.fixture
def data(shared_data, tmp_path) -> Path:
    root = tmp_path / "data"
    for folder in FOLDERS:
        shutil.copytree(shared_data / folder, root / folder)
        for f in (root / folder).iterdir():
            f.chmod(0o644)
    return root


def run(*args: str) -> str:
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    return res.stdout


def not_evaluated(monkeypatch) -> None:
    """From now on, evaluating the signals fails the test."""

    def build(*_, **__):
        raise AssertionError("the report was computed, not read from the cache")

    monkeypatch.setattr(model, "build", build)


def test_a_warm_report_prints_the_computed_one_without_evaluating(data, cached, monkeypatch):
    args = ["report", "--data", str(data), "--no-store"]
    computed = run(*args, "--no-cache"), run(*args, "--no-cache", "--json")
    assert not cached.exists()  # --no-cache neither reads nor writes it
    assert run(*args, "--json") == computed[1]  # cold: computed and kept
    not_evaluated(monkeypatch)
    warm = run(*args), run(*args, "--json")
    assert warm == computed
    assert "BTC $62,702" in warm[0] and "Levels around spot" in warm[0]
    assert len(json.loads(warm[1])["signals"]) == 8


def test_a_changed_input_file_is_computed_again(data, cached, monkeypatch):
    args = ["report", "--data", str(data), "--no-store", "--json"]
    before = json.loads(run(*args))
    f = data / "volatility_index" / "dvol_BTC_1y.csv"
    lines = f.read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(DVOL_ROW))
    fields = lines[i].split(",")
    lines[i] = ",".join([*fields[:4], "99.5"])  # the day's close: 99.5 vol points
    f.write_text("\n".join(lines) + "\n")
    after = json.loads(run(*args))
    assert after == json.loads(run(*args, "--no-cache"))  # the new file's report, not the kept one
    assert after != before
    assert "99.5" in json.dumps(after) and "99.5" not in json.dumps(before)


def test_a_store_that_lost_the_run_gets_it_again(data, cached, tmp_path, monkeypatch):
    db = tmp_path / "db"
    args = ["report", "--data", str(data), "--db", str(db)]
    assert "4 new table(s)" in run(*args)
    monkeypatch.setattr(model, "build", _counted(model.build, calls := []))
    assert "0 new table(s)" in run(*args) and not calls  # a hit: the store still holds the snapshot
    shutil.rmtree(db)
    assert "4 new table(s)" in run(*args) and len(calls) == 1  # computed and stored again
    assert "4 new table(s)" in run(*args, "--db", str(tmp_path / "db2")) and len(calls) == 2  # another store
    stored = json.loads(run("history", "--db", str(db), "--json"))["snapshots"]
    assert [s["as_of"] for s in stored] == ["2026-02-05T23:59:59+00:00"]


def _counted(fn, calls: list):
    def counted(*a, **k):
        calls.append(1)
        return fn(*a, **k)

    return counted


def test_another_code_as_of_or_thresholds_file_is_another_entry(data, cached, tmp_path, monkeypatch):
    th = tmp_path / "th.toml"
    th.write_text("")
    key = cache.DocumentCache(data, "report", None, th, root=cached).key
    assert cache.DocumentCache(data, "report", None, th, root=cached).key == key
    assert cache.DocumentCache(data, "report", "2026-02-04", th, root=cached).key != key
    th.write_text("# edited\n")
    assert cache.DocumentCache(data, "report", None, th, root=cached).key != key
    monkeypatch.setattr(cache, "code_version", lambda: "another build")
    assert cache.DocumentCache(data, "report", None, None, root=cached).key["code"] == "another build"


@pytest.mark.parametrize(
    ("as_of", "kept"),
    [
        *[(None, True), ("2026-02-05", True), ("2026-02-05T08:00Z", True), ("2026-02-05 08:00:30+01:00", True)],
        *[("now", False), ("today", False), ("5 Feb 2026", False), ("2026-02", False)],
    ],
)
def test_only_an_as_of_naming_one_instant_is_cached(as_of, kept):
    assert cache.cacheable(as_of) is kept


def test_a_hit_says_what_the_computation_logged(data, cached, caplog):
    memo = cache.DocumentCache(data, "report", None, None, root=cached)

    def compute() -> dict:
        logging.getLogger("capitulation.signals.test").warning("DVOL is 3 days old")
        return {"as_of": "2026-02-05T23:59:59+00:00", "signals": []}

    with caplog.at_level(logging.WARNING, logger="capitulation"):
        doc, manifest = memo.compute(compute)
        memo.put(doc, manifest, None)
        assert memo.get(None) == doc
    assert [r.getMessage() for r in caplog.records] == ["DVOL is 3 days old"] * 2  # computed, then replayed


def test_a_file_changed_while_computing_is_not_kept(data, cached):
    memo = cache.DocumentCache(data, "report", None, None, root=cached)

    def compute() -> dict:
        (data / "etf_flows" / "late.json").write_text("{}")  # a file lands mid-run
        return {"as_of": "2026-02-05T23:59:59+00:00"}

    doc, manifest = memo.compute(compute)
    assert manifest is None
    memo.put(doc, manifest, None)
    assert memo.get(None) is None


def test_a_saved_snapshot_is_kept_by_its_files(data, cached, tmp_path, monkeypatch):
    snap = tmp_path / "snap"
    run("snapshot", str(snap), "--data", str(data))
    args = ["report", "--snapshot", str(snap), "--no-store", "--json"]
    first = run(*args)
    assert first == run(*args, "--no-cache")
    monkeypatch.setattr(model, "build", _counted(model.build, calls := []))
    assert run(*args) == first and not calls
    assert run(*args, "--as-of", "2026-01-31") != first and len(calls) == 1  # another as_of: computed
    (snap / "vol_index.parquet").unlink()
    gone = CliRunner().invoke(app, args)  # a table gone: read again, and said, not the kept report
    assert gone.exit_code == 2 and "vol_index.parquet" in gone.output and len(calls) == 1


def test_levels_reads_the_report_that_report_kept(data, cached, monkeypatch):
    computed = run("levels", "--data", str(data), "--no-cache", "--json", "--within", "0.3")
    run("report", "--data", str(data), "--no-store")
    not_evaluated(monkeypatch)
    assert run("levels", "--data", str(data), "--json", "--within", "0.3") == computed
    assert {lv["group"] for lv in json.loads(computed)["levels"]} >= {"miner cost floor"}


def test_the_least_recently_used_documents_go_beyond_the_limit(data, cached, monkeypatch):
    monkeypatch.setattr(cache, "MAX_DOCUMENTS", 2)
    days = ("2026-02-03", "2026-02-04", "2026-02-05")

    def keep(day: str) -> cache.DocumentCache:
        memo = cache.DocumentCache(data, "report", day, root=cached)
        doc, manifest = memo.compute(lambda: {"as_of": f"{day}T23:59:59+00:00"})
        memo.put(doc, manifest, None)
        return memo

    first, second = keep(days[0]), keep(days[1])
    os.utime(first.path, ns=(1, 1))  # both older than any write to come
    os.utime(second.path, ns=(1, 1))
    assert first.get(None) is not None  # used again: now the more recent of the two
    third = keep(days[2])
    assert [m.get(None) is not None for m in (first, second, third)] == [True, False, True]
    assert len(list(cached.glob("*/_report-*"))) == 2
