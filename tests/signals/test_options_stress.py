"""Signal 3 on the real Deribit chain (live as of 2026-01-24) and, without a fresh chain, from DVOL."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import percentileofscore

from capitulation.analytics.smile import constant_maturity, risk_reversals
from capitulation.analytics.vol_regime import vol_state
from capitulation.errors import DataError
from capitulation.signals import options_stress
from capitulation.verdict import Status
from synthetic import daily, snapshot


def test_with_a_twelve_day_old_chain_dvol_decides(default_snapshot):
    v = options_stress.evaluate(default_snapshot)
    # DVOL closed 82.6 on 2026-02-05, the highest of its year, while BTC fell 30 % in two weeks
    assert v.status is Status.HOLDS
    assert v.headline.startswith("from DVOL (latest option chain is 12 days old): vol bid into a fall")
    assert v.metric("dvol_close").value == pytest.approx(0.8262)
    assert v.metric("dvol_rank_1y").value == pytest.approx(1.0, abs=0.01)
    assert v.levels == ()  # stale walls do not enter the levels map
    assert any("its skew and walls are not used" in e for e in v.evidence)
    assert not any(m.name.startswith("rr25") for m in v.metrics)


def test_as_of_the_chain_day_the_verdict_uses_constant_maturity_rr(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    v = options_stress.evaluate(snap)
    assert v.status in (Status.HOLDS, Status.DOES_NOT_HOLD)
    cm = constant_maturity(risk_reversals(snap.tables["option_quotes"]), (7,))
    assert v.metric("rr25_7d").value == pytest.approx(float(cm["rr25"].iloc[0]), abs=1e-12)
    holds = min(v.metric("rr25_1d").value, v.metric("rr25_7d").value) <= -0.05
    assert (v.status is Status.HOLDS) == holds
    flip, spot = v.metric("gamma_flip").value, v.metric("chain_spot").value
    assert abs(flip / spot - 1) < 0.2
    assert {lv.label.split(" (")[0].split(",")[0] for lv in v.levels} == {
        "gamma flip",
        "call wall",
        "put wall",
        "max pain",
    }
    pain = next(lv for lv in v.levels if lv.label.startswith("max pain"))
    assert pain.price == 90_000.0  # the 25 Jan expiry's max-pain strike on the recorded chain


def test_the_verdict_names_its_dealer_model_and_reports_rr15_and_hedge_flow(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    v = options_stress.evaluate(snap)
    assert any(line.startswith("dealer gamma (classic: dealers long calls, short puts") for line in v.evidence)
    assert "15d RR 1d -3.9 / 7d -7.9" in v.headline and "classic" in v.headline
    assert v.metric("rr15_1d").value == pytest.approx(-0.039489, abs=1e-6)
    assert v.metric("hedge_flow_usd_per_1pct_rise").value == -v.metric("gex_total_usd_per_1pct").value
    short = options_stress.evaluate(snap, options_stress.Thresholds(dealer="short_all"))
    assert short.metric("gex_total_usd_per_1pct").value < 0 < v.metric("gex_total_usd_per_1pct").value


def test_summary_of_one_expiry_and_an_unknown_expiry(recorded_full):
    quotes = recorded_full.upto("2026-01-24T23:59:59Z").tables["option_quotes"]
    whole = options_stress.summarize(quotes)
    one = options_stress.summarize(quotes, expiry="2026-01-30")
    assert one.expiry == pd.Timestamp("2026-01-30T08:00Z") and list(one.smile["expiry"]) == [one.expiry]
    assert set(one.gex.by_strike["expiry"]) == {one.expiry} and list(one.max_pain["expiry"]) == [one.expiry]
    assert one.spot == whole.spot  # the whole chain's reference spot
    pd.testing.assert_frame_equal(one.term, whole.term)  # the term structure always uses every expiry
    assert whole.gex.total_usd == pytest.approx(
        sum(options_stress.summarize(quotes, expiry=e).gex.total_usd for e in whole.smile["expiry"]), rel=1e-12
    )
    with pytest.raises(DataError, match=r"expiry 2026-01-31 is not in the chain .* available: 2026-01-25, 2026-01-26"):
        options_stress.summarize(quotes, expiry="2026-01-31")


def dvol_snapshot(dvol: list[float], btc: list[float], as_of: str = "2026-02-05T23:59:59Z"):
    days = pd.date_range(end="2026-02-05", periods=len(dvol), freq="D", tz="UTC")
    vi = pd.DataFrame({"date": days, "index": "DVOL-BTC", "open": dvol, "high": dvol, "low": dvol, "close": dvol})
    return snapshot(as_of, vol_index=vi, daily_prices=daily("BTC-USD", btc))


def test_vol_state_by_hand():
    days = pd.date_range("2025-01-01", periods=40, freq="D", tz="UTC")
    vol = pd.Series(np.r_[np.linspace(0.40, 0.59, 20), np.linspace(0.60, 0.50, 20)], index=days)
    btc = pd.Series(np.linspace(100.0, 61.0, 40), index=days)
    st = vol_state(vol, btc, days[-1], window_days=14, history_days=365)
    # window = the last 14 closes (days 26..39): high 0.60 x (26/19 steps)... computed directly here
    window = vol.iloc[-14:]
    assert st.recent_high == pytest.approx(window.max())
    assert st.rank == pytest.approx(percentileofscore(vol, window.max(), kind="mean") / 100)  # scipy's mid-rank
    assert st.change == pytest.approx(vol.iloc[-1] - vol[days[-1] - pd.Timedelta(days=14)])
    assert st.btc_return == pytest.approx(btc.iloc[-1] / btc[days[-1] - pd.Timedelta(days=14)] - 1)
    assert vol_state(vol, btc, days[0] - pd.Timedelta(days=1)) is None


def test_a_dvol_spike_into_a_fall_holds_and_into_a_rally_does_not():
    calm, spike = [0.50] * 290, [0.55, 0.65, 0.80, 0.90, 0.85]
    falling = [100.0] * 290 + [95.0, 90.0, 85.0, 80.0, 78.0]
    v = options_stress.evaluate(dvol_snapshot(calm + spike, falling))
    # no 20 % drawdown has completed in this path: the year's top quintile is the bar
    assert v.status is Status.HOLDS and v.metric("dvol_rank_threshold").value == 0.8
    assert v.metric("dvol_high_14d").value == 0.90 and v.metric("dvol_rank_1y").value == pytest.approx(294.5 / 295)
    assert any("fallback: 0 past troughs" in e for e in v.evidence)
    rising = [100.0] * 290 + [105.0, 110.0, 115.0, 120.0, 125.0]
    v = options_stress.evaluate(dvol_snapshot(calm + spike, rising))
    assert v.status is Status.DOES_NOT_HOLD and "vol high but BTC not falling" in v.headline
    v = options_stress.evaluate(dvol_snapshot([0.50] * 295, falling))  # flat: the high sits mid-rank
    assert v.status is Status.DOES_NOT_HOLD and "no vol panic" in v.headline
    assert v.metric("dvol_rank_1y").value == 0.5


def test_stale_or_short_dvol_without_a_chain_is_not_enough_data():
    v = options_stress.evaluate(dvol_snapshot([0.5] * 200, [100.0] * 200, as_of="2026-02-09T23:59:59Z"))
    assert v.status is Status.NOT_ENOUGH_DATA and "DVOL ends 2026-02-05, 4 days before as_of" in v.headline
    v = options_stress.evaluate(dvol_snapshot([0.5] * 60, [100.0] * 60))
    assert v.status is Status.NOT_ENOUGH_DATA and "only 60 days of DVOL (need 90" in v.headline


def test_the_dvol_bar_is_the_median_rank_at_past_confirmed_troughs_only(recorded_full):
    snap = recorded_full.upto("2025-04-08T23:59:59Z")
    v = options_stress.evaluate(snap)
    vol = snap.tables["vol_index"].set_index("date")["close"]
    btc = snap.tables["daily_prices"].query("symbol == 'BTC-USD'").set_index("date")["close"]
    # the confirmed troughs since DVOL had 90 days of history; the open 2025 decline is not among them
    troughs = ["2021-07-20", "2021-09-21", "2022-01-22", "2022-06-18", "2022-11-21", "2023-09-11", "2024-05-01",
               "2024-07-07", "2024-09-06"]  # fmt: skip
    ranks = [vol_state(vol, btc, pd.Timestamp(d, tz="UTC")).rank for d in troughs]
    assert v.metric("dvol_rank_threshold").value == pytest.approx(np.median(ranks))
    assert any("median of its 14-day-high ranks at the 9 past confirmed troughs" in e for e in v.evidence)


def test_the_verdict_says_how_many_bad_quote_rows_were_dropped(shared_data, tmp_path):
    from capitulation.snapshot import Snapshot
    from capitulation.sources import deribit

    raw = pd.read_csv(shared_data / "deribit_options" / "full_data_sample.csv", dtype=str)
    raw.loc[[3, 4], "open_interest"] = "-5"  # negative OI would flip a row's sign in GEX
    raw.loc[9, "strike"] = "-5"
    path = tmp_path / "chain.csv"
    raw.to_csv(path, index=False)
    q, prov = deribit.read_chain_csv(path)
    snap = Snapshot(q["timestamp"].max(), {"option_quotes": q}, {"option_quotes": prov})
    v = options_stress.evaluate(snap)
    assert "3 bad quote row(s) dropped from the chain files (rules in the table's provenance notes)" in v.evidence
    assert {m.name: m.value for m in v.metrics}["bad_quote_rows_dropped"] == 3.0
