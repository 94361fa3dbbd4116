"""History: the latest walk-forward backtest's verdict timeline over BTC with its scorecard, then each
signal's status and key metric over the runs stored in the history store (read on every visit, so runs that
`capitulation report`, `watch` or `backtest` commit meanwhile appear; uncommitted writes are invisible)."""

from __future__ import annotations

from dash import html
from dash.development.base_component import Component

from capitulation.analytics.scorecard import scorecard
from capitulation.backtest.run import Timeline
from capitulation.dashboard import figures as dfig
from capitulation.dashboard.components import graph, message, table
from capitulation.dashboard.state import LiveState
from capitulation.errors import StoreError
from capitulation.report.backtest_charts import how_to_make, scorecard_tables, stored_run, swings, timeline_figure
from capitulation.signals import labels
from capitulation.signals.common import BTC, closes

LATEST_RUNS = 3  # runs listed in the table; the chart shows them all


def _key(name: object, value: object) -> str:
    """'OI build-up removed (in BTC): 36.2%' (`signals.labels`), or '' when the verdict listed no metric."""
    if not isinstance(name, str) or value is None or value != value:
        return ""
    return "{}: {}".format(*labels.describe(name, float(value)))


def backtest(state: LiveState) -> list[Component]:
    """The latest walk-forward backtest in the store to the shown snapshot's as_of (`stored_run`): the
    figure of the HTML pages and its walk-forward scorecard, recomputed here from the stored timeline and the
    BTC closes known at that as_of (in sample and out of sample need the fixed-threshold run: `backtest --html`)."""
    head = html.H3("Backtest: the verdicts at each date over BTC")
    if state.view is None:
        return [head, message("No snapshot loaded yet: the backtest is drawn over its BTC closes.", "info")]
    snap = state.view.snap
    try:
        got = stored_run(state.store, snap.as_of)
    except StoreError as exc:  # the per-run part below still shows
        return [head, message(str(exc))]
    if isinstance(got, str):
        return [head, message(got, "info")]
    close = closes(snap, BTC)
    statuses = Timeline(got.rows, got.run, 0, 0).statuses()
    statuses.index = statuses.index.floor("D")
    cards = scorecard_tables({"walk-forward": scorecard(statuses, close, swings(close))})
    return [
        head,
        html.P(got.caption(), className="small"),
        graph(
            "backtest", timeline_figure(got.rows, close, got.title()), f"Source: history store at {state.store.root}"
        ),
        html.P(
            "Scorecard, walk-forward only: recomputed from the stored timeline and the closes known at "
            f"{snap.as_of:%Y-%m-%d}. In and out of sample beside it: {how_to_make(state.store, ' --html PAGE')}.",
            className="small",
        ),
        *[part for t in cards for part in (html.H4(t.title), table(t.columns, t.rows, f"backtest-{t.key}"))],
    ]


def layout(state: LiveState) -> list[Component]:
    root = state.store.root
    hist = state.store.verdict_history()
    runs: list[Component] = [html.H3("Stored report runs")]
    if hist.empty:
        runs.append(
            message(
                f"The history store at {root} holds no verdicts yet. Each report run stores its snapshot and "
                f"verdicts: run `capitulation report --data ../shared/data --db {root}` (add --as-of DATE for "
                "earlier days), then reload this page.",
                "info",
            )
        )
        return [*backtest(state), *runs]
    latest = hist[hist["as_of"].isin(hist["as_of"].drop_duplicates().tail(LATEST_RUNS))].iloc[::-1]
    return [
        *backtest(state),
        *runs,
        html.P(f"{hist['as_of'].nunique()} stored run(s) in {root}.", className="small"),
        graph("history", dfig.status_history(hist), f"Source: history store at {root}"),
        html.H3(f"Verdicts of the latest {LATEST_RUNS} runs"),
        table(
            ("as of", "signal", "status", "key metric", "headline"),
            [
                (
                    f"{r.as_of:%Y-%m-%d %H:%M}",
                    r.signal,
                    r.status,
                    _key(r.key_metric, r.key_value),
                    r.headline,
                )
                for r in latest.itertuples()
            ],
            "history-table",
        ),
    ]
