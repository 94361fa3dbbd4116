"""What the dashboard shows, computed once per snapshot when first asked for, and the loader that refreshes it.

A `View` holds one snapshot; its report, each figure and the pages' tables are computed the first time a page
asks for them and kept (pages build their figures when first opened, so the server answers at once).
`LiveState` re-runs the snapshot loader on refresh, makes a new view only for a new as_of, and keeps the last
good view (with the reason) when loading fails.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, TypeVar, cast

import pandas as pd
import plotly.graph_objects as go

from capitulation.analytics.mining import NetworkState, network_state
from capitulation.errors import CapitulationError, DataError
from capitulation.report import model
from capitulation.signals.common import spot
from capitulation.snapshot import Snapshot
from capitulation.store import HistoryStore

if TYPE_CHECKING:  # the options, treasury and leverage analytics load when a page first needs them
    from capitulation.analytics.gex import Dealer, Sticky
    from capitulation.signals.leverage_flush import Study
    from capitulation.signals.options_stress import OptionsSummary

log = logging.getLogger(__name__)
T = TypeVar("T")

REPLAYS = 4  # past days kept computed for the as-of date picker

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


class View:
    """One snapshot's report, figures and tables, each computed once, on first use; a str in place of a table
    says why it is missing. Safe to share between Dash's request threads: each item has its own lock, so a
    second request for an item being computed waits for it instead of computing it again, and pages that need
    different items do not wait for each other."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self._done: dict[Hashable, object] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()  # guards _locks

    def _once(self, key: Hashable, make: Callable[[], T]) -> T:
        """`make()` the first time `key` is asked for, the kept result afterwards (exceptions are not kept)."""
        if key in self._done:
            return cast(T, self._done[key])
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._done:
                self._done[key] = make()
            return cast(T, self._done[key])

    def computed(self) -> list[Hashable]:
        """The keys computed so far, in order ('report', ('figure', 'levels'), ...)."""
        return list(self._done)

    @property
    def spot_text(self) -> str:
        """The header's spot ('BTC $62,702', `report.model.spot_text`) without evaluating the signals, so the
        page frame is served before the report is built."""
        return self._once("spot", lambda: model.spot_line(spot(self.snap), model.spot_info(self.snap)))

    @property
    def report(self) -> model.Report:
        """The eight verdicts, the levels ladder and each table's age (`report.model.build`)."""
        return self._once("report", lambda: model.build(self.snap))

    def figure(self, key: str) -> go.Figure | None:
        """The report's figure `key` (one of `report.charts.FIGURES`), None when the snapshot lacks its data."""
        from capitulation.report.charts import figure

        return self._once(("figure", key), lambda: figure(key, self.report, self.snap))

    def figures(self, keys: Iterable[str]) -> dict[str, go.Figure]:
        """The figures under `keys` that the snapshot has the data for."""
        return {k: f for k in keys if (f := self.figure(k)) is not None}

    @property
    def companies(self) -> pd.DataFrame | str:
        """The treasury companies from the snapshot's own capital-stack tables (`signals.treasury.company_table`,
        as verdict 6 and `mnav`), or why not."""
        from capitulation.signals.treasury import company_table

        return self._once("companies", lambda: _or_reason(lambda: company_table(self.snap)))

    @property
    def network(self) -> NetworkState | str:
        """The Bitcoin network's state for pricing miners, or why not."""
        return self._once("network", lambda: _or_reason(lambda: _network(self.snap)))

    @property
    def study(self) -> Study | None:
        """The leverage event study of every 20 %+ drawdown; None without perp_metrics or prices."""
        from capitulation.signals.leverage_flush import event_study

        return self._once("study", lambda: event_study(self.snap))

    def options(
        self, dealer: Dealer = "classic", sticky: Sticky = "strike", expiry: pd.Timestamp | None = None
    ) -> OptionsSummary:
        """The latest chain's options figures under a dealer model, for one expiry or (None) all of them;
        `DataError` without a chain, or for an expiry not in it."""

        from capitulation.signals.options_stress import OptionsSummary, chain_summary, prepared_chain, summarize

        def make() -> OptionsSummary:
            chain = prepared_chain(self.snap)  # prepared once per snapshot
            if chain is None:
                raise DataError("no option chain (option_quotes) in this snapshot")
            if expiry is None:  # the summary verdict 3 and the report's charts drew, kept on the snapshot
                return cast(OptionsSummary, chain_summary(self.snap, dealer, sticky))
            return summarize(chain, dealer=dealer, sticky=sticky, expiry=expiry)

        return self._once(("options", dealer, sticky, expiry), make)


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
        self.replaying: pd.Timestamp | None = None  # the day replayed (`at`), None for the loaded data
        self._lock = threading.Lock()
        self._replays: dict[tuple[str, str], LiveState] = {}  # (version, day) -> state, the latest REPLAYS
        self._replays_lock = threading.Lock()

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
                self.view = View(snap)
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

    def at(self, day: str | None) -> LiveState:
        """The dashboard as it would have been at the end of UTC `day` (an ISO date): the shown snapshot cut
        with `Snapshot.upto(day)` (rows not yet known dropped, as `report --as-of`), everything computed
        from that cut on first use like the live view; `self` for None or a day at or after the shown as_of.
        The latest `REPLAYS` days are kept. `DataError` before any load succeeded."""
        if day is None:
            return self
        view = self.current()
        cut = pd.Timestamp(day, tz="UTC").normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
        if cut >= view.snap.as_of:
            return self
        key = (self.version(), cut.isoformat())
        with self._replays_lock:
            if key not in self._replays:
                past = LiveState(self.loader, self.store, self.refresh_s)
                past.view, past.loaded_at, past.replaying = View(view.snap.upto(cut)), self.loaded_at, cut
                self._replays[key] = past
                while len(self._replays) > REPLAYS:
                    self._replays.pop(next(iter(self._replays)))
            return self._replays[key]

    def version(self) -> str:
        """A token that changes when the shown view does: its as_of."""
        return "" if self.view is None else self.view.snap.as_of.isoformat()

    def current(self) -> View:
        """The shown view; `DataError` (with the loader's message) before any load succeeded."""
        if self.view is None:
            raise DataError(f"no data loaded yet: {self.error or 'loading'}")
        return self.view
