"""Options: smile per expiry, risk-reversal term structure, dealer gamma by strike, and the GEX profile
under a chosen dealer model (the selector's callback is `gex_panel`)."""

from __future__ import annotations

from typing import cast

import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from capitulation.analytics.gex import DEALER_MODELS, Dealer, Sticky
from capitulation.dashboard import figures as dfig
from capitulation.dashboard.components import figures, fmt, graph, message, source_text, table
from capitulation.dashboard.state import LiveState
from capitulation.formats import usd

NEEDS_TAPE = ("trades", "trades_net")  # positioning models signed by a trade tape
NO_CHAIN = "no option chain in this snapshot"
ALL_EXPIRIES = "all"


def expiries(state: LiveState) -> list[pd.Timestamp]:
    """The latest chain's expiries, nearest first."""
    return sorted(state.current().options().smile["expiry"].unique())


def gex_panel(state: LiveState, dealer: str, sticky: str, expiry: str = ALL_EXPIRIES) -> list[Component]:
    """The GEX profile with flip and walls under `dealer` (one of `analytics.gex.DEALER_MODELS`), IV `sticky`
    and `expiry` (an ISO time of one of the chain's expiries, or 'all')."""
    if dealer not in DEALER_MODELS or sticky not in ("strike", "delta"):
        return [message(f"unknown dealer model {dealer!r} or sticky rule {sticky!r}")]
    if dealer in NEEDS_TAPE:
        return [
            message(
                f"{DEALER_MODELS[dealer]}: this model signs open interest by the takers' trades, and this snapshot "
                "holds no trade tape (the dashboard reads option_quotes only); `capitulation options --dealer "
                f"{dealer} --trades FILE` computes it from a recorded tape.",
                "info",
            )
        ]
    when = None if expiry in (None, ALL_EXPIRIES) else pd.Timestamp(expiry)
    s = state.current().options(cast(Dealer, dealer), cast(Sticky, sticky), when)
    facts = (
        f"{s.gex.dealer}. Total GEX {usd(s.gex.total_usd)} per 1% move (dealers "
        f"{'buy' if s.gex.hedge_flow_usd > 0 else 'sell'} {usd(abs(s.gex.hedge_flow_usd))} per 1% rise); gamma flip "
        f"{fmt(s.flip, ',.0f', '$')}; call wall {fmt(s.walls.call_wall, ',.0f', '$')}, put wall "
        f"{fmt(s.walls.put_wall, ',.0f', '$')}"
    )
    source = source_text(state.current().snap, ("option_quotes",))
    return [graph("gex_dealer_profile", dfig.gex_profile(s), source), html.P(facts, id="gex-facts", className="small")]


def _term(state: LiveState) -> html.Div:
    term = state.current().options().term
    rows = [
        (
            f"{r.days:.0f} d",
            fmt(r.atm_iv * 100, ".1f"),
            fmt(r.rr25 * 100, "+.2f"),
            fmt(r.rr15 * 100, "+.2f"),
            fmt(r.rr10 * 100, "+.2f"),
            fmt(r.bf25 * 100, "+.2f"),
        )
        for r in term.itertuples()
    ]
    return table(("maturity", "ATM IV", "RR25", "RR15", "RR10", "BF25"), rows, "rr-term")


def layout(state: LiveState) -> list[Component]:
    view = state.current()
    if view.snap.get("option_quotes") is None:
        return [message(f"{NO_CHAIN}: record a Deribit chain to see the smile and dealer gamma", "info")]
    info = next(t for t in view.report.tables if t.name == "option_quotes")
    return [
        html.P(
            f"Latest chain {info.latest:%Y-%m-%d %H:%M} UTC, {info.age_days:.1f} days before as of.", className="small"
        ),
        *figures(view, ["smile", "risk_reversals"], NO_CHAIN),
        html.H3("Constant-maturity term structure (vol points; RR = call IV - put IV)"),
        _term(state),
        *figures(view, ["gex"], NO_CHAIN),
        html.H3("Dealer gamma profile"),
        html.Div(
            [
                html.Div(
                    [
                        html.Label("dealer model", htmlFor="dealer"),
                        dcc.RadioItems(
                            id="dealer",
                            options=[{"label": DEALER_MODELS[d], "value": d} for d in DEALER_MODELS],
                            value="classic",
                        ),
                    ]
                ),
                html.Div(
                    [
                        html.Label("expiry", htmlFor="expiry"),
                        dcc.Dropdown(
                            id="expiry",
                            options=[{"label": "all expiries", "value": ALL_EXPIRIES}]
                            + [{"label": f"{e:%Y-%m-%d}", "value": e.isoformat()} for e in expiries(state)],
                            value=ALL_EXPIRIES,
                            clearable=False,
                        ),
                        html.Label("IV as spot moves", htmlFor="sticky"),
                        dcc.RadioItems(
                            id="sticky",
                            options=[{"label": f"sticky {k}", "value": k} for k in ("strike", "delta")],
                            value="strike",
                            inline=True,
                        ),
                    ]
                ),
            ],
            className="controls",
        ),
        html.Div(gex_panel(state, "classic", "strike"), id="gex-profile"),
    ]
