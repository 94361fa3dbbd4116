"""The Dash app: a navigation bar, a status line, the page, and the callbacks wired to plain functions.

The snapshot is loaded at start-up; each page's report items and figures are computed the first time the page
is opened and kept for that snapshot (the overview's in a background thread started with the server, so the
server answers at once and the first page is ready sooner).
A `dcc.Interval` re-runs the loader (default every 5 min) in a server thread, so the page is never
blocked; a failed load keeps the last good data and says why in the status line. Dash serves its
JavaScript from the installed wheel (`serve_locally`), so the dashboard works offline.
"""

from __future__ import annotations

import threading

import dash
from dash import ALL, Input, Output, State, dcc, html
from dash.development.base_component import Component

from capitulation.dashboard import pages
from capitulation.dashboard.components import guarded, status_line
from capitulation.dashboard.pages import PAGES, lazy
from capitulation.dashboard.state import LiveState, Loader
from capitulation.errors import CapitulationError
from capitulation.signals.common import BTC, closes
from capitulation.store import HistoryStore

CSS = """
:root{--bg:#f6f7f9;--fg:#1d232a;--muted:#4b5563;--panel:#fff;--line:#d9dde3;--bar:#17212b;--bar-fg:#f1f5f9;
--accent:#93c5fd;--holds:#0072b2;--not-holds:#767b84;--no-data:#a86200;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f141a;--fg:#e5e7eb;--muted:#a3aab5;--panel:#18202a;--line:#2c3642;
--bar:#0b1016;--holds:#56b4e9;--not-holds:#9ca3af;--no-data:#e69f00}}
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.3em 1.5em;padding:.5em 1em;
background:var(--bar);color:var(--bar-fg)}
header h1{font-size:1.2em;margin:0}
nav{display:flex;gap:.3em 1em;overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch;scrollbar-width:thin}
nav a{color:var(--bar-fg);white-space:nowrap;text-decoration:none;padding:.35em .1em;
border-bottom:2px solid transparent}
nav a:hover,nav a:focus{border-bottom-color:var(--accent)}
#status{padding:.4em 1em;font-size:.85em;color:var(--muted);background:var(--panel);border-bottom:1px solid var(--line);
overflow-wrap:anywhere}
#status .error,.message.error{color:#dc2626;font-weight:600}#status .error{margin-left:1em}
main{max-width:1250px;margin:0 auto;padding:.5em 1em 3em}main h2,main h3{overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(280px,100%),1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-left:6px solid var(--c);border-radius:6px;
padding:10px 12px;min-width:0;overflow-wrap:anywhere}
.card h3{margin:0 0 4px 0;font-size:1em}.card ul{padding-left:1.1em;margin:6px 0;font-size:.85em}
.card li span.v{font-variant-numeric:tabular-nums;font-weight:600}
.holds{--c:var(--holds)}.not-holds{--c:var(--not-holds)}.no-data{--c:var(--no-data)}.card.no-data{border-left-style:dashed}
.status{color:var(--c);font-weight:700}.changed{margin-left:.5em;font-size:.8em;font-weight:600;padding:0 .4em;
border-radius:3px;background:var(--c);color:var(--panel)}
.legend{display:flex;flex-wrap:wrap;gap:.4em 1.2em;font-size:.85em;margin:.3em 0 .8em}
.legend span{display:inline-flex;align-items:center;gap:.35em}.legend i{display:inline-block;width:.9em;height:.9em;
border-radius:2px;background:var(--c)}
.headline{margin:4px 0}.small{font-size:.85em;color:var(--muted)}.message{padding:.6em 0}
.message.info{color:var(--muted)}
.scroll{max-width:100%;overflow-x:auto;margin:.5em 0}
table{border-collapse:collapse;font-size:.88em;background:var(--panel)}
td,th{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;white-space:nowrap}
.chart{margin:.5em 0;min-width:0}.chart-box{min-width:0;max-width:100%}
.chart-foot{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.3em 1em;font-size:.78em;color:var(--muted)}
button.csv{font-size:.85em;padding:.15em .6em;background:var(--panel);color:var(--fg);border:1px solid var(--line);
border-radius:4px;cursor:pointer}
.controls{display:flex;flex-wrap:wrap;gap:.6em 2em;align-items:center;margin:.5em 0}
.controls>div{min-width:min(320px,100%)}
.replay{background:var(--panel);border-left:4px solid var(--no-data);padding:.4em .8em}
.as-of{padding:0 1em}.as-of>div{min-width:0;max-width:14em}
.synthetic{background:#b45309;color:#fff;padding:.3em 1em;font-weight:700}
@media (prefers-color-scheme:dark){html:root{--Dash-Fill-Inverse-Strong:var(--panel);--Dash-Text-Strong:var(--fg);
--Dash-Text-Primary:var(--fg);--Dash-Text-Weak:var(--muted);--Dash-Text-Disabled:#6b7280;--Dash-Stroke-Strong:#6b7280;
--Dash-Stroke-Weak:var(--line);--Dash-Fill-Interactive-Strong:var(--holds);--Dash-Fill-Interactive-Weak:#ffffff0f;
--Dash-Fill-Primary-Hover:#ffffff0f;--Dash-Fill-Primary-Active:#ffffff1a;--Dash-Fill-Disabled:#ffffff14}}
@media (prefers-color-scheme:dark){.js-plotly-plot .main-svg text{fill:var(--fg)!important}
.js-plotly-plot .gridlayer path,.js-plotly-plot .zerolinelayer path{stroke:var(--line)!important}
.js-plotly-plot .legend .bg,.js-plotly-plot .rangeselector rect{fill:var(--panel)!important}}
"""

