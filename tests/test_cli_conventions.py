"""CLI conventions (issue 16, item 4): --version, completion, choices and examples in help, one duration
grammar, every --json one object with schema_version and an ISO as_of, --snapshot and a default --data,
the compile notice, and tables that fit a pipe's 80 columns."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from capitulation.cli import app, common
from capitulation.cli import watch as watch_cmd
from capitulation.errors import DataError
from capitulation.timeutil import parse_duration

runner = CliRunner()
ROOT = Path(__file__).parents[1]
ISO_T = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")


def run(*args: str):
    return runner.invoke(app, list(args), prog_name="capitulation")


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, stdout a pipe (not a terminal)."""
    full_env = os.environ | {"PYTHONPATH": str(ROOT / "src")} | env
    return subprocess.run(
        [sys.executable, "-m", "capitulation", *args], capture_output=True, text=True, env=full_env, cwd=ROOT
    )


# --- version, completion, choices, examples ------------------------------------------------------------------


def test_version_is_the_package_metadata_version():
    res = run("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"capitulation {version('capitulation')}"


def test_completion_script_is_offered_for_bash():
    """Typer detects the shell from the parent processes (`--show-completion` is a flag when shellingham is
    installed): run from bash, as a user would."""
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    # `; exit $?`: bash stays the parent (a lone command would be exec'd in bash's place)
    cmd = f"{shlex.quote(str(Path(sys.executable).with_name('capitulation')))} --show-completion; exit $?"
    res = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "complete" in res.stdout and "_CAPITULATION_COMPLETE" in res.stdout
    assert "--install-completion" in run("--help").stdout


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        (["options"], ["classic|short_all|trades|trades_net", "strike|delta"]),
        (["history"], ["leverage_flush|cross_asset|options_stress"]),
        (["mnav"], ["<seed>"]),
    ],
)
def test_fixed_choices_are_listed_in_help(command, choices):
    text = " ".join(
        runner.invoke(app, [*command, "--help"], env={"COLUMNS": "250"}, prog_name="capitulation").stdout.split()
    )
    for c in choices:
        assert c in text


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["options", "--dealer", "nope"], "'classic', 'short_all', 'trades', 'trades_net'"),
        (["options", "--sticky", "moneyness"], "'strike', 'delta'"),
        (["history", "--signal", "nope"], "'leverage_flush'"),
    ],
)
def test_a_value_outside_the_choices_exits_2_listing_them(args, shown):
    res = runner.invoke(app, args, env={"COLUMNS": "250"}, prog_name="capitulation")
    assert res.exit_code == 2
    assert shown in " ".join(res.output.split())


def test_every_command_help_ends_with_examples_kept_line_by_line():
    group = common.typer.main.get_command(app)
    for name in group.commands:
        res = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"}, prog_name="capitulation")
        assert res.exit_code == 0, name
        lines = res.stdout.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip() == "Examples:")
        shown = [line.strip() for line in lines[at + 1 :] if line.strip()]
        assert shown and all(line.startswith("capitulation ") for line in shown), (name, shown)
    report_help = run("report", "--help").stdout
    assert "capitulation report --snapshot snap/ --json | python -m json.tool" in report_help


# --- one duration grammar ------------------------------------------------------------------------------------

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@given(st.integers(1, 10**6), st.sampled_from(sorted(UNITS)), st.sampled_from(["", " "]))
def test_a_whole_number_and_a_unit_is_that_interval(n, unit, space):
    assert parse_duration(f"{n}{space}{unit}", "--every") == pd.Timedelta(**{UNITS[unit]: n})


@given(st.integers(0, 10**6))
def test_a_bare_number_is_refused_showing_the_unit_forms(n):
    with pytest.raises(DataError, match=rf"--refresh must be .* got '{n}' \(give a unit: {n}s, {n}m or {n}d\)"):
        parse_duration(str(n), "--refresh")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15min", pd.Timedelta(minutes=15)), ("1D", pd.Timedelta(days=1)), ("2H", pd.Timedelta(hours=2))],
)
def test_old_unambiguous_spellings_still_read(text, expected):
    assert parse_duration(text, "--every") == expected


@pytest.mark.parametrize(
    ("text", "kw", "message"),
    [
        ("5M", {}, "--x must be a whole number and a unit"),  # months or minutes: refused
        ("1.5h", {}, "--x must be a whole number and a unit"),
        ("-5m", {}, "--x must be a whole number and a unit"),
        ("0m", {}, "--x must be more than 0"),
        ("6h", {"whole_days": True}, "--x must be a whole number of days"),
        ("7m", {"divides_day": True}, "--x must be positive and divide one day"),
        ("2d", {"divides_day": True}, "--x must be positive and divide one day"),
    ],
)
def test_bad_durations_name_the_option(text, kw, message):
    with pytest.raises(DataError, match=re.escape(message)):
        parse_duration(text, "--x", **kw)


def test_zero_only_where_allowed_and_weeks_are_whole_days():
    assert parse_duration("0d", "--window", zero=True, whole_days=True) == pd.Timedelta(0)
    assert parse_duration("4w", "--horizon", whole_days=True).days == 28


