"""Live Bitcoin network data from mempool.space -> btc_network, replayed at the HTTP layer (no network).

There is no recorded mempool.space payload in ../shared/data/api_fixtures (its PROVENANCE.md says so), so every
body here is SYNTHETIC (schema from the mempool.space API docs; numbers made up): the field names and shapes of
GET /api/v1/mining/hashrate/3m ({hashrates: [{timestamp, avgHashrate}], difficulty: [{time, height, difficulty,
adjustment}], currentHashrate, currentDifficulty}), GET /api/v1/mining/blocks/fees/3m ([{avgHeight, timestamp,
avgFees}]) and GET /api/blocks/tip/height (a bare integer), with round, made-up numbers. They are not real data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bodies import TIP_BODY, fees_body, hashrate_body
from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance, Snapshot
from capitulation.sources import http as http_source
from capitulation.sources import mempool, tape
from capitulation.sources.http import Backoff
from replay import HttpReplay, LoopbackServer, no_wait

HASHRATE, FEES, TIP = mempool.HASHRATE_PATH, mempool.FEES_PATH, mempool.TIP_PATH
NOW = pd.Timestamp("2025-06-03T12:00Z")


def _day(d: str) -> pd.Timestamp:
    return pd.Timestamp(d, tz="UTC")


def _script(**over: list[tuple[int, str]]) -> dict[str, list[tuple[int, str]]]:
    """The three endpoints answered with the SYNTHETIC bodies above; `over` replaces answers by name."""
    script = {
        HASHRATE: [(200, json.dumps(hashrate_body()))],
        FEES: [(200, json.dumps(fees_body()))],
        TIP: [(200, TIP_BODY)],
    }
    names = {"hashrate": HASHRATE, "fees": FEES, "tip": TIP}
    return {**script, **{names[k]: v for k, v in over.items()}}


# Expected rows, by hand: hashrate H/s / 1e18; difficulty = last adjustment before the day's end (the 1.25e14
# adjustment came at 2025-06-01 10:00, so 2025-05-31 still had 1.0e14); fees sats / 1e8; subsidy at heights
# 840,000..1,049,999 = 50 / 2^4 = 3.125 BTC; today: currentHashrate 8.0e20 -> 800 EH/s, tip height 899,400.
EXPECTED = pd.DataFrame(
    {
        "date": [_day("2025-05-31"), _day("2025-06-01"), _day("2025-06-02"), _day("2025-06-03")],
        "height": [899_000, 899_150, 899_300, 899_400],
        "difficulty": [1.0e14, 1.25e14, 1.25e14, 1.25e14],
        "hashrate_ehs": [600.0, 650.0, 700.0, 800.0],
        "fees_btc_per_block": [0.25, 0.10, 0.50, 0.04],
        "subsidy_btc": [3.125, 3.125, 3.125, 3.125],
    }
)


def _fetch(backoff: Backoff | None = None, now: pd.Timestamp = NOW) -> tuple[pd.DataFrame, Provenance]:
    return mempool.fetch_network(backoff=backoff or no_wait()[0], now=now)


def _assert_rows(got: pd.DataFrame, expected: pd.DataFrame = EXPECTED) -> None:
    pd.testing.assert_frame_equal(got, tables.validate("btc_network", expected), rtol=1e-12)


# ---- happy path ---------------------------------------------------------------------------------------------


def test_one_row_per_utc_day_in_the_table_units(http: HttpReplay) -> None:
    http.script(_script())
    table, prov = _fetch()

    _assert_rows(table)
    assert [urlsplit(u).path for u in http.seen] == [HASHRATE, FEES, TIP]
    assert prov.source == f"mempool.space REST API: {HASHRATE}, {FEES}, {TIP}"
    assert prov.licence == "mempool.space public API (terms of service)"
    assert pd.Timestamp(prov.retrieved_at) == NOW
    assert prov.notes.startswith("4 daily row(s) 2025-05-31..2025-06-03, the last the UTC day in progress")
    assert "stale" not in prov.notes and "dropped" not in prov.notes and "failed" not in prov.notes


def test_the_day_in_progress_is_left_out_of_an_as_of_cut(http: HttpReplay) -> None:
    http.script(_script())
    table, prov = _fetch()
    snap = Snapshot(NOW, {"btc_network": table}, {"btc_network": prov})
    # a daily bar is known at the end of its day: at 12:00 today only the three finished days are
    assert list(snap.upto(NOW).tables["btc_network"]["date"]) == list(EXPECTED["date"][:3])


def test_a_day_before_the_first_adjustment_has_no_difficulty(http: HttpReplay) -> None:
    body = hashrate_body()
    body["difficulty"] = body["difficulty"][1:]  # only the 2025-06-01 10:00 adjustment in the window
    http.script(_script(hashrate=[(200, json.dumps(body))]))
    table, _ = _fetch()
    assert math.isnan(table["difficulty"].iloc[0])  # 2025-05-31: not inferred
    assert list(table["difficulty"].iloc[1:]) == [1.25e14] * 3


def test_subsidy_from_height_halves_at_840000_and_falls_back_to_the_date() -> None:
    heights = pd.Series([839_999, 840_000, np.nan], dtype="Float64")
    dates = pd.Series([_day("2024-04-19"), _day("2024-04-20"), _day("2016-01-01")])
    # 50 / 2^3 = 6.25 below the 4th halving, 50 / 2^4 = 3.125 from it; 2016-01-01 by date: 25 BTC (2012-2016 era)
    assert list(mempool.subsidy_from_height(heights, dates)) == [6.25, 3.125, 25.0]


# ---- bad input ------------------------------------------------------------------------------------------------


def test_a_429_then_success_is_retried_with_backoff(http: HttpReplay) -> None:
    script = _script()
    http.script({**script, HASHRATE: [(429, "Too Many Requests"), *script[HASHRATE]]})
    backoff, waits = no_wait()
    table, _ = _fetch(backoff)
    assert waits == [1.0]
    assert len(http.queries(HASHRATE)) == 2
    _assert_rows(table)


def test_rate_limited_for_good_raises_and_asks_nothing_else(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(429, "Too Many Requests")]))
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"rate limited: mempool.space /api/v1/mining/hashrate/3m answered HTTP 429"):
        _fetch(backoff)
    assert waits == [1.0, 2.0, 4.0]  # bounded: 4 tries
    assert len(http.queries(HASHRATE)) == 4
    assert http.queries(FEES) == http.queries(TIP) == []


def test_a_server_error_is_retried_then_raised(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(500, "Internal Server Error")]))
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"server error: mempool.space /api/v1/mining/hashrate/3m answered HTTP 500"):
        _fetch(backoff)
    assert waits == [1.0, 2.0, 4.0]


def test_under_a_budget_a_server_error_is_asked_once_without_waiting(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(500, "Internal Server Error")]))
    backoff, waits = no_wait()
    with http_source.budget(20.0), pytest.raises(SourceError) as err:
        _fetch(backoff)
    assert str(err.value) == f"server error: mempool.space {HASHRATE} answered HTTP 500"  # no "(4 tries)"
    assert waits == [] and len(http.queries(HASHRATE)) == 1  # asked again next cycle, not here


def test_once_the_budget_is_spent_nothing_more_is_asked(http: HttpReplay) -> None:
    http.script(_script())
    seconds = iter([0.0, 30.0])  # the budget opens at 0 s; the first request would start at 30 s
    with http_source.budget(20.0, clock=lambda: next(seconds)), pytest.raises(SourceError) as err:
        _fetch()
    assert str(err.value) == (
        f"out of time: mempool.space {HASHRATE} not asked (the source's time in this cycle is spent)"
    )
    assert http.queries(HASHRATE) == []


def test_a_request_timeout_is_cut_to_the_time_left_in_the_budget() -> None:
    now = {"s": 100.0}
    assert http_source.request_timeout("x", 15.0) == 15.0  # no budget: as asked
    with http_source.budget(20.0, clock=lambda: now["s"]):
        assert http_source.request_timeout("x", 15.0) == 15.0
        now["s"] = 112.5
        assert http_source.request_timeout("x", 15.0) == 7.5
        assert http_source.Backoff(attempts=4).tries == 1
    assert http_source.Backoff(attempts=4).tries == 4 and http_source.current_budget() is None


def test_a_client_error_is_not_retried(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(404, "Not Found")]))
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"mempool.space /api/v1/mining/hashrate/3m answered HTTP 404"):
        _fetch(backoff)
    assert waits == []


def test_a_body_that_is_not_json_is_a_data_error(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(200, '{"hashrates": [{"timestamp": 17')]))  # SYNTHETIC: a truncated body
    with pytest.raises(DataError, match=r"malformed response: mempool.space /api/v1/mining/hashrate/3m is not JSON"):
        _fetch()


def test_an_empty_hashrate_list_is_a_source_error(http: HttpReplay) -> None:
    body = {**hashrate_body(), "hashrates": []}  # SYNTHETIC
    http.script(_script(hashrate=[(200, json.dumps(body))]))
    with pytest.raises(SourceError, match=r"mempool.space /api/v1/mining/hashrate/3m returned no daily hashrates"):
        _fetch()


def test_an_empty_fee_list_keeps_the_rows_without_fees(http: HttpReplay) -> None:
    http.script(_script(fees=[(200, "[]")]))
    table, prov = _fetch()
    assert table["fees_btc_per_block"].isna().all()
    assert table["height"].isna().tolist() == [True, True, True, False]  # past heights came from the fee buckets
    assert table["height"].iloc[-1] == 899_400  # today: the tip
    assert list(table["subsidy_btc"]) == [3.125] * 4  # past days by date (after the 2024-04-20 halving)
    assert f"{FEES} returned an empty list: fees_btc_per_block NaN" in prov.notes


def _rename(entry: dict, old: str, new: str) -> None:
    entry[new] = entry.pop(old)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: _rename(b["hashrates"][1], "avgHashrate", "avgHashRate"), r"\[1\]: missing field 'avgHashrate'"),
        (lambda b: b["difficulty"][0].pop("difficulty"), r"difficulty\[0\]: missing field 'difficulty'"),
        (lambda b: b.pop("currentDifficulty"), r": missing field 'currentDifficulty'"),
        (lambda b: b.update(hashrates={"0": 1}), r" 'hashrates': expected a JSON list, got dict"),
        (lambda b: b["hashrates"][0].update(avgHashrate="6e20"), r"'hashrates\[\].avgHashrate' is not a number"),
    ],
    ids=["renamed field", "missing field", "missing top-level field", "object for list", "text for number"],
)
def test_schema_drift_in_the_hashrate_answer_names_endpoint_and_field(http: HttpReplay, change, message) -> None:
    body = hashrate_body()  # SYNTHETIC, then drifted
    change(body)
    http.script(_script(hashrate=[(200, json.dumps(body))]))
    with pytest.raises(DataError, match=r"^mempool.space /api/v1/mining/hashrate/3m.*" + message):
        _fetch()


def test_a_body_of_the_wrong_shape_is_a_data_error(http: HttpReplay) -> None:
    http.script(_script(hashrate=[(200, json.dumps([hashrate_body()]))]))
    with pytest.raises(DataError, match=r"hashrate/3m: expected a JSON object, got list"):
        _fetch()


def test_schema_drift_in_the_fee_answer_keeps_the_rows_and_says_so(http: HttpReplay) -> None:
    body = fees_body()  # SYNTHETIC, then drifted: avgFees renamed
    _rename(body[0], "avgFees", "avgFee")
    http.script(_script(fees=[(200, json.dumps(body))]))
    table, prov = _fetch()
    assert table["fees_btc_per_block"].isna().all()
    assert list(table["hashrate_ehs"]) == [600.0, 650.0, 700.0, 800.0]
    assert f"{FEES} failed (mempool.space {FEES}: entry 0: missing field 'avgFees'" in prov.notes
    assert prov.source == f"mempool.space REST API: {HASHRATE}, {TIP}"


def test_null_and_negative_numbers_drop_their_entry_and_are_counted(http: HttpReplay) -> None:
    hr = hashrate_body()  # SYNTHETIC, then spoiled
    hr["hashrates"][1]["avgHashrate"] = None  # day 2025-06-01 has no hashrate: no row
    hr["difficulty"][0]["difficulty"] = -1.0e14
    fees = fees_body()
    fees[0]["avgFees"] = -1  # 2025-05-31 keeps only its 23:00 bucket: 3.0e7 sats = 0.30 BTC
    http.script(_script(hashrate=[(200, json.dumps(hr))], fees=[(200, json.dumps(fees))]))
    table, prov = _fetch()

    assert list(table["date"]) == [_day("2025-05-31"), _day("2025-06-02"), _day("2025-06-03")]
    assert table["fees_btc_per_block"].iloc[0] == pytest.approx(0.30, rel=1e-12)
    assert math.isnan(table["difficulty"].iloc[0])  # its adjustment was dropped
    assert "1 daily hashrate entr(ies) dropped (null, NaN, negative or zero)" in prov.notes
    assert "1 difficulty adjustment(s) dropped" in prov.notes
    assert "1 of 5 fee bucket(s) dropped" in prov.notes
    assert "1 fee day(s) without a daily hashrate row dropped" in prov.notes


def test_nan_and_infinite_numbers_drop_their_entry() -> None:
    # a NaN literal is not valid JSON: with simplejson installed requests refuses it ("not JSON", above), with
    # Python's json module it decodes to float('nan'), which the parser drops like a null
    body = hashrate_body()  # SYNTHETIC, then spoiled
    body["hashrates"][0]["avgHashrate"] = float("nan")
    body["hashrates"][2]["avgHashrate"] = float("inf")
    part = mempool.parse_hashrate(body)
    assert list(part.daily["date"]) == [_day("2025-06-01")]
    assert list(part.daily["hashrate_ehs"]) == [650.0]
    assert part.dropped_hashrates == 2


def test_all_hashrates_unusable_is_a_data_error(http: HttpReplay) -> None:
    body = hashrate_body()  # SYNTHETIC, then spoiled
    for e in body["hashrates"]:
        e["avgHashrate"] = 0
    http.script(_script(hashrate=[(200, json.dumps(body))]))
    with pytest.raises(DataError, match="all 3 daily hashrates are null, NaN, negative or zero"):
        _fetch()


def test_current_values_of_zero_mean_the_node_was_unavailable(http: HttpReplay) -> None:
    body = {**hashrate_body(), "currentHashrate": 0, "currentDifficulty": 0}  # SYNTHETIC
    http.script(_script(hashrate=[(200, json.dumps(body))]))
    table, prov = _fetch()
    assert math.isnan(table["hashrate_ehs"].iloc[-1])
    assert table["difficulty"].iloc[-1] == 1.25e14  # the last adjustment still holds today
    assert "current hashrate or difficulty not sent" in prov.notes


def test_the_fee_endpoint_failing_keeps_the_rows_with_nan_fees(http: HttpReplay) -> None:
    http.script(_script(fees=[(500, "Internal Server Error")]))
    backoff, waits = no_wait()
    table, prov = _fetch(backoff)

    expected = EXPECTED.assign(fees_btc_per_block=np.nan, height=[np.nan, np.nan, np.nan, 899_400])
    _assert_rows(table, expected)  # subsidy of the past days by date: 3.125 BTC since 2024-04-20
    assert waits == [1.0, 2.0, 4.0]
    assert f"{FEES} failed (server error: mempool.space {FEES} answered HTTP 500 (4 tries))" in prov.notes
    assert f"missing part(s): {FEES}" in prov.notes
    assert prov.source == f"mempool.space REST API: {HASHRATE}, {TIP}"


def test_a_fee_endpoint_rate_limited_for_good_leaves_the_tip_unasked(http: HttpReplay) -> None:
    http.script(_script(fees=[(429, "Too Many Requests")]))
    table, prov = _fetch()
    assert http.queries(TIP) == []
    assert f"{TIP} not asked (rate limited)" in prov.notes
    assert table["height"].isna().all() and table["fees_btc_per_block"].isna().all()
    assert list(table["hashrate_ehs"]) == [600.0, 650.0, 700.0, 800.0]


def test_a_malformed_tip_falls_back_to_todays_fee_bucket_height(http: HttpReplay) -> None:
    http.script(_script(tip=[(200, '{"height": 899400}')]))  # SYNTHETIC: not the documented bare integer
    table, prov = _fetch()
    assert table["height"].iloc[-1] == 899_350  # today's last bucket
    assert f"{TIP} failed (mempool.space {TIP}: expected a block height, got {{'height': 899400}})" in prov.notes


def test_stale_data_is_said_in_the_notes(http: HttpReplay) -> None:
    http.script(_script())
    later = pd.Timestamp("2025-06-10T12:00Z")  # a week after the SYNTHETIC data ends
    table, prov = _fetch(now=later)
    assert table["date"].iloc[-1] == _day("2025-06-10")  # today from the current values
    assert "stale: latest daily hashrate is for 2025-06-02" in prov.notes
    assert "stale: latest fee bucket at 2025-06-03 11:00:00+00:00" in prov.notes


# ---- record with the product's tape, then replay it -----------------------------------------------------------


@pytest.fixture
def local_mempool() -> Iterator[LoopbackServer]:
    """The three paths answered with the SYNTHETIC bodies by a loopback-only server."""
    server = LoopbackServer({HASHRATE: json.dumps(hashrate_body()), FEES: json.dumps(fees_body()), TIP: TIP_BODY})
    try:
        yield server
    finally:
        server.stop()


def test_a_recorded_tape_replays_the_same_table_with_the_server_gone(local_mempool: LoopbackServer, tmp_path) -> None:
    folder, url = tmp_path / "tape", local_mempool.url
    with tape.recording(folder):  # what `--record` does: live requests, written to the tape
        recorded, prov = mempool.fetch_network(base_url=url, session=http_source.session(), now=NOW)
    local_mempool.stop()  # from here on only the tape can answer
    with tape.replaying(folder):
        replayed, prov2 = mempool.fetch_network(base_url=url, session=http_source.session(), now=NOW)

    pd.testing.assert_frame_equal(replayed, recorded)
    assert prov2 == prov and prov.source.endswith(f" at {url}")
    _assert_rows(recorded)
    cassette = json.loads((folder / tape.HTTP_CASSETTE).read_text())
    assert [i["request"]["uri"] for i in cassette["interactions"]] == [url + p for p in (HASHRATE, FEES, TIP)]


# ---- the parser and normaliser, for any input -------------------------------------------------------------------


@given(h=st.integers(0, 70 * 210_000))
def test_subsidy_follows_the_halving_schedule(h: int) -> None:
    # by hand: 50 BTC = 5e9 sats, halved (rounded down to a satoshi) once per 210,000 blocks; 0 after 64 halvings
    era = h // 210_000
    by_hand = (5_000_000_000 // 2**era) / 1e8 if era < 64 else 0.0
    got = mempool.subsidy_from_height(pd.Series([h]), pd.Series([_day("2025-01-01")]))
    assert got.tolist() == [by_hand]


@given(
    days=st.lists(st.integers(1, 20_000), min_size=1, max_size=30, unique=True),  # days since 1970 (stamp midnights)
    hs=st.lists(st.floats(1e12, 1e23), min_size=30, max_size=30),  # H/s: from 1 TH/s to 100,000 EH/s
)
def test_parsed_daily_hashrate_is_the_day_before_its_stamp_in_ehs(days: list[int], hs: list[float]) -> None:
    body = {  # SYNTHETIC (schema from the mempool.space API docs; numbers made up)
        "hashrates": [{"timestamp": d * 86_400, "avgHashrate": h} for d, h in zip(days, hs, strict=False)],
        "difficulty": [],
        "currentHashrate": 0,
        "currentDifficulty": 0,
    }
    part = mempool.parse_hashrate(json.loads(json.dumps(body)))
    want = sorted((pd.Timestamp(d - 1, unit="D", tz="UTC"), h) for d, h in zip(days, hs, strict=False))
    assert list(part.daily["date"]) == [d for d, _ in want]
    back = part.daily["hashrate_ehs"].to_numpy() * mempool.H_PER_EH  # EH/s -> H/s round trip
    np.testing.assert_allclose(back, [h for _, h in want], rtol=1e-15)
    assert np.array_equal(mempool.hashrate_ehs([h for _, h in want]), part.daily["hashrate_ehs"])
