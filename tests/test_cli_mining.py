"""`mining` with the rigs of the day: the frontier and fleet-average cost floors of a date, in JSON and text."""

import json

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()
FLAGS = ("mining", "--hashrate-ehs", "250", "--fees-btc-per-block", "0.1", "--subsidy-btc", "6.25")


def test_as_of_picks_the_rigs_of_that_day_and_their_cost_floors():
    res = runner.invoke(app, [*FLAGS, "--as-of", "2022-11-21", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert [r["rig"] for r in out["rigs"]][:2] == ["Antminer S15", "Antminer S17 Pro"]
    assert {r["released"] for r in out["rigs"]} >= {"2020-05", "2022-07"}
    f = out["cost_floors"]
    # synthetic 250 EH/s, 0.1 BTC fees, 6.25 subsidy: 393.70 USD/BTC per J/TH at $0.06/kWh (test_mining by hand)
    usd_per_jth = 24 / 1000 * 0.06 / (6.35 * 144 / 2.5e8)
    assert f["frontier_rig"] == "Antminer S19 XP" and f["frontier_usd"] == pytest.approx(21.5 * usd_per_jth)
    assert f["fleet_jth"] == pytest.approx(33.5625) and f["fleet_usd"] == pytest.approx(33.5625 * usd_per_jth)
    assert out["network"]["date"].startswith("2022-11-21") and "4 years" in out["fleet_rule"]
    assert set(out["electricity_sweep_usd"]) == {r["rig"] for r in out["rigs"]}


def test_without_a_date_the_newest_catalogue_is_used():
    out = json.loads(runner.invoke(app, [*FLAGS, "--json"]).stdout)
    assert out["network"]["date"] is None
    assert "Antminer S21 XP" in {r["rig"] for r in out["rigs"]} and "Antminer S9" not in {r["rig"] for r in out["rigs"]}


def test_recorded_history_prices_each_month_with_its_own_rigs(shared_data, recorded_full, monkeypatch):
    from capitulation.sources import recorded

    monkeypatch.setattr(recorded, "build_snapshot", lambda folder, as_of=None, **kw: recorded_full.upto(as_of))
    res = runner.invoke(app, ["mining", "--data", str(shared_data), "--as-of", "2022-11-21", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    hist = out["breakeven_history_monthly"]
    assert hist[-1]["date"].startswith("2022-11")
    assert {h["frontier_jth"] for h in hist} == {29.5, 21.5}  # the S19 XP ships in 2022-07
    # measured at the 2022-11-21 low ($15,787): frontier $9,050, fleet $14,127 (the old band was $5.7-9.0k)
    assert 8_000 < out["cost_floors"]["frontier_usd"] < 10_500 and 12_000 < out["cost_floors"]["fleet_usd"] < 16_000
    text = runner.invoke(app, ["mining", "--data", str(shared_data), "--as-of", "2022-11-21"])
    assert text.exit_code == 0 and "efficient frontier Antminer S19 XP" in text.stdout
    assert "fleet average 33.6 J/TH" in text.stdout and "Antminer S21" not in text.stdout
