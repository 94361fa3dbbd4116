"""The metric-label registry: every metric of the eight signals has a human label, and values print in
their unit."""

from __future__ import annotations

import math

import pytest

from capitulation.signals import evaluate_all, labels


def test_every_metric_of_the_eight_signals_has_a_label(default_snapshot, recorded_full):
    # the default day (chain stale: DVOL decides) and a day with a fresh chain (the options metrics)
    for snap in (default_snapshot, recorded_full.upto("2026-01-24")):
        keys = {m.name for v in evaluate_all(snap) for m in v.metrics}
        assert [k for k in sorted(keys) if labels.label(k) is None] == []
        assert all(
            "_" not in labels.label(k).label for k in keys if not k.startswith(tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        )


@pytest.mark.parametrize(
    ("key", "value", "label", "text"),
    [
        ("oi_btc", 93491.5, "Open interest", "93,492 BTC"),
        ("oi_usd", 6.287e9, "Open interest", "$6.29B"),
        ("flush_ratio_btc", 0.3634, "OI build-up removed (in BTC)", "36.3%"),
        ("oi_change_1d", 0.0545, "OI change, 1 day", "+5.5%"),
        ("btc_drawdown_90d", -0.4085, "BTC drawdown from its high of the last 90 days", "-40.8%"),
        ("QQQ_rel_drawdown_90d", 0.3513, "QQQ drawdown minus BTC's, 90 days", "+35.1 pts"),
        ("BTC-USD_drawdown_ath", -0.4974, "BTC drawdown from its all-time high", "-49.7%"),
        ("SPY_corr_30d", 0.5652, "SPY correlation with BTC, 30 days", "+0.57"),
        ("metaverse_gaming_vs_btc_7d", -0.0249, "metaverse gaming vs BTC, 7 days", "-2.5 pts"),
        ("dvol_change_14d", 0.4374, "DVOL change, 14 days", "+43.7 vol pts"),
        ("rr25_30d", -0.052, "25-delta risk reversal, 30 days", "-5.2 vol pts"),
        ("gamma_flip", 88827.4, "Gamma flip", "$88,827"),
        ("mnav_ev", 0.98870, "MSTR mNAV (enterprise value)", "0.989"),
        ("network_hashrate_ehs", 912.49, "Network hashrate", "912.5 EH/s"),
        ("holdings_age_days", 3.0, "Holdings report age", "3 days"),
    ],
)
def test_a_metric_reads_with_its_label_and_unit(key, value, label, text):
    assert labels.describe(key, value) == (label, text)


def test_a_missing_value_is_na_and_an_unknown_key_is_humanised_not_raw():
    assert labels.describe("mnav", math.nan) == ("MSTR mNAV", "n/a")
    assert labels.describe("mnav", None) == ("MSTR mNAV", "n/a")
    assert labels.label("made_up_metric") is None
    assert labels.describe("made_up_metric", 1.5) == ("made up metric", "1.5")
