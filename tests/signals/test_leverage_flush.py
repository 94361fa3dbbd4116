"""Signal 1: the flush is decided in BTC, not USD."""

import csv

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import leverage_flush
from capitulation.verdict import Status
from synthetic import daily, perps, snapshot


def test_a_coin_flush_holds_even_when_usd_oi_barely_moved():
    # synthetic: OI builds 100 -> 200 BTC at $50k, then falls to 120 BTC while price doubles to $100k
    oi = [100.0] * 95 + list(np.linspace(100, 200, 10)) + [120.0]  # 35 days at 8h: enough history
    px = [50_000.0] * 105 + [100_000.0]
    falling = daily("BTC-USD", [100_000.0] * 29 + [80_000.0])  # BTC-USD 20 % below its 90-day high
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, px), daily_prices=falling)
    v = leverage_flush.evaluate(snap)
    # flush (BTC) = (200 - 120) / (200 - 100) = 0.80; USD OI = 12.0M vs a 10.0M peak: no USD flush at all
    assert v.status is Status.HOLDS
    assert v.metric("flush_ratio_btc").value == pytest.approx(0.80)
    assert v.metric("oi_usd_vs_peak").value == pytest.approx(1.0)
    assert v.metric("btc_drawdown_90d").value == pytest.approx(-0.20)


def test_coin_oi_cut_in_a_rally_is_shorts_covering_not_a_long_flush():
    oi = [100.0] * 95 + list(np.linspace(100, 200, 10)) + [120.0]
    rising = daily("BTC-USD", list(np.linspace(60_000, 100_000, 30)))
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, [50_000.0] * 106), daily_prices=rising)
    v = leverage_flush.evaluate(snap)
    assert v.metric("flush_ratio_btc").value == pytest.approx(0.80)
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("OI cut in a rally, not a long flush")


def test_a_usd_only_drop_is_not_a_flush():
    # synthetic: OI in BTC keeps rising while price halves; USD OI falls 40 %
    oi = [100.0] * 90 + list(np.linspace(100, 120, 12))
    px = [100_000.0] * 90 + list(np.linspace(100_000, 50_000, 12))
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


def test_a_history_shorter_than_a_month_is_not_enough_data():
    oi = [*np.linspace(100, 200, 80), 120.0]  # 27 days at 8h
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, [50_000.0] * 81))
    v = leverage_flush.evaluate(snap)
    assert v.status is Status.NOT_ENOUGH_DATA and "spans 30 days" in v.headline


def test_an_all_exchange_usd_aggregate_is_converted_at_the_close_known_then():
    # synthetic: 60 daily closes at 23:59:59; BTC $50k, then $40k on the last day; OI in BTC 50,000 flat,
    # then 75,000, then 55,000, reported in USD at each day's close
    days = pd.date_range(end="2026-02-05", periods=60, freq="D", tz="UTC")
    closes = [50_000.0] * 59 + [40_000.0]
    usd_oi = [b * c for b, c in zip([50_000.0] * 40 + [75_000.0] * 19 + [55_000.0], closes, strict=True)]
    agg = perps([1.0] * 60, [1.0] * 60).assign(
        timestamp=days + pd.Timedelta(hours=23, minutes=59, seconds=59),
        venue="aggregate",
        symbol="BTC-CG",
        oi_contracts=np.nan,
        oi_btc=np.nan,
        oi_usd=usd_oi,
    )
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=agg, daily_prices=daily("BTC-USD", closes))
    v = leverage_flush.evaluate(snap)
    # in BTC: 50,000 -> 75,000 -> 55,000: (75,000 - 55,000) / (75,000 - 50,000) = 0.8
    assert v.metric("oi_btc").value == pytest.approx(55_000.0)
    assert v.metric("flush_ratio_btc").value == pytest.approx(0.8)
    assert v.status is Status.HOLDS
    assert v.evidence[0].startswith("aggregate BTC-CG (USD / BTC close)")
    assert set(v.metric("flush_ratio_btc").tables) == {"perp_metrics", "daily_prices"}


def liquidations(longs: list[float], end: str = "2026-02-05") -> pd.DataFrame:
    days = pd.date_range(end=end, periods=len(longs), freq="D", tz="UTC")
    return pd.DataFrame(
        {"date": days, "venue": "aggregate", "symbol": "BTC", "long_usd": longs, "short_usd": 0.0, "total_usd": longs}
    )


