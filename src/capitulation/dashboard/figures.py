"""Figures only the dashboard draws: the GEX profile per dealer model, miner breakevens at a chosen
electricity price, and the signals' statuses over time. The numbers come computed from analytics/signals."""

from __future__ import annotations

import datetime
import math
import re
import textwrap
from collections import Counter
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from capitulation.report.style import COLOURS, INK, LAYOUT

if TYPE_CHECKING:
    from capitulation.signals.options_stress import OptionsSummary

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


SOURCES: dict[str, tuple[str, ...]] = {
    "levels": ("daily_prices", "perp_metrics", "option_quotes", "onchain", "treasury_companies", "btc_network"),
    "smile": ("option_quotes",),
    "risk_reversals": ("option_quotes",),
    "gex": ("option_quotes",),
    "gex_profile": ("option_quotes",),
    "oi_vs_price": ("perp_metrics", "daily_prices"),
    "funding": ("perp_metrics",),
    "liquidation_density": ("perp_metrics",),
    "correlations": ("daily_prices",),
    "drawdowns": ("daily_prices",),
    "sectors": ("sector_returns",),
    "hedging_diversifiers": ("daily_prices",),
    "hedge_desk": ("daily_prices",),
}
"""The snapshot tables each of `report.charts.FIGURES` draws (named under the chart with their latest date)."""

RANGES = dict(
    buttons=[
        dict(count=7, label="1W", step="day", stepmode="backward"),
        dict(count=1, label="1M", step="month", stepmode="backward"),
        dict(count=3, label="3M", step="month", stepmode="backward"),
        dict(count=1, label="1Y", step="year", stepmode="backward"),
        dict(label="All", step="all"),
    ],
    x=0,
    y=1.02,
    yanchor="bottom",
)
"""Time-range buttons for a chart over dates."""


def _dated(fig: go.Figure) -> bool:
    """True when the first x axis carries dates (a time series)."""
    for t in fig.data:
        if getattr(t, "xaxis", "x") not in (None, "x") or t.x is None or len(t.x) == 0:
            continue
        first = t.x[0]
        return isinstance(first, (datetime.date, np.datetime64)) or (isinstance(first, str) and bool(DATE.match(first)))
    return False


def _human(title: object) -> str | None:
    """An axis title without snake_case: 'oi_btc (BTC)' -> 'oi btc (BTC)', first letter capital."""
    if not isinstance(title, str) or not title:
        return None
    text = title.replace("_", " ")
    return text[0].upper() + text[1:]


def _legend_y(fig: go.Figure) -> float:
    """Where the legend goes under the plot (paper units): below the x tick labels, lower for long category
    labels that plotly sets at an angle (a legend in container units would be simpler, but in plotly 7 it
    stops the range buttons from working)."""
    names = [str(x) for t in fig.data if t.x is not None and len(t.x) and isinstance(t.x[0], str) for x in t.x]
    longest = max((len(n) for n in names if not DATE.match(n)), default=0)
    return -0.15 - (min(0.4, 0.018 * longest) if longest > 6 else 0.0)


WRAP = 20  # characters per line of a long chart annotation (subplot titles)


def dress(fig: go.Figure) -> tuple[str, go.Figure]:
    """A copy of `fig` for the page (the cached figure is left alone) and its title: the title moves out of
    the plot (HTML wraps it on a phone; plotly would cut it), the legend goes under the plot in a row,
    backgrounds turn transparent (the page's light or dark theme shows through), axis titles lose their
    snake_case, long annotations wrap, labels of grouped bars stand upright, category
    labels of panels side by side slant, and a time series gets
    1W/1M/3M/1Y/All buttons."""
    out = go.Figure(fig)
    title = out.layout.title.text or ""
    out.update_layout(
        title=None,
        autosize=True,
        margin=dict(l=55, r=15, t=40, b=40),
        legend=dict(orientation="h", x=0, xanchor="left", y=_legend_y(out), yanchor="top"),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
    )
    if len({t.xaxis or "x" for t in out.data}) > 1 and not _dated(out):  # panels side by side: slant the labels
        out.update_xaxes(tickangle=-45, tickfont_size=10)
    bars = Counter(t.xaxis or "x" for t in out.data if t.type == "bar")
    for t in out.data:  # labels of bars side by side run into each other: stand them up
        if t.type == "bar" and bars[t.xaxis or "x"] > 1 and t.text is not None and t.textposition == "outside":
            t.update(textangle=-90, cliponaxis=False)
    for a in out.layout.annotations:  # subplot titles side by side: two short lines fit a phone's columns
        if isinstance(a.text, str) and len(a.text) > WRAP and "<br>" not in a.text:
            a.text = "<br>".join(textwrap.wrap(a.text, WRAP))
    out.for_each_xaxis(lambda ax: ax.update(title_text=_human(ax.title.text)) if ax.title.text else None)
    out.for_each_yaxis(lambda ax: ax.update(title_text=_human(ax.title.text)) if ax.title.text else None)
    if _dated(out):
        out.update_layout(xaxis_rangeselector=RANGES)
    return title, out


