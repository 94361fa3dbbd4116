"""`capitulation options` on the recorded real data: skew, dealer gamma, the model named, bad input exit 2."""

import json
import re

import pytest
from typer.testing import CliRunner

from capitulation.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def snap(shared_data, tmp_path_factory):
    """The default snapshot (as of 2026-02-05) saved once, so most tests skip re-reading the data folder."""
    out = tmp_path_factory.mktemp("snap") / "default"
    assert run("snapshot", str(out), "--data", str(shared_data)).exit_code == 0
    return str(out)


@pytest.fixture(scope="module")
def default_json(shared_data):
    res = run("options", "--data", str(shared_data), "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_default_snapshot_gives_skew_gex_flip_walls_and_the_dealer_model(default_json):
    out = default_json
    # as of 2026-02-05 the latest recorded chain is 2026-01-24 13:00 UTC: 12.46 days old, and said so
    assert out["chain_timestamp"] == "2026-01-24T13:00:00+00:00"
    assert out["as_of"].startswith("2026-02-05T23:59:59")
    assert out["chain_age_days"] == pytest.approx(12.4583, abs=1e-4)
    assert out["dealer_model"] == "classic" and out["dealer_description"].startswith("classic: dealers long calls")
    cm = {r["days"]: r for r in out["constant_maturity"]}
    assert sorted(cm) == [1, 7, 30, 90]
    # 1d and 7d risk reversals (fractions): RR15 -0.0395 / -0.0786, RR25 -0.0108 / -0.0427
    for n, rr15, rr25 in ((1, -0.039489, -0.010790), (7, -0.078635, -0.042661)):
        assert cm[n]["rr15"] == pytest.approx(rr15, abs=1e-6) and cm[n]["rr25"] == pytest.approx(rr25, abs=1e-6)
    g = out["gex"]
    assert g["total_usd_per_1pct"] == pytest.approx(27.73e6, rel=1e-3)
    assert g["hedge_flow_usd_per_1pct_rise"] == -g["total_usd_per_1pct"]
    # solved to a cent (linear interpolation gave 88,826 on the 201-spot grid, 88,820 on verdict 3's 81 spots)
    assert g["gamma_flip_usd"] == pytest.approx(88_827.48, abs=0.01) and g["sticky"] == "strike"
    assert (g["call_wall_usd"], g["put_wall_usd"]) == (90_000.0, 90_000.0)
    assert out["max_pain"] == {"expiry": "2026-01-25T08:00:00+00:00", "strike_usd": 90_000.0}


def test_every_expiry_has_atm_rr_and_bf_at_10_15_25_delta(default_json):
    rows = default_json["expiries"]
    assert len(rows) == 12 and rows[0]["expiry"] == "2026-01-25T08:00:00+00:00"
    for r in rows:
        assert 0.05 < r["atm_iv"] < 1.0
        for key in ("rr15", "rr25", "bf15", "bf25"):
            assert r[key] is not None and abs(r[key]) < 0.2
    assert sum(r["gex_usd_per_1pct"] for r in rows) == pytest.approx(default_json["gex"]["total_usd_per_1pct"])


def test_one_expiry_with_dealers_short_everything(snap):
    res = run("options", "--snapshot", snap, "--expiry", "2026-01-30", "--dealer", "short_all", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["expiry"] == "2026-01-30T08:00:00+00:00" and [r["expiry"] for r in out["expiries"]] == [out["expiry"]]
    assert out["dealer_model"] == "short_all" and out["gex"]["total_usd_per_1pct"] < 0
    assert out["gex"]["gamma_flip_usd"] is None  # short every option: GEX never crosses zero
    assert out["max_pain"]["expiry"] == out["expiry"]
    assert len(out["constant_maturity"]) == 4  # the term structure still uses the whole chain


def test_trade_flow_dealer_model_from_a_trades_file(snap, tmp_path):
    # SYNTHETIC trades in Deribit's get_last_trades response shape: takers bought 10 of the 30 Jan
    # 90,000 call before the chain's time, so dealers are short that call's whole open interest.
    trade = {
        "timestamp": 1769200000000,  # 2026-01-23 20:26:40 UTC
        "instrument_name": "BTC-30JAN26-90000-C",
        "direction": "buy",
        "amount": 10.0,
        "price": 0.02,
        "trade_id": "synthetic-1",
    }
    path = tmp_path / "trades.json"
    path.write_text(json.dumps({"jsonrpc": "2.0", "result": {"trades": [trade], "has_more": False}}))
    res = run("options", "--snapshot", snap, "--dealer", "trades", "--trades", str(path), "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["dealer_model"] == "trades" and out["dealer_description"].startswith("trades:")
    assert out["gex"]["total_usd_per_1pct"] < 0 and out["gex"]["put_wall_usd"] is None
    assert out["gex"]["call_wall_usd"] == 90_000.0


def test_terminal_output_names_the_chain_age_and_dealer_model(snap):
    res = run("options", "--snapshot", snap)
    assert res.exit_code == 0, res.output
    text = re.sub(r"\s+", " ", res.stdout)
    assert "chain of 2026-01-24 13:00 UTC (12.5 days before as_of 2026-02-05 23:59)" in text
    assert "dealer model classic: dealers long calls, short puts" in text
    assert "gamma flip $88,8" in text and "call wall $90,000" in text and "RR15" in text and "BF25" in text


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--expiry", "2026-01-31"), "available: 2026-01-25, 2026-01-26"),
        (("--expiry", "soon"), "not a date/time: 'soon'"),
        (("--dealer", "trades"), "needs --trades FILE"),
        (("--as-of", "2025-01-01"), "no option chain in the snapshot"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(snap, args, needle):
    res = run("options", "--snapshot", snap, *args)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_report_and_options_print_one_flip(shared_data):
    """On 2026-01-25 the January chain is fresh: verdict 3, its level in the ladder and `options` print the flip
    of one computation (`gex.gamma_profile`), $88,827."""
    day = ("--data", str(shared_data), "--as-of", "2026-01-25")
    opt, rep = run("options", *day, "--json"), run("report", *day, "--json", "--no-store")
    assert opt.exit_code == 0 and rep.exit_code == 0, opt.output + rep.output
    flip, report = json.loads(opt.stdout)["gex"]["gamma_flip_usd"], json.loads(rep.stdout)
    verdict = next(s for s in report["signals"] if s["signal"] == "options_stress")
    assert next(m["value"] for m in verdict["metrics"] if m["name"] == "gamma_flip") == flip
    assert [lv["price_usd"] for lv in report["levels"] if lv["label"].startswith("gamma flip")] == [flip]
    assert f"gamma flip ${flip:,.0f}" == "gamma flip $88,827"
    assert "gamma flip $88,827;" in run("options", *day).stdout
    assert "gamma flip $88,827;" in run("report", *day, "--no-store").stdout


def test_no_data_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/data here: nothing to default to
    monkeypatch.delenv("CAPITULATION_DATA", raising=False)
    res = run("options")
    assert res.exit_code == 2 and "--data" in res.output and len(res.output.strip().splitlines()) == 1


def test_html_report_has_the_gex_profile_with_its_flip(snap, tmp_path):
    out = tmp_path / "r.html"
    res = run("report", "--snapshot", snap, "--html", str(out), "--no-store")
    assert res.exit_code == 0, res.output
    page = out.read_text()
    for chart in ("chart-gex_profile", "chart-risk_reversals", "chart-gex", "chart-smile"):
        assert chart in page
    assert "flip $88,827" in page and "RR25 constant maturity" in page
