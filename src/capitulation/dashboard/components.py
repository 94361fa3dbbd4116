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

from capitulation.dashboard.state import LiveState, View, describe
from capitulation.signals.common import usd
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


def metric_text(m: Metric) -> str:
    """A metric's value in its unit: USD with a suffix, fractions in percent, vol points signed."""
    v, unit = m.value, m.unit
    if missing(v):
        return "n/a"
    if unit == "USD":
        return usd(v)
    if unit.startswith("USD short per"):  # a hedge ratio, not money
        return f"{v:.3g} {unit}"
    if unit.startswith("USD"):
        return (usd(v) if abs(v) >= 1 else f"${v:.4g}") + unit[3:]
    if unit.startswith("fraction (vol points"):
        return f"{v * 100:+.2f} vol points"
    if unit.startswith("fraction"):
        return f"{v:.1%}{unit[8:]}"
    if unit in ("ratio", "correlation"):
        return f"{v:.3f}"
    if unit == "companies":
        return f"{v:.0f} companies"
    return f"{v:,.0f} {unit}" if abs(v) >= 1e3 else f"{v:.4g} {unit}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]], table_id: str | None = None) -> html.Table:
    """A plain table; cells are text (escaped) or components."""
    body = [html.Tr([html.Td(c) for c in r]) for r in rows]
    kw = {} if table_id is None else {"id": table_id}
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(body)], **kw)


def graph(key: str, fig: go.Figure) -> dcc.Graph:
    """A plotly figure, without the plotly logo; id `fig-<key>`."""
    return dcc.Graph(id=f"fig-{key}", figure=fig, config={"displaylogo": False}, className="chart")


def figures(view: View, keys: Sequence[str], why_absent: str) -> list[Component]:
    """The view's figures under `keys` (built now if this is their first showing), with a note for each one
    the snapshot lacks the data for."""
    figs = view.figures(keys)
    return [graph(k, figs[k]) if k in figs else message(f"{k.replace('_', ' ')}: {why_absent}", "info") for k in keys]


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