@pytest.mark.parametrize(
    ("args", "option", "form"),
    [
        (["hedge", "--horizon", "30"], "--horizon", "30d"),
        (["backtest", "--data", "nowhere", "--window", "7"], "--window", "7d"),
        (["backtest", "--data", "nowhere", "--every", "12h"], "--every", "whole number of days"),
        (["watch", "--every", "300", "--cycles", "1"], "--every", "300s"),
        (["backfill", "nowhere", "--every", "15x"], "--every", "15m"),
        (["dashboard", "--refresh", "300"], "--refresh", "300s"),
    ],
)
def test_every_duration_option_refuses_bad_input_in_one_line_exit_2(args, option, form, tmp_path, monkeypatch):
    monkeypatch.setattr(watch_cmd, "sources", lambda: pytest.fail("no source may be fetched"))
    res = run(*args, "--db", str(tmp_path)) if args[0] in ("watch", "backfill", "backtest") else run(*args)
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1 and option in res.output and form in res.output, res.output


# --- --json: one object, schema_version, as_of with a T ------------------------------------------------------


@pytest.fixture(scope="module")
def saved_snapshot(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("snap") / "s"
    res = run("snapshot", str(out), "--data", str(shared_data), "--as-of", "2026-02-05")
    assert res.exit_code == 0, res.output
    return out


def _envelope(res) -> dict:
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc, dict)
    assert doc["schema_version"] == common.SCHEMA_VERSION
    assert ISO_T.match(doc["as_of"]), doc["as_of"]
    return doc


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--no-store"],
        ["levels"],
        ["options"],
        ["leverage"],
        ["events"],
        ["crossasset"],
        ["sectors"],
        ["hedge"],
        ["mnav"],
        ["mining"],
    ],
)
def test_every_data_command_json_is_one_object_at_the_snapshots_as_of(args, saved_snapshot):
    doc = _envelope(run(*args, "--snapshot", str(saved_snapshot), "--json"))
    assert doc["as_of"] == "2026-02-05T23:59:59+00:00"


@pytest.mark.parametrize(
    "args",
    [
        ["mnav", "--preset", "seed"],
        ["mnav", "--btc", "10", "--btc-price", "60000", "--share-price", "1", "--shares", "1000"],
        ["mining", "--hashrate-ehs", "1000", "--efficiency-jth", "17.5"],
    ],
)
def test_calculator_json_is_one_object_too(args):
    doc = _envelope(run(*args, "--json"))
    if "--preset" in args:
        assert doc["as_of"] == "2026-02-05T23:59:59+00:00"  # the seed commentary's day


def test_history_json_pipes_into_json_tool_with_table_lists(shared_data, tmp_path):
    db = tmp_path / "db"
    assert run("report", "--data", str(shared_data), "--db", str(db)).exit_code == 0
    shell = f"{sys.executable} -m capitulation history --db {db} --json | {sys.executable} -m json.tool"
    env = os.environ | {"PYTHONPATH": str(ROOT / "src")}
    res = subprocess.run(shell, shell=True, capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == common.SCHEMA_VERSION and ISO_T.match(doc["as_of"])
    (snap,) = doc["snapshots"]
    assert snap["as_of"] == "2026-02-05T23:59:59+00:00"
    assert isinstance(snap["tables"], list) and "option_quotes" in snap["tables"] and snap["rows"] > 0
    verdicts = _envelope(run("history", "--db", str(db), "--signal", "treasury", "--json"))["verdicts"]
    assert [v["as_of"] for v in verdicts] == ["2026-02-05T23:59:59+00:00"]


def test_watch_json_lines_carry_the_schema_version(capsys):
    at = pd.Timestamp("2026-02-05T12:00:00Z")
    watch_cmd._emit({"as_of": at, "error": "every source failed", "tables_stored": 0}, True)
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "schema_version": common.SCHEMA_VERSION,
        "as_of": "2026-02-05T12:00:00+00:00",
        "error": "every source failed",
        "tables_stored": 0,
    }


def test_nested_times_are_iso_with_a_t():
    text = common.json_text(common.envelope({"at": pd.Timestamp("2026-01-02 03:04:05", tz="UTC")}, "2026-01-02"))
    assert json.loads(text)["at"] == "2026-01-02T03:04:05+00:00"
    assert json.loads(text)["as_of"] == "2026-01-02T00:00:00+00:00"


# --- --snapshot and the default --data -----------------------------------------------------------------------


def test_mnav_and_mining_read_a_saved_snapshot_as_they_read_the_data(saved_snapshot, shared_data):
    for cmd in ("mnav", "mining"):
        from_snap = _envelope(run(cmd, "--snapshot", str(saved_snapshot), "--json"))
        from_data = _envelope(run(cmd, "--data", str(shared_data), "--as-of", "2026-02-05", "--json"))
        key = "companies" if cmd == "mnav" else "cost_floors"
        assert from_snap[key] == from_data[key]
    res = run("mnav", "--snapshot", str(saved_snapshot), "--stack", "x.toml")
    assert res.exit_code == 2 and "--stack" in res.output


