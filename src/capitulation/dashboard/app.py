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
from dash import Input, Output, dcc, html
from dash.development.base_component import Component

from capitulation.dashboard import pages
from capitulation.dashboard.components import guarded, status_line
from capitulation.dashboard.pages import PAGES, cost_floors, options, overview
from capitulation.dashboard.state import LiveState, Loader
from capitulation.errors import CapitulationError
from capitulation.store import HistoryStore

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;align-items:baseline;gap:2em;padding:.6em 1.5em;background:#1f2d3a;color:#fff}
header h1{font-size:1.3em;margin:0}nav a{color:#d6e4f0;margin-right:1.2em;text-decoration:none}
nav a:hover{text-decoration:underline}#status{padding:.4em 1.5em;font-size:.85em;color:#444;background:#eef2f5}
#status .error,.message.error{color:#a93226;font-weight:600}#status .error{margin-left:1em}
main{max-width:1250px;margin:0 auto;padding:.5em 1.5em 3em}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.card{background:#fff;border:1px solid #ddd;border-left:6px solid var(--c);border-radius:6px;padding:10px 12px}
.card h3{margin:0 0 4px 0;font-size:1em}.card ul{padding-left:1.1em;margin:6px 0;font-size:.85em;color:#333}
.holds{--c:#c0392b}.not-holds{--c:#27ae60}.no-data{--c:#b7950b}.status{color:var(--c);font-weight:600}
.headline{margin:4px 0}.small{font-size:.85em;color:#555}.message{padding:.6em 0}.message.info{color:#555}
table{border-collapse:collapse;font-size:.88em;background:#fff;margin:.5em 0}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}.chart{margin:.5em 0}
.controls{display:flex;flex-wrap:wrap;gap:.6em 2em;align-items:center;margin:.5em 0}.controls>div{min-width:320px}
"""


def shell(state: LiveState) -> html.Div:
    """The frame around every page; built on each page load, so it carries the current status."""
    return html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="tick", interval=int(state.refresh_s * 1000)),
            dcc.Store(id="version", data=state.version()),
            html.Header(
                [html.H1("capitulation"), html.Nav([dcc.Link(p.name, href=p.path, id=f"nav-{p.key}") for p in PAGES])]
            ),
            html.Div(status_line(state), id="status"),
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
    threading.Thread(target=overview.prepare, args=(state.view,), name="dashboard-prepare", daemon=True).start()
    app = dash.Dash(
        __name__,
        serve_locally=True,
        title="capitulation",
        update_title=None,
        suppress_callback_exceptions=True,  # the selectors live on pages rendered later
    )
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + CSS + "</style>")
    app.layout = lambda: shell(state)

    app.callback(Output("page", "children"), Input("url", "pathname"), Input("version", "data"))(
        lambda pathname, _version: pages.render_page(state, pathname)  # guards each page itself
    )
    app.callback(
        Output("status", "children"), Output("version", "data"), Input("tick", "n_intervals"), prevent_initial_call=True
    )(lambda _n: on_tick(state))
    gex = guarded(options.gex_panel)
    app.callback(
        Output("gex-profile", "children"), Input("dealer", "value"), Input("sticky", "value"), prevent_initial_call=True
    )(lambda dealer, sticky: gex(state, dealer, sticky))
    miners = guarded(cost_floors.miner_panel)
    app.callback(Output("miners", "children"), Input("power", "value"), prevent_initial_call=True)(
        lambda power: miners(state, power)
    )
    return app
