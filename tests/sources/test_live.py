"""`live.live_snapshot`: every source asked concurrently, one status per source, failures left out.

The sources here are SYNTHETIC test fetchers (made-up one-row tables, named synthetic in their provenance) that
sleep to stand in for network time; the connectors themselves are tested against recordings elsewhere.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from capitulation import tables
from capitulation.errors import SourceError
from capitulation.snapshot import Provenance, SourceStatus
from capitulation.sources import http, live, tape
from capitulation.sources.live import Fetcher

NOW = pd.Timestamp("2026-11-25T12:00Z")
PROV = Provenance("synthetic test fetcher", NOW.isoformat(), synthetic=True)
VALUES = {"time": pd.Timestamp("2026-11-24", tz="UTC"), "str": "SYNTHETIC", "float": 1.0, "int": 1}


def source(name: str, seconds: float = 0.0, rows: int = 1) -> Fetcher:
    """A synthetic source of table `name` answering `rows` made-up rows after `seconds`."""

    def fetch() -> tuple[pd.DataFrame, Provenance]:
        time.sleep(seconds)
        return pd.DataFrame({c.name: [VALUES[c.kind]] * rows for c in tables.spec(name).columns}), PROV

    return fetch


def raising(exc: Exception) -> Fetcher:
    def fetch() -> tuple[pd.DataFrame, Provenance]:
        raise exc

    return fetch


def test_a_snapshot_costs_about_the_slowest_source(tmp_path) -> None:
    slow = {"btc_network": source("btc_network", 0.4), "etf_flows": source("etf_flows", 0.3)}
    t0 = time.perf_counter()
    snap = live.live_snapshot({**slow, "vol_index": source("vol_index", 0.3)}, NOW)
    concurrent = time.perf_counter() - t0
    # measured: sources of 0.4, 0.3 and 0.3 s take about 0.4 s together, not their 1.0 s sum
    assert 0.4 <= concurrent < 0.7, concurrent
    assert [s.state for s in snap.sources] == ["ok"] * 3

    (tmp_path / "tape").mkdir()
    with tape.replaying(tmp_path / "tape"):  # under a tape, one after another (vcrpy is not thread-safe)
        t0 = time.perf_counter()
        live.live_snapshot({**slow, "vol_index": source("vol_index", 0.3)}, NOW)
        assert time.perf_counter() - t0 >= 1.0


def test_each_failure_is_a_stale_status_and_the_rest_is_kept() -> None:
    snap = live.live_snapshot(
        {
            "option_quotes": raising(SourceError("deribit: rate limited")),
            "perp_metrics": raising(KeyError("markPrice")),  # a bug or drift in a source: still only that source
            "daily_prices": source("daily_prices", rows=0),
            "btc_network": lambda: (pd.DataFrame({"date": ["not a date"]}), PROV),  # breaks the table contract
            "etf_flows": source("etf_flows"),
        },
        NOW,
    )
    assert snap.as_of == NOW and list(snap.tables) == ["etf_flows"]
    assert snap.sources[:3] == (
        SourceStatus("option_quotes", "stale", "deribit: rate limited"),
        SourceStatus("perp_metrics", "stale", "KeyError: 'markPrice'"),
        SourceStatus("daily_prices", "stale", "no rows"),
    )
    assert snap.sources[3].state == "stale" and "btc_network" in snap.sources[3].message
    assert snap.sources[4] == SourceStatus("etf_flows", "ok", rows=1)
    assert snap.stale() == ["option_quotes", "perp_metrics", "daily_prices", "btc_network"]


def test_every_source_failing_is_a_source_error_naming_each() -> None:
    with pytest.raises(SourceError, match="every source failed: option_quotes: down; etf_flows: no rows"):
        live.live_snapshot({"option_quotes": raising(SourceError("down")), "etf_flows": source("etf_flows", rows=0)})
    with pytest.raises(SourceError, match="no live source"):
        live.live_snapshot({})


def test_without_now_the_snapshot_is_stamped_by_the_sources_clock(monkeypatch) -> None:
    monkeypatch.setattr(http, "utc_now", lambda: NOW)
    assert live.live_snapshot({"etf_flows": source("etf_flows")}).as_of == NOW
