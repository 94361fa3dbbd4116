"""Plotly figures of the report (reused by the dashboard). Each returns None when its table is absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from capitulation.analytics.gex import gamma_flip, gex_by_strike, gex_profile
from capitulation.analytics.smile import constant_maturity, latest, risk_reversals, with_call_delta
from capitulation.report.model import Report
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot

LAYOUT = dict(template="plotly_white", height=380, margin=dict(l=60, r=30, t=50, b=40))


def smile(snap: Snapshot, max_expiries: int = 6) -> go.Figure | None:
    """Mark IV (vol points) against call-equivalent delta for the nearest expiries of the latest chain."""
    q = snap.get("option_quotes")
    if q is None:
        return None
    q = with_call_delta(latest(q, "smile"))
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
    q = snap.get("option_quotes")
    if q is None:
        return None
    rr = risk_reversals(q)
    cm = constant_maturity(rr)
    days = rr["t_years"] * 365
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
    q = snap.get("option_quotes")
    if q is None:
        return None
    g = gex_by_strike(q)
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


def gex_profile_chart(snap: Snapshot, window: float = 0.2, points: int = 201) -> go.Figure | None:
    """Total dealer GEX (USD per 1 % move, classic positioning) re-priced over spot x (1 -/+ window),
    sticky strike and sticky delta, with the gamma flip (sticky strike) and spot marked."""
    q = snap.get("option_quotes")
    if q is None:
        return None
    g = gex_by_strike(q)
    spots = g.spot * np.linspace(1 - window, 1 + window, points)
    profiles = {sticky: gex_profile(q, spots, sticky=sticky) for sticky in ("strike", "delta")}
    fig = go.Figure(
        [go.Scatter(x=p["spot"], y=p["gex_usd"] / 1e6, mode="lines", name=f"sticky {k}") for k, p in profiles.items()]
    )
    flip = gamma_flip(profiles["strike"], near=g.spot)
    fig.add_hline(y=0, line_color="grey")
    fig.add_vline(x=g.spot, line_dash="dot", annotation_text="spot")
    if np.isfinite(flip):
        fig.add_vline(x=flip, line_color="red", annotation_text=f"flip ${flip:,.0f}", annotation_position="bottom")
    fig.update_layout(title=f"Dealer gamma profile ({g.dealer})", **LAYOUT)
    fig.update_xaxes(title="spot (USD)")
    fig.update_yaxes(title="USD millions per 1% move")
    return fig


def oi_vs_price(snap: Snapshot, days: int = 180) -> go.Figure | None:
    """Perp open interest against the BTC price over the last `days`: in BTC (top) and in USD (bottom)."""
    p = snap.get("perp_metrics")
    px = closes(snap, BTC)
    if p is None or px.empty:
        return None
    start = snap.as_of - pd.Timedelta(days=days)
    oi = p[p["timestamp"] >= start].dropna(subset=["oi_usd"]).set_index("timestamp").sort_index()
    px = px[px.index >= start]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, specs=[[{"secondary_y": True}], [{}]])
    if oi["oi_btc"].notna().any():
        fig.add_trace(go.Scatter(x=oi.index, y=oi["oi_btc"], name="OI (BTC)"), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=px.index, y=px, name="BTC close (USD)", line_color="black"), row=1, col=1, secondary_y=True
    )
    fig.add_trace(go.Scatter(x=oi.index, y=oi["oi_usd"] / 1e9, name="OI (USD bn)"), row=2, col=1)
    fig.update_layout(title="Perp open interest vs BTC price", **{**LAYOUT, "height": 520})
    fig.update_yaxes(title="OI (BTC)", row=1, col=1, secondary_y=False)
    fig.update_yaxes(title="BTC (USD)", row=1, col=1, secondary_y=True)
    fig.update_yaxes(title="OI (USD bn)", row=2, col=1)
    return fig


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
    fig.add_hline(y=rep.spot, line_color="black", annotation_text=f"spot ${rep.spot:,.0f}")
    fig.update_layout(title="Levels map around spot", showlegend=False, **{**LAYOUT, "height": 520})
    fig.update_yaxes(title="BTC price (USD)")
    return fig


def all_figures(rep: Report, snap: Snapshot) -> dict[str, go.Figure]:
    """The report's figures by title key, skipping those whose data is absent."""
    figs = {
        "levels": levels_ladder(rep),
        "smile": smile(snap),
        "risk_reversals": risk_reversal_term(snap),
        "gex": gex_strikes(snap),
        "gex_profile": gex_profile_chart(snap),
        "oi_vs_price": oi_vs_price(snap),
    }
    return {k: v for k, v in figs.items() if v is not None}
