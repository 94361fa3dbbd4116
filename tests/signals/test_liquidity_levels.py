"""Signal 4, liquidity levels: a long-liquidation flush not yet recovered, on synthetic inputs (labelled) and
on the recorded history (observed liquidations to 2025-09, the liquidation map on Binance's OI after)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.signals import liquidity_levels as ll
from capitulation.snapshot import utc
from capitulation.tables import AGGREGATE
from capitulation.verdict import Status
from synthetic import daily, perps, snapshot

AS_OF = "2026-02-05T23:59:59Z"


def synthetic_liquidations(long_usd: list[float] | np.ndarray, end: str = "2026-02-05") -> pd.DataFrame:
    """Synthetic daily aggregate liquidations ending on `end` (short side a fixed made-up 1M)."""
    days = pd.date_range(end=end, periods=len(long_usd), freq="D", tz="UTC")
    long_ = np.asarray(long_usd, float)
    return pd.DataFrame(
        {
            "date": days,
            "venue": AGGREGATE,
            "symbol": "BTC",
            "long_usd": long_,
            "short_usd": 1e6,
            "total_usd": long_ + 1e6,
        }
    )


def quiet_year(n: int = 365) -> np.ndarray:
    """Synthetic: distinct quiet days of 10-20M."""
    return 10e6 + 10e6 * (np.arange(n) % 97) / 97


def test_holds_after_an_observed_flush_while_price_stays_below_where_it_fell_from():
    # synthetic: a quiet year, then $500M of longs liquidated 5 days ago as BTC fell from 100k to 80k
    liq = quiet_year()
    liq[-5] = 500e6
    px = np.r_[np.full(360, 100_000.0), np.full(5, 80_000.0)]
    v = ll.evaluate(snapshot(AS_OF, liquidations=synthetic_liquidations(liq), daily_prices=daily("BTC-USD", px)))
    assert v.status is Status.HOLDS
    assert v.metric("flush_day_long").value == 500e6 and v.metric("flush_rank").value == 1.0
    assert v.metric("close_before_flush").value == 100_000.0
    # no past trough in a year without a 20 % drawdown rally: the fallback rank
    assert v.metric("flush_rank_threshold").value == ll.Thresholds().fallback_rank
    assert "liquidations" in v.as_dict()["tables"]
    assert any("liquidation map: no perp open-interest data" in e for e in v.evidence)


def test_a_flush_price_has_climbed_back_above_does_not_hold():
    liq = quiet_year()
    liq[-5] = 500e6
    px = np.r_[np.full(360, 100_000.0), np.full(4, 80_000.0), 101_000.0]
    v = ll.evaluate(snapshot(AS_OF, liquidations=synthetic_liquidations(liq), daily_prices=daily("BTC-USD", px)))
    assert v.status is Status.DOES_NOT_HOLD and "recovered" in v.headline


def test_quiet_days_are_no_flush():
    # synthetic: the last month's largest day is 19.9M, above 1 - 30/97 of the year's days at best
    liq = quiet_year()
    v = ll.evaluate(
        snapshot(AS_OF, liquidations=synthetic_liquidations(liq), daily_prices=daily("BTC-USD", np.full(365, 9e4)))
    )
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("no long flush")
    year = liq
    top = liq[-30:].max()
    assert v.metric("flush_rank").value == pytest.approx(((year < top).sum() + 1) / 365)


def test_a_configured_rank_overrides_the_learned_one():
    liq = quiet_year()
    liq[-5] = 500e6
    snap = snapshot(AS_OF, liquidations=synthetic_liquidations(liq), daily_prices=daily("BTC-USD", np.full(365, 9e4)))
    v = ll.evaluate(snap, ll.Thresholds(rank=0.5))
    assert v.metric("flush_rank_threshold").value == 0.5 and any("configured" in e for e in v.evidence)


def test_the_threshold_is_the_lower_quartile_of_the_ranks_at_past_confirmed_troughs():
    # synthetic: four 30 % drawdowns (each followed by a 30 % rally, so confirmed) with a long-liquidation
    # day of 100, 200, 300 and 400 (x 1M) on their trough days, over quiet days of 1..60 (x 1M); a fifth
    # decline is still open at as_of and does not count
    cycle = np.r_[np.linspace(100.0, 70.0, 60), np.linspace(70.0, 100.0, 60)]
    px = np.r_[np.tile(cycle, 4), np.linspace(100.0, 70.0, 60)]
    days = pd.date_range(end="2026-02-05", periods=len(px), freq="D", tz="UTC")
    liq = pd.Series(1e6 * (1 + np.arange(len(px)) % 60), index=days)
    troughs = [days[59 + 120 * k] for k in range(4)]
    for k, t in enumerate(troughs):
        liq[t] = 1e6 * 100 * (k + 1)
    close = pd.Series(px, index=days)
    limit, why, ranks = ll.learned_rank(liq, close, utc(AS_OF), ll.Thresholds())
    expected = []
    for t in troughs:  # by hand: the trough day is the largest of its last 30 days; rank in its trailing year
        year = liq[(liq.index > t - pd.Timedelta(days=365)) & (liq.index <= t)]
        expected.append(((year < liq[t]).sum() + 1) / len(year))
    assert ranks == pytest.approx(expected)
    assert limit == pytest.approx(np.quantile(expected, 0.25)) and "4 past confirmed" in why


def _map_snapshot(px_8h: np.ndarray, oi: float = 10_000.0):
    """Synthetic: constant OI on an 8h grid ending 2026-02-05 16:00, the closes of the same path by day."""
    stamps = pd.date_range(end="2026-02-05T16:00Z", periods=len(px_8h), freq="8h", tz="UTC")
    closes = pd.Series(px_8h, index=stamps).groupby(stamps.floor("D")).last()
    return snapshot(AS_OF, perp_metrics=perps([oi] * len(px_8h), px_8h), daily_prices=daily("BTC-USD", closes))


def test_without_observed_liquidations_the_map_decides_and_conserves_the_oi():
    # synthetic: 110 days flat at 100k with a 0.5 % wiggle, then the last day falls to 85k
    px = 100_000.0 * (1 + 0.005 * np.sin(np.arange(330)))
    px[-3:] = 85_000.0
    v = ll.evaluate(_map_snapshot(px))
    assert v.status is Status.HOLDS and "modelled" in v.evidence[0]
    assert v.metric("model_open_btc").value == pytest.approx(v.metric("model_oi_btc").value, rel=1e-12)
    assert v.metric("flush_rank").value == 1.0
    assert v.metric("flush_day_long").value > 0.3  # 10x, 25x, 50x and 100x longs opened near 100k (80 %)


def test_a_flat_market_sweeps_nothing_and_does_not_hold():
    v = ll.evaluate(_map_snapshot(np.full(330, 100_000.0)))
    assert v.status is Status.DOES_NOT_HOLD
    assert v.metric("flush_day_long").value == 0.0


def test_a_map_too_young_to_rank_and_no_liquidations_is_not_enough_data():
    # 40 days of OI: past the 30 days a history needs, but its first 30 (the warm-up) are not ranked
    v = ll.evaluate(_map_snapshot(np.full(120, 100_000.0)))
    assert v.status is Status.NOT_ENOUGH_DATA and "fewer than 20 days" in v.headline


def test_no_table_at_all_is_not_enough_data_with_the_reason():
    v = ll.evaluate(snapshot(AS_OF, daily_prices=daily("BTC-USD", [1.0, 2.0])))
    assert v.status is Status.NOT_ENOUGH_DATA
    assert "no observed liquidations" in v.headline and "no perp open-interest data" in v.headline


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0.0, 1e9), min_size=20, max_size=120), st.integers(1, 60))
def test_the_rank_is_a_share_of_the_year_and_the_largest_recent_day(values, recent):
    days = pd.date_range(end="2026-02-05", periods=len(values), freq="D", tz="UTC")
    s = pd.Series(values, index=days)
    close = pd.Series(1.0, index=days - pd.Timedelta(days=1))
    f = ll.flush(s, close, utc(AS_OF), ll.Thresholds(recent_days=recent))
    assert f is not None
    assert f.value == max(values[-recent:])
    assert 0 < f.rank <= 1 and f.rank == (sum(v < f.value for v in values) + 1) / len(values)


# --- the recorded history -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def at(recorded_full):
    return lambda day: ll.evaluate(recorded_full.upto(f"{day}T23:59:59Z"))


def test_the_map_holds_all_the_open_interest_it_models_at_the_capitulation_day(default_snapshot):
    lm = ll.liquidation_map(default_snapshot)
    assert lm.venue.startswith("binance BTCUSDT")
    # the old map held $255M of open mass against $6.29B of OI; now the open mass is the OI, in BTC
    assert lm.current.open_btc == pytest.approx(lm.current.oi_btc, rel=1e-9)
    assert lm.current.oi_btc == pytest.approx(93_492.0, abs=1)
    assert lm.current.cohorts["btc"].sum() == pytest.approx(lm.current.oi_btc, rel=1e-9)
    # in USD at their liquidation prices the open levels weigh about the OI's value, not 4 % of it
    open_usd = lm.longs["notional_usd"].sum() + lm.shorts["notional_usd"].sum()
    assert 0.5 < open_usd / (lm.current.oi_btc * lm.spot) < 2.0
    assert lm.reference is not None and lm.reference.name.startswith("aggregate BTC-CG")


def test_holds_on_the_capitulation_day_and_the_day_after_the_2025_10_10_crash(at):
    for day in ("2026-02-05", "2025-10-11"):
        v = at(day)
        assert v.status is Status.HOLDS, (day, v.headline)
        assert "modelled" in v.evidence[0]  # observed liquidations end 2025-09-08


def test_observed_flushes_decide_at_the_2021_and_2022_troughs_and_not_at_the_peaks(at):
    v = at("2021-06-08")
    assert v.status is Status.HOLDS and v.metric("flush_day_long").value == pytest.approx(1.386e9, rel=1e-3)
    assert v.as_dict()["tables"] == ["daily_prices", "liquidations", "perp_metrics"]
    assert at("2022-06-18").status is Status.HOLDS
    for peak in ("2021-11-08", "2022-03-29", "2024-03-13", "2025-01-21"):
        assert at(peak).status is Status.DOES_NOT_HOLD, peak


def test_the_calibration_scales_the_model_onto_the_observed_liquidations(recorded_full):
    lm = ll.liquidation_map(recorded_full.upto("2025-09-08T23:59:59Z"))
    long_fit, short_fit = lm.calibration
    assert lm.reference.name.startswith("aggregate BTC-CG") and long_fit.days == 365
    daily_ = lm.reference.daily
    observed = ll.observed_liquidations(recorded_full.upto("2025-09-08T23:59:59Z"))
    window = daily_.index[(daily_.index > utc("2024-09-08")) & daily_.index.isin(observed.index)]
    # by definition of the scale: scaled model and observed agree on the year's total
    scaled = long_fit.scale * daily_.loc[window, "long_usd"].sum()
    assert scaled == pytest.approx(observed.loc[window, "long_usd"].sum(), rel=1e-9)
    # and the daily figures move together (Pearson over the year)
    assert long_fit.correlation > 0.3 and short_fit.correlation > 0.3


def test_decisive_on_nine_in_ten_month_ends_2021_04_to_2026_02(at):
    ends = pd.date_range("2021-04-30", "2026-02-28", freq="ME")
    statuses = [at(f"{d:%Y-%m-%d}").status for d in ends]
    decided = sum(s is not Status.NOT_ENOUGH_DATA for s in statuses)
    assert decided / len(ends) >= 0.9
    assert Status.HOLDS in statuses and Status.DOES_NOT_HOLD in statuses
