"""Overview: the eight verdict cards, the levels ladder around spot and each source table's age."""

from __future__ import annotations

import logging

from dash import html
from dash.development.base_component import Component

from capitulation.dashboard.components import STATUS_CLASS, figures, message, metric_text, table
from capitulation.dashboard.state import LiveState, View
from capitulation.report.model import Report, short_source
from capitulation.verdict import Verdict

log = logging.getLogger(__name__)
KEY_METRICS = 4  # numbers shown on a card; the rest are in the evidence
FIGURES = ("levels",)


def prepare(view: View) -> None:
    """Compute what this page shows (the report and its figures) ahead of the first visit; a failure is left
    for the page to show."""
    try:
        view.figures(FIGURES)
    except Exception as exc:
        log.info("dashboard: preparing the overview failed (the page will say why): %s", exc)


def card(i: int, v: Verdict, ages: dict[str, float]) -> html.Div:
    """One verdict: status, headline, key numbers, as_of and the age of its oldest input table."""
    used = [t for t in v.as_dict()["tables"] if t in ages]
    oldest = max(used, key=ages.__getitem__) if used else None
    age = "" if oldest is None else f" · oldest input {oldest}, {ages[oldest]:.1f} days before"
    return html.Div(
        [
            html.H3(f"{i}. {v.title}"),
            html.Div(v.status.value, className="status"),
            html.P(v.headline, className="headline"),
            html.Ul([html.Li(f"{m.name}: {metric_text(m)}") for m in v.metrics[:KEY_METRICS]]),
            html.Div(f"as of {v.as_of:%Y-%m-%d %H:%M} UTC{age}", className="small"),
            html.Details([html.Summary("evidence"), html.Ul([html.Li(e) for e in v.evidence])], className="small"),
        ],
        id=f"card-{v.signal}",
        className=f"card {STATUS_CLASS[v.status]}",
        **{"data-status": v.status.value},
    )


def _sources(rep: Report) -> html.Table:
    rows = [
        (
            t.name,
            f"{t.rows:,}",
            f"{t.latest:%Y-%m-%d %H:%M}",
            f"{t.age_days:.1f} d",
            short_source(t.source),
            t.licence,
            "synthetic" if t.synthetic else "real",
        )
        for t in rep.tables
    ]
    rows += [(n, "0", "absent", "", "", "", "no recorded data") for n in rep.absent]
    return table(("table", "rows", "latest row (UTC)", "age at as_of", "source", "licence", "kind"), rows, "sources")


def layout(state: LiveState) -> list[Component]:
    view = state.current()
    rep = view.report
    ages = {t.name: t.age_days for t in rep.tables}
    ladder = (
        table(
            ("price", "vs spot", "level", "signal"),
            [(f"${lv.price:,.0f}", f"{d:+.1%}", lv.label, lv.signal) for lv, d in rep.ladder],
            "ladder",
        )
        if rep.ladder
        else message("no levels: the snapshot has no BTC price or no signal produced a level", "info")
    )
    return [
        html.H2("The eight signals"),
        html.Div([card(i, v, ages) for i, v in enumerate(rep.verdicts, 1)], className="cards"),
        html.H2("Levels around spot"),
        *figures(view, FIGURES, "no BTC price or no levels in this snapshot"),
        ladder,
        html.H2("Data sources"),
        _sources(rep),
    ]