CSV_JS = """
function(clicks) {
    const dc = window.dash_clientside, trig = dc.callback_context.triggered_id;
    if (!trig || !clicks.some(n => n)) { return dc.no_update; }
    const el = document.getElementById(trig.target);
    if (!el) { return dc.no_update; }
    const cell = v => { const t = String(v ?? ''); return /[",\\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t; };
    let rows = [];
    const gd = el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');
    if (gd && gd.data) {
        rows.push(['trace', 'x', 'y', 'text']);
        gd.data.forEach((t, i) => (t.x || t.y || []).forEach((_, j) => rows.push(
            [t.name || 'trace ' + i, t.x ? t.x[j] : '', t.y ? (Array.isArray(t.y[j]) ? t.y[j].join(' ') : t.y[j]) : '',
             Array.isArray(t.text) ? t.text[j] : ''])));
    } else {
        rows = [...el.querySelectorAll('tr')].map(tr => [...tr.children].map(c => c.innerText));
    }
    return {content: rows.map(r => r.map(cell).join(',')).join('\\n') + '\\n', filename: trig.target + '.csv',
            type: 'text/csv'};
}
"""
"""The CSV buttons' client-side callback: the chart's traces (trace, x, y, text) or the table's cells as the
browser shows them, downloaded as `<id>.csv`."""


def synthetic_banner(state: LiveState) -> html.Div | None:
    """A banner when any table of the shown snapshot is synthetic (made-up numbers, e.g. the README's demo)."""
    view = state.view
    if view is None or not any(p.synthetic for p in view.snap.provenance.values()):
        return None
    return html.Div(
        "SYNTHETIC data: made-up numbers for a demonstration, not market data", className="synthetic", id="synthetic"
    )


def as_of_picker(state: LiveState) -> html.Div | None:
    """A date picker that replays any day of the loaded data from its first BTC close to its as_of
    (`LiveState.at`); cleared, the loaded data's as_of."""
    if state.view is None:
        return None
    snap = state.view.snap
    btc = closes(snap, BTC)
    first = btc.index[0] if not btc.empty else snap.as_of  # no day to replay before the first BTC close
    return html.Div(
        [
            html.Label("as of (replay a past day)", htmlFor="as-of"),
            dcc.DatePickerSingle(
                id="as-of",
                min_date_allowed=f"{first:%Y-%m-%d}",
                max_date_allowed=f"{snap.as_of:%Y-%m-%d}",
                initial_visible_month=f"{snap.as_of:%Y-%m-%d}",
                display_format="YYYY-MM-DD",
                placeholder=f"{snap.as_of:%Y-%m-%d}",
                clearable=True,
                style={"maxWidth": "12em"},
            ),
        ],
        className="controls as-of",
    )


def shell(state: LiveState) -> html.Div:
    """The frame around every page; built on each page load, so it carries the current status."""
    return html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="tick", interval=int(state.refresh_s * 1000)),
            dcc.Store(id="version", data=state.version()),
            dcc.Download(id="download"),
            html.Header(
                [
                    html.H1("capitulation"),
                    html.Nav([dcc.Link(p.name, href=p.path, id=f"nav-{p.key}") for p in PAGES], id="nav"),
                ]
            ),
            synthetic_banner(state),
            html.Div(status_line(state), id="status"),
            as_of_picker(state),
            html.Main(id="page"),
        ]
    )


def on_tick(state: LiveState) -> tuple[list[Component], str]:
    """The interval's callback: refresh the data; the new status line, and the version when it changed."""
    changed = state.refresh()
    return status_line(state), state.version() if changed else dash.no_update


def create_app(
    snapshot_loader: Loader,
    store: HistoryStore,
    *,
    refresh_s: float = 300.0,
) -> dash.Dash:
    """The dashboard over `snapshot_loader`'s snapshot and `store`'s history, refreshed every `refresh_s`.

    Loads the snapshot now; `CapitulationError` when that first load fails (there is nothing to show).
    """
    state = LiveState(snapshot_loader, store, refresh_s)
    state.reload()
    if state.view is None:
        raise CapitulationError(f"dashboard: cannot load the snapshot: {state.error}")
    prepare = lazy("overview", "prepare")  # the overview's report, computed while the server starts
    threading.Thread(target=prepare, args=(state.view,), name="dashboard-prepare", daemon=True).start()
    app = dash.Dash(
        __name__,
        serve_locally=True,
        title="capitulation",
        update_title=None,
        suppress_callback_exceptions=True,  # the selectors live on pages rendered later
    )
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    app.layout = lambda: shell(state)

    app.callback(
        Output("page", "children"), Input("url", "pathname"), Input("version", "data"), Input("as-of", "date")
    )(lambda pathname, _version, day: pages.render_page(state, pathname, day))  # guards each page itself
    app.callback(
        Output("status", "children"), Output("version", "data"), Input("tick", "n_intervals"), prevent_initial_call=True
    )(lambda _n: on_tick(state))
    gex = guarded(lazy("options", "gex_panel"))
    app.callback(
        Output("gex-profile", "children"),
        Input("dealer", "value"),
        Input("sticky", "value"),
        Input("expiry", "value"),
        State("as-of", "date"),
        prevent_initial_call=True,
    )(lambda dealer, sticky, expiry, day: gex(state.at(day), dealer, sticky, expiry))
    app.clientside_callback(
        CSV_JS, Output("download", "data"), Input({"type": "csv", "target": ALL}, "n_clicks"), prevent_initial_call=True
    )
    miners = guarded(lazy("cost_floors", "miner_panel"))
    app.callback(
        Output("miners", "children"), Input("power", "value"), State("as-of", "date"), prevent_initial_call=True
    )(lambda power, day: miners(state.at(day), power))
    return app
