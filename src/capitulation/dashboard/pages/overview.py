"""Overview: the eight verdict cards, the levels ladder around spot and each source table's age."""

from __future__ import annotations

import logging

import pandas as pd
from dash import html
from dash.development.base_component import Component

from capitulation.dashboard.components import STATUS_CLASS, figures, message, metric_row, table
from capitulation.dashboard.state import LiveState, View
from capitulation.errors import StoreError
from capitulation.report.model import Report
from capitulation.report.text import short_source
from capitulation.verdict import Status, Verdict

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


CARD_METRICS = {"leverage_flush": ("flush_ratio_btc", "oi_btc_vs_peak", "oi_usd_vs_peak", "oi_btc")}
"""A card's numbers where the first KEY_METRICS a signal lists are not the ones its headline cites (the flush
is judged in BTC: the USD build-up ratio, >100 % once price has fallen below the build-up's start, is in the
evidence with its label saying so)."""

LEGEND = (
    (Status.HOLDS, "holds: the stress condition is met (a capitulation sign)"),
    (Status.DOES_NOT_HOLD, "does not hold: condition not met"),
    (Status.NOT_ENOUGH_DATA, "not enough data: a table absent, too old or too short"),
)


def legend() -> html.Div:
    """What each status colour means (the cards also say it in words)."""
    return html.Div(
        [html.Span([html.I(), text], className=STATUS_CLASS[st]) for st, text in LEGEND],
        className="legend",
        id="status-legend",
    )


def previous_statuses(state: LiveState, as_of: pd.Timestamp) -> tuple[pd.Timestamp | None, dict[str, str]]:
    """The latest run stored in the history store before `as_of` and each signal's status in it (none when the
    store holds no earlier run or cannot be read: the cards then carry no change mark)."""
    try:
        hist = state.store.verdict_history()
    except StoreError as exc:
        log.warning("dashboard: no change marks: %s", exc)
        return None, {}
    earlier = hist if hist.empty else hist[hist["as_of"] < as_of]
    if earlier.empty:
        return None, {}
    last = earlier["as_of"].max()
    rows = earlier[earlier["as_of"] == last]
    return last, dict(zip(rows["signal"], rows["status"], strict=True))


def change_mark(v: Verdict, when: pd.Timestamp | None, before: dict[str, str]) -> html.Div | None:
    """'changed since 2026-01-31 (was does not hold)' or 'unchanged since ...'; None without an earlier run."""
    if when is None or v.signal not in before:
        return None
    was = before[v.signal]
    if was == v.status.value:
        return html.Div(f"unchanged since {when:%Y-%m-%d %H:%M}", className="small change", **{"data-changed": "no"})
    return html.Div(
        [html.Span("changed", className="changed"), f" since {when:%Y-%m-%d %H:%M} (was {was})"],
        className="small change",
        **{"data-changed": "yes"},
    )


def card(i: int, v: Verdict, ages: dict[str, float], mark: html.Div | None = None) -> html.Div:
    """One verdict: status, headline, its key numbers with human labels and units (`signals.labels`), the
    change since the previous stored run, as_of and the age of its oldest input table."""
    used = [t for t in v.as_dict()["tables"] if t in ages]
    oldest = max(used, key=ages.__getitem__) if used else None
    age = "" if oldest is None else f" · oldest input {oldest}, {ages[oldest]:.1f} days before"
    keys = CARD_METRICS.get(v.signal)
    shown = [m for m in v.metrics if m.name in keys] if keys else v.metrics[:KEY_METRICS]
    if keys:
        shown.sort(key=lambda m: keys.index(m.name))
    rows = [html.Li([f"{name}: ", html.Span(text, className="v")]) for name, text in map(metric_row, shown)]
    evidence = [html.Li(e) for e in v.evidence]
    others = [html.Li("{}: {}".format(*metric_row(m))) for m in v.metrics if m not in shown]
    return html.Div(
        [
            html.H3(f"{i}. {v.title}"),
            html.Div(v.status.value, className="status"),
            mark,
            html.P(v.headline, className="headline"),
            html.Ul(rows),
            html.Div(f"as of {v.as_of:%Y-%m-%d %H:%M} UTC{age}", className="small"),
            html.Details([html.Summary("evidence and all metrics"), html.Ul(evidence + others)], className="small"),
        ],
        id=f"card-{v.signal}",
        className=f"card {STATUS_CLASS[v.status]}",
        **{"data-status": v.status.value},
    )


def _sources(rep: Report) -> html.Div:
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
    when, before = previous_statuses(state, rep.as_of)
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
        legend(),
        html.Div(
            [card(i, v, ages, change_mark(v, when, before)) for i, v in enumerate(rep.verdicts, 1)], className="cards"
        ),
        html.H2("Levels around spot"),
        *figures(view, FIGURES, "no BTC price or no levels in this snapshot"),
        ladder,
        html.H2("Data sources"),
        _sources(rep),
    ]
