"""Signal 1: the flush is decided in BTC, not USD."""

import csv

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import leverage_flush
from capitulation.signals.base import Status
from synthetic import daily, perps, snapshot


def test_a_coin_flush_holds_even_when_usd_oi_barely_moved():
    # synthetic: OI builds 100 -> 200 BTC at $50k, then falls to 120 BTC while price doubles to $100k
    oi = [100.0] * 5 + list(np.linspace(100, 200, 10)) + [120.0]
    px = [50_000.0] * 15 + [100_000.0]
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, px), daily_prices=daily("BTC-USD", [1.0] * 30))
    v = leverage_flush.evaluate(snap)
    # flush (BTC) = (200 - 120) / (200 - 100) = 0.80; USD OI = 12.0M vs a 10.0M peak: no USD flush at all
    assert v.status is Status.HOLDS
    assert v.metric("flush_ratio_btc").value == pytest.approx(0.80)
    assert v.metric("oi_usd_vs_peak").value == pytest.approx(1.0)


def test_a_usd_only_drop_is_not_a_flush():
    # synthetic: OI in BTC keeps rising while price halves; USD OI falls 40 %
    oi = list(np.linspace(100, 120, 12))
    px = list(np.linspace(100_000, 50_000, 12))
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, px))
    v = leverage_flush.evaluate(snap)
    assert v.status is Status.DOES_NOT_HOLD
    assert v.metric("flush_ratio_btc").value == pytest.approx(0.0)
    assert v.metric("oi_usd_vs_peak").value == pytest.approx(120 * 50_000 / (100 * 100_000), rel=0.05)


def test_stale_or_absent_oi_is_not_enough_data():
    old = perps([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], end="2026-01-01T00:00Z")
    assert leverage_flush.evaluate(snapshot("2026-02-05", perp_metrics=old)).status is Status.NOT_ENOUGH_DATA
    assert leverage_flush.evaluate(snapshot("2026-02-05")).status is Status.NOT_ENOUGH_DATA


def test_recorded_binance_oi_on_2026_02_05_is_not_a_flush_in_btc(default_snapshot, shared_data):
    # Reference computed here straight from the CSV: 180-day window ending 2026-02-05 16:00 UTC.
    path = shared_data / "derivatives_oi_funding" / "binance_btcusdt_oi_8h_2025-08-16_2026-08-31.csv"
    with open(path) as fh:
        rows = [(pd.Timestamp(r["time_utc"]), float(r["sum_open_interest_btc"])) for r in csv.DictReader(fh)]
    rows = [r for r in rows if r[0] <= pd.Timestamp("2026-02-05T23:59:59Z")]
    peak_i = max(range(len(rows)), key=lambda i: rows[i][1])
    base = min(v for _, v in rows[: peak_i + 1])
    now = rows[-1][1]
    expected = (rows[peak_i][1] - now) / (rows[peak_i][1] - base)
    v = leverage_flush.evaluate(default_snapshot)
    assert v.metric("flush_ratio_btc").value == pytest.approx(expected, rel=1e-9)
    assert v.metric("oi_btc").value == pytest.approx(now)
    assert v.status is Status.DOES_NOT_HOLD  # 36 % of the build-up removed: not the blow-out
    assert v.metric("oi_btc_vs_peak").value > 0.85 > v.metric("oi_usd_vs_peak").value
