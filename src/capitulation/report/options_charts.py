"""Options figures: the smile in delta space, risk reversals, dealer gamma by strike and over a spot grid.

Each returns None when the snapshot has no option chain. They draw the chain as prepared once per snapshot
and the options summary verdict 3 computed (`signals.options_stress.prepared_chain`, `chain_summary`), not a
computation of their own. Reused by the dashboard.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from capitulation.analytics.gex import PROFILE_GRID, PROFILE_POINTS
from capitulation.report.style import LAYOUT
from capitulation.signals.options_stress import chain_summary, prepared_chain
from capitulation.snapshot import Snapshot
from capitulation.timeutil import DAYS_PER_YEAR


def smile(snap: Snapshot, max_expiries: int = 6) -> go.Figure | None:
    """Mark IV (vol points) against call-equivalent delta for the nearest expiries of the latest chain."""
    chain = prepared_chain(snap)
    if chain is None:
        return None
    q = chain.rows
    otm = ((q["option_type"] == "C") & (q["strike"] >= q["underlying_price"])) | (
        (q["option_type"] == "P") & (q["strike"] < q["underlying_price"])
    )
    q = q[otm & q["call_delta"].between(0.02, 0.98)]
    fig = go.Figure()
    for exp in sorted(q["expiry"].unique())[:max_expiries]:
        g = q[q["expiry"] == exp].sort_values("call_delta")
        fig.add_trace(
            go.Scatter(x=g["call_delta"], y=g["mark_iv"] * 100, mode="lines+markers", name=f"{pd.Timestamp(exp):%d %b}")
        )
    ts = q["timestamp"].max()
    fig.update_layout(title=f"Smile in delta space, chain of {ts:%Y-%m-%d %H:%M} UTC", **LAYOUT)
    fig.update_xaxes(title="call-equivalent delta (puts: 1 + put delta)", autorange="reversed")
    fig.update_yaxes(title="mark IV (vol points)")
    return fig


def risk_reversal_term(snap: Snapshot) -> go.Figure | None:
    """10/15/25-delta risk reversals (vol points) across expiries of the latest chain (lines), with the
    constant maturities 1/7/30/90 days interpolated in total variance (diamonds)."""
    s = chain_summary(snap)
    if s is None:
        return None
    rr, cm = s.smile, s.term
    days = rr["t_years"] * DAYS_PER_YEAR
    fig = go.Figure()
    for d, color in zip((10, 15, 25), qualitative.Plotly, strict=False):
        fig.add_trace(
            go.Scatter(
                x=days,
                y=rr[f"rr{d}"] * 100,
                mode="lines+markers",
                name=f"RR{d}",
                legendgroup=f"rr{d}",
                line_color=color,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=cm["days"],
                y=cm[f"rr{d}"] * 100,
                mode="markers",
                marker=dict(symbol="diamond-open", size=12, color=color),
                name=f"RR{d} constant maturity",
                legendgroup=f"rr{d}",
            )
        )
    fig.add_hline(y=0, line_color="grey")
    fig.update_layout(title="Risk reversals (call IV - put IV) by expiry", **LAYOUT)
    fig.update_xaxes(title="days to expiry", type="log")
    fig.update_yaxes(title="vol points")
    return fig


def gex_strikes(snap: Snapshot, window: float = 0.3) -> go.Figure | None:
    """Dealer GEX by strike (USD per 1 % move, classic positioning) within `window` of spot."""
    s = chain_summary(snap)
    if s is None:
        return None
    g = s.gex
    per = g.by_strike.groupby("strike")[["call_gex_usd", "put_gex_usd"]].sum()
    per = per[(per.index > g.spot * (1 - window)) & (per.index < g.spot * (1 + window))]
    fig = go.Figure(
        [
            go.Bar(x=per.index, y=per["call_gex_usd"] / 1e6, name="calls"),
            go.Bar(x=per.index, y=per["put_gex_usd"] / 1e6, name="puts"),
        ]
    )
    fig.add_vline(x=g.spot, line_dash="dot", annotation_text="spot")
    fig.update_layout(title=f"Dealer gamma by strike ({g.dealer})", barmode="relative", **LAYOUT)
    fig.update_xaxes(title="strike (USD)")
    fig.update_yaxes(title="USD millions per 1% move")
    return fig


def gex_profile_chart(snap: Snapshot, window: float = PROFILE_GRID, points: int = PROFILE_POINTS) -> go.Figure | None:
    """Total dealer GEX (USD per 1 % move, classic positioning) re-priced over spot x (1 -/+ window),
    sticky strike and sticky delta, with the gamma flip (sticky strike) and spot marked."""
    strike = chain_summary(snap, sticky="strike", grid=window, points=points)
    delta = chain_summary(snap, sticky="delta", grid=window, points=points)
    if strike is None or delta is None:
        return None
    g = strike.gex
    fig = go.Figure(
        [
            go.Scatter(x=p.profile["spot"], y=p.profile["gex_usd"] / 1e6, mode="lines", name=f"sticky {k}")
            for k, p in (("strike", strike), ("delta", delta))
        ]
    )
    flip = strike.flip  # the flip `options` and verdict 3 print
    fig.add_hline(y=0, line_color="grey")
    fig.add_vline(x=g.spot, line_dash="dot", annotation_text="spot")
    if np.isfinite(flip):
        fig.add_vline(x=flip, line_color="red", annotation_text=f"flip ${flip:,.0f}", annotation_position="bottom")
    fig.update_layout(title=f"Dealer gamma profile ({g.dealer})", **LAYOUT)
    fig.update_xaxes(title="spot (USD)")
    fig.update_yaxes(title="USD millions per 1% move")
    return fig
