"""The report's figures on the recorded data: each one present has data; the drawdowns are shaded."""

import pytest

from capitulation.report import leverage_charts
from capitulation.report.charts import all_figures
from capitulation.report.model import build


@pytest.fixture(scope="module")
def figures(default_snapshot):
    return all_figures(build(default_snapshot), default_snapshot)


def test_every_figure_has_data(figures):
    assert set(figures) == {
        "levels",
        "smile",
        "risk_reversals",
        "gex",
        "gex_profile",
        "oi_vs_price",
        "funding",
        "liquidation_density",
        "correlations",
        "drawdowns",
        "sectors",
        "hedging_diversifiers",
        "hedge_desk",
    }
    for key, fig in figures.items():
        assert any(len(t.y) for t in fig.data if t.y is not None), key


def test_oi_chart_shades_the_open_drawdown(default_snapshot):
    fig = leverage_charts.oi_vs_price(default_snapshot)
    shades = [s for s in fig.layout.shapes if s.type == "rect"]
    assert shades, "the 2025-10 -> 2026-02 decline should be shaded"
    assert str(shades[-1].x1).startswith("2026-02-05")


def test_liquidation_density_splits_longs_below_and_shorts_above(default_snapshot):
    fig = leverage_charts.liquidation_density(default_snapshot)
    longs, shorts = fig.data
    assert max(longs.x) < 62_702.1 < min(shorts.x)
