"""Leverage: perp OI against price with the drawdowns shaded, funding, the liquidation map's density, and the
event study of every 20 %+ drawdown with the observed long liquidations into each trough."""

from __future__ import annotations

import pandas as pd
from dash import html
from dash.development.base_component import Component

from capitulation.dashboard.components import figures, fmt, message, missing, table
from capitulation.dashboard.state import LiveState
from capitulation.formats import usd
from capitulation.signals.leverage_flush import Study
from capitulation.signals.liquidity_levels import into_troughs


def _flush(x: object) -> str:
    return "-" if missing(x) else ("yes" if x else "no")


def _liquidations(total: float, largest: float, day: pd.Timestamp) -> str:
    return "-" if missing(total) else f"{usd(total)} (largest {usd(largest)} {day:%m-%d})"


def study_table(study: Study, liquidations: pd.DataFrame) -> list[Component]:
    """The event study, newest drawdown first, with the flush count and the threshold it implies, and the
    observed long liquidations into each trough (`liquidity_levels.into_troughs`, rows aligned)."""
    joined = pd.concat([study.table, liquidations], axis=1)
    rows = [
        (
            f"{r.peak_date:%Y-%m-%d}",
            f"{r.trough_date:%Y-%m-%d}" + ("" if r.confirmed else " (open)"),
            f"{r.depth:.1%}",
            f"{r.days:.0f}",
            r.oi_source,
            fmt(r.oi_drop, ".1%"),
            fmt(r.flush_ratio, ".2f"),
            _flush(r.flush),
            fmt(r.funding_mean * 100, ".4f", suffix="%"),
            fmt(r.funding_min * 100, ".4f", suffix="%"),
            _liquidations(r.long_liquidations_usd, r.largest_long_usd, r.largest_long_day),
        )
        for r in joined.iloc[::-1].itertuples()
    ]
    threshold = "no threshold (too few flushes)" if study.threshold is None else f"{study.threshold:.2f}"
    return [
        html.P(
            f"{study.flushes} of {study.known} drawdowns with known OI ended in an OI flush; flush-ratio threshold "
            f"from them (lower quartile): {threshold}. Funding: fraction per 8 h, in percent. Long liquidations: "
            "observed (CoinGlass all-exchange aggregate, 2020-12..2025-09) from the peak to 3 days after the trough.",
            className="small",
        ),
        table(
            (
                "peak",
                "trough",
                "depth",
                "days",
                "OI source",
                "OI drop",
                "flush ratio",
                "flush",
                "funding mean",
                "funding min",
                "long liquidations",
            ),
            rows,
            "event-study",
        ),
    ]


def layout(state: LiveState) -> list[Component]:
    view = state.current()
    study = (
        study_table(view.study, into_troughs(view.snap, view.study.table))
        if view.study is not None
        else [message("no event study: needs perp_metrics and a BTC price history", "info")]
    )
    return [
        *figures(view, ["oi_vs_price", "funding", "liquidation_density"], "no perp_metrics in this snapshot"),
        html.H3("Event study: BTC drawdowns of 20% or more"),
        *study,
    ]
