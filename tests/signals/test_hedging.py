"""Signal 7 and the hedge desk: the recorded February 2026 figures (perp vs proxies in stress, funding carry,
liquidation distance, put cost from a stale or fresh chain) and bad input (a proxy with too little history,
an unknown proxy, parameters out of range)."""

import numpy as np
import pandas as pd
import pytest

from capitulation.errors import DataError
from capitulation.signals import hedging
from capitulation.signals.base import Status
from synthetic import daily, snapshot

SPOT = 62_702.09765625  # BTC-USD close 2026-02-05


@pytest.fixture(scope="module")
def desk(default_snapshot):
    return hedging.desk(default_snapshot)


def test_direct_hedge_beats_the_proxies_in_the_recorded_stress(default_snapshot):
    v = hedging.evaluate(default_snapshot)
    assert v.status is Status.HOLDS
    assert v.headline == "direct hedge wins in stress: perp short rho^2 0.99 vs best proxy MSTR 0.50"
    eff = {m.name: m.value for m in v.metrics if "_effectiveness_" in m.name}
    assert eff["perp_effectiveness_stress"] > 0.98
    assert eff["MSTR_effectiveness_stress"] == pytest.approx(0.50, abs=0.01)
    assert eff["QQQ_effectiveness_stress"] < 0.2 and eff["GLD_effectiveness_stress"] < 0.05
    assert v.metric("perp_effectiveness_stress").tables == ("daily_prices", "perp_metrics")


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
    v = hedging.evaluate(default_snapshot)
    assert not any(m.name.startswith("put_") for m in v.metrics)
    assert any("STALE chain of 2026-01-24" in e for e in v.evidence)
    fam = hedging.families(desk)
    assert fam.loc[fam["family"] == "protective put", "note"].str.contains("STALE chain").all()


def test_puts_priced_as_of_the_chain_date(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    d = hedging.desk(snap, notional_usd=2e6, put_delta=0.1)
    assert d.puts.fresh and d.puts.age_days < 0.5
    v = hedging.evaluate(snap)
    q25 = hedging.desk(snap).puts.quotes[0]
    assert v.metric("put_25d_cost").value == q25.cost and v.metric("put_atm_cost").value > q25.cost
    # the chain has no 10-delta put IV bracketing 30 days: not enough data, never an extrapolated price
    assert d.puts.unpriced == (0.1,) and [q.delta for q in d.puts.quotes] == [0.5]
    atm, ten = hedging.families(d).iloc[:2].itertuples()
    assert atm.instrument.startswith("ATM put, 30d") and atm.cost_usd == pytest.approx(d.puts.quotes[0].cost * 2e6)
    assert ten.instrument == "10-delta put, 30d" and ten.note.startswith("not enough data") and np.isnan(ten.cost_usd)


def test_the_three_families_with_cost_and_effectiveness(desk):
    fam = hedging.families(desk)
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
    d = hedging.desk(snap, proxies=("QQQ", "GLD"))
    h = d.hedges.set_index(["proxy", "regime"])
    assert h.loc[("QQQ", "stress"), "n_obs"] == 11 and np.isnan(h.loc[("QQQ", "stress"), "effectiveness"])
    assert np.isfinite(h.loc[("GLD", "stress"), "effectiveness"])
    assert d.puts == "no option chain in the snapshot" and d.perp == "no funding history in the snapshot"
    v = hedging.evaluate(snap)
    assert "QQQ (stress): not enough data (11 returns)" in v.evidence


def test_bad_desk_input_is_a_data_error(default_snapshot):
    with pytest.raises(DataError, match="no daily closes for proxy XYZ"):
        hedging.desk(default_snapshot, proxies=("XYZ",))
    with pytest.raises(DataError, match="put delta must be a fraction"):
        hedging.desk(default_snapshot, put_delta=1.5)
    with pytest.raises(DataError, match="margin must be a fraction"):
        hedging.desk(default_snapshot, margin=0.0)
    with pytest.raises(DataError, match="horizon must be at least 1 day"):
        hedging.desk(default_snapshot, horizon_days=0)
    later = snapshot("2026-03-01T00:00Z", daily_prices=default_snapshot.tables["daily_prices"])
    with pytest.raises(DataError, match=r"latest BTC-USD close \(2026-02-05\) is too old"):
        hedging.desk(later)


def test_no_prices_is_not_enough_data():
    assert hedging.evaluate(snapshot("2026-02-05")).status is Status.NOT_ENOUGH_DATA