def levels_markers(fig: go.Figure) -> go.Figure:
    """The levels map with its labels on hover only: levels a few hundred dollars apart would print their
    labels over each other (and off the plot's edge on a phone); the ladder table under it lists them."""
    out = go.Figure(fig)
    out.update_traces(mode="markers", selector=dict(type="scatter"))
    out.update_layout(showlegend=True)
    return out


TWEAKS = {"levels": levels_markers}
"""Per figure key, the dashboard's change to the report's figure before `dress`."""


def stagger(fig: go.Figure, marks: list[tuple[float, str, str, str]]) -> None:
    """Vertical lines at each (x, label, colour, dash) of `marks`, labelled at staggered heights in the order
    of x (a label per row from the top), so labels of nearby lines never overlap."""
    for row, (x, text, colour, dash) in enumerate(sorted(marks)):
        fig.add_vline(x=x, line_color=colour, line_dash=dash)
        fig.add_annotation(
            x=x,
            y=1 - 0.09 * row,
            yref="paper",
            text=text,
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font=dict(size=11, color=colour),
            bgcolor="rgba(255,255,255,0.75)",
        )


def gex_profile(s: OptionsSummary) -> go.Figure:
    """Total dealer GEX (USD millions per 1 % move) over the spot grid, with spot, the flip and the walls
    (their labels staggered so that none overlaps another)."""
    p = s.profile
    fig = go.Figure(go.Scatter(x=p["spot"], y=p["gex_usd"] / 1e6, mode="lines", name=f"total GEX, sticky {s.sticky}"))
    fig.add_hline(y=0, line_color="grey")
    lo, hi = float(p["spot"].min()), float(p["spot"].max())
    marks = [(s.spot, f"spot ${s.spot:,.0f}", "#555555", "dot")]
    if math.isfinite(s.flip):
        marks.append((s.flip, f"flip ${s.flip:,.0f}", "#d55e00", "solid"))
    for name, x in (("call wall", s.walls.call_wall), ("put wall", s.walls.put_wall)):
        if math.isfinite(x) and lo <= x <= hi:
            marks.append((x, f"{name} ${x:,.0f}", "#009e73", "dash"))
    stagger(fig, marks)
    expiry = "all expiries" if s.expiry is None else f"expiry {s.expiry:%Y-%m-%d}"
    fig.update_layout(
        title=f"Dealer gamma profile ({s.gex.dealer}), {expiry}, chain of {s.timestamp:%Y-%m-%d %H:%M} UTC",
        showlegend=False,
        **LAYOUT,
    )
    fig.update_xaxes(title="BTC spot (USD)")
    fig.update_yaxes(title="Dealer gamma, USD millions per 1% move")
    return fig


def miner_breakeven(econ: pd.DataFrame, spot: float | None, power_usd_kwh: float) -> go.Figure:
    """Shutdown price per rig (`analytics.mining.rig_economics` rows) as horizontal bars (rig names stay
    readable on a phone), spot as a line."""
    fig = go.Figure(
        go.Bar(
            y=econ["rig"],
            x=econ["shutdown_price_usd"],
            orientation="h",
            text=[f"${v:,.0f}" for v in econ["shutdown_price_usd"]],
            textposition="inside",
            name="shutdown price",
            marker_color="#7f8c8d",
        )
    )
    if spot is not None:
        fig.add_vline(x=spot, line_color=INK, annotation_text=f"BTC ${spot:,.0f}", annotation_position="top")
    fig.update_layout(
        title=f"Miner shutdown price by rig at ${power_usd_kwh:.3f}/kWh (power only)",
        **{**LAYOUT, "height": 120 + 28 * len(econ)},
    )
    fig.update_xaxes(title="Shutdown price, USD per BTC")
    fig.update_yaxes(autorange="reversed")
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
