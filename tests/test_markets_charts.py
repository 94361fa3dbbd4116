"""The markets figures on the recorded data: the heatmap agrees with the cross-asset table, the drawdown chart
ends at BTC's drawdown, the sector bars follow the ranking, the hedge desk bars are the desk's numbers."""

import numpy as np
import pytest

from capitulation.analytics import hedge_desk
from capitulation.report import markets_charts
from capitulation.signals import cross_asset, hedging, sector_rotation
from synthetic import daily, snapshot


def test_heatmap_is_symmetric_and_matches_the_cross_asset_table(default_snapshot):
    fig = markets_charts.correlation_heatmap(default_snapshot)
    (hm,) = fig.data
    z = np.array(hm.z)
    assert list(hm.x) == ["BTC-USD", "QQQ", "SPY", "GLD", "IAU", "SLV", "TLT", "UUP", "MSTR", "IBIT"]
    assert np.allclose(z, z.T) and np.allclose(np.diag(z), 1.0)
    tab = cross_asset.cross_asset(default_snapshot).table
    for j, sym in enumerate(hm.x[1:], start=1):
        assert z[0, j] == pytest.approx(tab.loc[sym, "corr_90d"], rel=1e-12)


def test_drawdown_chart_ends_at_the_drawdowns_from_the_high(default_snapshot):
    fig = markets_charts.drawdown_chart(default_snapshot)
    by_name = {t.name: t for t in fig.data}
    tab = cross_asset.cross_asset(default_snapshot).table
    for sym in ("BTC-USD", "QQQ", "GLD", "SLV", "MSTR"):
        assert by_name[sym].y[-1] == pytest.approx(tab.loc[sym, "drawdown_ath"] * 100, rel=1e-12)


def test_sector_bars_follow_the_ranking(default_snapshot):
    fig = markets_charts.sector_bars(default_snapshot)
    sec = sector_rotation.sectors(default_snapshot)
    assert [t.name for t in fig.data] == ["7 days", "30 days", "90 days"]
    assert list(fig.data[1].x) == list(sec.table.index)
    assert list(fig.data[1].y) == pytest.approx(list(sec.table["vs_btc_30d"] * 100))


def test_hedge_desk_bars_are_the_desks_numbers(default_snapshot):
    fig = markets_charts.hedge_desk(default_snapshot)
    _calm, stress, cost = fig.data
    fam = hedge_desk.desk(default_snapshot.tables, default_snapshot.as_of).families()
    assert list(stress.x) == ["perp short", "MSTR", "QQQ", "GLD"]
    assert list(stress.y) == pytest.approx(list(fam["effectiveness_stress"].dropna()))
    assert list(cost.y) == pytest.approx(list(fam["cost_annualised"].dropna() * 100))
    assert "STALE chain of 2026-01-24" in fig.layout.title.text


def test_the_diversifier_bars_are_signal_7s_numbers(default_snapshot):
    fig = markets_charts.hedging_diversifiers(default_snapshot)
    st = hedging.state(default_snapshot)
    returns, fell_below, eff, median, collapse = fig.data
    assert list(returns.x) == ["BTC", "GLD", "QQQ", "MSTR"]
    assert list(returns.y) == pytest.approx(
        [st.window_return * 100] + [d.window_return * 100 for d in st.judged.values()]
    )
    assert list(returns.text) == ["", "failed", "failed", "failed"]
    assert list(fell_below.y) == pytest.approx([d.fell_below * 100 for d in st.judged.values()])
    assert list(eff.y) == pytest.approx([d.effectiveness for d in st.judged.values()])
    assert list(median.y) == pytest.approx([d.effectiveness_median for d in st.judged.values()])
    assert np.isnan(collapse.y[0]) and collapse.y[2] == pytest.approx(st.judged["MSTR"].collapse_below)  # gold: none
    assert fig.layout.title.text.startswith("Diversifiers, stress window: BTC -49.7% from its 180-day high")


def test_figures_without_their_data_are_none():
    snap = snapshot("2026-02-05T23:59:59Z", daily_prices=daily("QQQ", [1.0] * 10))  # synthetic, no BTC
    for f in (
        markets_charts.correlation_heatmap,
        markets_charts.drawdown_chart,
        markets_charts.sector_bars,
        markets_charts.hedge_desk,
        markets_charts.hedging_diversifiers,
    ):
        assert f(snap) is None, f.__name__
