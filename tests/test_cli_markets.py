"""`capitulation crossasset`, `sectors` and `hedge` on the recorded real data; --as-of; bad input exit 2."""

import json

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def ok_json(*args: str) -> dict:
    res = run(*args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def full(recorded_full, tmp_path_factory):
    """Every recorded table, saved once as a snapshot folder: --as-of cuts it without re-reading the data."""
    return str(recorded_full.save(tmp_path_factory.mktemp("snap") / "full"))


@pytest.fixture(scope="module")
def crossasset_doc(shared_data):
    return ok_json("crossasset", "--data", str(shared_data))


@pytest.fixture(scope="module")
def sectors_doc(shared_data):
    return ok_json("sectors", "--data", str(shared_data))


@pytest.fixture(scope="module")
def hedge_doc(shared_data):
    return ok_json("hedge", "--data", str(shared_data), "--notional", "1e6", "--horizon", "30d")


def test_crossasset_returns_the_table_from_the_recorded_data(crossasset_doc):
    doc = crossasset_doc
    assert doc["as_of"].startswith("2026-02-05T23:59:59")
    rows = {r["symbol"]: r for r in doc["assets"]}
    assert list(rows) == [
        "BTC-USD", "QQQ", "SPY", "GLD", "IAU", "SLV", "TLT", "UUP", "MSTR",
        "IBIT", "FBTC", "GBTC", "ARKB", "BITB", "HODL",
    ]  # fmt: skip
    assert rows["BTC-USD"]["drawdown_90d"] == pytest.approx(-0.4085, abs=5e-4)
    assert rows["BTC-USD"]["corr_90d"] is None  # no correlation of BTC with itself
    for sym in ("QQQ", "GLD", "IBIT"):
        r = rows[sym]
        assert r["n_30d"] == 30 and r["n_90d"] == 90 and -1 <= r["corr_90d"] <= 1
        assert r["rel_drawdown_90d"] == pytest.approx(r["drawdown_90d"] - rows["BTC-USD"]["drawdown_90d"])
    flows = doc["etf_flows"]
    assert flows["fresh"] is False and "STALE" in flows["note"] and flows["last_date"].startswith("2025-12-31")
    assert set(flows["sums_usd"]) == {"5d", "20d", "60d"}
    assert doc["verdict"]["signal"] == "cross_asset" and doc["verdict"]["status"] == "does not hold"


def test_crossasset_as_of_august_2024_shows_live_flows(full):
    doc = ok_json("crossasset", "--snapshot", full, "--as-of", "2024-08-05")
    assert doc["etf_flows"]["fresh"] is True and doc["etf_flows"]["last_date"].startswith("2024-08-05")
    names = [m["name"] for m in doc["verdict"]["metrics"]]
    assert {"etf_flows_5d", "etf_flows_20d", "etf_flows_60d"} <= set(names)
    # ETF rows exist from their January 2024 listing: 90 common days by early August
    assert {r["symbol"]: r["n_90d"] for r in doc["assets"]}["IBIT"] == 90


def test_sectors_ranks_baskets_and_reports_coverage(sectors_doc):
    doc = sectors_doc
    ranking = doc["ranking"]
    assert [r["rank_30d"] for r in ranking] == list(range(1, 13))
    assert ranking[0]["sector"] == "metaverse_gaming"
    assert all(set(r) >= {"return_7d", "vs_btc_7d", "vs_btc_30d", "vs_btc_90d", "members"} for r in ranking)
    cov = {r["sector"]: r for r in doc["thesis_coverage"]}
    assert [cov[s]["status"] for s in ("prediction markets", "RWA", "L2", "GameFi", "SocialFi")] == [
        "not enough data", "not enough data", "covered", "covered", "not enough data",
    ]  # fmt: skip
    assert cov["RWA"]["vs_btc_30d"] is None and cov["RWA"]["members"] is None  # null, never 0
    assert "equal weight" in doc["weighting"] and doc["btc_return"]["30d"] < 0
    assert doc["verdict"]["headline"].startswith("no sector beats BTC over 30d")


def test_hedge_returns_the_three_families_calm_vs_stress(hedge_doc):
    doc = hedge_doc
    assert doc["notional_usd"] == 1e6 and doc["horizon_days"] == 30 and doc["spot_usd"] == pytest.approx(62_702.1)
    fams = {(f["family"], f["instrument"].split(",")[0]): f for f in doc["families"]}
    assert {f for f, _ in fams} == {"protective put", "perp short", "proxy short"}
    put = fams[("protective put", "25-delta put")]
    assert 0.01 < put["cost_horizon"] < 0.03 and put["cost_annualised"] == pytest.approx(put["cost_horizon"] * 365 / 30)
    assert "STALE chain" in put["note"]  # the latest chain (2026-01-24) is 12 days before as_of
    perp = fams[("perp short", "binance BTCUSDT")]
    assert perp["cost_horizon"] < 0 and perp["effectiveness_stress"] > 0.98 and perp["n_stress"] == 121
    for proxy in ("MSTR", "QQQ", "GLD"):
        p = fams[("proxy short", proxy)]
        assert p["n_calm"] >= 20 and p["n_stress"] >= 20
        assert p["effectiveness_stress"] < 0.8 and p["cost_horizon"] is None
    assert doc["perp_short"]["liquidation_distance"] == pytest.approx(1.1 / 1.004 - 1)
    assert doc["puts"]["fresh"] is False and doc["puts"]["chain_time"].startswith("2026-01-24T13:00")
    assert len(doc["stress_windows"]) == 6 and doc["verdict"]["status"] == "holds"
    assert doc["verdict"]["headline"].startswith("the diversifiers failed with BTC")
    assert {"families", "hedges", "episodes", "puts", "perp_short", "units", "stress_definition"} <= set(doc)


def test_hedge_as_of_the_chain_date_prices_a_fresh_put(full):
    doc = ok_json("hedge", "--snapshot", full, "--as-of", "2026-01-24", "--delta", "0.25", "--margin", "0.2")
    assert doc["puts"]["fresh"] is True and doc["puts"]["chain_age_days"] < 0.5
    assert [q["put_delta"] for q in doc["puts"]["quotes"]] == [-0.25, -0.5]
    assert doc["perp_short"]["margin"] == 0.2
    # the verdict reads the market (the diversifiers), not the prices of the puts
    assert doc["verdict"]["signal"] == "hedging" and "put_25d_cost" not in [
        m["name"] for m in doc["verdict"]["metrics"]
    ]


def test_terminal_output_of_the_three_commands(full):
    for cmd, expect in (("crossasset", "Cross-asset flight"), ("sectors", "Sector rotation"), ("hedge", "hedge desk")):
        res = run(cmd, "--snapshot", full, "--as-of", "2026-02-05")
        assert res.exit_code == 0, res.output
        assert expect in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hedge", "--horizon", "30x"], "--horizon must be a whole number and a unit"),
        (["hedge", "--proxy", "XYZ"], "no daily closes for proxy XYZ"),
        (["hedge", "--delta", "1.5"], "put delta must be a fraction"),
        (["hedge", "--notional", "-5"], "notional must be a positive USD amount"),
    ],
)
def test_bad_hedge_input_is_one_line_and_exit_2(full, args, message):
    res = run(*args, "--snapshot", full, "--as-of", "2026-02-05")
    assert res.exit_code == 2 and message in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_data_without_btc_or_sectors_is_a_one_line_error(tmp_path):
    d = tmp_path / "data" / "prices_daily"
    d.mkdir(parents=True)
    (d / "QQQ.csv").write_text("Date,Close\n2026-02-04,1.0\n2026-02-05,2.0\n")
    res = run("crossasset", "--data", str(tmp_path / "data"))
    assert res.exit_code == 2 and res.output.strip() == "error: cross-asset: no BTC-USD closes"
    res = run("sectors", "--data", str(tmp_path / "data"))
    assert res.exit_code == 2 and "sectors: no sector returns" in res.output
    res = run("hedge", "--data", str(tmp_path / "data"))
    assert res.exit_code == 2 and "no BTC-USD closes" in res.output
