"""Live perpetual-swap data through ccxt -> perp_metrics, replayed at the HTTP layer.

Each ccxt client is the one `perps.exchange` builds; only its `requests` session gets a replaying
transport (`Replay`), so ccxt's own URL building, HTTP status handling and parsing run as they do live.
Bodies are the recorded payloads in ../shared/data/api_fixtures (read there, never copied):

* binance/*: Binance's API-documentation examples (2019-2020), labelled DOC EXAMPLE below;
* bybit/http_get_funding_history.json: probably hand-edited from Bybit's docs example;
  bybit/ws_ticker_linear.json: Bybit's docs sample of the tickers push, whose `data` object has the fields
  of a REST /v5/market/tickers list item: re-enveloped here as that REST answer;
* okx/http_get_funding_rate_history.json: plausible real capture; okx/http_get_mark_price.json: real capture;
* deribit/ws_ticker.json: real capture of the BTC-PERPETUAL ticker push, whose `data` has the fields of the
  REST public/ticker result: re-enveloped here as that JSON-RPC answer; deribit/http_get_instruments.json:
  hand-edited list whose BTC-PERPETUAL row matches the real instrument (contract size 10 USD).

Market definitions: Deribit's comes from ccxt parsing the recorded instrument list; Binance, Bybit and OKX
have no recorded instrument list, so their BTC perpetual is given to ccxt in-process with the venues'
published contract specification (1 BTC, 1 BTC, 0.01 BTC per contract): not market data.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from unittest import mock

import ccxt
import numpy as np
import pandas as pd
import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.snapshot import Snapshot
from capitulation.sources import http as http_source
from capitulation.sources import perps
from replay import Answer, HttpReplay, linear_perpetual, no_wait


def _client(http: HttpReplay, venue: str, script: Mapping[str, Sequence[Answer]]) -> tuple[ccxt.Exchange, HttpReplay]:
    return perps.exchange(venue), http.script(script)


# ---- recorded bodies -------------------------------------------------------------------------------------

BINANCE_OI = "/fapi/v1/openInterest"
BINANCE_OI_HIST = "/futures/data/openInterestHist"
BINANCE_FUNDING = "/fapi/v1/fundingRate"
BINANCE_MARK = "/fapi/v1/premiumIndex"
OKX_OI = "/api/v5/public/open-interest"
DERIBIT_TICKER = "/api/v2/public/ticker"


def _read(shared_data: Path, rel: str) -> str:
    return (shared_data / "api_fixtures" / rel).read_text()


@pytest.fixture(scope="module")
def binance_script(shared_data: Path) -> dict[str, list[Answer]]:
    """The four Binance USD-M endpoints the source calls, each answered by its DOC EXAMPLE body."""
    return {
        BINANCE_OI: [(200, _read(shared_data, "binance/http_futures_market_open_interest.json"))],
        BINANCE_OI_HIST: [(200, _read(shared_data, "binance/http_futures_market_open_interest_historical.json"))],
        BINANCE_FUNDING: [(200, _read(shared_data, "binance/http_futures_market_funding_rate.json"))],
        BINANCE_MARK: [(200, _read(shared_data, "binance/http_futures_market_premium_index.json"))],
    }


def _binance(
    http: HttpReplay, script: Mapping[str, Sequence[Answer]], contract_size: float | None = 1.0
) -> tuple[ccxt.Exchange, HttpReplay]:
    ex, replay = _client(http, "binanceusdm", script)
    ex.set_markets([linear_perpetual("BTCUSDT", contract_size)])
    return ex, replay


def _deribit(
    http: HttpReplay, shared_data: Path, script: Mapping[str, Sequence[Answer]]
) -> tuple[ccxt.Exchange, HttpReplay]:
    """Deribit with its BTC-PERPETUAL market parsed by ccxt from the recorded instrument list."""
    instruments = (200, _read(shared_data, "deribit/http_get_instruments.json"))
    ex, replay = _client(http, "deribit", {"/api/v2/public/get_instruments": [instruments], **script})
    ex.set_markets(ex.fetch_markets())
    return ex, replay


def _reenvelope_deribit_ticker(shared_data: Path) -> str:
    push = json.loads(_read(shared_data, "deribit/ws_ticker.json"))
    return json.dumps({"jsonrpc": "2.0", "result": push["params"]["data"]})


BINANCE_ROWS = {
    # DOC EXAMPLE values, read by hand from the Binance bodies:
    # premiumIndex markPrice 11793.63104562 at time 1597370495002 (2020-08-14T02:01:35.002Z), later than
    # openInterest 10659.509 at 1589437530011, so the now-row is stamped at the mark's time;
    # openInterestHist sumOpenInterest / sumOpenInterestValue at 1583127900000 and 1583128200000;
    # fundingRate -0.0375 at 1570608000000 and 0.0001 at 1570636800000 (8 h apart).
    "2019-10-09T08:00:00Z": {"funding_rate": -0.0375, "funding_interval_h": 8.0},
    "2019-10-09T16:00:00Z": {"funding_rate": 0.0001, "funding_interval_h": 8.0},
    "2020-03-02T05:45:00Z": {"oi_contracts": 20403.637, "oi_btc": 20403.637, "oi_usd": 150570784.07809979},
    "2020-03-02T05:50:00Z": {"oi_contracts": 20401.367, "oi_btc": 20401.367, "oi_usd": 149940752.14464448},
    "2020-08-14T02:01:35.002Z": {
        "oi_contracts": 10659.509,
        "oi_btc": 10659.509,  # 1 BTC per contract
        "oi_usd": 10659.509 * 11793.63104562,  # = 125,714,316.27 USD
        "mark_price": 11793.63104562,
    },
}


def _assert_binance_rows(table: pd.DataFrame) -> None:
    rows = table[table["venue"] == "binanceusdm"].set_index("timestamp")
    assert list(rows.index) == [pd.Timestamp(t) for t in BINANCE_ROWS]
    assert (rows["symbol"] == "BTCUSDT").all()
    for t, expected in BINANCE_ROWS.items():
        row = rows.loc[pd.Timestamp(t)]
        for col in perps.tables.PERP_METRICS.names[3:]:
            if col in expected:
                assert row[col] == pytest.approx(expected[col], rel=1e-15), (t, col)
            else:
                assert np.isnan(row[col]), (t, col)  # not known from that part: NaN, never a guess


# ---- the real parsing path, venue by venue ----------------------------------------------------------------


def test_binance_doc_examples_become_normalised_perp_rows(http: HttpReplay, binance_script) -> None:
    ex, replay = _binance(http, binance_script)
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex})

    pd.testing.assert_frame_equal(got.table, tables.validate("perp_metrics", got.table))
    _assert_binance_rows(got.table)
    assert got.status("binanceusdm") == perps.VenueStatus(
        "binanceusdm",
        "ok",
        "all parts answered",
        5,
        ("fetchOpenInterest", "fetchMarkPrice", "fetchOpenInterestHistory", "fetchFundingRateHistory"),
    )
    assert replay.queries(BINANCE_OI_HIST) == [{"period": ["1h"], "limit": ["500"], "symbol": ["BTCUSDT"]}]
    assert replay.queries(BINANCE_FUNDING) == [{"symbol": ["BTCUSDT"], "limit": ["1000"]}]


def test_since_is_sent_to_the_histories_in_ms(http: HttpReplay, binance_script) -> None:
    ex, replay = _binance(http, binance_script)
    perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex}, since="2019-10-09")
    assert replay.queries(BINANCE_FUNDING)[0]["startTime"] == ["1570579200000"]
    assert replay.queries(BINANCE_OI_HIST)[0]["startTime"] == ["1570579200000"]


def test_okx_realized_funding_and_mark_price(http: HttpReplay, shared_data: Path) -> None:
    # okx/http_get_funding_rate_history.json (plausible real capture): realizedRate 0.00015 at 1704067200000
    # (2024-01-01T00:00Z) and -0.00002 at 1704038400000; ccxt reads realizedRate, the settled rate, not the
    # unrounded fundingRate (0.0001515032, -0.0000236017).
    # okx/http_get_mark_price.json (real capture): markPx 84660.1 at ts 1744590349506.
    ex, replay = _client(
        http,
        "okx",
        {
            "/api/v5/public/funding-rate-history": [
                (200, _read(shared_data, "okx/http_get_funding_rate_history.json"))
            ],
            "/api/v5/public/mark-price": [(200, _read(shared_data, "okx/http_get_mark_price.json"))],
        },
    )
    ex.set_markets([linear_perpetual("BTC-USDT-SWAP", 0.01)])

    funding = perps.read_funding_history(ex)
    assert list(funding["timestamp"]) == [pd.Timestamp("2023-12-31T16:00Z"), pd.Timestamp("2024-01-01T00:00Z")]
    assert list(funding["funding_rate"]) == [-0.00002, 0.00015]
    assert (funding["funding_interval_h"] == 8.0).all()
    assert (funding["symbol"] == "BTC-USDT-SWAP").all() and (funding["venue"] == "okx").all()
    assert funding["oi_btc"].isna().all() and funding["mark_price"].isna().all()

    when, mark = perps.read_mark_price(ex, pd.Timestamp("2030-01-01T00:00Z"))
    assert (when, mark) == (pd.Timestamp("2025-04-14T00:25:49.506Z"), 84660.1)
    assert replay.queries("/api/v5/public/mark-price") == [{"instId": ["BTC-USDT-SWAP"]}]


def test_bybit_funding_history_and_ticker_mark(http: HttpReplay, shared_data: Path) -> None:
    # bybit/http_get_funding_history.json (probably hand-edited docs example): 0.0001 at 1709884800000
    # (2024-03-08T08:00Z) and 0.00015 at 1709856000000, newest first in the body.
    # bybit/ws_ticker_linear.json (DOC EXAMPLE): markPrice 17217.33; the list item carries no time, so the
    # mark is stamped at the retrieval time.
    ticker = json.loads(_read(shared_data, "bybit/ws_ticker_linear.json"))
    rest = json.dumps({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [ticker["data"]]}})
    ex, replay = _client(
        http,
        "bybit",
        {
            "/v5/market/funding/history": [(200, _read(shared_data, "bybit/http_get_funding_history.json"))],
            "/v5/market/tickers": [(200, rest)],
        },
    )
    ex.set_markets([linear_perpetual("BTCUSDT", 1.0)])

    funding = perps.read_funding_history(ex)
    assert list(funding["timestamp"]) == [pd.Timestamp("2024-03-08T00:00Z"), pd.Timestamp("2024-03-08T08:00Z")]
    assert list(funding["funding_rate"]) == [0.00015, 0.0001]
    assert (funding["funding_interval_h"] == 8.0).all()

    now = pd.Timestamp("2030-01-01T00:00Z")
    assert perps.read_mark_price(ex, now) == (now, 17217.33)
    assert replay.queries("/v5/market/tickers") == [{"symbol": ["BTCUSDT"], "category": ["linear"]}]


def test_deribit_inverse_market_and_ticker_mark(http: HttpReplay, shared_data: Path) -> None:
    # deribit/ws_ticker.json (real capture, 2025-12-12): mark_price 92281.78 at timestamp 1765541474086.
    ex, _ = _deribit(http, shared_data, {DERIBIT_TICKER: [(200, _reenvelope_deribit_ticker(shared_data))]})
    market = ex.market(perps.VENUES["deribit"].symbol)
    assert (market["id"], market["inverse"], market["contractSize"]) == ("BTC-PERPETUAL", True, 10.0)
    assert perps.read_mark_price(ex, pd.Timestamp("2030-01-01T00:00Z")) == (
        pd.Timestamp("2025-12-12T12:11:14.086Z"),
        92281.78,
    )


def test_inverse_normalisation_on_the_recorded_deribit_ticker(shared_data: Path) -> None:
    # The same real capture reports open_interest 1,132,329,370 USD (BTC-PERPETUAL counts OI in USD face
    # value) at mark 92,281.78: 113,232,937 contracts of 10 USD, 12,270.35 BTC.
    data = json.loads(_read(shared_data, "deribit/ws_ticker.json"))["params"]["data"]
    assert (data["open_interest"], data["mark_price"]) == (1132329370.0, 92281.78)
    btc, usd = perps.normalise_oi(113_232_937, 10.0, 92281.78, inverse=True)
    assert usd == 1_132_329_370.0
    assert btc == pytest.approx(1_132_329_370.0 / 92281.78, rel=1e-15)
    assert float(btc) == pytest.approx(12270.35, abs=0.01)


@given(
    contracts=st.just(0.0) | st.floats(1e-6, 1e12),  # whole contracts down to dust; no subnormals
    size=st.floats(1e-4, 1e3),  # BTC (linear, e.g. 0.01) or USD (inverse, e.g. 10, 100) per contract
    price=st.floats(1.0, 1e7),  # USD per BTC
    inverse=st.booleans(),
)
def test_oi_usd_is_oi_btc_times_price_for_linear_and_inverse(contracts, size, price, inverse) -> None:
    btc, usd = perps.normalise_oi(contracts, size, price, inverse=inverse)
    assert float(usd) == pytest.approx(float(btc) * price, rel=1e-12, abs=0.0)
    # the contract size is in BTC (linear) or in USD (inverse)
    assert float(btc if not inverse else usd) == contracts * size


def test_unknown_price_leaves_the_side_that_needs_it_unknown() -> None:
    btc, usd = perps.normalise_oi(5.0, 0.01, np.nan, inverse=False)
    assert (float(btc), np.isnan(usd)) == (0.05, True)
    btc, usd = perps.normalise_oi(5.0, 10.0, np.nan, inverse=True)
    assert (np.isnan(btc), float(usd)) == (True, 50.0)


# ---- bad input: a clear status per venue, the other venues still counted ------------------------------------


def test_a_429_then_success_is_retried_with_backoff(http: HttpReplay, binance_script) -> None:
    script = {**binance_script, BINANCE_MARK: [(429, "Too Many Requests"), *binance_script[BINANCE_MARK]]}
    ex, replay = _binance(http, script)
    backoff, waits = no_wait()
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex}, backoff=backoff)
    assert waits == [1.0]
    assert len(replay.queries(BINANCE_MARK)) == 2
    assert got.status("binanceusdm").state == "ok"
    _assert_binance_rows(got.table)


def test_a_venue_rate_limited_for_good_is_reported_and_the_others_counted(http: HttpReplay, binance_script) -> None:
    binance, _ = _binance(http, binance_script)
    okx, okx_replay = _client(http, "okx", {OKX_OI: [(429, "Too Many Requests")]})
    okx.set_markets([linear_perpetual("BTC-USDT-SWAP", 0.01)])
    backoff, waits = no_wait()

    got = perps.fetch_perps(["binanceusdm", "okx"], exchanges={"binanceusdm": binance, "okx": okx}, backoff=backoff)

    status = got.status("okx")
    assert (status.state, status.rows, status.endpoints) == ("error", 0, ())
    assert status.message.startswith("open interest now: rate limited: okx fetchOpenInterest refused 4 time(s)")
    assert status.message.endswith("not asked: open-interest history, funding history")
    assert waits == [1.0, 2.0, 4.0]  # bounded: 4 tries, then the venue is left alone
    assert len(okx_replay.queries(OKX_OI)) == 4
    assert got.status("binanceusdm").state == "ok"
    assert set(got.table["venue"]) == {"binanceusdm"}
    _assert_binance_rows(got.table)


def test_under_a_budget_a_client_timeout_is_cut_and_a_venue_reached_out_of_time_is_not_asked(
    http: HttpReplay, binance_script
) -> None:
    binance, replay = _binance(http, binance_script)
    with http_source.budget(12.0, clock=lambda: 0.0):  # 12 s left at every request
        got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": binance})
    assert got.status("binanceusdm").state == "ok" and binance.timeout == 12_000  # ms, from 15_000

    okx = perps.exchange("okx")
    okx.set_markets([linear_perpetual("BTC-USDT-SWAP", 0.01)])
    after = itertools.chain([0.0], itertools.repeat(13.0))  # opened at 0 s; every request would start at 13 s
    with http_source.budget(12.0, clock=lambda: next(after)):
        got = perps.fetch_perps(["okx"], exchanges={"okx": okx})
    status = got.status("okx")
    assert (status.state, status.rows) == ("error", 0)
    assert status.message == (
        "open interest now: out of time: okx loadMarkets not asked (the source's time in this cycle is spent); "
        "not asked: open-interest history, funding history"
    )
    assert okx.timeout == perps.TIMEOUT_MS and not [u for u in replay.seen if "okx" in u]


def test_a_venue_down_is_reported_and_the_others_counted(http: HttpReplay, shared_data: Path, binance_script) -> None:
    binance, _ = _binance(http, binance_script)
    deribit, _ = _deribit(http, shared_data, {})
    # a refused connection cannot be put on a tape: the session itself raises it, under ccxt as live
    deribit.session.request = mock.Mock(side_effect=requests.ConnectionError("connection refused"))
    backoff, waits = no_wait()

    got = perps.fetch_perps(
        ["deribit", "binanceusdm"], exchanges={"deribit": deribit, "binanceusdm": binance}, backoff=backoff
    )

    status = got.status("deribit")
    assert (status.state, status.rows) == ("error", 0)
    assert "unreachable: deribit fetchOpenInterest failed (NetworkError" in status.message
    assert "no open-interest history at this venue" in status.message
    assert waits == []  # a venue that is down is not retried
    assert [s.venue for s in got.statuses] == ["deribit", "binanceusdm"]
    _assert_binance_rows(got.table)


def test_open_interest_without_a_contract_size_is_refused_not_guessed(http: HttpReplay, binance_script) -> None:
    ex, _ = _binance(http, binance_script, contract_size=None)
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex})

    status = got.status("binanceusdm")
    assert status.state == "partial"
    assert "open interest now: binanceusdm fetchOpenInterest: open interest for BTCUSDT but the market has no " in (
        status.message
    )
    assert "open-interest history: binanceusdm fetchOpenInterestHistory: open interest for BTCUSDT" in status.message
    assert status.endpoints == ("fetchFundingRateHistory",)
    # no open-interest row at all, no NaN row in its place; the funding rows are intact
    assert got.table[["oi_contracts", "oi_btc", "oi_usd", "mark_price"]].isna().all().all()
    assert list(got.table["funding_rate"]) == [-0.0375, 0.0001]

    with pytest.raises(DataError, match="no contract size"):
        perps.read_open_interest_now(ex, got.retrieved_at)


def test_an_empty_history_is_reported_and_the_rest_kept(http: HttpReplay, binance_script) -> None:
    ex, _ = _binance(http, {**binance_script, BINANCE_FUNDING: [(200, "[]")]})  # the venue's answer for no records
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex})

    status = got.status("binanceusdm")
    assert (status.state, status.message, status.rows) == ("partial", "funding history: empty", 3)
    assert got.table["funding_rate"].isna().all()
    kept = {t: r for t, r in BINANCE_ROWS.items() if "funding_rate" not in r}
    rows = got.table.set_index("timestamp")
    assert list(rows.index) == [pd.Timestamp(t) for t in kept]
    assert rows.loc[pd.Timestamp("2020-08-14T02:01:35.002Z"), "oi_usd"] == pytest.approx(10659.509 * 11793.63104562)


def test_unknown_venue_is_refused_before_any_request() -> None:
    with pytest.raises(SourceError, match="unsupported perp venue 'kraken'"):
        perps.fetch_perps(["binanceusdm", "kraken"], exchanges={})


def test_clients_use_public_endpoints_with_the_rate_limiter_on() -> None:
    for venue in perps.DEFAULT_VENUES:
        ex = perps.exchange(venue)
        assert ex.enableRateLimit and not ex.apiKey and ex.timeout == perps.TIMEOUT_MS


# ---- towards a snapshot ---------------------------------------------------------------------------------


def test_snapshot_part_names_ccxt_the_venues_and_the_methods(http: HttpReplay, binance_script) -> None:
    binance, _ = _binance(http, binance_script)
    okx, _ = _client(http, "okx", {OKX_OI: [(429, "Too Many Requests")]})
    okx.set_markets([linear_perpetual("BTC-USDT-SWAP", 0.01)])
    backoff, _ = no_wait()
    got = perps.fetch_perps(["binanceusdm", "okx"], exchanges={"binanceusdm": binance, "okx": okx}, backoff=backoff)

    table, prov = got.to_snapshot_part()
    assert prov.source == (
        f"ccxt {ccxt.__version__}: binanceusdm "
        "fetchOpenInterest,fetchMarkPrice,fetchOpenInterestHistory,fetchFundingRateHistory"
    )
    assert pd.Timestamp(prov.retrieved_at) == got.retrieved_at and got.retrieved_at.tzname() == "UTC"
    assert "okx: error, 0 row(s); open interest now: rate limited" in prov.notes
    snap = Snapshot(got.retrieved_at, {"perp_metrics": table}, {"perp_metrics": prov})
    assert len(snap.get("perp_metrics")) == 5


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ([(500, "Internal Server Error")], "funding history: unreachable: binanceusdm fetchFundingRateHistory failed"),
        (
            [(200, '[{"symbol": "BTCUSDT", "fundingRate": ')],  # truncated JSON
            "funding history: malformed response: binanceusdm fetchFundingRateHistory answered a body that is not JSON",
        ),
        # schema drift: the rate renamed, as a venue might; the records carry no rate, so none is kept
        ([(200, '[{"symbol": "BTCUSDT", "rate": "0.0001", "fundingTime": 1570608000000}]')], "funding history: empty"),
    ],
    ids=["http-500", "malformed-json", "schema-drift"],
)
def test_a_broken_funding_answer_loses_only_that_part(http: HttpReplay, binance_script, answers, why) -> None:
    ex, _ = _binance(http, {**binance_script, BINANCE_FUNDING: answers})
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex}, backoff=no_wait()[0])

    status = got.status("binanceusdm")
    assert (status.state, status.rows) == ("partial", 3), status.message
    assert why in status.message
    assert got.table["funding_rate"].isna().all()  # nothing invented in place of the lost part
    assert got.table["oi_btc"].notna().all()  # open interest now and its history kept


def test_a_500_then_success_is_retried_with_backoff(http: HttpReplay, binance_script) -> None:
    script = {**binance_script, BINANCE_FUNDING: [(500, "Internal Server Error"), *binance_script[BINANCE_FUNDING]]}
    ex, replay = _binance(http, script)
    backoff, waits = no_wait()
    got = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex}, backoff=backoff)
    assert waits == [1.0] and len(replay.queries(BINANCE_FUNDING)) == 2
    assert got.status("binanceusdm").state == "ok"
    _assert_binance_rows(got.table)
