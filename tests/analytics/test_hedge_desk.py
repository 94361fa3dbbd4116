"""The hedge desk (`capitulation hedge`): the recorded February 2026 figures (perp vs proxies in stress,
funding carry, liquidation distance, put cost from a stale or fresh chain) and bad input (a proxy with too
little history, an unknown proxy, parameters out of range)."""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capitulation.analytics import hedge_desk
from capitulation.errors import DataError
from synthetic import daily, snapshot

SPOT = 62_702.09765625  # BTC-USD close 2026-02-05


@pytest.fixture(scope="module")
def desk(default_snapshot):
    return hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of)


def test_stress_is_the_event_studys_declines_in_the_lookback(desk):
    assert desk.lookback_start == pd.Timestamp("2023-02-06T23:59:59Z")
    assert [(w.peak_date.date().isoformat(), w.trough_date.date().isoformat()) for w in desk.windows] == [
        ("2023-07-13", "2023-09-11"),
        ("2024-03-13", "2024-05-01"),
        ("2024-05-20", "2024-07-07"),
        ("2024-07-28", "2024-09-06"),
        ("2025-01-21", "2025-04-08"),
        ("2025-10-06", "2026-02-05"),
    ]
    h = desk.hedges.set_index(["proxy", "regime"])
    assert h.loc[("MSTR", "stress"), "n_obs"] == 273 and h.loc[("MSTR", "calm"), "n_obs"] == 479
    # the perp price history (Binance OI value / OI) starts 2025-08-16: 52 calm days, then the decline
    assert h.loc[("perp short", "calm"), "n_obs"] == 52 and h.loc[("perp short", "stress"), "n_obs"] == 121
    ep = desk.episodes.set_index(["proxy", "peak"])
    assert ep.loc[("MSTR", pd.Timestamp("2025-10-06", tz="UTC")), "n_obs"] == 84


def test_perp_short_carry_and_liquidation_by_hand(desk, default_snapshot):
    p = desk.perp
    f = default_snapshot.tables["perp_metrics"].dropna(subset=["funding_rate"]).query("venue == 'binance'")
    f = f[f["timestamp"] > pd.Timestamp("2026-01-06T16:00Z")]  # the last 30 days of Binance's daily funding
    assert len(f) == 30 and p.funding_to == pd.Timestamp("2026-02-05T16:00Z")
    mean = f["funding_rate"].mean()
    assert p.carry_annualised == pytest.approx(mean * 3 * 365, rel=1e-12)  # 8-hour rate x 3 a day x 365
    assert p.carry_horizon == pytest.approx(mean * 3 * 30, rel=1e-12)
    assert p.carry_annualised > 0  # longs paid: the short hedge earned carry
    assert p.liq_price_usd == pytest.approx(SPOT * 1.1 / 1.004, rel=1e-12)  # 10 % margin, 0.4 % maintenance
    assert 0 < p.breach_share < 1 and p.breach_windows > 1000


def test_puts_from_a_stale_chain_are_flagged_and_kept_out_of_the_metrics(desk, default_snapshot):
    puts = desk.puts
    assert not puts.fresh and puts.age_days == pytest.approx(12.46, abs=0.01)
    assert [q.delta for q in puts.quotes] == [0.25, 0.5]
    doc = desk.as_dict()["puts"]
    assert doc["fresh"] is False and "STALE" in doc["note"] and doc["chain_time"].startswith("2026-01-24T13:00")
    fam = desk.families()
    assert fam.loc[fam["family"] == "protective put", "note"].str.contains("STALE chain").all()


