"""Leverage figures: OI against price with the drawdowns shaded, funding, liquidation density around spot.

Each returns None when its data is absent. Reused by the dashboard.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capitulation.report.style import BTC_COLOUR, LAYOUT
from capitulation.signals import leverage_flush, liquidity_levels
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot


def oi_vs_price(snap: Snapshot, days: int = 365) -> go.Figure | None:
    """Perp OI in BTC and USD against the BTC close over the last `days`, drawdowns of 20 %+ shaded."""
    p = snap.get("perp_metrics")
    px = closes(snap, BTC)
    if p is None or px.empty:
        return None
    start = snap.as_of - pd.Timedelta(days=days)
    oi = p[p["timestamp"] >= start].dropna(subset=["oi_usd"]).set_index("timestamp").sort_index()
    px = px[px.index >= start]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, specs=[[{"secondary_y": True}], [{}]])
    for (venue, symbol), g in oi.groupby(["venue", "symbol"]):
        if g["oi_btc"].notna().any():
            fig.add_trace(go.Scatter(x=g.index, y=g["oi_btc"], name=f"OI {venue} {symbol} (BTC)"), row=1, col=1)
        fig.add_trace(go.Scatter(x=g.index, y=g["oi_usd"] / 1e9, name=f"OI {venue} {symbol} (USD bn)"), row=2, col=1)
    fig.add_trace(
        go.Scatter(x=px.index, y=px, name="BTC close (USD)", line_color=BTC_COLOUR), row=1, col=1, secondary_y=True
    )
    study = leverage_flush.event_study(snap)
    if study is not None:
        for r in study.table.itertuples():
            if r.trough_date >= start:
                fig.add_vrect(
                    x0=max(r.peak_date, start),
                    x1=r.trough_date,
                    fillcolor="red",
                    opacity=0.08,
                    line_width=0,
                    annotation_text=f"{r.depth:.0%}",
                    annotation_position="top left",
                )
    fig.update_layout(title="Perp open interest vs BTC price (drawdowns of 20%+ shaded)", **{**LAYOUT, "height": 560})
    fig.update_yaxes(title="OI (BTC)", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title="BTC (USD)", row=1, col=1, secondary_y=True)
    fig.update_yaxes(title="OI (USD bn)", row=2, col=1)
    return fig


def funding(snap: Snapshot, days: int = 365) -> go.Figure | None:
    """Funding rate per venue, annualised (fraction per interval x 24 / interval hours x 365), in percent."""
    p = snap.get("perp_metrics")
    if p is None:
        return None
    f = p[p["timestamp"] >= snap.as_of - pd.Timedelta(days=days)].dropna(subset=["funding_rate"])
    if f.empty:
        return None
    fig = go.Figure()
    for (venue, symbol), g in f.groupby(["venue", "symbol"]):
        annual = g["funding_rate"] * 24.0 / g["funding_interval_h"] * 365.0 * 100
        fig.add_trace(go.Scatter(x=g["timestamp"], y=annual, name=f"{venue} {symbol}"))
    fig.add_hline(y=0, line_color="grey")
    fig.update_layout(title="Perp funding, annualised", **LAYOUT)
    fig.update_yaxes(title="% a year")
    return fig


def liquidation_density(snap: Snapshot, window: float = 0.3) -> go.Figure | None:
    """Open liquidation notional by price bucket within `window` of spot: the liquidation map, whose open mass
    is the OI it replays (analytics.liquidation_map), with its calibration against observed liquidations."""
    lm = liquidity_levels.liquidation_map(snap)
    if isinstance(lm, str):
        return None
    lo, hi = lm.spot * (1 - window), lm.spot * (1 + window)
    fig = go.Figure()
    for name, frame, colour in (("longs (below)", lm.longs, "#c0392b"), ("shorts (above)", lm.shorts, "#2471a3")):
        f = frame[(frame["price"] > lo) & (frame["price"] < hi)]
        fig.add_trace(go.Bar(x=f["price"], y=f["notional_usd"] / 1e6, name=name, marker_color=colour))
    fig.add_vline(x=lm.spot, line_dash="dot", annotation_text=f"spot ${lm.spot:,.0f}")
    fit = lm.calibration[0]
    calibrated = (
        f"; longs vs observed: correlation {fit.correlation:.2f}, scale {fit.scale:.2f} ({lm.reference.name})"
        if fit is not None and lm.reference is not None
        else ""
    )
    fig.update_layout(
        title=f"Liquidation map on {lm.venue}: open mass {lm.current.open_btc:,.0f} BTC = OI (a model, not "
        f"observed){calibrated}",
        **LAYOUT,
    )
    fig.update_xaxes(title="liquidation price (USD)")
    fig.update_yaxes(title="USD millions")
    return fig