def test_observed_long_liquidations_are_ranked_in_their_trailing_year():
    # synthetic: 364 quiet days of $10M..$100M long liquidations, then a $900M day
    quiet = list(np.linspace(10e6, 100e6, 364))
    oi = [100.0] * 95 + list(np.linspace(100, 200, 10)) + [120.0]
    snap = snapshot(
        "2026-02-05T23:59:59Z",
        perp_metrics=perps(oi, [50_000.0] * 106),
        liquidations=liquidations([*quiet, 900e6]),
    )
    v = leverage_flush.evaluate(snap)
    assert v.metric("long_liquidations_day_usd").value == 900e6
    assert v.metric("long_liquidations_day_rank_1y").value == 1.0  # the largest day of the year
    three = 900e6 + quiet[-1] + quiet[-2]
    assert v.metric("long_liquidations_3d_usd").value == pytest.approx(three)
    assert v.metric("long_liquidations_3d_rank_1y").value == 1.0
    assert set(v.metric("long_liquidations_3d_usd").tables) == {"liquidations"}
    stale = snapshot(
        "2026-02-05T23:59:59Z",
        perp_metrics=perps(oi, [50_000.0] * 106),
        liquidations=liquidations([*quiet, 900e6], end="2025-12-31"),
    )
    v = leverage_flush.evaluate(stale)
    assert not any(m.name.startswith("long_liquidations") for m in v.metrics)
    assert any("observed liquidations end 2025-12-31" in e for e in v.evidence)


def test_oi_that_only_fell_has_no_build_up_to_flush():
    oi = list(np.linspace(200, 100, 100))
    v = leverage_flush.evaluate(snapshot("2026-02-05T23:59:59Z", perp_metrics=perps(oi, [50_000.0] * 100)))
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("no build-up to flush")


@pytest.mark.parametrize(
    ("day", "source", "status"),
    [
        ("2020-03-13", "aggregate BTC-ALL", Status.HOLDS),  # the COVID crash: a third of the coin OI gone
        ("2021-06-08", "aggregate BTC-CG", Status.HOLDS),  # the May-June 2021 flush
        ("2025-04-08", "aggregate BTC-CG", Status.DOES_NOT_HOLD),  # the 2025 tariff low: OI in BTC held up
    ],
)
def test_recorded_history_before_binance_uses_the_aggregates(recorded_full, day, source, status):
    v = leverage_flush.evaluate(
        recorded_full.upto(pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59))
    )
    assert v.evidence[0].startswith(source) and v.status is status


def funding(venue: str, symbol: str, rate: float, end: str, days: int) -> pd.DataFrame:
    rows = perps([np.nan] * days, [np.nan] * days, end=end).assign(venue=venue, symbol=symbol)
    rows["timestamp"] = pd.date_range(end=end, periods=days, freq="D", tz="UTC")
    return rows.assign(oi_contracts=np.nan, oi_usd=np.nan, funding_rate=rate, funding_interval_h=8.0)


def test_a_stale_preferred_funding_history_is_named_when_the_next_one_is_used():
    oi = perps([100.0] * 95 + list(np.linspace(100, 200, 10)) + [120.0], [50_000.0] * 106)
    binance = funding("binance", "BTCUSDT", 3e-4, "2025-12-18T16:00Z", 60)  # ends 49 days before as_of
    average = funding("aggregate", "BTC-FR-AVG", 1e-4, "2026-02-05T23:59:59Z", 60)
    snap = snapshot("2026-02-05T23:59:59Z", perp_metrics=pd.concat([oi, binance, average], ignore_index=True))
    v = leverage_flush.evaluate(snap)
    assert v.metric("funding_annualised_30d").value == pytest.approx(1e-4 * 3 * 365)  # the average's, not 3e-4's
    line = next(e for e in v.evidence if e.startswith("funding "))
    assert line.startswith("funding aggregate BTC-FR-AVG (30-day mean, annualised) +10.9%; latest +0.0100% per 8h")
    assert line.endswith("; binance BTCUSDT ends 2025-12-18: stale, not used")
    fresh = snapshot("2026-02-05T23:59:59Z", perp_metrics=pd.concat([oi, average], ignore_index=True))
    assert not any("stale" in e for e in leverage_flush.evaluate(fresh).evidence)