def test_backtest_replays_a_saved_snapshot_as_report_reads_it(saved_snapshot, tmp_path):
    """The snapshot's history up to its as_of, each date's verdicts as `report --snapshot --as-of` gives them."""
    import pandas as pd

    out = tmp_path / "timeline.parquet"
    args = ["--snapshot", str(saved_snapshot), "--from", "2026-02-03", "--db", str(tmp_path / "db"), "--json"]
    doc = _envelope(run("backtest", *args, "--out", str(out)))
    assert (doc["from"], doc["to"]) == ("2026-02-03", "2026-02-05")  # the snapshot ends at its as_of
    rows = pd.read_parquet(out)
    for day in ("2026-02-03", "2026-02-05"):
        report = _envelope(run("report", "--snapshot", str(saved_snapshot), "--as-of", day, "--no-store", "--json"))
        at = rows[rows["as_of"].dt.strftime("%Y-%m-%d") == day]
        expected = {v["signal"]: v["status"] for v in report["signals"]}
        assert dict(zip(at["signal"], at["status"], strict=True)) == expected


def test_hedge_without_data_reads_the_shared_data_beside_the_checkout(shared_data, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv(common.DATA_ENV, raising=False)
    default = _envelope(run("hedge", "--json"))
    given_ = _envelope(run("hedge", "--data", str(shared_data), "--json"))
    assert default["as_of"] == given_["as_of"] and default["spot_usd"] == given_["spot_usd"]


def test_no_data_anywhere_is_one_line_naming_the_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(common.DATA_ENV, raising=False)
    res = run("levels")
    assert res.exit_code == 2 and res.output.count("\n") == 1
    assert "--data DIR" in res.output and common.DATA_ENV in res.output and "--snapshot PATH" in res.output


# --- compile notice ------------------------------------------------------------------------------------------


def _package(tmp_path: Path) -> Path:
    root = tmp_path / "capitulation"
    for rel in common.KERNEL_MODULES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("# kernel\n")
    return root


def _index(folder: Path, stem: str, mtime: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    f = folder / f"{stem}.kernel-10.py311.nbi"
    f.write_bytes(b"")
    os.utime(f, (mtime, mtime))


def test_cache_is_cold_until_every_kernel_module_has_a_newer_index(tmp_path):
    root = _package(tmp_path)
    later = (root / common.KERNEL_MODULES[0]).stat().st_mtime + 10
    assert common.kernel_cache_cold(root, "")
    for rel in common.KERNEL_MODULES[:-1]:
        _index((root / rel).parent / "__pycache__", Path(rel).stem, later)
    assert common.kernel_cache_cold(root, "")  # the last module has no index yet
    last = common.KERNEL_MODULES[-1]
    _index((root / last).parent / "__pycache__", Path(last).stem, later)
    assert not common.kernel_cache_cold(root, "")
    os.utime(root / last, (later + 10, later + 10))  # the source changed after its index: recompiles
    assert common.kernel_cache_cold(root, "")


def test_cache_is_looked_for_under_numba_cache_dir_when_set(tmp_path):
    root = _package(tmp_path)
    cache = tmp_path / "numba-cache"
    later = (root / common.KERNEL_MODULES[0]).stat().st_mtime + 10
    for rel in common.KERNEL_MODULES:
        _index((root / rel).parent / "__pycache__", Path(rel).stem, later)
    assert common.kernel_cache_cold(root, str(cache))  # numba reads the cache dir, not __pycache__
    for rel in common.KERNEL_MODULES:
        _index(Path(cache, *(root / rel).parent.parts[1:]), Path(rel).stem, later)
    assert not common.kernel_cache_cold(root, str(cache))


class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(("cold", "tty", "shown"), [(True, True, True), (True, False, False), (False, True, False)])
def test_compile_notice_is_one_line_only_on_a_terminal_with_a_cold_cache(cold, tty, shown, monkeypatch):
    monkeypatch.setattr(common, "kernel_cache_cold", lambda: cold)
    out = _Tty(tty)
    common.compile_notice(out)
    assert out.getvalue() == (common.COMPILE_NOTICE + "\n" if shown else "")


# --- tables at 80 columns ------------------------------------------------------------------------------------


def test_levels_piped_at_80_columns_keeps_each_level_on_a_few_lines(shared_data):
    res = cli("levels", "--data", str(shared_data), COLUMNS="80")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    starts = [i for i, line in enumerate(lines) if re.match(r"^\$[\d,]+ ", line)]
    blocks = [b - a for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]
    assert len(starts) > 5 and max(blocks) <= 6, blocks  # was one cell over 15+ lines
    wide = cli("--wide", "levels", "--data", str(shared_data), COLUMNS="80")
    rows = [line for line in wide.stdout.splitlines() if re.match(r"^\s+\$[\d,]+\s", line)]
    assert len(rows) == len(starts)  # --wide: one line per level, however narrow the terminal
