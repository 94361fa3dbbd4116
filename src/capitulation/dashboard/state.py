"""What the dashboard shows, computed once per snapshot, and the loader that refreshes it.

`build_view` evaluates the report, its figures and the pages' tables of one snapshot; `LiveState` re-runs
the snapshot loader on refresh, builds a new view only for a new as_of, and keeps the last good view
(with the reason) when loading fails.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import plotly.graph_objects as go

from capitulation.analytics.gex import Dealer, Sticky
from capitulation.analytics.mining import NetworkState, network_state
from capitulation.errors import CapitulationError, DataError
from capitulation.report import model
from capitulation.report.charts import all_figures
from capitulation.signals.leverage_flush import Study, event_study
from capitulation.signals.options_stress import OptionsSummary, chain_summary
from capitulation.signals.treasury import company_table
from capitulation.snapshot import Snapshot
from capitulation.store import HistoryStore

log = logging.getLogger(__name__)
T = TypeVar("T")

Loader = Callable[[], Snapshot]
"""Returns the snapshot to show: the recorded data offline, a fresh one in live mode."""


def describe(exc: Exception) -> str:
    """A one-line message for the page: the package's own errors as they are, anything else named and logged."""
    if isinstance(exc, CapitulationError):
        return str(exc)
    log.error("dashboard: unexpected error", exc_info=exc)
    return f"unexpected {type(exc).__name__}: {exc} (details in the server log)"


def _or_reason(fn: Callable[[], T]) -> T | str:
    """`fn()`, or why its data is missing."""
    try:
        return fn()
    except CapitulationError as exc:
        return str(exc)


def _network(snap: Snapshot) -> NetworkState:
    net = snap.get("btc_network")
    if net is None:
        raise DataError("no btc_network table in this snapshot: no network state to price miners")
    return network_state(net)


@dataclass
class View:
    """One snapshot's report, figures and tables; a str in place of a table says why it is missing."""

    snap: Snapshot
    report: model.Report
    figures: dict[str, go.Figure]
    companies: pd.DataFrame | str
    network: NetworkState | str
    study: Study | None

    def options(self, dealer: Dealer = "classic", sticky: Sticky = "strike") -> OptionsSummary:
        """The latest chain's options figures under a dealer model, the one verdict 3 and the report's charts
        computed (kept on the snapshot: `chain_summary`); `DataError` without a chain."""
        s = chain_summary(self.snap, dealer, sticky)
        if s is None:
            raise DataError("no option chain (option_quotes) in this snapshot")
        return s


def build_view(snap: Snapshot) -> View:
    """Everything the pages show for `snap`, computed once; the treasury companies from the snapshot's own
    capital-stack tables (`signals.treasury.company_table`, as verdict 6 and `mnav`)."""
    rep = model.build(snap)
    view = View(
        snap=snap,
        report=rep,
        figures=all_figures(rep, snap),
        companies=_or_reason(lambda: company_table(snap)),
        network=_or_reason(lambda: _network(snap)),
        study=event_study(snap),
    )
    with contextlib.suppress(CapitulationError):  # else the Options page shows why
        view.options()  # the default dealer model, ready before the first visit
    return view


class LiveState:
    """The view on screen, the loader behind it and the outcome of the last load."""

    def __init__(
        self,
        loader: Loader,
        store: HistoryStore,
        refresh_s: float = 300.0,
    ) -> None:
        self.loader, self.store, self.refresh_s = loader, store, refresh_s
        self.view: View | None = None
        self.loaded_at: pd.Timestamp | None = None  # last successful load (UTC)
        self.attempted_at: pd.Timestamp | None = None  # last attempt, successful or not
        self.error: str | None = None  # why the last attempt failed; None after a success
        self._lock = threading.Lock()

    def reload(self) -> bool:
        """Run the loader; True when a view for a new as_of replaced the shown one. A snapshot with the
        as_of already shown is not recomputed. On failure the last good view stays and `error` says why."""
        if not self._lock.acquire(blocking=False):
            return False  # a load is already running (e.g. another tab's refresh)
        try:
            self.attempted_at = pd.Timestamp.now(tz="UTC")
            snap = self.loader()
            changed = self.view is None or snap.as_of != self.view.snap.as_of
            if changed:
                self.view = build_view(snap)
            self.loaded_at, self.error = pd.Timestamp.now(tz="UTC"), None
            return changed
        except Exception as exc:  # any failure keeps the last good data on screen
            self.error = describe(exc)
            log.warning("dashboard: loading the snapshot failed: %s", self.error)
            return False
        finally:
            self._lock.release()

    def refresh(self) -> bool:
        """`reload`, unless an attempt ran within half the refresh interval (every open tab ticks)."""
        now = pd.Timestamp.now(tz="UTC")
        if self.attempted_at is not None and (now - self.attempted_at).total_seconds() < self.refresh_s / 2:
            return False
        return self.reload()

    def version(self) -> str:
        """A token that changes when the shown view does: its as_of."""
        return "" if self.view is None else self.view.snap.as_of.isoformat()

    def current(self) -> View:
        """The shown view; `DataError` (with the loader's message) before any load succeeded."""
        if self.view is None:
            raise DataError(f"no data loaded yet: {self.error or 'loading'}")
        return self.view
