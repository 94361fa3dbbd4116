"""The live Deribit option chain through ccxt -> option_quotes, replayed at the HTTP layer (no network).

Requests go through the real ccxt deribit client (`perps.exchange('deribit')`); vcrpy answers them from the
recorded payloads in ../shared/data/api_fixtures/deribit (read there, never copied). Labels, from the
PROVENANCE.md beside them:

* http_get_book_summary_by_currency.json: SYNTHETIC, schema only (round numbers, testnet, underlying_index
  'SYN.BTC-28MAR25', creation_timestamp 1710000000000): two options, BTC-28MAR25-90000-C and -P;
* http_get_instruments.json: HAND-EDITED upstream (only its BTC-PERPETUAL row matches the real instrument);
  its one option is BTC-27DEC24-100000-C, not an instrument of the book summary. So the instruments answer
  is built here from that recorded option row, HAND-EDITED IN THIS TEST: instrument_name, strike,
  option_type and expiration_timestamp set to BTC-28MAR25-90000-C/P (28 Mar 2025 08:00 UTC =
  1743148800000 ms); everything else (contract_size 1.0, base BTC, quote BTC, ...) as recorded;
* the error bodies (429/500 text, the JSON-RPC error, truncated JSON) are written in this test.

The expected numbers below are computed by hand from those bodies.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import ccxt
import numpy as np
import pandas as pd
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from bodies import deribit_option_instruments
from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Provenance
from capitulation.sources import deribit_options as opts
from capitulation.sources import perps
from capitulation.sources.http import Backoff
from replay import Answer, HttpReplay, no_wait

SUMMARY_PATH = "/api/v2/public/get_book_summary_by_currency"
INSTRUMENTS_PATH = "/api/v2/public/get_instruments"


def _load(shared_data: Path, name: str) -> dict[str, Any]:
    return json.loads((shared_data / "api_fixtures" / "deribit" / name).read_text())


@pytest.fixture
def summary_doc(shared_data: Path) -> dict[str, Any]:
    """The SYNTHETIC book summary (schema only), as recorded."""
    return _load(shared_data, "http_get_book_summary_by_currency.json")


@pytest.fixture
def instruments_doc(shared_data: Path) -> dict[str, Any]:
    """The recorded (hand-edited upstream) option instrument, plus two copies of it HAND-EDITED IN THIS TEST
    into the book summary's instruments, BTC-28MAR25-90000-C and -P."""
    return deribit_option_instruments(_load(shared_data, "http_get_instruments.json"))


def _body(doc: Any) -> str:
    return json.dumps(doc)


def _script(
    http: HttpReplay,
    summary: Sequence[Answer] | dict[str, Any],
    instruments: Sequence[Answer] | dict[str, Any],
) -> HttpReplay:
    """Answer both endpoints: a JSON-RPC document is one 200 answer, a sequence is played in order."""

    def answers(a: Sequence[Answer] | Mapping[str, Any]) -> Sequence[Answer]:
        return [(200, _body(a))] if isinstance(a, Mapping) else a

    return http.script({SUMMARY_PATH: answers(summary), INSTRUMENTS_PATH: answers(instruments)})


def _fetch(backoff: Backoff | None = None) -> tuple[pd.DataFrame, Provenance]:
    return opts.fetch_option_chain("BTC", exchange=perps.exchange("deribit"), backoff=backoff or no_wait()[0])


# ---- the recorded bodies through the real ccxt client --------------------------------------------------------

