"""Cross-asset and sectors: the report's cross-asset, sector and hedging figures and the three verdicts
with their evidence; their metrics as tables where the report draws no figure. (Thousands of table cells
would cost the page switch a second: every cell is a React component.)"""

from __future__ import annotations

from dash import html
from dash.development.base_component import Component

from capitulation.dashboard.components import STATUS_CLASS, graph, metric_row, source_text, table
from capitulation.dashboard.figures import SOURCES
from capitulation.dashboard.state import LiveState
from capitulation.report.charts import FIGURES
from capitulation.verdict import Verdict

PREFIXES = {"cross_asset": ("cross", "corr", "drawdown"), "sector_rotation": ("sector",), "hedging": ("hedg",)}
"""Per signal on this page, the key prefixes of its figures in `report.charts.FIGURES`."""


def verdict_section(v: Verdict, with_metrics: bool) -> html.Section:
    """A verdict's status, headline and evidence; with `with_metrics` also its metrics table (value in its
    unit, source tables), shown when the report draws no figure for it."""
    metrics = (
        [
            table(
                ("metric", "value", "tables"),
                [(*metric_row(m), ", ".join(m.tables)) for m in v.metrics],
                f"metrics-{v.signal}",
            )
        ]
        if with_metrics
        else []
    )
    return html.Section(
        [
            html.H3([f"{v.title}: ", html.Span(v.status.value, className=f"status {STATUS_CLASS[v.status]}")]),
            html.P(v.headline),
            *metrics,
            html.Details([html.Summary("evidence"), html.Ul([html.Li(e) for e in v.evidence])], className="small"),
        ],
        id=f"section-{v.signal}",
    )


def layout(state: LiveState) -> list[Component]:
    view = state.current()
    figs = view.figures(k for k in FIGURES if k.startswith(tuple(p for ps in PREFIXES.values() for p in ps)))
    keys = {s: [k for k in figs if k.startswith(p)] for s, p in PREFIXES.items()}
    charts = [graph(k, figs[k], source_text(view.snap, SOURCES[k])) for ks in keys.values() for k in ks]
    sections = [verdict_section(v, with_metrics=not keys[v.signal]) for v in view.report.verdicts if v.signal in keys]
    return [*charts, *sections]
