"""Markets figures: the cross-asset correlation heatmap, drawdowns from the all-time high, sector strength
against BTC, the diversifiers in the stress window (signal 7) and the hedge desk's table.

Each returns None when its data is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capitulation.analytics.cross_asset import closes, correlation_matrix, drawdown_path
from capitulation.analytics.hedge_desk import Puts, desk
from capitulation.errors import DataError
from capitulation.report.style import BTC_COLOUR, INK, LAYOUT
from capitulation.signals import cross_asset, hedging, sector_rotation
from capitulation.signals.common import BTC
from capitulation.snapshot import Snapshot

HEATMAP_WINDOW = 90  # common trading days
ONE_ETF = "IBIT"  # the spot ETFs move together: one stands for them in the heatmap
DRAWDOWN_SYMBOLS = (BTC, "QQQ", "SPY", "GLD", "SLV", "MSTR")


def correlation_heatmap(snap: Snapshot) -> go.Figure | None:
    """Pairwise correlations of daily log returns over each pair's last 90 common trading days."""
    ca = cross_asset.cross_asset(snap)
    px = snap.get("daily_prices")
    if isinstance(ca, str) or px is None:
        return None
    keep = [s for s in ca.table.index if ca.table.loc[s, "group"] != "spot BTC ETF" or s == ONE_ETF]
    m = correlation_matrix(closes(px, keep), HEATMAP_WINDOW)
    text = np.where(np.isnan(m.to_numpy()), "n/a", np.vectorize(lambda x: f"{x:+.2f}")(m.to_numpy()))
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(),
            x=list(m.columns),
            y=list(m.index),
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            text=text,
            texttemplate="%{text}",
            hovertemplate="%{y} / %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"Correlation of daily returns, last {HEATMAP_WINDOW} common trading days (BTC at its UTC close)",
        **{**LAYOUT, "height": 520},
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def drawdown_chart(snap: Snapshot, days: int = 365) -> go.Figure | None:
    """Drawdown from the running all-time high (percent) of BTC, stocks, metals and MSTR over the last `days`."""
    px = snap.get("daily_prices")
    if px is None:
        return None
    wide = closes(px, DRAWDOWN_SYMBOLS)
    if BTC not in wide.columns:
        return None
    start = snap.as_of - pd.Timedelta(days=days)
    fig = go.Figure()
    for sym in wide.columns:
        dd = drawdown_path(wide[sym])
        dd = dd[dd.index >= start]
        line = {"color": BTC_COLOUR, "width": 3} if sym == BTC else {}
        fig.add_trace(go.Scatter(x=dd.index, y=dd * 100, name=sym, line=line))
    fig.update_layout(title="Drawdown from the all-time high", **LAYOUT)
    fig.update_yaxes(title="% below the all-time high")
    return fig


def sector_bars(snap: Snapshot) -> go.Figure | None:
    """Each sector basket's return relative to BTC over 7/30/90 days (percent), strongest over 30 days first."""
    sec = sector_rotation.sectors(snap)
    if isinstance(sec, str):
        return None
    fig = go.Figure()
    for d in sector_rotation.DAYS:
        fig.add_trace(go.Bar(x=list(sec.table.index), y=sec.table[f"vs_btc_{d}d"] * 100, name=f"{d} days"))
    fig.add_hline(y=0, line_color="grey")
    fig.update_layout(
        title=f"Sector baskets vs BTC to {sec.end:%Y-%m-%d} (equal weight, rebalanced monthly)",
        barmode="group",
        **LAYOUT,
    )
    fig.update_yaxes(title="% relative to BTC")
    return fig


