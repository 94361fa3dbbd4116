"""Signal 2: flight holds only when stocks and metals both fall 10 % from their 90-day highs; the cross-asset
table on the recorded data; ETF flows used only when fresh."""

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import cross_asset
from capitulation.verdict import Status
from synthetic import daily, snapshot


def _snap(qqq_end: float, gld_end: float, stale: str | None = None):
    rng = np.random.default_rng(7)  # synthetic random walks
    n = 120
    btc = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    frames = [daily("BTC-USD", btc)]
    for sym, end in (("QQQ", qqq_end), ("GLD", gld_end)):
        path = np.full(n, 100.0)
        path[-1] = end
        frames.append(daily(sym, path))
    if stale:
        frames.append(daily(stale, np.full(40, 10.0), end="2025-12-31"))
    return snapshot("2026-02-05T23:59:59Z", daily_prices=pd.concat(frames, ignore_index=True))


def test_flight_holds_when_stocks_and_metals_are_both_down_ten_percent():
    v = cross_asset.evaluate(_snap(89.0, 88.0))
    assert v.status is Status.HOLDS
    assert v.metric("QQQ_drawdown_90d").value == pytest.approx(-0.11)
    assert v.metric("GLD_drawdown_90d").value == pytest.approx(-0.12)


def test_no_flight_when_metals_hold_up():
    assert cross_asset.evaluate(_snap(85.0, 99.0)).status is Status.DOES_NOT_HOLD


def test_a_symbol_without_recent_closes_is_left_out_and_named():
    ca = cross_asset.cross_asset(_snap(89.0, 88.0, stale="SLV"))
    assert "SLV" not in ca.table.index and ca.stale["SLV"] == pd.Timestamp("2025-12-31", tz="UTC")
    v = cross_asset.evaluate(_snap(89.0, 88.0, stale="SLV"))
    assert any("left out, no recent close: SLV (last 2025-12-31)" in e for e in v.evidence)


def test_recorded_table_gives_the_february_2026_drawdowns(default_snapshot):
    ca = cross_asset.cross_asset(default_snapshot)
    tab = ca.table
    px = default_snapshot.tables["daily_prices"]
    btc = px[px["symbol"] == "BTC-USD"].set_index("date")["close"]
    recent = btc[btc.index > btc.index[-1] - np.timedelta64(90, "D")]
    assert tab.loc["BTC-USD", "drawdown_90d"] == pytest.approx(62_702.09765625 / recent.max() - 1, rel=1e-12)
    assert tab.loc["BTC-USD", "drawdown_ath"] == pytest.approx(62_702.09765625 / btc.max() - 1, rel=1e-12)
    assert btc.max() == pytest.approx(124_752.53125)  # 2025-10-06
    # relative drawdown: "Nasdaq -5.7 % while BTC -40.8 %"
    assert tab.loc["QQQ", "drawdown_90d"] == pytest.approx(-0.0572, abs=5e-4)
    assert tab.loc["QQQ", "rel_drawdown_90d"] == pytest.approx(
        tab.loc["QQQ", "drawdown_90d"] - tab.loc["BTC-USD", "drawdown_90d"], rel=1e-12
    )
    assert tab.loc["SLV", "drawdown_90d"] < -0.30  # silver's late-January 2026 collapse
    assert list(tab["group"].unique()) == [
        "bitcoin",
        "stocks",
        "metals",
        "bonds",
        "dollar",
        "BTC treasury company",
        "spot BTC ETF",
    ]
    assert (tab.loc["IBIT":"HODL", "corr_90d"] > 0.9).all()  # the spot ETFs track BTC
    assert (tab.drop(index="BTC-USD")[["n_30d", "n_90d"]] == [30, 90]).all().all()
    assert ca.stale == {}


def test_recorded_verdict_and_stale_flows(default_snapshot):
    v = cross_asset.evaluate(default_snapshot)
    assert v.status is Status.DOES_NOT_HOLD  # QQQ only about -6 %: stocks were not in flight
    assert "BTC -40.8% from its 90d high while QQQ -5.7%" in v.headline
    assert any("ETF flows not used: latest row is 36 days before as_of (2025-12-31)" in e for e in v.evidence)
    assert not any(m.name.startswith("etf_flows") for m in v.metrics)


def test_flows_are_live_as_of_august_2024(recorded_full):
    snap = recorded_full.upto("2024-08-05T23:59:59Z")
    ca = cross_asset.cross_asset(snap)
    assert ca.flows.fresh and ca.flows.last_date == pd.Timestamp("2024-08-05", tz="UTC")
    # reference: the recorded per-fund rows summed by date, the last 5/20/60 trading days added by hand
    f = snap.tables["etf_flows"]
    daily_total = f.groupby("date")["flow_usd"].sum().sort_index().to_numpy()
    for d in (5, 20, 60):
        assert ca.flows.sums[d] == pytest.approx(sum(daily_total[-d:]), rel=1e-12)
    v = cross_asset.evaluate(snap)
    assert v.metric("etf_flows_5d").value == ca.flows.sums[5]


def test_no_prices_is_not_enough_data():
    assert cross_asset.evaluate(snapshot("2026-02-05")).status is Status.NOT_ENOUGH_DATA
