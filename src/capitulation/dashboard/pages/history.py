"""History: each signal's status and key metric over the runs stored in the history store (read on every visit, so runs
that `capitulation report` or `watch` commit meanwhile appear; uncommitted writes are invisible)."""

from __future__ import annotations

from dash import html
from dash.development.base_component import Component

from capitulation.dashboard import figures as dfig
from capitulation.dashboard.components import graph, message, table
from capitulation.dashboard.state import LiveState

LATEST_RUNS = 3  # runs listed in the table; the chart shows them all


def _key(name: object, value: object, unit: object) -> str:
    """'flush_ratio_btc = 0.3624 fraction', or '' when the verdict listed no metric."""
    if not isinstance(name, str) or value is None or value != value:
        return ""
    return f"{name} = {value:.4g} {unit or ''}".rstrip()


def layout(state: LiveState) -> list[Component]:
    root = state.store.root
    hist = state.store.verdict_history()
    if hist.empty:
        return [
            message(
                f"The history store at {root} holds no verdicts yet. Each report run stores its snapshot and "
                f"verdicts: run `capitulation report --data ../shared/data --db {root}` (add --as-of DATE for "
                "earlier days), then reload this page.",
                "info",
            )
        ]
    latest = hist[hist["as_of"].isin(hist["as_of"].drop_duplicates().tail(LATEST_RUNS))].iloc[::-1]
    return [
        html.P(f"{hist['as_of'].nunique()} stored run(s) in {root}.", className="small"),
        graph("history", dfig.status_history(hist)),
        html.H3(f"Verdicts of the latest {LATEST_RUNS} runs"),
        table(
            ("as of", "signal", "status", "key metric", "headline"),
            [
                (
                    f"{r.as_of:%Y-%m-%d %H:%M}",
                    r.signal,
                    r.status,
                    _key(r.key_metric, r.key_value, r.key_unit),
                    r.headline,
                )
                for r in latest.itertuples()
            ],
            "history-table",
        ),
    ]