# By hand from the SYNTHETIC summary (both rows: creation_timestamp 1710000000000 = 2024-03-09T16:00:00Z,
# underlying_price 95000.5 USD) and the instruments edited above (strike 90000, expiry 2025-03-28T08:00Z,
# contract_size 1.0, quote BTC: inverse, so USD = BTC x underlying_price):
EXPECTED = {
    "BTC-28MAR25-90000-C": {
        "option_type": "C",
        "bid": 0.04,
        "ask": 0.042,
        "mark": 0.042,
        "bid_usd": 0.04 * 95000.5,  # = 3800.02
        "ask_usd": 0.042 * 95000.5,  # = 3990.021
        "mark_usd": 0.042 * 95000.5,  # = 3990.021
        "bid_iv": 0.54,  # 54.0 %
        "ask_iv": 0.561,  # 56.1 %
        "mark_iv": 0.552,  # 55.2 %
        "open_interest": 123.5,  # 123.5 BTC / 1.0 BTC per contract
        "volume": 10.0,
        "index_price": 94900.0,  # estimated_delivery_price
    },
    "BTC-28MAR25-90000-P": {
        "option_type": "P",
        "bid": 0.037,
        "ask": 0.039,
        "mark": 0.038,
        "bid_usd": 0.037 * 95000.5,  # = 3515.0185
        "ask_usd": 0.039 * 95000.5,  # = 3705.0195
        "mark_usd": 0.038 * 95000.5,  # = 3610.019
        "bid_iv": np.nan,  # the row has no bid_iv / ask_iv: NaN, not 0
        "ask_iv": np.nan,
        "mark_iv": 0.548,  # 54.8 %
        "open_interest": 88.0,
        "volume": 5.0,
        "index_price": np.nan,  # no estimated_delivery_price in this row
    },
}


def _assert_rows(table: pd.DataFrame, expected: Mapping[str, Mapping[str, Any]] = EXPECTED) -> None:
    assert list(table["instrument"]) == list(expected)
    for _, row in table.iterrows():
        for col, want in expected[row["instrument"]].items():
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(row[col]), (row["instrument"], col)
            elif isinstance(want, float):
                assert row[col] == pytest.approx(want, rel=1e-15, abs=0.0), (row["instrument"], col)
            else:
                assert row[col] == want, (row["instrument"], col)


def test_synthetic_summary_and_edited_instruments_become_option_quotes(
    http: HttpReplay, summary_doc, instruments_doc
) -> None:
    replay = _script(http, summary_doc, instruments_doc)
    table, prov = opts.fetch_option_chain()  # the default client: perps.exchange('deribit'), replayed by vcrpy

    pd.testing.assert_frame_equal(table, tables.validate("option_quotes", table))
    _assert_rows(table)
    assert (table["timestamp"] == pd.Timestamp("2024-03-09T16:00:00Z")).all()
    assert (table["expiry"] == pd.Timestamp("2025-03-28T08:00:00Z")).all()
    assert (table["strike"] == 90000.0).all() and (table["contract_size"] == 1.0).all()
    assert (table["underlying_price"] == 95000.5).all()
    assert set(table["venue"]) == {"deribit"} and set(table["underlying"]) == {"BTC"}
    assert set(table["quote_currency"]) == {"BTC"}  # from the instrument, not the summary's 'USD'
    assert table[["venue_delta", "venue_gamma", "venue_vega", "venue_theta"]].isna().all().all()

    assert replay.queries(SUMMARY_PATH) == [{"currency": ["BTC"], "kind": ["option"]}]
    assert replay.queries(INSTRUMENTS_PATH) == [{"currency": ["BTC"], "kind": ["option"], "expired": ["false"]}]
    assert prov.source == (
        f"ccxt {ccxt.__version__} deribit: public/get_book_summary_by_currency?currency=BTC&kind=option; "
        "public/get_instruments?currency=BTC&kind=option&expired=false"
    )
    assert prov.licence == "Deribit public market data (Deribit terms of use)"
    assert pd.Timestamp(prov.retrieved_at).tzname() == "UTC"
    assert prov.notes.startswith(
        "2 book summary row(s), 3 instrument(s); 2 row(s) kept; dropped 0: none; crossed quotes (bid > ask): 0 row(s)"
    )


