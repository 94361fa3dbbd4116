"""Building blocks of the pages: messages, tables, graphs, number formats and the status line.

Every string goes into a Dash component as text, which React escapes: nothing here renders raw HTML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import ParamSpec

import pandas as pd
import plotly.graph_objects as go
from dash import dcc, html
from dash.development.base_component import Component

from capitulation.dashboard import figures as dfig
from capitulation.dashboard.state import LiveState, View, describe
from capitulation.report.text import short_source
from capitulation.signals import labels
from capitulation.snapshot import Snapshot
from capitulation.verdict import Metric, Status

P = ParamSpec("P")
STATUS_CLASS = {Status.HOLDS: "holds", Status.DOES_NOT_HOLD: "not-holds", Status.NOT_ENOUGH_DATA: "no-data"}


def message(text: str, kind: str = "error") -> html.Div:
    """A clear one-line message in place of content (kind: 'error' or 'info')."""
    return html.Div(text, className=f"message {kind}")


def missing(x: object) -> bool:
    """None, NaN or NaT."""
    return x is None or (not isinstance(x, str) and bool(pd.isna(x)))


def fmt(x: object, spec: str, prefix: str = "", suffix: str = "") -> str:
    """`x` formatted with `spec`, or '-' when missing."""
    return "-" if missing(x) else f"{prefix}{format(x, spec)}{suffix}"


def metric_row(m: Metric) -> tuple[str, str]:
    """A metric's human label and its value in its unit, from the shared registry (`signals.labels`)."""
    return labels.describe(m.name, m.value)


def table(header: Sequence[str], rows: Iterable[Sequence[object]], table_id: str | None = None) -> html.Div:
    """A plain table in a box that scrolls sideways on a narrow screen (the page itself never does); cells are
    text (escaped) or components. With `table_id`, a CSV button downloads the table as shown."""
    body = [html.Tr([html.Td(c) for c in r]) for r in rows]
    kw = {} if table_id is None else {"id": table_id}
    tab = html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)], **kw)
    return html.Div([tab] if table_id is None else [tab, csv_button(table_id)], className="scroll")


def csv_button(target: str) -> html.Button:
    """A button that downloads the chart or table with DOM id `target` as CSV (the client-side callback in
    `app.CSV_JS` reads what the browser shows: a chart's traces, a table's cells)."""
    return html.Button("CSV", id={"type": "csv", "target": target}, className="csv", title=f"download {target} as CSV")


def graph(key: str, fig: go.Figure, source: str = "") -> html.Div:
    """A plotly figure (`figures.dress`ed: title above it as text, legend under it, range buttons on time
    axes), without the plotly logo, its source and date under it and a CSV button; the graph's id `fig-<key>`."""
    title, dressed = dfig.dress(fig)
    return html.Div(
        [
            html.H4(title, className="chart-title") if title else None,
            dcc.Graph(
                id=f"fig-{key}", figure=dressed, config={"displaylogo": False, "responsive": True}, className="chart"
            ),
            html.Div([html.Span(source, className="source"), csv_button(f"fig-{key}")], className="chart-foot"),
        ],
        className="chart-box",
    )


def source_text(snap: Snapshot, names: Sequence[str]) -> str:
    """'Source: deribit_options/sample.csv (Deribit), data to 2026-01-24 UTC' for the tables `names` of `snap`;
    'SYNTHETIC data' first when any of them is synthetic."""
    have = [n for n in names if n in snap.tables]
    if not have:
        return ""
    dates = snap.table_dates()
    latest = max((dates[n] for n in have if n in dates), default=None)
    fake = any(snap.provenance[n].synthetic for n in have)
    srcs = "; ".join(short_source(snap.provenance[n].source) for n in have)
    when = "" if latest is None else f", data to {latest:%Y-%m-%d} UTC"
    return f"{'SYNTHETIC data. ' if fake else ''}Source: {srcs}{when}"


def figures(view: View, keys: Sequence[str], why_absent: str) -> list[Component]:
    """The view's figures under `keys` (built now if this is their first showing) with their source, and a
    note for each one the snapshot lacks the data for."""
    figs = view.figures(keys)
    return [
        graph(k, dfig.TWEAKS.get(k, lambda f: f)(figs[k]), source_text(view.snap, dfig.SOURCES[k]))
        if k in figs
        else message(f"{k.replace('_', ' ')}: {why_absent}", "info")
        for k in keys
    ]


def ago(seconds: float) -> str:
    """A duration in words: '45 s', '12 min', '3.5 h', '2.0 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def status_line(state: LiveState) -> list[Component]:
    """As of, when loaded, how often it refreshes, and why the last refresh failed (if it did)."""
    now = pd.Timestamp.now(tz="UTC")
    parts = []
    if state.view is not None:
        view = state.view
        spot = view.spot_text and f", {view.spot_text}"
        parts.append(f"data as of {view.snap.as_of:%Y-%m-%d %H:%M} UTC{spot}")
    if state.loaded_at is not None:
        parts.append(
            f"loaded {state.loaded_at:%Y-%m-%d %H:%M:%S} UTC ({ago((now - state.loaded_at).total_seconds())} ago)"
        )
    parts.append(f"refreshes every {ago(state.refresh_s)}")
    out: list[Component] = [html.Span(" · ".join(parts), id="status-text")]
    if state.error is not None:
        keep = "; showing the last good data" if state.view is not None else ""
        when = "" if state.attempted_at is None else f" at {state.attempted_at:%H:%M:%S} UTC"
        out.append(html.Span(f"last load failed{when}: {state.error}{keep}", id="status-error", className="error"))
    return out


def guarded(fn: Callable[P, object]) -> Callable[P, object]:
    """`fn`, with any exception turned into a message component (never a stack trace in the page)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> object:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            return message(describe(exc))

    return wrapper
