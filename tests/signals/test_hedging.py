"""Signal 7, the diversifiers in the stress window: synthetic markets where gold, Nasdaq and MSTR fall with
BTC, hold up or decouple; no stress at the highs or in a rising week; missing, short or stale data; and the
recorded history (2026-02-05 by hand, the 2024-07-07 trough where gold rose, the peaks, the month-ends)."""

import numpy as np
import pandas as pd
import pytest

from capitulation.signals import hedging
from capitulation.verdict import Status
from synthetic import daily, snapshot

AS_OF = "2026-02-05T23:59:59Z"  # a Thursday: the last 7 days hold the sessions Fri 01-30 .. Thu 02-05


def _market(
    gld: float = -0.01,
    qqq: float = -0.02,
    mstr: float = -0.04,
    btc_last_week: float | None = None,
    decline: float = 0.4,
    mstr_decouples: bool = False,
    seed: int = 7,
) -> pd.DataFrame:
    """Synthetic daily_prices: 1000 days of BTC (noisy, then a fall of `decline` over the last 60 days, or a
    rise when `decline` is 0); GLD, QQQ and MSTR on weekdays only (BTC beta 0, 0.2 and 1.5 plus noise),
    each with the given log return per session over the last 5 sessions. `btc_last_week`: BTC's log return
    per day over the last 7 days instead. `mstr_decouples`: MSTR's last 20 sessions are noise around 0."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(end="2026-02-05", periods=1000, freq="D", tz="UTC")
    rb = rng.normal(0.001, 0.03, len(days))
    rb[-60:] = (np.log(1 - decline) if decline else 0.3) / 60 + rng.normal(0, 0.002, 60)
    if btc_last_week is not None:
        rb[-7:] = btc_last_week
    weekday = days.day_of_week < 5
    cum = np.cumsum(rb)[weekday]
    rb_session = np.diff(cum, prepend=cum[0])  # BTC's move since the previous session, weekends included
    frames = [daily("BTC-USD", 100 * np.exp(np.cumsum(rb)))]
    for sym, beta, sd, last in (("GLD", 0.0, 0.008, gld), ("QQQ", 0.2, 0.01, qqq), ("MSTR", 1.5, 0.02, mstr)):
        r = beta * rb_session + rng.normal(0, sd, weekday.sum())
        if sym == "MSTR" and mstr_decouples:
            r[-20:] = np.tile([0.03, -0.03], 10)[:20]
        r[-5:] = last if not (sym == "MSTR" and mstr_decouples) else r[-5:]
        frames.append(daily(sym, 100 * np.exp(np.cumsum(np.r_[0.0, r[1:]]))).assign(date=days[weekday]))
    return pd.concat(frames, ignore_index=True)


DEFAULT = hedging.Thresholds()


def _evaluate(prices: pd.DataFrame, as_of: str = AS_OF, th: hedging.Thresholds = DEFAULT):
    snap = snapshot(as_of, daily_prices=prices)
    return hedging.evaluate(snap, th), hedging.state(snap, th)


def test_holds_when_gold_nasdaq_and_mstr_all_fell_with_btc():
    v, st = _evaluate(_market())
    assert v.status is Status.HOLDS and st.stress
    assert st.drawdown <= -0.4 + 1e-9 and st.window_return < 0
    d = st.judged
    assert set(d) == {"GLD", "QQQ", "MSTR"} and all(x.fell and x.failed for x in d.values())
    # the window's 5 sessions each returned the given log return: exp(5 r) - 1
    assert d["GLD"].window_sessions == 5 and d["GLD"].window_return == pytest.approx(np.expm1(-0.05), rel=1e-12)
    assert d["MSTR"].window_return == pytest.approx(np.expm1(-0.20), rel=1e-12)
    assert v.headline.startswith("the diversifiers failed with BTC") and "GLD -4.9%" in v.headline
    assert v.metric("diversifiers_failed").value == v.metric("diversifiers_judged").value == 3


@pytest.mark.parametrize(("gld", "word"), [(0.004, "rose"), (-0.0005, "flat")])
def test_does_not_hold_when_gold_rose_or_was_flat_while_btc_fell(gld, word):
    v, st = _evaluate(_market(gld=gld))
    g = st.judged["GLD"]
    assert st.stress and not g.fell and not g.failed, word
    assert g.fell_below < g.window_return  # flat is within its own lower quartile of weeks
    assert v.status is Status.DOES_NOT_HOLD
    assert v.headline.startswith(f"not every diversifier failed: GLD {g.window_return * 100:+.1f}% did not")


def test_a_proxy_whose_effectiveness_collapsed_failed_even_without_falling():
    v, st = _evaluate(_market(mstr_decouples=True))
    m = st.judged["MSTR"]
    assert not m.fell and m.collapsed and m.failed
    assert m.effectiveness < m.collapse_below < m.effectiveness_median  # about 0.8 in its history
    assert v.status is Status.HOLDS
    assert any(e.startswith("MSTR (BTC proxy) FAILED: its effectiveness collapsed") for e in v.evidence)


def test_a_diversifier_that_never_hedged_gets_no_collapse_test():
    _, st = _evaluate(_market())
    g = st.judged["GLD"]  # independent of BTC: median rho^2 near 0
    assert g.effectiveness_median < 0.1 and g.collapse_below is None and not g.collapsed


def test_the_effectiveness_is_rho_squared_of_the_last_20_common_returns_by_hand():
    prices = _market()
    _, st = _evaluate(prices)
    wide = prices.pivot_table(index="date", columns="symbol", values="close")[["BTC-USD", "QQQ"]].dropna()
    r = np.log(wide).diff().dropna().tail(20)
    assert st.judged["QQQ"].effectiveness == pytest.approx(np.corrcoef(r["BTC-USD"], r["QQQ"])[0, 1] ** 2, rel=1e-10)
    assert st.judged["QQQ"].effectiveness_from == r.index[0]


def test_no_stress_window_near_the_highs():
    v, st = _evaluate(_market(decline=0.0))
    assert not st.stress and st.drawdown > -0.2
    assert v.status is Status.DOES_NOT_HOLD
    assert (
        v.headline.startswith("no stress window: BTC ") and "from its 180-day high (stress from -20.0%)" in v.headline
    )


def test_no_stress_window_when_btc_rose_over_the_week_even_far_below_its_high():
    v, st = _evaluate(_market(btc_last_week=0.01))
    assert st.drawdown < -0.2 and st.window_return == pytest.approx(np.expm1(0.07), rel=1e-12)
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("no stress window: BTC +7.3% over the last 7")


def test_the_thresholds_are_overridable():
    v, _ = _evaluate(_market(), th=hedging.Thresholds(stress_drawdown=0.5))
    assert v.status is Status.DOES_NOT_HOLD and "stress from -50.0%" in v.headline
    _, st = _evaluate(_market(), th=hedging.Thresholds(fell_quantile=0.5))
    _, base = _evaluate(_market())
    assert st.judged["QQQ"].fell_below > base.judged["QQQ"].fell_below  # the median is above the lower quartile


def test_the_reference_takes_nothing_from_the_decline():
    prices = _market()
    _, st = _evaluate(prices)
    # rewrite the diversifiers' closes inside the decline (after BTC's high, before the last 20 sessions)
    cut = st.judged["GLD"].effectiveness_from
    inside = (prices["symbol"] != "BTC-USD") & (prices["date"] > st.high_date) & (prices["date"] < cut)
    changed = prices.copy()
    changed.loc[inside, "close"] *= np.random.default_rng(3).uniform(0.5, 1.5, inside.sum())
    _, after = _evaluate(changed)
    for sym in ("GLD", "QQQ", "MSTR"):
        a, b = st.judged[sym], after.judged[sym]
        assert (a.fell_below, a.effectiveness_median, a.collapse_below, a.reference_to) == (
            b.fell_below,
            b.effectiveness_median,
            b.collapse_below,
            b.reference_to,
        )
        assert a.reference_to < st.high_date


def test_a_diversifier_with_too_little_history_is_not_judged_and_one_is_not_enough():
    prices = _market()
    young = prices[(prices["symbol"] != "QQQ") | (prices["date"] > pd.Timestamp("2025-09-01", tz="UTC"))]
    v, st = _evaluate(young)
    assert "windows of history in the 730 days before" in st.diversifiers["QQQ"]
    assert st.diversifiers["QQQ"].endswith("(needs 120)") and v.status is Status.HOLDS
    assert any(e.startswith("QQQ (Nasdaq 100): not judged, ") for e in v.evidence)
    v, _ = _evaluate(young[young["symbol"] != "MSTR"])
    assert v.status is Status.NOT_ENOUGH_DATA
    assert v.headline == "stress window, but only 1 of 3 diversifiers have enough data"


def test_missing_or_stale_prices_are_not_enough_data():
    assert hedging.evaluate(snapshot(AS_OF)).headline == "no daily prices"
    v, _ = _evaluate(_market(), as_of="2026-02-15T23:59:59Z")
    assert v.status is Status.NOT_ENOUGH_DATA and v.headline == "no recent BTC-USD close (latest 2026-02-05)"
    prices = _market()
    stale_gold = prices[(prices["symbol"] != "GLD") | (prices["date"] < pd.Timestamp("2026-01-20", tz="UTC"))]
    _, st = _evaluate(stale_gold)
    assert st.diversifiers["GLD"] == "no recent close in common with BTC-USD (latest 2026-01-19)"


# --- the recorded history ---------------------------------------------------------------------------------


def _close(snap, sym: str, date: str) -> float:
    px = snap.tables["daily_prices"]
    return float(px[(px["symbol"] == sym) & (px["date"] == pd.Timestamp(date, tz="UTC"))]["close"].iloc[0])


def test_holds_at_the_2026_02_05_capitulation_with_its_figures_by_hand(default_snapshot):
    snap = default_snapshot
    v, st = hedging.evaluate(snap), hedging.state(snap)
    assert v.status is Status.HOLDS
    px = snap.tables["daily_prices"]
    btc = px[px["symbol"] == "BTC-USD"].set_index("date")["close"].sort_index()
    half_year = btc[btc.index > pd.Timestamp("2025-08-09T23:59:59Z")]
    assert st.high_date == pd.Timestamp("2025-10-06", tz="UTC") == half_year.idxmax()
    assert st.drawdown == pytest.approx(btc.iloc[-1] / half_year.max() - 1, rel=1e-12)  # -49.7 %
    assert st.window_return == pytest.approx(btc.iloc[-1] / _close(snap, "BTC-USD", "2026-01-29") - 1, rel=1e-12)
    for sym in ("GLD", "QQQ", "MSTR"):
        d = st.judged[sym]
        by_hand = _close(snap, sym, "2026-02-05") / _close(snap, sym, "2026-01-29") - 1
        assert d.window_return == pytest.approx(by_hand, rel=1e-12) and d.window_sessions == 5
        assert d.fell and d.btc_window_return < 0
    assert st.judged["GLD"].window_return == pytest.approx(-0.109, abs=5e-4)  # gold sold with BTC
    assert {m.tables for m in v.metrics} == {("daily_prices",)}


def test_the_fell_threshold_is_gold_s_lower_quartile_of_weeks_before_the_decline_by_hand(default_snapshot):
    st = hedging.state(default_snapshot)
    px = default_snapshot.tables["daily_prices"]
    wide = px.pivot_table(index="date", columns="symbol", values="close")[["BTC-USD", "GLD"]].dropna()
    end = pd.Timestamp("2025-10-06", tz="UTC")  # BTC's high: the decline began
    weeks = []
    for t in wide.index[(wide.index >= end - pd.Timedelta(days=730)) & (wide.index < end)]:
        inside = wide.index[(wide.index > t - pd.Timedelta(days=7)) & (wide.index <= t)]
        prev = wide.index[wide.index <= t - pd.Timedelta(days=7)][-1]
        if len(inside) >= 3:
            weeks.append(wide.loc[t, "GLD"] / wide.loc[prev, "GLD"] - 1)
    g = st.judged["GLD"]
    assert g.reference_windows == len(weeks) and g.reference_to < end
    assert g.fell_below == pytest.approx(min(0.0, np.quantile(weeks, 0.25)), rel=1e-10)


def test_does_not_hold_at_the_2024_07_07_trough_where_gold_and_nasdaq_rose(recorded_full):
    snap = recorded_full.upto("2024-07-07T23:59:59Z")  # a Sunday: the week's sessions are 07-01 .. 07-05
    assert _close(snap, "GLD", "2024-07-05") > _close(snap, "GLD", "2024-06-28")
    v, st = hedging.evaluate(snap), hedging.state(snap)
    assert st.stress and st.judged["GLD"].window_sessions == 4  # July 4th
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("not every diversifier failed: GLD +")


PEAKS = (
    "2020-02-12", "2021-01-08", "2021-02-21", "2021-04-13", "2021-06-15", "2021-09-06", "2021-11-08", "2022-03-29",
    "2022-08-13", "2023-07-13", "2024-03-13", "2024-05-20", "2024-07-28", "2025-01-21", "2025-10-06",
)  # fmt: skip


@pytest.mark.parametrize("peak", PEAKS)
def test_no_stress_window_at_the_peaks_of_the_declines(recorded_full, peak):
    v = hedging.evaluate(recorded_full.upto(f"{peak}T23:59:59Z"))
    assert v.status is Status.DOES_NOT_HOLD and v.headline.startswith("no stress window")


def test_decisive_on_nine_month_ends_in_ten_and_both_ways(recorded_full):
    ends = pd.date_range("2021-04-30", "2026-02-28", freq="ME")
    status = [hedging.evaluate(recorded_full.upto(f"{d:%Y-%m-%d}T23:59:59Z")).status for d in ends]
    decisive = [s for s in status if s is not Status.NOT_ENOUGH_DATA]
    assert len(decisive) / len(status) >= 0.9
    assert Status.HOLDS in decisive and Status.DOES_NOT_HOLD in decisive
