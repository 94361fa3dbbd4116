"""Signal 2: flight holds only when stocks and metals both fall 10 % from their 90-day highs."""

import numpy as np
import pytest

from capitulation.signals import cross_asset
from capitulation.signals.base import Status
from synthetic import daily, snapshot


def _snap(qqq_end: float, gld_end: float):
    rng = np.random.default_rng(7)  # synthetic random walks
    n = 120
    btc = 100 * np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    frames = [daily("BTC-USD", btc)]
    for sym, end in (("QQQ", qqq_end), ("GLD", gld_end)):
        path = np.full(n, 100.0)
        path[-1] = end
        frames.append(daily(sym, path))
    import pandas as pd

    return snapshot("2026-02-05T23:59:59Z", daily_prices=pd.concat(frames, ignore_index=True))


def test_flight_holds_when_stocks_and_metals_are_both_down_ten_percent():
    v = cross_asset.evaluate(_snap(89.0, 88.0))
    assert v.status is Status.HOLDS
    assert v.metric("QQQ_drawdown_90d").value == pytest.approx(-0.11)
    assert v.metric("GLD_drawdown_90d").value == pytest.approx(-0.12)


def test_no_flight_when_metals_hold_up():
    assert cross_asset.evaluate(_snap(85.0, 99.0)).status is Status.DOES_NOT_HOLD


def test_recorded_closes_give_the_february_2026_drawdowns(default_snapshot):
    v = cross_asset.evaluate(default_snapshot)
    # BTC-USD close 2026-02-05 62,702.10 vs its 90-day high; reference from the raw closes:
    px = default_snapshot.tables["daily_prices"]
    btc = px[px["symbol"] == "BTC-USD"].set_index("date")["close"]
    recent = btc[btc.index > btc.index[-1] - np.timedelta64(90, "D")]
    assert v.metric("BTC-USD_drawdown_90d").value == pytest.approx(62_702.09765625 / recent.max() - 1, rel=1e-12)
    assert v.metric("SLV_drawdown_90d").value < -0.30  # silver's late-January 2026 collapse
    assert v.status is Status.DOES_NOT_HOLD  # QQQ only about -6 %: stocks were not in flight
    assert any("ETF flows not used" in e for e in v.evidence)  # 2024 flows are stale in 2026


def test_no_prices_is_not_enough_data():
    assert cross_asset.evaluate(snapshot("2026-02-05")).status is Status.NOT_ENOUGH_DATA
