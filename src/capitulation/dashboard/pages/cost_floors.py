"""Cost floors: treasury companies' mNAV, most stressed first, and the miners' shutdown price by rig at an
electricity price chosen on a slider (the slider's callback is `miner_panel`)."""

from __future__ import annotations

import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from capitulation.analytics.mining import catalogue_at, cost_floors
from capitulation.dashboard import figures as dfig
from capitulation.dashboard.components import fmt, graph, message, source_text, table
from capitulation.dashboard.state import LiveState

POWER_USD_KWH = (0.03, 0.10, 0.06)  # slider range and start, USD per kWh


def mnav_table(companies: pd.DataFrame | str) -> list[Component]:
    """The `company_table` rows, in its stress order; a message when it could not be built."""
    if isinstance(companies, str):
        return [message(f"no mNAV table: {companies}", "info")]
    first = companies.iloc[0]
    priced = companies[companies[["share_price_usd", "mnav_ev", "mnav_mcap"]].notna().any(axis=1)]
    held = companies.drop(priced.index)
    rows = [
        (
            r.ticker,
            r.name,
            r.status,
            fmt(r.btc_held, ",.0f"),
            f"{r.as_of:%Y-%m-%d}",
            fmt(r.share_price_usd, ",.2f", "$"),
            fmt(r.mnav_ev, ".3f"),
            fmt(r.mnav_mcap, ".3f"),
            fmt(r.leverage, ".1%"),
            fmt(r.stress_btc_price, ",.0f", "$"),
            fmt(r.mnav1_btc_price, ",.0f", "$"),
            r.missing,
        )
        for r in priced.itertuples()
    ]
    holdings_only = [
        (r.ticker, r.name, fmt(r.btc_held, ",.0f"), f"{r.as_of:%Y-%m-%d}", r.missing) for r in held.itertuples()
    ]
    return [
        html.P(
            f"At BTC ${first.btc_price_usd:,.0f} ({first.btc_price_date:%Y-%m-%d}), most stressed first: the table "
            "verdict 6 and `capitulation mnav` read (treasury_companies, treasury_instruments: convertibles in the "
            "money count as shares; treasury_charges). claims/NAV = (debt + preferred) / BTC NAV; stress line: the "
            "BTC price where BTC NAV = debt + preferred.",
            className="small",
        ),
        table(
            (
                "ticker",
                "name",
                "status",
                "BTC held",
                "holdings as of",
                "share price",
                "mNAV EV",
                "mNAV mcap",
                "claims/NAV",
                "stress line",
                "mNAV=1 at",
                "missing",
            ),
            rows,
            "mnav",
        ),
        html.H4(f"Holdings only: {len(held)} companies without a share price or capital stack in the data"),
        html.P(
            "No mNAV without a share price (and no stress line without debt and preferred), so these are listed "
            "with their holdings only.",
            className="small",
        ),
        table(("ticker", "name", "BTC held", "holdings as of", "missing"), holdings_only, "holdings-only"),
    ]


def miner_panel(state: LiveState, power_usd_kwh: float) -> list[Component]:
    """Shutdown price per rig of the day (`analytics.mining.rigs_at` the network's date) at `power_usd_kwh`, with
    the efficient frontier and the fleet average."""
    view = state.current()
    if isinstance(view.network, str):
        return [message(view.network, "info")]
    lo, hi, _ = POWER_USD_KWH
    if not lo <= power_usd_kwh <= hi:
        return [message(f"electricity price must be within ${lo}-${hi}/kWh, got {power_usd_kwh!r}")]
    spot = view.report.spot
    econ = catalogue_at(view.network, power_usd_kwh, btc_price=spot)
    floors = cost_floors(view.network, power_usd_kwh)
    margin = "margin_usd_day" in econ
    rows = [
        (r.rig, r.released, f"{r.efficiency_jth:g}", f"{r.hashrate_ths:g}", f"${r.shutdown_price_usd:,.0f}")
        + ((fmt(r.margin_usd_day, "+,.2f"),) if margin else ())
        for r in econ.itertuples()
    ]
    header = ("rig", "released", "J/TH", "TH/s", "shutdown USD/BTC") + (("margin USD/day at spot",) if margin else ())
    summary = html.P(
        f"Efficient frontier: {floors.frontier_rig} ({floors.frontier_jth:g} J/TH) ${floors.frontier_usd:,.0f}; "
        f"fleet average of the {len(floors.fleet_rigs)} rigs released within {floors.fleet_years:g} years "
        f"({floors.fleet_jth:.1f} J/TH) ${floors.fleet_usd:,.0f}.",
        className="small",
        id="miner-floors",
    )
    return [
        graph("miners", dfig.miner_breakeven(econ, spot, power_usd_kwh), source_text(view.snap, ("btc_network",))),
        summary,
        table(header, rows, "miner-table"),
    ]


def layout(state: LiveState) -> list[Component]:
    view = state.current()
    lo, hi, start = POWER_USD_KWH
    net = view.network
    network = (
        message(net, "info")
        if isinstance(net, str)
        else html.P(
            f"Network {net.hashrate_ehs:,.0f} EH/s ({net.window_days}-day mean to {net.date:%Y-%m-%d}), fees "
            f"{net.fees_btc_per_block:.4f} BTC/block, subsidy {net.subsidy_btc:g} BTC. Power cost only: no hosting, "
            "pool fees or capex.",
            className="small",
        )
    )
    return [
        html.H3("Treasury companies: mNAV"),
        *mnav_table(view.companies),
        html.H3("Miner breakeven by rig of the day"),
        network,
        html.Div(
            [
                html.Label("electricity, USD per kWh"),
                dcc.Slider(
                    id="power",
                    min=lo,
                    max=hi,
                    step=0.005,
                    value=start,
                    marks={round(p / 100, 2): f"${p / 100:.2f}" for p in range(3, 11)},
                    updatemode="mouseup",
                ),
            ],
            className="controls",
        ),
        html.Div(miner_panel(state, start), id="miners"),
    ]