def test_contract_size_is_taken_from_the_instrument(http: HttpReplay, summary_doc, instruments_doc) -> None:
    for r in instruments_doc["result"]:
        r["contract_size"] = 0.1  # hand-edited: a 0.1 BTC contract
    _script(http, summary_doc, instruments_doc)
    table, _ = _fetch()
    # open interest and volume are BTC amounts at Deribit: contracts = amount / 0.1
    assert list(table["open_interest"]) == pytest.approx([1235.0, 880.0], rel=1e-15)
    assert list(table["volume"]) == pytest.approx([100.0, 50.0], rel=1e-15)
    assert (table["contract_size"] == 0.1).all()
    assert table["mark_usd"].iloc[0] == pytest.approx(0.042 * 95000.5, rel=1e-15)  # per contract unit of price


def test_a_usd_quoted_option_is_not_multiplied_by_the_forward(http: HttpReplay, summary_doc, instruments_doc) -> None:
    instruments_doc["result"][1]["quote_currency"] = "USDC"  # hand-edited: a linear (USDC-quoted) call
    _script(http, summary_doc, instruments_doc)
    table, _ = _fetch()
    call = table.iloc[0]
    assert (call["quote_currency"], call["mark_usd"], call["bid_usd"]) == ("USDC", 0.042, 0.04)


# ---- HTTP errors: retried, then a clear error naming the endpoint ----------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_refusal_then_success_is_retried_with_backoff(
    http: HttpReplay, summary_doc, instruments_doc, status: int
) -> None:
    replay = _script(http, [(status, "Too Many Requests"), (200, _body(summary_doc))], instruments_doc)
    backoff, waits = no_wait()
    table, _ = _fetch(backoff)
    assert waits == [1.0]
    assert len(replay.queries(SUMMARY_PATH)) == 2
    _assert_rows(table)


def test_rate_limited_for_good_is_a_source_error(http: HttpReplay, instruments_doc) -> None:
    # Deribit's own answer to too many requests: JSON-RPC error 10028 (ccxt: DDoSProtection), HTTP 429
    refused = _body({"jsonrpc": "2.0", "error": {"message": "too_many_requests", "code": 10028}})
    replay = _script(http, [(429, refused)], instruments_doc)
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"rate limited: deribit public/get_book_summary_by_currency refused 4 time"):
        _fetch(backoff)
    assert waits == [1.0, 2.0, 4.0]  # bounded: 4 tries
    assert len(replay.queries(SUMMARY_PATH)) == 4 and replay.queries(INSTRUMENTS_PATH) == []


def test_a_server_error_for_good_is_a_source_error(http: HttpReplay, summary_doc) -> None:
    replay = _script(http, summary_doc, [(500, "Internal Server Error")])
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"server error: deribit public/get_instruments answered HTTP 500 4 time"):
        _fetch(backoff)
    assert waits == [1.0, 2.0, 4.0] and len(replay.queries(INSTRUMENTS_PATH)) == 4


def test_a_venue_error_is_not_retried(http: HttpReplay, instruments_doc) -> None:
    # the JSON-RPC error Deribit sends for a bad parameter (example in ccxt's deribit.handle_errors comment)
    error = {
        "jsonrpc": "2.0",
        "error": {"message": "Invalid params", "data": {"reason": "invalid currency"}, "code": -32602},
    }
    replay = _script(http, [(400, _body(error))], instruments_doc)
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"venue error: deribit public/get_book_summary_by_currency .*HTTP 400"):
        _fetch(backoff)
    assert waits == [] and len(replay.queries(SUMMARY_PATH)) == 1


def test_an_unreachable_venue_is_a_source_error_without_retries(http: HttpReplay) -> None:
    ex = perps.exchange("deribit")
    # a refused connection cannot be put on a tape: the session itself raises it, under ccxt as live
    ex.session.request = mock.Mock(side_effect=requests.ConnectionError("connection refused"))
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"unreachable: deribit public/get_book_summary_by_currency \(NetworkError"):
        opts.fetch_option_chain(exchange=ex, backoff=backoff)
    assert waits == []


