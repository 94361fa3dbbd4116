"""`capitulation events` and `capitulation leverage` on the recorded real data."""

import json

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def events_doc(shared_data):
    res = runner.invoke(app, ["events", "--data", str(shared_data), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_events_lists_every_20_percent_drawdown_with_its_oi_source(events_doc):
    declines = events_doc["declines"]
    troughs = {d["trough_date"][:10]: d for d in declines}
    # the COVID crash: BTC fell 52 % into 2020-03-12; aggregate OI in BTC terms fell by a third
    covid = troughs["2020-03-12"]
    assert covid["depth"] == pytest.approx(-0.519, abs=0.001)
    assert covid["oi_source"].startswith("aggregate") and covid["flush"] is True
    # the current decline is still open as of 2026-02-05 and measured on Binance's BTC-denominated OI
    assert declines[-1]["confirmed"] is False and declines[-1]["oi_source"].startswith("binance")
    # 2020-2025 declines are measured on CoinGlass's all-exchange OI, which closes the 2024-11..2025-08 gap
    assert troughs["2025-04-08"]["oi_source"] == "aggregate BTC-CG (USD / BTC close)"
    assert troughs["2022-11-21"]["oi_source"].startswith("aggregate BTC-CG") and troughs["2022-11-21"]["flush"]
    assert all(d["depth"] <= -0.2 for d in declines)


def test_events_report_the_observed_long_liquidations_into_each_trough(events_doc):
    troughs = {d["trough_date"][:10]: d for d in events_doc["declines"]}
    assert "CoinGlass all-exchange aggregate, 2020-12-23..2025-09-08" in events_doc["liquidations"]
    may = troughs["2021-06-08"]  # from the 2021-04-13 peak: the 2021-04-18 and 2021-05-19 cascades
    assert may["largest_long_day"].startswith("2021-04-18") and may["largest_long_usd"] == pytest.approx(
        2.75e9, rel=0.01
    )
    assert may["long_liquidations_usd"] > may["largest_long_usd"] + 1.386e9  # 2021-05-19 is inside too
    assert 0 < may["flush_rank"] <= 1
    # before CoinGlass's series starts (2020-12-23) and after it ends: no figure, not a zero
    assert troughs["2020-03-12"]["long_liquidations_usd"] is None
    assert troughs["2026-02-05"]["long_liquidations_usd"] is None


def test_events_share_and_threshold_are_consistent(events_doc):
    done = [d for d in events_doc["declines"] if d["confirmed"] and d["flush"] is not None]
    assert events_doc["declines_with_oi_data"] == len(done)
    assert events_doc["declines_ending_in_flush"] == sum(d["flush"] for d in done)
    assert events_doc["flush_share"] == pytest.approx(events_doc["declines_ending_in_flush"] / len(done))
    assert 0 < events_doc["signal1_threshold"] < 1


def test_leverage_reports_aggregate_funding_flush_and_clusters(shared_data):
    res = runner.invoke(app, ["leverage", "--data", str(shared_data), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["aggregate"]["venues"] == ["binance BTCUSDT"]  # the all-exchange aggregates are stale by 2026
    assert doc["aggregate"]["oi_btc"] == pytest.approx(93_492.0, abs=1)
    assert doc["flush"]["flush_ratio_btc"] < doc["flush"]["flush_threshold"]
    # market cap = 62,702 x ~19.98M BTC (height ~935,000: 19,687,500 + 95,000 x 3.125) = ~$1.25T; OI is 0.5 % of it
    assert doc["aggregate"]["market_cap_usd"] == pytest.approx(62_702.1 * 19_984_400, rel=2e-4)
    assert doc["aggregate"]["oi_over_market_cap"] == pytest.approx(6.29e9 / 1.2531e12, rel=0.01)
    clusters = doc["liquidation_clusters"]
    assert clusters["below"] and clusters["above"]
    assert all(c["price"] < clusters["spot"] for c in clusters["below"])
    assert all(c["price"] > clusters["spot"] for c in clusters["above"])
    # the map holds the whole OI it models (it held $255M of $6.29B before), on Binance's own BTC OI
    assert clusters["model_venue"].startswith("binance") and clusters["open_btc"] == pytest.approx(93_492.0, abs=1)
    assert clusters["open_btc"] == pytest.approx(clusters["oi_btc"], rel=1e-9)
    # calibrated on the aggregate beside the observed liquidations (their last year, to 2025-09-08)
    cal = clusters["calibration"]
    assert cal["source"].startswith("aggregate BTC-CG") and cal["long"]["last"].startswith("2025-09-08")
    assert 0 < cal["long"]["scale"] < 1 and cal["long"]["correlation"] > 0.3 and "CME" in cal["coverage"]
    # scored walk-forward: each day scaled by the year before it, from 2021 on
    wf = cal["walk_forward_long"]
    assert wf["days"] > 1500 and wf["first"].startswith("2021") and wf["correlation"] > 0.3
    liq = next(v for v in doc["verdicts"] if v["signal"] == "liquidity_levels")
    assert liq["status"] == "holds"


def test_leverage_prints_the_map_and_its_calibration(shared_data):
    res = runner.invoke(app, ["leverage", "--data", str(shared_data)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "open mass 93,492 BTC = OI 93,492 BTC" in res.output
    assert "calibration (aggregate BTC-CG (USD / BTC close), trailing year) longs: correlation" in res.output


def test_events_without_perp_data_is_a_one_line_error(tmp_path):
    d = tmp_path / "data" / "prices_daily"
    d.mkdir(parents=True)
    (d / "QQQ.csv").write_text("Date,Close\n2026-02-04,1.0\n2026-02-05,2.0\n")
    res = runner.invoke(app, ["events", "--data", str(tmp_path / "data")])
    assert res.exit_code == 2 and "perp_metrics" in res.output


def test_leverage_never_sums_an_all_exchange_aggregate_with_single_venues(shared_data):
    res = runner.invoke(app, ["leverage", "--data", str(shared_data), "--as-of", "2025-09-01", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    fresh = {f"{v['venue']} {v['symbol']}": v for v in doc["venues"] if v["fresh"]}
    assert {"binance BTCUSDT", "aggregate BTC-CG"} <= set(fresh)  # both are fresh on 2025-09-01
    assert doc["aggregate"]["venues"] == ["binance BTCUSDT"]
    assert doc["aggregate"]["oi_usd"] == pytest.approx(fresh["binance BTCUSDT"]["oi_usd"])