def hedging_diversifiers(snap: Snapshot) -> go.Figure | None:
    """Signal 7's figures: each diversifier's return over the stress window against the return below which
    it fell (its own lower quartile of weeks), beside BTC's; and its rho^2 with BTC over the last 20 sessions
    against its historical median and the collapse threshold."""
    st = hedging.state(snap)
    if isinstance(st, str) or not st.judged:
        return None
    th = hedging.Thresholds()
    d = st.judged
    names = list(d)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"return over the last {th.window_days} days, %", "effectiveness rho^2 with BTC"),
    )
    fig.add_trace(
        go.Bar(
            x=["BTC", *names],
            y=[st.window_return * 100, *(x.window_return * 100 for x in d.values())],
            name="window return",
            marker_color=[BTC_COLOUR, *("#c0392b" if x.failed else "#27ae60" for x in d.values())],
            text=["", *("failed" if x.failed else "did not fail" for x in d.values())],
            textposition="outside",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[x.fell_below * 100 for x in d.values()],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 28, "color": INK},
            name="fell below (its lower quartile)",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(x=names, y=[x.effectiveness for x in d.values()], name="rho^2, last 20 sessions"), row=1, col=2
    )
    fig.add_trace(
        go.Bar(x=names, y=[x.effectiveness_median for x in d.values()], name="rho^2, median before"), row=1, col=2
    )
    fig.add_trace(
        go.Scatter(
            x=names,
            y=[np.nan if x.collapse_below is None else x.collapse_below for x in d.values()],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 28, "color": "#c0392b"},
            name="collapse below",
        ),
        row=1,
        col=2,
    )
    window = "stress window" if st.stress else "no stress window"
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    fig.update_layout(
        title=f"Diversifiers, {window}: BTC {st.drawdown:+.1%} from its {th.high_lookback_days}-day high, "
        f"{st.window_return:+.1%} over {th.window_days} days",
        barmode="group",
        **{**LAYOUT, "height": 420},
    )
    return fig


def hedge_desk(snap: Snapshot) -> go.Figure | None:
    """The hedge desk for $1M of BTC over 30 days: each hedge's effectiveness (rho^2) calm vs stress, and the
    cost a year of the puts and the perp short (percent of notional; negative = income)."""
    try:
        d = desk(snap.tables, snap.as_of)
    except DataError:
        return None
    fam = d.families()
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.55, 0.45],
        subplot_titles=("effectiveness rho^2 (share of BTC variance removed)", "cost, % of notional a year"),
    )
    eff = fam.dropna(subset=["effectiveness_calm", "effectiveness_stress"], how="all")
    names = [i if f == "proxy short" else f for f, i in zip(eff["family"], eff["instrument"], strict=True)]
    for regime, colour in (("calm", "#7f8c8d"), ("stress", "#c0392b")):
        y, n = eff[f"effectiveness_{regime}"], eff[f"n_{regime}"]
        text = [f"{v:.2f} (n={k:.0f})" if pd.notna(v) else "n/a" for v, k in zip(y, n, strict=True)]
        fig.add_trace(
            go.Bar(x=names, y=y, name=regime, marker_color=colour, text=text, textposition="outside"), row=1, col=1
        )
    cost = fam.dropna(subset=["cost_annualised"])
    labels = [f"{f}: {i.split(',')[0]}" for f, i in zip(cost["family"], cost["instrument"], strict=True)]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=cost["cost_annualised"] * 100,
            name="cost a year",
            marker_color="#2471a3",
            text=[f"{v * 100:+.1f}%" for v in cost["cost_annualised"]],
            textposition="outside",
            hovertext=list(cost["note"]),
        ),
        row=1,
        col=2,
    )
    stale = ""
    if isinstance(d.puts, Puts) and not d.puts.fresh:
        stale = f"; puts from the STALE chain of {d.puts.chain_time:%Y-%m-%d}"
    fig.update_yaxes(range=[0, 1.1], row=1, col=1)
    fig.update_layout(
        title=f"Hedge desk: long BTC for {d.horizon_days} days, stress = declines of {d.stress_drawdown:.0%}+ since "
        f"{d.lookback_start:%Y-%m-%d}{stale}",
        barmode="group",
        **{**LAYOUT, "height": 460},
    )
    return fig
