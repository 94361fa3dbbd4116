"""Figures only the dashboard draws: the GEX profile per dealer model, miner breakevens at a chosen
electricity price, and the signals' statuses over time. The numbers come computed from analytics/signals."""

from __future__ import annotations

import math
from html import escape

import pandas as pd
import plotly.graph_objects as go

from capitulation.report.backtest_charts import COLOURS
from capitulation.report.style import LAYOUT
from capitulation.signals.options_stress import OptionsSummary


def gex_profile(s: OptionsSummary) -> go.Figure:
    """Total dealer GEX (USD millions per 1 % move) over the spot grid, with spot, the flip and the walls."""
    p = s.profile
    fig = go.Figure(go.Scatter(x=p["spot"], y=p["gex_usd"] / 1e6, mode="lines", name=f"total GEX, sticky {s.sticky}"))
    fig.add_hline(y=0, line_color="grey")
    fig.add_vline(x=s.spot, line_dash="dot", annotation_text=f"spot ${s.spot:,.0f}")
    if math.isfinite(s.flip):
        fig.add_vline(x=s.flip, line_color="red", annotation_text=f"flip ${s.flip:,.0f}", annotation_position="bottom")
    lo, hi = float(p["spot"].min()), float(p["spot"].max())
    for name, x, pos in (("call wall", s.walls.call_wall, "top right"), ("put wall", s.walls.put_wall, "top left")):
        if math.isfinite(x) and lo <= x <= hi:
            fig.add_vline(
                x=x, line_color="green", line_dash="dash", annotation_text=f"{name} ${x:,.0f}", annotation_position=pos
            )
    fig.update_layout(
        title=f"Dealer gamma profile ({s.gex.dealer}), chain of {s.timestamp:%Y-%m-%d %H:%M} UTC", **LAYOUT
    )
    fig.update_xaxes(title="spot (USD)")
    fig.update_yaxes(title="USD millions per 1% move")
    return fig


def miner_breakeven(econ: pd.DataFrame, spot: float | None, power_usd_kwh: float) -> go.Figure:
    """Shutdown price per rig (`analytics.mining.rig_economics` rows) as bars, spot as a line."""
    fig = go.Figure(
        go.Bar(
            x=econ["rig"],
            y=econ["shutdown_price_usd"],
            text=[f"${v:,.0f}" for v in econ["shutdown_price_usd"]],
            name="shutdown price",
            marker_color="#7f8c8d",
        )
    )
    if spot is not None:
        fig.add_hline(y=spot, line_color="black", annotation_text=f"BTC ${spot:,.0f}")
    fig.update_layout(title=f"Miner shutdown price by rig at ${power_usd_kwh:.3f}/kWh (power only)", **LAYOUT)
    fig.update_yaxes(title="USD per BTC")
    return fig


def status_history(hist: pd.DataFrame) -> go.Figure:
    """Each signal's status per stored run (`HistoryStore.verdict_history` rows), the headline on hover; in the
    colours of the backtest's strips on the same page (colour-blind-safe, holds not read as good or bad)."""
    fig = go.Figure()
    for status, g in hist.groupby("status", sort=False):
        fig.add_trace(
            go.Scatter(
                x=g["as_of"],
                y=g["signal"],
                mode="markers",
                name=str(status),
                marker=dict(size=14, symbol="square", color=COLOURS.get(str(status), "grey")),
                text=[escape(h) for h in g["headline"]],  # plotly reads a few HTML tags in text
                hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>",
            )
        )
    fig.update_layout(title="Signal status per stored run", **{**LAYOUT, "height": 420})
    fig.update_yaxes(title="signal", categoryorder="category descending")
    return fig
