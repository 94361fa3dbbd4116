"""The dashboard's pages, one small module each; `render_page` picks one by URL path.

A page's module (and the analytics it draws) is imported when the page is first shown, so the server
answers its first request before the signals load (`lazy`)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dash import html
from dash.development.base_component import Component

from capitulation.dashboard.components import guarded, message
from capitulation.dashboard.state import LiveState
from capitulation.errors import CapitulationError


def lazy(module: str, name: str) -> Callable[..., Any]:
    """Function `name` of page module `module`, the module imported at the first call."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(f"{__name__}.{module}"), name)(*args)

    call.__name__ = call.__qualname__ = f"{module}.{name}"
    return call


@dataclass(frozen=True)
class Page:
    key: str
    path: str
    name: str
    module: str

    @property
    def render(self) -> Callable[[LiveState], Sequence[Component]]:
        return lazy(self.module, "layout")


PAGES = (
    Page("overview", "/", "Overview", "overview"),
    Page("options", "/options", "Options", "options"),
    Page("leverage", "/leverage", "Leverage", "leverage"),
    Page("cost-floors", "/cost-floors", "Cost floors", "cost_floors"),
    Page("markets", "/markets", "Cross-asset and sectors", "markets"),
    Page("history", "/history", "History", "history"),
)


def render_page(state: LiveState, pathname: str | None, day: str | None = None) -> html.Div:
    """The page at `pathname` in a div with id `page-<key>`, as of the end of UTC `day` when given (a replay,
    `LiveState.at`, said above the page); a message for an unknown path."""
    page = next((p for p in PAGES if p.path == (pathname or "/")), None)
    if page is None:
        known = ", ".join(p.path for p in PAGES)
        return html.Div(message(f"no page at {pathname}; pages: {known}"), id="page-unknown")
    try:
        shown = state.at(day)
    except CapitulationError as exc:
        return html.Div(message(str(exc)), id=f"page-{page.key}")
    note = (
        []
        if shown.replaying is None
        else [
            html.P(
                f"Replaying {shown.replaying:%Y-%m-%d %H:%M} UTC: the loaded data cut to what was known then "
                "(as `capitulation report --as-of`); clear the date to return to the latest.",
                className="replay",
                id="replay-note",
            )
        ]
    )
    body = html.Div(guarded(page.render)(shown), className="page-body")
    return html.Div([html.H2(page.name, className="page-title"), *note, body], id=f"page-{page.key}")