@pytest.mark.parametrize("endpoint", ["summary", "instruments"])
def test_malformed_json_is_a_data_error_naming_the_endpoint(
    http: HttpReplay, summary_doc, instruments_doc, endpoint: str
) -> None:
    truncated = [(200, '{"jsonrpc": "2.0", "result": [{"instrument_name": "BTC-28')]
    if endpoint == "summary":
        _script(http, truncated, instruments_doc)
        name = "public/get_book_summary_by_currency"
    else:
        _script(http, summary_doc, truncated)
        name = "public/get_instruments"
    with pytest.raises(DataError, match=f"malformed response: deribit {name} is not JSON"):
        _fetch()


def test_a_body_without_a_result_list_is_a_data_error(http: HttpReplay, instruments_doc) -> None:
    _script(http, {"jsonrpc": "2.0", "result": {"instrument_name": "BTC-28MAR25-90000-C"}}, instruments_doc)
    with pytest.raises(DataError, match=r"public/get_book_summary_by_currency has no 'result' list"):
        _fetch()


def test_an_empty_result_is_no_option_quotes(http: HttpReplay, summary_doc, instruments_doc) -> None:
    _script(http, {**summary_doc, "result": []}, instruments_doc)
    with pytest.raises(SourceError, match=r"no option quotes: deribit public/get_book_summary_by_currency .* for BTC"):
        _fetch()


def test_an_empty_instrument_list_is_no_option_instruments(http: HttpReplay, summary_doc, instruments_doc) -> None:
    _script(http, summary_doc, {**instruments_doc, "result": []})
    with pytest.raises(SourceError, match=r"no option instruments: deribit public/get_instruments"):
        _fetch()


# ---- schema drift and bad rows: refused when systematic, dropped and counted when one row -------------------


def test_a_field_missing_from_every_row_is_schema_drift(http: HttpReplay, summary_doc, instruments_doc) -> None:
    for r in summary_doc["result"]:
        del r["mark_iv"]
    _script(http, summary_doc, instruments_doc)
    with pytest.raises(DataError, match=r"schema drift: .*get_book_summary_by_currency: required field 'mark_iv'"):
        _fetch()


def test_a_renamed_instrument_field_is_schema_drift(http: HttpReplay, summary_doc, instruments_doc) -> None:
    for r in instruments_doc["result"]:
        r["strike_price"] = r.pop("strike")  # renamed
    _script(http, summary_doc, instruments_doc)
    with pytest.raises(DataError, match=r"schema drift: deribit public/get_instruments: required field 'strike'"):
        _fetch()


def test_a_row_missing_a_required_field_is_dropped_and_counted(http: HttpReplay, summary_doc, instruments_doc) -> None:
    del summary_doc["result"][1]["mark_iv"]  # the put only
    _script(http, summary_doc, instruments_doc)
    table, prov = _fetch()
    _assert_rows(table, {"BTC-28MAR25-90000-C": EXPECTED["BTC-28MAR25-90000-C"]})
    assert "2 book summary row(s), 3 instrument(s); 1 row(s) kept; dropped 1: 1 mark_iv missing;" in prov.notes


def test_none_numbers(http: HttpReplay, summary_doc, instruments_doc) -> None:
    call, put = summary_doc["result"]
    call["bid_price"] = None  # optional: no bid -> NaN bid, bid_usd and bid_iv; the row is kept
    call["volume"] = None  # optional -> NaN
    put["underlying_price"] = None  # required: the row is dropped
    _script(http, summary_doc, instruments_doc)
    table, prov = _fetch()
    expected = {**EXPECTED["BTC-28MAR25-90000-C"], "bid": np.nan, "bid_usd": np.nan, "bid_iv": np.nan}
    _assert_rows(table, {"BTC-28MAR25-90000-C": {**expected, "volume": np.nan}})
    assert "dropped 1: 1 underlying_price missing;" in prov.notes


