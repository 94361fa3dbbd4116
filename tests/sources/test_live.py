"""`live.live_snapshot`: every source asked concurrently, one status per source, failures left out.

The sources here are SYNTHETIC test fetchers (made-up one-row tables, named synthetic in their provenance); the
connectors themselves are tested against recordings elsewhere.
"""

from __future__ import annotations

import threading

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


def source(name: str, rows: int = 1) -> Fetcher:
    """A synthetic source of table `name` answering `rows` made-up rows."""

    def fetch() -> tuple[pd.DataFrame, Provenance]:
        return pd.DataFrame({c.name: [VALUES[c.kind]] * rows for c in tables.spec(name).columns}), PROV

    return fetch


def raising(exc: Exception) -> Fetcher:
    def fetch() -> tuple[pd.DataFrame, Provenance]:
        raise exc

    return fetch


def test_sources_are_asked_at_once_and_under_a_tape_one_after_another(tmp_path) -> None:
    # the three fetchers meet at a barrier that opens only when all three run at the same time; its timeout only
    # keeps a broken (serial) run from hanging. The time this saves is measured in benchmarks/run.py.
    barrier = threading.Barrier(3, timeout=60)
    threads: list[str] = []

    def meeting(name: str) -> Fetcher:
        def fetch() -> tuple[pd.DataFrame, Provenance]:
            threads.append(threading.current_thread().name)
            barrier.wait()
            return source(name)()

        return fetch

    names = ["btc_network", "etf_flows", "vol_index"]
    snap = live.live_snapshot({name: meeting(name) for name in names}, NOW)
    assert [s.state for s in snap.sources] == ["ok"] * 3
    assert sorted(threads) == [f"live-{name}" for name in names]

    (tmp_path / "tape").mkdir()
    threads.clear()
    order: list[str] = []

    def in_turn(name: str) -> Fetcher:
        def fetch() -> tuple[pd.DataFrame, Provenance]:
            threads.append(threading.current_thread().name)
            order.append(name)
            return source(name)()

        return fetch

    with tape.replaying(tmp_path / "tape"):  # under a tape, one after another (vcrpy is not thread-safe)
        snap = live.live_snapshot({name: in_turn(name) for name in names}, NOW)
    assert [s.state for s in snap.sources] == ["ok"] * 3
    assert order == names and threads == [threading.current_thread().name] * 3  # in the caller's thread, in order


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


# ---- watch's rules: a time budget per source, retries across cycles ------------------------------------------


class Counting:
    """A synthetic source of `name` that fails with `reason` while `failing`, else answers one made-up row;
    `calls` counts how often it was asked and `tries` what `http.Backoff` allowed it each time."""

    def __init__(self, name: str, reason: str = "unreachable: SYNTHETIC host") -> None:
        self.name, self.reason, self.failing = name, reason, True
        self.calls = 0
        self.tries: list[int] = []

    def __call__(self) -> tuple[pd.DataFrame, Provenance]:
        self.calls += 1
        self.tries.append(http.Backoff(attempts=4).tries)
        if self.failing:
            raise SourceError(self.reason)
        return source(self.name)()


