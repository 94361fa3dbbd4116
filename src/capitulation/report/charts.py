"""The report's figures: the levels map here, the options and leverage figures in their own modules."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.graph_objects as go

from capitulation.report import leverage_charts, markets_charts, options_charts
from capitulation.report.model import Report
from capitulation.report.style import INK, LAYOUT
from capitulation.snapshot import Snapshot


def levels_ladder(rep: Report) -> go.Figure | None:
    """Every level of the map as a point on a price axis, with spot."""
    if not rep.ladder or rep.spot is None:
        return None
    lv = pd.DataFrame(
        [(x.price, x.label, x.signal, d) for x, d in rep.ladder], columns=["price", "label", "signal", "distance"]
    )
    fig = go.Figure()
    for sig, g in lv.groupby("signal"):
        fig.add_trace(
            go.Scatter(
                x=[sig] * len(g),
                y=g["price"],
                mode="markers+text",
                name=sig,
                text=g["label"],
                textposition="middle right",
                marker_size=11,
                hovertemplate="%{text}<br>$%{y:,.0f}<extra></extra>",
            )
        )
    fig.add_hline(y=rep.spot, line_color=INK, annotation_text=f"spot ${rep.spot:,.0f}")
    fig.update_layout(title="Levels map around spot", showlegend=False, **{**LAYOUT, "height": 520})
    fig.update_yaxes(title="BTC price (USD)")
    return fig


FROM_SNAPSHOT: dict[str, Callable[[Snapshot], go.Figure | None]] = {
    "smile": options_charts.smile,
    "risk_reversals": options_charts.risk_reversal_term,
    "gex": options_charts.gex_strikes,
    "gex_profile": options_charts.gex_profile_chart,
    "oi_vs_price": leverage_charts.oi_vs_price,
    "funding": leverage_charts.funding,
    "liquidation_density": leverage_charts.liquidation_density,
    "correlations": markets_charts.correlation_heatmap,
    "drawdowns": markets_charts.drawdown_chart,
    "sectors": markets_charts.sector_bars,
    "hedging_diversifiers": markets_charts.hedging_diversifiers,
    "hedge_desk": markets_charts.hedge_desk,
}
"""The figures drawn from the snapshot alone, by key."""
FIGURES = ("levels", *FROM_SNAPSHOT)
"""Every figure's key: the dashboard builds one page's figures when the page is first opened."""


def figure(key: str, rep: Report, snap: Snapshot) -> go.Figure | None:
    """The report's figure `key` (one of `FIGURES`), None when its data is absent."""
    return levels_ladder(rep) if key == "levels" else FROM_SNAPSHOT[key](snap)


def all_figures(rep: Report, snap: Snapshot) -> dict[str, go.Figure]:
    """The report's figures by key, skipping those whose data is absent."""
    figs = {k: figure(k, rep, snap) for k in FIGURES}
    return {k: v for k, v in figs.items() if v is not None}