def test_a_nan_literal_in_the_body_is_malformed_json(http: HttpReplay, summary_doc, instruments_doc) -> None:
    summary_doc["result"][0]["mark_price"] = float("nan")  # json.dumps writes NaN, which is not JSON
    _script(http, summary_doc, instruments_doc)
    with pytest.raises(DataError, match=r"malformed response: deribit public/get_book_summary_by_currency is not JSON"):
        _fetch()


@pytest.mark.parametrize(
    ("value", "reason"), [(math.nan, "missing"), (math.inf, "not a finite number"), (True, "not a finite number")]
)
def test_nan_inf_and_bool_numbers_in_parsed_rows(summary_doc, instruments_doc, value: float, reason: str) -> None:
    # reached only without ccxt's JSON parser (it refuses NaN and Infinity), e.g. rows built in-process
    summaries, instruments = summary_doc["result"], instruments_doc["result"]
    summaries[1]["mark_iv"] = value  # required
    summaries[0]["volume"] = value  # optional
    if reason == "missing":  # an optional NaN is just unknown
        parsed = opts.parse_chain(summaries, instruments)
        call = {**EXPECTED["BTC-28MAR25-90000-C"], "volume": np.nan}
        _assert_rows(parsed.table, {"BTC-28MAR25-90000-C": call})
        assert parsed.dropped == {"mark_iv missing": 1}
    else:
        with pytest.raises(DataError, match="no option quotes left") as err:
            opts.parse_chain(summaries, instruments)
        assert f"dropped (2: 1 mark_iv {reason}, 1 volume {reason})" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("open_interest", "123.5", "open_interest not a finite number"),  # a string where the venue sends a number
        ("mark_iv", -55.2, "mark_iv not positive"),
        ("bid_price", -0.04, "bid_price not non-negative"),
    ],
)
def test_a_malformed_number_drops_the_row(
    http: HttpReplay, summary_doc, instruments_doc, field: str, value: Any, reason: str
) -> None:
    summary_doc["result"][0][field] = value  # the call only
    _script(http, summary_doc, instruments_doc)
    table, prov = _fetch()
    _assert_rows(table, {"BTC-28MAR25-90000-P": EXPECTED["BTC-28MAR25-90000-P"]})
    assert f"dropped 1: 1 {reason};" in prov.notes


def test_no_row_left_is_a_data_error_with_the_counts(http: HttpReplay, summary_doc, instruments_doc) -> None:
    summary_doc["result"][0]["mark_price"] = None
    summary_doc["result"][1]["creation_timestamp"] = "yesterday"
    _script(http, summary_doc, instruments_doc)
    with pytest.raises(DataError, match=r"no option quotes left: all 2 book summary row\(s\) dropped") as err:
        _fetch()
    assert "dropped (2: 1 creation_timestamp not a finite number, 1 mark_price missing)" in str(err.value)


def test_a_crossed_quote_keeps_the_mark_and_nulls_bid_and_ask(http: HttpReplay, summary_doc, instruments_doc) -> None:
    summary_doc["result"][0]["bid_price"] = 0.05  # bid 0.05 > ask 0.042
    _script(http, summary_doc, instruments_doc)
    table, prov = _fetch()
    crossed = {c: np.nan for c in ("bid", "ask", "bid_usd", "ask_usd", "bid_iv", "ask_iv")}
    _assert_rows(table, {**EXPECTED, "BTC-28MAR25-90000-C": {**EXPECTED["BTC-28MAR25-90000-C"], **crossed}})
    assert "dropped 0: none; crossed quotes (bid > ask): 1 row(s) kept for the mark with bid/ask nulled." in prov.notes


def test_an_expired_instrument_is_dropped_and_counted(http: HttpReplay, summary_doc, instruments_doc) -> None:
    instruments_doc["result"][2]["expiration_timestamp"] = 1710000000000  # the put expires at its quote time
    _script(http, summary_doc, instruments_doc)
    table, prov = _fetch()
    _assert_rows(table, {"BTC-28MAR25-90000-C": EXPECTED["BTC-28MAR25-90000-C"]})
    assert "dropped 1: 1 expired (expiry <= quote time);" in prov.notes


