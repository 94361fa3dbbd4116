"""The cost-floor commands on the seed and the recorded data: `mnav --preset seed`, `mnav --data`, `mining`
over the rig catalogue, and `levels`."""

import json

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def data_dir(shared_data, recorded_full, monkeypatch):
    """The recorded data folder, with the commands' snapshot cut from the session's already-built one (the
    same loader's output, `upto` the requested as_of) instead of re-reading every file per command."""
    from capitulation.sources import recorded

    real = recorded.build_snapshot

    def cached(folder, as_of=None, **kw):
        if kw.get("stack") is not None or folder != shared_data:  # the table cache changes nothing
            return real(folder, as_of, **kw)
        return recorded_full.upto(recorded.DEFAULT_AS_OF if as_of is None else as_of)

    monkeypatch.setattr(recorded, "build_snapshot", cached)
    return shared_data


def test_seed_preset_three_ways_and_mstr_from_the_recorded_data(data_dir):
    res = run("mnav", "--preset", "seed", "--data", str(data_dir), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    printed, reconciled = out["as_printed"], out["reconciled"]
    assert printed["btc_nav_usd"] == pytest.approx(47.12e9, abs=0.005e9)
    assert printed["enterprise_value_usd"] == pytest.approx(31.77e9, abs=0.005e9)
    assert printed["mnav_ev"] == pytest.approx(0.674, abs=0.0005)
    assert out["published"] == {"btc_nav_usd": 4.71e9, "enterprise_value_usd": 3.9126e9, "mnav_ev": 0.832}
    assert reconciled["enterprise_value_usd"] == pytest.approx(39.12e9, abs=0.005e9)
    assert reconciled["mnav_ev"] == pytest.approx(0.830, abs=0.0005)
    mstr = out["mstr_recorded"]
    # at the 2026-02-05 BTC close 62,702.10, not at cost: EV 44.233B / NAV 44.738B
    assert mstr["btc_price_usd"] == pytest.approx(62_702.10, abs=0.01)
    assert mstr["mnav_ev"] == pytest.approx(0.9887, abs=1e-4)
    assert mstr["as_of"].startswith("2026-02-02") and "8-K" in mstr["source"]
    assert mstr["annual_interest_usd"] == pytest.approx(34_595_312.5)  # MSTR's convertible coupons


def test_seed_preset_without_data_says_how_to_get_mstr():
    res = run("mnav", "--preset", "seed", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["mstr_recorded"] is None and "--data" in out["mstr_recorded_note"]
    text = run("mnav", "--preset", "seed")
    assert text.exit_code == 0 and "0.674" in text.stdout and "0.830" in text.stdout and "0.832" in text.stdout


def test_recorded_companies_each_have_as_of_and_source(data_dir):
    res = run("mnav", "--data", str(data_dir), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    comps = out["companies"]
    assert len(comps) >= 11
    assert all(c["as_of"] and c["source"] for c in comps)
    assert comps[0]["ticker"] == "MSTR"  # the only full capital stack public on 2026-02-05: most stressed
    assert {c["ticker"] for c in comps if c["mnav_mcap"] is not None} == {"MSTR", "MARA", "DJT"}
    assert out["btc_price_date"].startswith("2026-02-05")


@pytest.mark.parametrize("day", ["2022-06-18", "2024-11-25", "2026-02-05"])
def test_verdict_6_and_mnav_give_the_same_mstr_mnav(data_dir, recorded_full, day):
    from capitulation.signals import treasury

    res = run("mnav", "--data", str(data_dir), "--as-of", day, "--json")
    assert res.exit_code == 0, res.output
    mstr = next(c for c in json.loads(res.stdout)["companies"] if c["ticker"] == "MSTR")
    v = treasury.evaluate(recorded_full.upto(f"{day}T23:59:59Z"))
    for name in ("mnav_mcap", "mnav_ev", "btc_nav_usd", "market_cap_usd", "enterprise_value_usd"):
        assert v.metric(name).value == (None if mstr[name] is None else pytest.approx(mstr[name], rel=1e-12)), name
    if day == "2024-11-25":  # six of seven notes in the money at $430: +40.9M shares on 198.7M basic
        assert mstr["mnav_mcap"] == pytest.approx(4.12, abs=0.005) and len(mstr["converted"].split("; ")) == 6


def test_a_stack_file_feeds_the_snapshot_of_mnav(data_dir, tmp_path):
    f = tmp_path / "stack.toml"
    f.write_text(
        '[[company]]\nticker = "MSTR"\nas_of = "2026-02-03"\nbtc_held = 700000\nshares_basic = 300e6\n'
        'debt_usd = 8e9\npreferred_usd = 7e9\ncash_usd = 2e9\nsource = "synthetic"\n'
    )
    res = run("mnav", "--data", str(data_dir), "--stack", str(f), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    mstr = next(c for c in out["companies"] if c["ticker"] == "MSTR")
    assert out["stack_file"] == str(f) and mstr["btc_held"] == 700_000 and mstr["source"] == "stack.toml: synthetic"
    assert mstr["annual_interest_usd"] is None  # this file gives no coupons: interest unknown
    f.write_text("[[company]\n")
    res = run("mnav", "--data", str(data_dir), "--stack", str(f))
    assert res.exit_code == 2 and "not valid TOML" in res.output


def test_unknown_preset_and_partial_calculator_flags_are_one_line_errors(tmp_path, monkeypatch):
    for args, needle in ((("mnav", "--preset", "other"), "seed"), (("mnav", "--btc", "1"), "--btc-price")):
        res = run(*args)
        assert res.exit_code == 2 and needle in res.output and len(res.output.strip().splitlines()) == 1
    monkeypatch.chdir(tmp_path)  # no ../shared/data here: nothing to default to
    monkeypatch.delenv("CAPITULATION_DATA", raising=False)
    res = run("mnav")
    assert res.exit_code == 2 and "--data" in res.output


def test_mining_json_prices_every_catalogue_rig_with_the_s21_at_58k():
    res = run("mining", "--hashrate-ehs", "1050", "--fees-btc-per-block", "0.03", "--as-of", "2026-02-05", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    rigs = {r["rig"]: r for r in out["rigs"]}
    assert len(rigs) == 7  # the rigs of 2026-02-05: released within 4 years (test_cli_mining)
    assert 57_000 <= rigs["Antminer S21"]["shutdown_price_usd"] <= 60_000  # 58,240.9 by hand (test_mining)
    assert out["electricity_sweep_usd"]["Antminer S21"]["0.06"] == pytest.approx(
        rigs["Antminer S21"]["shutdown_price_usd"]
    )
    assert out["breakeven_history_monthly"] is None and out["network_source"] == "flags"


def test_mining_on_the_recorded_network_adds_hashprice_and_history(data_dir):
    res = run("mining", "--data", str(data_dir), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    net = out["network"]
    assert 800 < net["hashrate_ehs"] < 1_100 and net["date"].startswith("2026-02-05")
    assert out["btc_price_usd"] == pytest.approx(62_702.10, abs=0.01)
    hand = (net["subsidy_btc"] + net["fees_btc_per_block"]) * 144 / (net["hashrate_ehs"] * 1e6) * out["btc_price_usd"]
    assert out["hashprice_usd_per_th_day"] == pytest.approx(hand, rel=1e-12)
    assert len(out["breakeven_history_monthly"]) == 24
    assert out["next_halving"]["subsidy_btc"] == 1.5625
    text = run("mining", "--data", str(data_dir))
    assert text.exit_code == 0 and "WhatsMiner M66S" in text.stdout and "Electricity sweep" in text.stdout


def test_mining_without_a_network_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/data here: nothing to default to
    monkeypatch.delenv("CAPITULATION_DATA", raising=False)
    res = run("mining")
    assert res.exit_code == 2 and "--hashrate-ehs" in res.output and len(res.output.strip().splitlines()) == 1


def test_levels_json_gives_every_level_a_source_distance_and_reason(data_dir):
    res = run("levels", "--data", str(data_dir), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    spot, levels = out["spot_usd"], out["levels"]
    assert spot == pytest.approx(62_702.10, abs=0.01)
    assert levels and all(lv["source"] and lv["tables"] and lv["why"] for lv in levels)
    prices = [lv["price_usd"] for lv in levels]
    assert prices == sorted(prices, reverse=True)
    for lv in levels:
        assert lv["distance_pct"] == pytest.approx((lv["price_usd"] / spot - 1) * 100)
    groups = {lv["group"] for lv in levels}
    assert {"miner cost floor", "treasury", "liquidations"} <= groups
    assert any(lv["label"] == "MSTR average cost" for lv in levels)
