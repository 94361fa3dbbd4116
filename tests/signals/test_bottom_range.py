"""Signal 8, bottom range: spot against the miner cost-floor band and the treasury cost basis."""

import pandas as pd
import pytest

from capitulation.analytics.levels import Level
from capitulation.analytics.mining import shutdown_price
from capitulation.signals import bottom_range, treasury
from capitulation.signals.base import Status, Verdict
from capitulation.snapshot import Snapshot
from synthetic import daily, snapshot


def _network(hashrate_ehs: float, fees: float, days: int = 7) -> pd.DataFrame:
    """Synthetic `btc_network` rows ending 2026-02-05 at a constant hashrate and fee level."""
    return pd.DataFrame(
        {
            "date": pd.date_range(end="2026-02-05", periods=days, freq="D", tz="UTC"),
            "height": pd.array([pd.NA] * days, dtype="Int64"),
            "difficulty": 1.4e14,
            "hashrate_ehs": hashrate_ehs,
            "fees_btc_per_block": fees,
            "subsidy_btc": 3.125,
        }
    )


def _snap(btc: float) -> Snapshot:
    return snapshot(
        "2026-02-05T23:59:59Z", daily_prices=daily("BTC-USD", [btc] * 3), btc_network=_network(1050.0, 0.03)
    )


def test_floors_are_the_rig_class_bands_at_six_cents():
    # synthetic network at 1,050 EH/s and 0.03 BTC fees: S21 (17.5 J/TH) 58,240.9 USD/BTC, the S21/M60 class
    # band 58,240.9 .. 58,240.9 x 18.5 / 17.5 = 61,569.0 (M60S, M66S); S19 XP (21.5 J/TH) 71,553.1 tops the band
    v = bottom_range.evaluate(_snap(60_000.0))
    assert v.status is Status.HOLDS
    assert v.metric("s21_shutdown_price").value == pytest.approx(58_240.9, abs=0.1)
    assert v.metric("floor_high").value == pytest.approx(58_240.9 * 21.5 / 17.5, abs=0.1)
    assert v.metric("floor_low").value == pytest.approx(58_240.9 * 13.5 / 17.5, abs=0.1)
    mid = next(lv for lv in v.levels if "S21/M60 class" in lv.label)
    assert mid.price == pytest.approx(58_240.9 * (17.5 + 18.5) / 2 / 17.5, abs=0.1)
    assert "$58,241-$61,569 at $0.06/kWh" in mid.label and "lose money on power" in mid.why
    # hashprice: 3.155 x 144 / 1.05e9 x 60,000 = 0.025960 USD per TH/s per day
    assert v.metric("hashprice_usd_per_th_day").value == pytest.approx(3.155 * 144 / 1.05e9 * 60_000, rel=1e-12)


def test_spot_far_above_every_floor_does_not_hold():
    # 15 % above the S19 XP's 71,553 is 82,286: spot 90,000 is above it
    v = bottom_range.evaluate(_snap(90_000.0))
    assert v.status is Status.DOES_NOT_HOLD
    assert "above the miner cost-floor band" in v.headline


def test_treasury_cost_basis_is_reported_and_every_prior_level_is_merged():
    cost = Level(76_000.0, "MSTR average cost", treasury.SIGNAL, ("treasury_companies",), "synthetic")
    wall = Level(70_000.0, "call wall", "options_stress", ("option_quotes",))
    prior = [Verdict(treasury.SIGNAL, "t", Status.HOLDS, "", pd.Timestamp("2026-02-05", tz="UTC"), levels=(cost,))]
    prior.append(Verdict("options_stress", "o", Status.HOLDS, "", pd.Timestamp("2026-02-05", tz="UTC"), levels=(wall,)))
    v = bottom_range.evaluate(_snap(60_000.0), prior)
    assert v.metric("treasury_cost_basis").value == 76_000.0
    assert "MSTR average cost $76,000 (+26.7%)" in v.headline
    assert cost in v.levels and wall in v.levels


def test_recorded_floors_on_2026_02_05_put_spot_at_the_top_of_the_band(default_snapshot):
    v = bottom_range.evaluate(default_snapshot, [treasury.evaluate(default_snapshot)])
    hashrate = v.metric("network_hashrate_ehs").value
    fees = v.metric("fees_btc_per_block").value
    s21 = shutdown_price(hashrate_ehs=hashrate, efficiency_jth=17.5, power_usd_kwh=0.06, fees_btc_per_block=fees)
    assert v.metric("s21_shutdown_price").value == pytest.approx(s21.shutdown_price_usd, rel=1e-12)
    assert 700 < hashrate < 1300  # EH/s in early 2026
    assert v.status is Status.HOLDS  # $62.7k sits within 15 % of the S19 XP's breakeven
    assert 0.9 < v.metric("spot").value / v.metric("floor_high").value < 1.15
    assert v.metric("treasury_cost_basis").value == pytest.approx(76_047.87, abs=0.01)  # MSTR, from the 8-Ks


def test_without_network_data_is_not_enough_data():
    snap = snapshot("2026-02-05T23:59:59Z", daily_prices=daily("BTC-USD", [60_000.0]))
    assert bottom_range.evaluate(snap).status is Status.NOT_ENOUGH_DATA