def test_a_summary_without_a_live_instrument_is_dropped_and_counted(
    http: HttpReplay, summary_doc, instruments_doc
) -> None:
    instruments_doc["result"][1]["option_type"] = "straddle"  # the call's instrument is unusable
    del instruments_doc["result"][2]  # the put's is not listed
    _script(http, summary_doc, instruments_doc)
    with pytest.raises(DataError, match="no option quotes left") as err:
        _fetch()
    assert "(2: 1 instrument option_type not call/put, 1 not in the live instrument list)" in str(err.value)


def test_only_a_deribit_client_is_accepted() -> None:
    with pytest.raises(SourceError, match="needs a ccxt deribit client, got 'okx'"):
        opts.fetch_option_chain(exchange=ccxt.okx())


# ---- the row parser: a property -------------------------------------------------------------------------------

_price = st.floats(1e-4, 5.0)  # BTC per option (quote currency)
_iv_pct = st.floats(1.0, 500.0)  # percent, below Deribit's 999 ask cap


@st.composite
def _rows(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    t_ms = draw(st.integers(1_500_000_000_000, 1_900_000_000_000))
    name = f"BTC-X-{draw(st.integers(1, 10**9))}-{draw(st.sampled_from('CP'))}"
    summary = {
        "instrument_name": name,
        "creation_timestamp": t_ms,
        "mark_price": draw(_price),
        "mark_iv": draw(_iv_pct),
        "bid_price": draw(_price),
        "ask_price": draw(_price),
        "bid_iv": draw(_iv_pct),
        "ask_iv": draw(_iv_pct),
        "underlying_price": draw(st.floats(100.0, 1e7)),
        "open_interest": draw(st.floats(0.0, 1e6)),
        "volume": draw(st.floats(0.0, 1e6)),
        "estimated_delivery_price": draw(st.floats(100.0, 1e7)),
    }
    instrument = {
        "instrument_name": name,
        "base_currency": "BTC",
        "quote_currency": "BTC",
        "option_type": "call" if name.endswith("C") else "put",
        "strike": draw(st.floats(100.0, 1e7)),
        "expiration_timestamp": t_ms + draw(st.integers(1, 10**11)),
        "contract_size": draw(st.sampled_from([1.0, 0.1, 0.01])),
    }
    return summary, instrument


@given(_rows())
def test_parsed_rows_convert_units_and_keep_only_uncrossed_quotes(row: tuple[dict[str, Any], dict[str, Any]]) -> None:
    s, i = row
    parsed = opts.parse_chain([copy.deepcopy(s)], [copy.deepcopy(i)])
    r = parsed.table.iloc[0]
    fwd = s["underlying_price"]
    assert r["mark_iv"] == s["mark_iv"] / 100.0  # percent -> fraction
    assert r["mark_usd"] == s["mark_price"] * fwd  # inverse: USD = BTC x forward
    assert r["open_interest"] == pytest.approx(s["open_interest"] / i["contract_size"], rel=1e-15)
    assert r["timestamp"] == pd.Timestamp(s["creation_timestamp"], unit="ms", tz="UTC")
    if s["bid_price"] <= s["ask_price"]:
        assert (r["bid"], r["ask"]) == (s["bid_price"], s["ask_price"])
        assert (r["bid_usd"], r["ask_usd"]) == (s["bid_price"] * fwd, s["ask_price"] * fwd)
        assert (r["bid_iv"], r["ask_iv"]) == (s["bid_iv"] / 100.0, s["ask_iv"] / 100.0)
        assert parsed.crossed == 0
    else:
        assert r[["bid", "ask", "bid_usd", "ask_usd", "bid_iv", "ask_iv"]].isna().all()
        assert parsed.crossed == 1
    assert parsed.dropped == {}