def test_retry_delays_double_from_the_first_and_stop_at_the_cap() -> None:
    retry = live.SourceRetry(first_delay=pd.Timedelta(minutes=5), max_delay=pd.Timedelta(hours=1))
    assert [retry.delay(n) / pd.Timedelta(minutes=1) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_a_failed_source_is_asked_again_after_a_growing_delay_with_its_reason_carried(monkeypatch) -> None:
    clock = {"now": NOW}
    monkeypatch.setattr(http, "utc_now", lambda: clock["now"])
    flaky, steady = Counting("btc_network"), source("etf_flows")
    retry = live.SourceRetry(first_delay=pd.Timedelta(minutes=5), max_delay=pd.Timedelta(hours=1))
    asked_at, lines = [], []
    for minute in range(0, 40, 5):  # eight cycles, five minutes apart
        clock["now"] = NOW + pd.Timedelta(minutes=minute)
        before = flaky.calls
        snap = live.live_snapshot({"btc_network": flaky, "etf_flows": steady}, retry=retry)
        if flaky.calls > before:
            asked_at.append(minute)
        lines.append(snap.sources[0])
    # failures at 0, 5, 15, 35 min: waits of 5, 10, 20 min between them
    assert asked_at == [0, 5, 15, 35]
    assert lines[0] == SourceStatus("btc_network", "stale", "unreachable: SYNTHETIC host")
    assert lines[2] == SourceStatus(
        "btc_network",
        "stale",
        "not asked until 2026-11-25 12:15:00 UTC after 2 failure(s) in a row: unreachable: SYNTHETIC host",
    )
    assert lines[6].message.startswith("not asked until 2026-11-25 12:35:00 UTC after 3 failure(s) in a row")
    assert lines[7].message == "unreachable: SYNTHETIC host"  # asked at 12:35, failed a 4th time: next at 13:15

    flaky.failing = False  # answers when next asked (13:15), and from then on every cycle
    for minute in (75, 80):  # 13:15, 13:20
        clock["now"] = NOW + pd.Timedelta(minutes=minute)
        snap = live.live_snapshot({"btc_network": flaky, "etf_flows": steady}, retry=retry)
        assert snap.sources[0] == SourceStatus("btc_network", "ok", rows=1)
    assert flaky.calls == 6 and retry.failures == {}


def test_every_source_held_back_is_still_a_source_error_naming_each_reason(monkeypatch) -> None:
    monkeypatch.setattr(http, "utc_now", lambda: NOW)
    a, b = Counting("btc_network", "unreachable: A"), Counting("etf_flows", "rate limited: B")
    retry = live.SourceRetry(first_delay=pd.Timedelta(minutes=5), max_delay=pd.Timedelta(hours=1))
    with pytest.raises(SourceError, match="every source failed: btc_network: unreachable: A; etf_flows: rate l"):
        live.live_snapshot({"btc_network": a, "etf_flows": b}, retry=retry)
    with pytest.raises(SourceError) as err:  # the same minute: nobody is asked, the reasons are carried
        live.live_snapshot({"btc_network": a, "etf_flows": b}, retry=retry)
    assert str(err.value) == (
        "every source failed: "
        "btc_network: not asked until 2026-11-25 12:05:00 UTC after 1 failure(s) in a row: unreachable: A; "
        "etf_flows: not asked until 2026-11-25 12:05:00 UTC after 1 failure(s) in a row: rate limited: B"
    )
    assert (a.calls, b.calls) == (1, 1)


def test_under_a_budget_each_source_tries_each_request_once() -> None:
    a = Counting("btc_network")
    live.live_snapshot({"btc_network": a, "etf_flows": source("etf_flows")}, NOW, budget_s=20.0)
    live.live_snapshot({"btc_network": a, "etf_flows": source("etf_flows")}, NOW)
    assert a.tries == [1, 4]  # with the budget, then without


def test_a_source_still_running_past_its_budget_is_stale_and_the_snapshot_does_not_wait(monkeypatch) -> None:
    monkeypatch.setattr(live, "GRACE_S", 0.0)
    release = threading.Event()

    def hung() -> tuple[pd.DataFrame, Provenance]:
        release.wait()  # a request that ignores its timeout
        return source("btc_network")()

    snap = live.live_snapshot({"btc_network": hung, "etf_flows": source("etf_flows")}, NOW, budget_s=0.05)
    assert not release.is_set()  # the snapshot came back while the source was still running
    release.set()
    assert snap.sources == (
        SourceStatus("btc_network", "stale", "no answer within 0.05 s; its late answer is dropped"),
        SourceStatus("etf_flows", "ok", rows=1),
    )
    assert list(snap.tables) == ["etf_flows"]


def test_a_recorded_only_table_is_stale_saying_why_and_the_others_stand() -> None:
    fetchers = {"btc_network": source("btc_network"), **{n: live.recorded_only(n) for n in live.RECORDED_ONLY}}
    snap = live.live_snapshot(fetchers, NOW)
    assert [(s.name, s.state) for s in snap.sources] == [
        ("btc_network", "ok"),
        ("onchain", "stale"),
        ("etf_flows", "stale"),
    ]
    assert set(snap.tables) == {"btc_network"}
    onchain, etf = snap.sources[1].message, snap.sources[2].message
    assert onchain.startswith("recorded-only: no public no-key source of daily on-chain cost bases")
    assert etf.startswith("recorded-only: no public no-key API of per-fund spot ETF flows (Farside Investors")


def test_retry_never_holds_a_recorded_only_table_back_so_its_reason_comes_first() -> None:
    retry = live.SourceRetry(pd.Timedelta(minutes=5), pd.Timedelta(hours=1))
    fetchers = {"btc_network": source("btc_network"), "onchain": live.recorded_only("onchain")}
    for minutes in (0, 1):  # the second cycle falls within any retry delay
        snap = live.live_snapshot(fetchers, NOW, retry=retry, started=NOW + pd.Timedelta(minutes=minutes))
        assert snap.sources[1] == SourceStatus("onchain", "stale", live.RECORDED_ONLY["onchain"])
    assert retry.failures == {}


def test_each_source_asked_is_told_once_as_it_finishes_in_the_calling_thread(monkeypatch) -> None:
    """`on_source`: once per source asked (a held-back one is not asked), in the thread that called, with the
    status the snapshot carries; one given up on past its budget is told as stale after the wait."""
    monkeypatch.setattr(live, "GRACE_S", 0.0)
    release = threading.Event()

    def hung() -> tuple[pd.DataFrame, Provenance]:
        release.wait()
        return source("btc_network")()

    told: list[tuple[SourceStatus, float, str]] = []

    def on_source(status: SourceStatus, seconds: float) -> None:
        told.append((status, seconds, threading.current_thread().name))

    retry = live.SourceRetry(pd.Timedelta(minutes=5), pd.Timedelta(hours=1))
    first = {"etf_flows": source("etf_flows"), "vol_index": raising(SourceError("down"))}
    snap = live.live_snapshot(first, NOW, retry=retry, started=NOW, on_source=on_source)
    assert sorted((s.name, s.state) for s, _, _ in told) == [("etf_flows", "ok"), ("vol_index", "stale")]
    assert sorted((s for s, _, _ in told), key=lambda s: s.name) == list(snap.sources)

    told.clear()
    second = {**first, "btc_network": hung}  # vol_index is held back: not asked, not told
    snap = live.live_snapshot(second, NOW, budget_s=0.05, retry=retry, started=NOW, on_source=on_source)
    release.set()
    assert [s for s, _, _ in told] == [
        SourceStatus("etf_flows", "ok", rows=1),
        SourceStatus("btc_network", "stale", "no answer within 0.05 s; its late answer is dropped"),
    ]
    assert [s.name for s in snap.sources] == ["etf_flows", "vol_index", "btc_network"]
    assert {thread for _, _, thread in told} == {threading.current_thread().name}
    assert told[1][1] >= 0.05 and told[0][1] >= 0.0  # the late one: told after the whole wait


def test_under_a_tape_each_source_is_told_as_its_turn_ends(tmp_path) -> None:
    told: list[str] = []
    (tmp_path / "tape").mkdir()
    with tape.replaying(tmp_path / "tape"):
        live.live_snapshot(
            {"btc_network": source("btc_network"), "etf_flows": raising(SourceError("down"))},
            NOW,
            on_source=lambda status, seconds: told.append(f"{status.name} {status.state}"),
        )
    assert told == ["btc_network ok", "etf_flows stale"]
