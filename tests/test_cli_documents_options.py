"""`options`, `leverage` and `events` keep their documents (`cli.common.command_document`): a warm run on
the recorded data prints what a computed (`--no-cache`) one prints, terminal and --json, without loading the
snapshot or analysing it, and without importing pandas; an option that changes the output (a dealer model,
`--top`, `--threshold`, the trades file's content) is another entry."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from capitulation.cli import app
from capitulation.cli import common as cli_common
from capitulation.signals import leverage_flush, options_stress
from test_cli_imports import console_script


def run(*args: str) -> str:
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return res.stdout


def both(*args: str) -> tuple[str, str]:
    """The terminal and the --json output of one command line."""
    return run(*args), run(*args, "--json")


def not_computed(monkeypatch, module: object, name: str) -> None:
    """From now on, loading a snapshot or calling `module.name` (the command's analysis) fails the test."""

    def boom(*_, **__):
        raise AssertionError("the document was computed, not read from the cache")

    monkeypatch.setattr(cli_common, "load_snapshot", boom)
    monkeypatch.setattr(module, name, boom)


# command, the analysis its document comes from, an option that changes the output, a fact of the default run
CASES = [
    ("options", (options_stress, "summarize"), ("--dealer", "short_all"), "dealer model classic"),
    ("leverage", (leverage_flush, "evaluate"), ("--top", "10"), "Perp open interest by venue"),
    ("events", (leverage_flush, "event_study"), ("--threshold", "0.3"), "BTC drawdowns of 20%+"),
]


@pytest.mark.parametrize(("command", "analysis", "option", "fact"), CASES, ids=[c[0] for c in CASES])
def test_a_warm_run_prints_the_computed_one_and_an_option_is_another_entry(
    command, analysis, option, fact, shared_data, cached, monkeypatch
):
    args = [command, "--data", str(shared_data)]
    computed = both(*args, "--no-cache")
    other = both(*args, *option, "--no-cache")
    assert not cached.exists()  # --no-cache neither reads nor writes the caches
    assert json.loads(other[1]) != json.loads(computed[1])
    assert run(*args, "--json") == computed[1]  # cold: computed and kept
    assert run(*args, *option, "--json") == other[1]
    not_computed(monkeypatch, *analysis)
    assert both(*args) == computed
    assert both(*args, *option) == other
    assert fact in computed[0]


def test_a_warm_terminal_run_imports_no_pandas(shared_data, cached):
    """Each command's terminal view is drawn from its kept document alone (issue 15)."""
    for command in ("options", "leverage", "events"):
        args = [command, "--data", str(shared_data)]
        cold, heavy = console_script(*args)
        assert cold.returncode == 0, cold.stderr
        assert "pandas" in heavy  # computing it analyses the tables
        warm, heavy = console_script(*args)
        assert warm.returncode == 0, warm.stderr
        assert warm.stdout == cold.stdout
        assert heavy == []


def test_another_trades_file_content_is_another_options_document(shared_data, cached, tmp_path, monkeypatch):
    """The trades file is part of the key by content: rewritten in place, it is computed again."""
    # SYNTHETIC trades in Deribit's get_last_trades shape: takers bought (then sold) 10 of the 30 Jan 90,000
    # call before the chain's time, so dealers are short (then long) that call's open interest
    trades = tmp_path / "trades.json"

    def write(direction: str) -> None:
        trade = {
            "timestamp": 1769200000000,  # 2026-01-23 20:26:40 UTC
            "instrument_name": "BTC-30JAN26-90000-C",
            "direction": direction,
            "amount": 10.0,
            "price": 0.02,
            "trade_id": "synthetic-1",
        }
        trades.write_text(json.dumps({"jsonrpc": "2.0", "result": {"trades": [trade], "has_more": False}}))

    args = ["options", "--data", str(shared_data), "--dealer", "trades", "--trades", str(trades), "--json"]
    write("buy")
    bought = json.loads(run(*args))
    assert bought["gex"]["total_usd_per_1pct"] < 0
    write("sell")
    sold = json.loads(run(*args))
    assert sold == json.loads(run(*args, "--no-cache"))
    assert sold["gex"]["total_usd_per_1pct"] > 0
    assert sold["gex"]["text"]["gamma_flip"].startswith(("gamma flip $", "no gamma flip"))


def test_an_error_is_not_kept(shared_data, cached):
    """No option chain as of 2025-04-07: exit 2 with one line, on every run (an error is computed again)."""
    for _ in range(2):
        res = CliRunner().invoke(app, ["options", "--data", str(shared_data), "--as-of", "2025-04-07"])
        assert res.exit_code == 2 and "no option chain in the snapshot as of 2025-04-07" in res.output
