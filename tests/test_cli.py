"""The command line: the report on recorded real data, the calculators, and bad input (exit 2, one line)."""

import json
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def report_json(shared_data, tmp_path_factory):
    db = tmp_path_factory.mktemp("db")
    res = run("report", "--data", str(shared_data), "--json", "--db", str(db))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), db


def test_report_json_has_exactly_eight_signals_each_with_a_status(report_json):
    rep, _ = report_json
    assert [s["signal"] for s in rep["signals"]] == [
        "leverage_flush",
        "cross_asset",
        "options_stress",
        "liquidity_levels",
        "sector_rotation",
        "treasury",
        "hedging",
        "bottom_range",
    ]
    assert {s["status"] for s in rep["signals"]} <= {"holds", "does not hold", "not enough data"}


def test_every_number_in_the_report_traces_to_a_table_with_provenance(report_json):
    rep, _ = report_json
    for s in rep["signals"]:
        for m in s["metrics"]:
            assert m["tables"], f"{s['signal']}.{m['name']} names no table"
            for t in m["tables"]:
                assert t in rep["tables"], f"{s['signal']}.{m['name']} cites absent table {t}"
                assert rep["tables"][t]["source"] and rep["tables"][t]["retrieved_at"]
    for lv in rep["levels"]:
        assert all(t in rep["tables"] for t in lv["tables"])


def test_default_as_of_is_the_february_2026_stress_day(report_json):
    rep, _ = report_json
    assert rep["as_of"].startswith("2026-02-05T23:59:59")
    assert rep["spot_usd"] == pytest.approx(62_702.09765625)


def test_report_stores_its_snapshot_once_and_history_lists_it(report_json, shared_data):
    import os

    _, db = report_json
    respelled = os.path.relpath(shared_data.parent) + "/./" + shared_data.name  # e.g. ../shared/./data
    again = run("report", "--data", respelled, "--db", str(db))
    assert again.exit_code == 0
    assert "0 new table(s)" in " ".join(
        again.stdout.split()
    )  # the same data through another spelling of its path: stored once
    res = run("history", "--db", str(db), "--json")
    assert res.exit_code == 0, res.output
    hist = json.loads(res.stdout)["snapshots"]
    assert len(hist) == 1 and hist[0]["as_of"] == "2026-02-05T23:59:59+00:00"


def test_html_report_is_one_self_contained_file(shared_data, tmp_path):
    out = tmp_path / "r.html"
    res = run("report", "--data", str(shared_data), "--html", str(out), "--no-store")
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "<script" in page
    assert not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js is inlined: the file works offline
    for chart in ("chart-smile", "chart-risk_reversals", "chart-oi_vs_price", "chart-levels"):
        assert chart in page


def test_mnav_calculator_reproduces_the_seed(tmp_path):
    res = run(
        "mnav",
        "--btc",
        "713502",
        "--btc-price",
        "66044",
        "--share-price",
        "106.99",
        "--shares",
        "289340000",
        "--debt",
        "822e6",
        "--cash",
        "5.4e6",
        "--json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mnav_ev"] == pytest.approx(0.674, abs=0.001)
    assert out["btc_nav_usd"] == pytest.approx(47.12e9, abs=0.01e9)


def test_mining_calculator_gives_the_seed_shutdown_price():
    res = run(
        "mining",
        "--hashrate-ehs",
        "1050",
        "--efficiency-jth",
        "17.5",
        "--power-usd-kwh",
        "0.06",
        "--fees-btc-per-block",
        "0.03",
        "--json",
    )
    assert res.exit_code == 0, res.output
    assert 57_000 <= json.loads(res.stdout)["shutdown_price_usd"] <= 60_000


@pytest.mark.parametrize(
    "args,needle",
    [
        (("report", "--data", "/nonexistent/folder", "--no-store"), "/nonexistent/folder"),
        (("report", "--snapshot", "/nonexistent/snap", "--no-store"), "no snapshot"),
        (("mnav", "--btc", "0", "--btc-price", "1", "--share-price", "1", "--shares", "1"), "btc_held"),
        (("mining", "--hashrate-ehs", "-5", "--efficiency-jth", "17", "--power-usd-kwh", "0.05"), "hashrate"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, needle):
    res = run(*args)
    assert res.exit_code == 2
    assert needle in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_malformed_number_is_rejected_with_exit_code_2():
    res = run("mnav", "--btc", "lots", "--btc-price", "1", "--share-price", "1", "--shares", "1")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_bad_as_of_is_a_one_line_error(shared_data):
    res = run("report", "--data", str(shared_data), "--as-of", "yesterday-ish", "--no-store")
    assert res.exit_code == 2 and "yesterday-ish" in res.output


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_as_of_is_a_one_line_error_not_the_default_date(shared_data, blank):
    res = run("report", "--data", str(shared_data), "--as-of", blank, "--no-store")
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        "error: as_of is empty: give a date such as 2026-02-05 or a time such as 2026-02-05T08:00"
    ]


def test_a_bare_date_cuts_the_api_where_it_cuts_the_cli(shared_data):
    """`build_snapshot(data, "2026-02-05")` and `report --as-of 2026-2-5` both run at the end of that UTC day:
    BTC's close of 2026-02-05 ($62,702; at 00:00 it would be the day before's $73,020) and verdict 8 holds."""
    from capitulation.report import model
    from capitulation.sources.recorded import build_snapshot

    api = model.as_json(model.build(build_snapshot(shared_data, "2026-02-05")))
    res = run("report", "--data", str(shared_data), "--as-of", "2026-2-5", "--json", "--no-store")
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)
    assert cli["as_of"] == api["as_of"] == "2026-02-05T23:59:59+00:00"
    assert round(cli["spot_usd"]) == round(api["spot_usd"]) == 62_702
    assert cli["signals"][7]["signal"] == "bottom_range"
    assert cli["signals"][7]["status"] == api["signals"][7]["status"] == "holds"
    assert [s["headline"] for s in cli["signals"]] == [s["headline"] for s in api["signals"]]