def test_puts_priced_as_of_the_chain_date(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    d = hedge_desk.desk(snap.tables, snap.as_of, notional_usd=2e6, put_delta=0.1)
    assert d.puts.fresh and d.puts.age_days < 0.5
    q25, atm = hedge_desk.desk(snap.tables, snap.as_of).puts.quotes
    assert q25.delta == 0.25 and atm.delta == 0.5 and atm.cost > q25.cost  # ATM protection costs more
    # the chain has no 10-delta put IV bracketing 30 days: not enough data, never an extrapolated price
    assert d.puts.unpriced == (0.1,) and [q.delta for q in d.puts.quotes] == [0.5]
    atm, ten = d.families().iloc[:2].itertuples()
    assert atm.instrument.startswith("ATM put, 30d") and atm.cost_usd == pytest.approx(d.puts.quotes[0].cost * 2e6)
    assert ten.instrument == "10-delta put, 30d" and ten.note.startswith("not enough data") and np.isnan(ten.cost_usd)


def test_the_three_families_with_cost_and_effectiveness(desk):
    fam = desk.families()
    assert list(fam["family"]) == ["protective put"] * 2 + ["perp short"] + ["proxy short"] * 3
    perp = fam[fam["family"] == "perp short"].iloc[0]
    assert perp["cost_horizon"] == -desk.perp.carry_horizon < 0  # income for the short
    assert perp["cost_usd"] == pytest.approx(-desk.perp.carry_horizon * 1e6)
    mstr = fam[fam["instrument"] == "MSTR"].iloc[0]
    h = desk.hedges.set_index(["proxy", "regime"])
    assert mstr["hedge_usd"] == pytest.approx(h.loc[("MSTR", "stress"), "hedge_ratio"] * 1e6)
    assert np.isnan(mstr["cost_horizon"]) and "borrow fee not in the recorded data" in mstr["note"]


def _stress_snapshot(qqq_days: int):
    # synthetic: 300 days of BTC, the last 60 a 30 % fall; QQQ listed for the last `qqq_days` days only
    rng = np.random.default_rng(11)
    n = 300
    btc = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    btc[-60:] = btc[-61] * np.linspace(1.0, 0.7, 61)[1:]
    gld = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    qqq = 300 * np.exp(np.cumsum(rng.normal(0, 0.01, qqq_days)))
    frames = [daily("BTC-USD", btc), daily("GLD", gld), daily("QQQ", qqq)]
    return snapshot("2026-02-05T23:59:59Z", daily_prices=pd.concat(frames, ignore_index=True))


def test_a_proxy_with_too_little_history_is_not_enough_data():
    snap = _stress_snapshot(qqq_days=12)
    d = hedge_desk.desk(snap.tables, snap.as_of, proxies=("QQQ", "GLD"))
    h = d.hedges.set_index(["proxy", "regime"])
    assert h.loc[("QQQ", "stress"), "n_obs"] == 11 and np.isnan(h.loc[("QQQ", "stress"), "effectiveness"])
    assert np.isfinite(h.loc[("GLD", "stress"), "effectiveness"])
    assert d.puts == "no option chain in the snapshot" and d.perp == "no funding history in the snapshot"
    qqq = d.families().set_index("instrument").loc["QQQ"]
    assert np.isnan(qqq["effectiveness_stress"]) and "n/a (under 20 returns) stress" in qqq["note"]


def test_bad_desk_input_is_a_data_error(default_snapshot):
    with pytest.raises(DataError, match="no daily closes for proxy XYZ"):
        hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of, proxies=("XYZ",))
    with pytest.raises(DataError, match="put delta must be a fraction"):
        hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of, put_delta=1.5)
    with pytest.raises(DataError, match="margin must be a fraction"):
        hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of, margin=0.0)
    with pytest.raises(DataError, match="horizon must be at least 1 day"):
        hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of, horizon_days=0)
    later = snapshot("2026-03-01T00:00Z", daily_prices=default_snapshot.tables["daily_prices"])
    with pytest.raises(DataError, match=r"latest BTC-USD close \(2026-02-05\) is too old"):
        hedge_desk.desk(later.tables, later.as_of)


def test_the_desk_as_a_dict_is_plain_json_with_the_figures_of_its_parts(desk):
    doc = desk.as_dict()
    json.dumps(doc, allow_nan=True)  # no timestamps or frames left to convert
    assert doc["as_of"].startswith("2026-02-05T23:59:59") and doc["spot_usd"] == SPOT
    assert [w["peak"][:10] for w in doc["stress_windows"]][-1] == "2025-10-06"
    assert doc["stress_windows"][-1]["confirmed"] is False  # the decline still open at as_of
    assert doc["perp_short"]["carry_annualised"] == desk.perp.carry_annualised
    assert [q["put_delta"] for q in doc["puts"]["quotes"]] == [-0.25, -0.5]
    assert "20%+" in doc["stress_definition"] and "2023-02-06" in doc["stress_definition"]


def test_the_verdict_module_does_not_import_the_desk():
    import capitulation.signals.hedging as verdict

    tree = ast.parse(Path(verdict.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any("hedge_desk" in name for name in imported)
