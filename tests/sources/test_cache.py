"""The parsed-table cache (`sources.cache`): a warm load equals a fresh parse, a changed file re-parses its
table alone, a touched or corrupt entry never gives a wrong table, a malformed file is never cached."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from capitulation.errors import DataError
from capitulation.sources import etf_flows, recorded, treasuries, vol_index
from capitulation.sources.cache import TableCache


@pytest.fixture
def calls(monkeypatch) -> Counter:
    """How many files each importer of the small folders parsed."""
    seen: Counter = Counter()
    for module, name in ((vol_index, "read_dvol_csv"), (etf_flows, "read_farside_json")):
        real = getattr(module, name)

        def spy(path, *args, _real=real, _name=name, **kwargs):
            seen[_name] += 1
            return _real(path, *args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    return seen


@pytest.fixture
def data(shared_data, tmp_path) -> Path:
    """A writable copy of two real folders: DVOL and ETF flows."""
    root = tmp_path / "data"
    for folder in ("volatility_index", "etf_flows"):
        shutil.copytree(shared_data / folder, root / folder)
        for f in (root / folder).iterdir():
            f.chmod(0o644)
    return root


ROW = "2026-09-19,35.46,35.7,34.28,35.11"
"""The last day of dvol_BTC_1y.csv, which only that file gives (the long file ends 2026-04-06)."""


def close(tables: dict) -> float:
    """DVOL's close on ROW's day, a fraction."""
    dv = tables["vol_index"][0]
    return round(dv.loc[dv["date"] == pd.Timestamp("2026-09-19", tz="UTC"), "close"].item(), 6)


def load(root: Path, cache: TableCache | None) -> dict:
    return recorded.load_tables(root, cache=cache)


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name][0], b[name][0], check_exact=True)
        assert a[name][1] == b[name][1], name


def test_a_warm_load_is_the_fresh_parse_of_every_recorded_table(shared_data, tmp_path):
    cache = TableCache(tmp_path / "cache")
    fresh = load(shared_data, None)
    assert_same(load(shared_data, cache), fresh)  # cold: parsed and stored
    assert_same(load(shared_data, cache), fresh)  # warm: read back
    assert len(list((tmp_path / "cache").glob("*/*/table.parquet"))) == len(fresh) == 13


def test_a_changed_file_reparses_its_table_and_nothing_else(data, tmp_path, calls):
    cache = TableCache(tmp_path / "cache")
    first = load(data, cache)
    assert calls == {"read_dvol_csv": 2, "read_farside_json": 1}
    f = data / "volatility_index" / "dvol_BTC_1y.csv"
    f.write_text(f.read_text().replace(ROW, ROW[:-5] + "99.50"))
    second = load(data, cache)
    assert calls == {"read_dvol_csv": 4, "read_farside_json": 1}  # DVOL's two files again, ETF flows from cache
    assert close(first) == 0.3511 and close(second) == 0.995
    assert_same(second, load(data, None))


def test_a_touched_file_with_the_same_bytes_is_not_reparsed(data, tmp_path, calls):
    cache = TableCache(tmp_path / "cache")
    load(data, cache)
    f = data / "etf_flows" / "farside-btc.json"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**10))
    assert_same(load(data, cache), load(data, None))
    assert calls["read_farside_json"] == 2  # the first load and the uncached one: the touch was hashed, not parsed
    meta = json.loads(next((tmp_path / "cache").glob("*/etf_flows/meta.json")).read_text())
    assert meta["files"]["etf_flows/farside-btc.json"][1] == f.stat().st_mtime_ns  # the new stat is recorded


def test_an_edit_in_the_same_clock_tick_with_the_same_size_is_still_seen(data, tmp_path):
    """Size and mtime alike but new bytes, right after the entry was written: hashed (a "racily clean" file)."""
    cache = TableCache(tmp_path / "cache")
    f = data / "volatility_index" / "dvol_BTC_1y.csv"
    f.write_text(f.read_text())  # modified now, as the entry will be
    stat = f.stat()
    load(data, cache)
    text = f.read_text().replace(ROW, ROW[:-5] + "35.12")
    f.write_text(text)
    os.utime(f, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert f.stat().st_size == stat.st_size and f.stat().st_mtime_ns == stat.st_mtime_ns
    assert close(load(data, cache)) == 0.3512


def test_a_malformed_file_fails_every_time_and_is_never_cached(data, tmp_path):
    cache = TableCache(tmp_path / "cache")
    f = data / "volatility_index" / "dvol_BTC_1y.csv"
    f.write_text(f.read_text().replace(ROW, ROW[:-5] + "abcde"))
    for _ in range(2):
        with pytest.raises(DataError, match=r"dvol_BTC_1y\.csv"):
            load(data, cache)
    assert not list((tmp_path / "cache").glob("*/vol_index"))


@pytest.mark.parametrize("damage", ["meta", "table", "gone"])
def test_a_damaged_entry_is_parsed_again(data, tmp_path, damage, calls):
    cache = TableCache(tmp_path / "cache")
    load(data, cache)
    entry = next((tmp_path / "cache").glob("*/vol_index"))
    if damage == "meta":
        (entry / "meta.json").write_text("{not json")
    elif damage == "table":
        (entry / "table.parquet").write_bytes(b"PAR1 truncated")
    else:
        shutil.rmtree(entry)
    assert_same(load(data, cache), load(data, None))
    assert calls["read_dvol_csv"] == 6  # first load, the re-parse, the uncached load: two files each
    assert_same(load(data, cache), load(data, None))  # and the entry is whole again


def test_a_sub_folder_appearing_changes_the_key(data, tmp_path, calls):
    cache = TableCache(tmp_path / "cache")
    load(data, cache)
    (data / "volatility_index" / "old").mkdir()
    load(data, cache)
    assert calls["read_dvol_csv"] == 4


def test_an_unwritable_cache_still_loads(data, tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    assert_same(load(data, TableCache(blocker)), load(data, None))


def test_a_warm_load_says_what_the_parse_logged(shared_data, tmp_path, caplog):
    root = tmp_path / "data"
    shutil.copytree(shared_data / "treasury_companies", root / "treasury_companies")
    cache = TableCache(tmp_path / "cache")
    logs = []
    for _ in range(2):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="capitulation"):
            recorded.load_tables(root, cache=cache, tables=["treasury_companies"])
        logs.append([r.getMessage() for r in caplog.records if "holdings dip" in r.getMessage()])
    assert logs[0] == logs[1] and len(logs[0]) == 1


def test_another_capital_stack_file_is_another_entry(shared_data, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(shared_data / "treasury_companies", root / "treasury_companies")
    cache = TableCache(tmp_path / "cache")
    stack = tmp_path / "stack.toml"
    stack.write_text(treasuries.BUNDLED_STACK_FILE.read_text())
    bundled = recorded.load_tables(root, cache=cache, tables=["treasury_charges"])["treasury_charges"][0]
    copy = recorded.load_tables(root, cache=cache, tables=["treasury_charges"], stack=stack)["treasury_charges"][0]
    assert bundled["source"].str.startswith("treasuries.toml").all()
    assert copy["source"].str.startswith("stack.toml").all()
    pd.testing.assert_frame_equal(bundled.drop(columns="source"), copy.drop(columns="source"))
    stack.write_text("this is not toml [")
    with pytest.raises(DataError):
        recorded.load_tables(root, cache=cache, tables=["treasury_charges"], stack=stack)


DATA_COMMANDS = ("report", "options", "leverage", "events", "levels", "crossasset", "sectors", "hedge", "mnav")
DATA_COMMANDS += ("mining", "backtest", "dashboard", "snapshot")


def test_report_fills_the_cache_and_no_cache_leaves_it_alone(shared_data, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from capitulation.cli import app

    monkeypatch.setenv("CAPITULATION_CACHE_DIR", str(tmp_path / "cache"))
    args = ["report", "--data", str(shared_data), "--no-store", "--json"]
    bypassed = CliRunner().invoke(app, [*args, "--no-cache"])
    assert bypassed.exit_code == 0 and not (tmp_path / "cache").exists()
    cold, warm = (CliRunner().invoke(app, args) for _ in range(2))
    assert len(list((tmp_path / "cache").glob("*/*/table.parquet"))) == 13
    signals = [json.loads(r.stdout)["signals"] for r in (bypassed, cold, warm)]
    assert signals[0] == signals[1] == signals[2]


@pytest.mark.parametrize("command", DATA_COMMANDS)
def test_every_data_command_offers_no_cache(command):
    from typer.testing import CliRunner

    from capitulation.cli import app

    out = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "--no-cache" in out.stdout