def test_corrupt_snapshot_is_rejected_and_nothing_is_stored(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "manifest.json").write_text("{not json")
    db = tmp_path / "db"
    res = run("report", "--snapshot", str(snap), "--db", str(db))
    assert res.exit_code == 2 and "corrupt" in res.output
    assert not db.exists()


def test_snapshot_round_trip_gives_the_same_report(shared_data, tmp_path):
    out = tmp_path / "snap"
    assert run("snapshot", str(out), "--data", str(shared_data), "--as-of", "2026-01-24").exit_code == 0
    a = run("report", "--snapshot", str(out), "--json", "--no-store")
    b = run("report", "--data", str(shared_data), "--as-of", "2026-01-24", "--json", "--no-store")
    assert a.exit_code == 0 and b.exit_code == 0
    assert json.loads(a.stdout)["signals"] == json.loads(b.stdout)["signals"]


def _data_dir(tmp_path, files: dict[str, str]):
    """A small recorded-data folder written by the test (synthetic content in the real formats)."""
    for rel, text in files.items():
        f = tmp_path / "data" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return tmp_path / "data"


@pytest.mark.parametrize(
    "files,needle",
    [
        (
            {
                "deribit_options/full_data_sample.csv": "date,instrument_name,expiry_name,expiry_date,strike,type,"
                "volume,open_interest,rho,theta,vega,gamma,delta,bid_iv,ask_iv,mark_iv\n"
            },
            "empty option chain",
        ),
        ({"prices_daily/QQQ.csv": "Date,Close\n2026-02-04,1.0\n2026-02-05,abc\n"}, "malformed number 'abc'"),
        ({"derivatives_oi_funding/funding_rates.csv": "date,funding_mean\n2026-02-31,0.0001\n"}, "2026-02-31"),
        ({"notes.txt": "nothing recorded here"}, "no recorded data found"),
    ],
)
def test_bad_data_files_give_one_line_and_store_nothing(tmp_path, files, needle):
    data = _data_dir(tmp_path, files)
    db = tmp_path / "db"
    res = run("report", "--data", str(data), "--db", str(db))
    assert res.exit_code == 2, res.output
    assert needle in res.output and len(res.output.strip().splitlines()) == 1
    assert not db.exists()


def test_snapshot_naming_an_unknown_table_is_rejected(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    prov = {"source": "synthetic", "retrieved_at": "2026-02-05"}
    (snap / "manifest.json").write_text(json.dumps({"as_of": "2026-02-05", "provenance": {"quotes": prov}}))
    res = run("report", "--snapshot", str(snap), "--db", str(tmp_path / "db"))
    assert res.exit_code == 2 and "unknown table 'quotes'" in res.output
    assert not (tmp_path / "db").exists()


def test_history_shows_one_signal_over_time(shared_data, tmp_path):
    db = tmp_path / "db"
    for day in ("2026-01-24", "2026-02-05"):
        assert run("report", "--data", str(shared_data), "--as-of", day, "--db", str(db), "--json").exit_code == 0
    res = run("history", "--db", str(db), "--signal", "options_stress", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["verdicts"]
    assert [r["as_of"][:10] for r in rows] == ["2026-01-24", "2026-02-05"]
    assert rows[-1]["status"] == "holds"  # the chain is 12 days old by then: DVOL decides (its high of the year)
    assert isinstance(rows[0]["key_metric"], str) and isinstance(rows[0]["key_value"], float)  # the first metric
    since = json.loads(
        run("history", "--db", str(db), "--signal", "options_stress", "--since", "2026-02-01", "--json").stdout
    )["verdicts"]
    assert len(since) == 1
    bad = run("history", "--db", str(db), "--signal", "nope")
    assert bad.exit_code == 2 and "Invalid value for '--signal'" in bad.output


UNUSED_BY_REPORT = (
    "vcr",
    "dask",
    "distributed",
    "dash",
    "aiohttp",
    "playwright",
    "requests",
    "capitulation.cli.watch",
    "capitulation.cli.dashboard",
    "capitulation.cli.backfill",
    "capitulation.cli.backtest",
)


def test_report_imports_no_tape_cluster_or_dashboard_library(shared_data):
    """`report` pays for what it uses: vcrpy is imported when a tape is recorded or replayed, Dask by
    backfill and backtest, Dash by the dashboard, the HTTP client by live sources, and the console script
    imports only the running command's module (issue 15: each is import time on every command)."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['capitulation', 'report', '--data', {str(shared_data)!r}, '--json', '--no-store']\n"
        "try:\n    runpy.run_module('capitulation', run_name='__main__')\nexcept SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        f"print(sorted(m for m in {UNUSED_BY_REPORT!r} if m in sys.modules))\n"
    )
    run_ = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    assert run_.stdout.splitlines()[-1] == "[]"


def test_every_command_is_mapped_to_the_module_that_registers_it():
    """The console script imports one module per command (`cli.COMMANDS`): a command missing from the map
    would only be found through the import-everything path."""
    import typer.main

    from capitulation import cli

    registered = typer.main.get_command(cli.app).commands  # type: ignore[attr-defined]
    assert {n: c.callback.__module__.rsplit(".", 1)[1] for n, c in registered.items()} == cli.COMMANDS
