"""Live daily bars through yfinance -> daily_prices, offline.

yfinance's own code runs: only its HTTP boundary, `yfinance.data.YfData.get` (and `cache_get`, the memoised
path yfinance uses for the time-zone lookup), is answered from recorded Yahoo v8 chart bodies
(`response.bodyJson` of the node-yahoo-finance2 recordings in ../shared/data/api_fixtures/yahoo, read there,
never copied). So yfinance's time-zone lookup, request parameters, quote parsing and exchange-time indexing
build the frame exactly as live. yfinance's time-zone cache is a no-op here (nothing written to disk, nothing
carried between tests). Labels, from that folder's PROVENANCE.md:

* chart-QQQ-, chart-BTC-USD-, chart-GC=F-2020-01-01-to-2020-01-03.json: real captures;
* historical-via-chart-NVDA-split-/-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json: real captures;
* chart-WSU.DE-2023-08-04-to-2023-08-09.json: real capture (Frankfurt, EUR);
* chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json: real capture of a weekend window
  (no bars: `quote: [{}]`);
* chart-notimestamp-weird-quote.fake.json: HAND-EDITED real capture (its timestamp array removed).

Yahoo's answer for an unknown ticker is not among the recordings; `UNKNOWN_TICKER_BODY` below is written by
hand in the shape of Yahoo's 404 chart error, and says so. Frames built by hand (schema drift, duplicates,
the VIX mapping) are labelled where they are built.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yfinance as yf
from hypothesis import given, settings
from hypothesis import strategies as st
from yfinance import base as yf_base
from yfinance import cache as yf_cache
from yfinance._http import HTTPError
from yfinance.data import YfData
from yfinance.exceptions import YFRateLimitError

from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.sources import http, tape, yahoo
from replay import no_wait

# yfinance 1.7 calls DataFrame.sort_index(inplace=True), deprecated by pandas 3.1: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")

QQQ = "chart-QQQ-2020-01-01-to-2020-01-03.json"
BTC = "chart-BTC-USD-2020-01-01-to-2020-01-03.json"
GOLD = "chart-GC=F-2020-01-01-to-2020-01-03.json"
NVDA = "historical-via-chart-NVDA-split-2021-02-01-to-2022-01-31.csv.json"
MSFT = "historical-via-chart-MSFT-dividends-2021-02-01-to-2022-01-31.csv.json"
WSU = "chart-WSU.DE-2023-08-04-to-2023-08-09.json"
NO_BARS = "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json"
NO_TIMESTAMP = "chart-notimestamp-weird-quote.fake.json"

# HAND-WRITTEN (not recordings): the shape of Yahoo's HTTP 404 answers for a symbol it does not know, from
# the chart endpoint and from quoteSummary (where yfinance looks for a time zone the chart did not give).
UNKNOWN_TICKER_BODY = {
    "chart": {"result": None, "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"}}
}
NOT_FOUND_BODY = {"quoteSummary": {"result": None, "error": {"code": "Not Found", "description": "Quote not found"}}}

EMPTY = "yfinance returned an empty frame: unknown or delisted ticker, no bars in 2y, or Yahoo unreachable"

Answer = dict[str, Any] | Exception | Callable[[], dict[str, Any] | Exception]


class _Response:
    """What yfinance reads of a curl_cffi response: text, json(), url, status_code, raise_for_status()."""

    def __init__(self, body: dict[str, Any], status: int = 200) -> None:
        self._body, self.text, self.status_code = body, json.dumps(body), status
        self.url = "https://query2.finance.yahoo.com/v8/finance/chart"

    def json(self) -> dict[str, Any]:
        return self._body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise HTTPError(f"HTTP Error {self.status_code}", response=self)


class ChartServer:
    """Yahoo as yfinance sees it: per ticker, the chart endpoint's recorded body (or an exception); `calls` lists
    every chart request as (ticker, params). A chart request for a ticker with no answer fails (the test sees it
    in the notes); any other endpoint (quoteSummary, v7 quote) answers HTTP 404 (`NOT_FOUND_BODY`)."""

    def __init__(self, shared_data: Path) -> None:
        self.folder = shared_data / "api_fixtures" / "yahoo"
        self.answers: dict[str, list[Answer]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.other: list[str] = []

    def body(self, name: str) -> dict[str, Any]:
        """The raw Yahoo JSON of a recording (a fresh copy: tests may edit it in memory)."""
        return json.loads((self.folder / name).read_text())["response"]["bodyJson"]

    def serve(self, ticker: str, *answers: Answer) -> ChartServer:
        """Answer `ticker`'s requests with `answers` in order, the last one for every later request."""
        self.answers[ticker] = list(answers)
        return self

    def get(self, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> _Response:
        if "/v8/finance/chart/" not in url:
            self.other.append(url)
            return _Response(NOT_FOUND_BODY, 404)
        ticker = url.rsplit("/", 1)[-1]
        self.calls.append((ticker, dict(params or {})))
        queue = self.answers.get(ticker)
        if not queue:
            raise AssertionError(f"no recorded answer for {url}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        answer = answer() if callable(answer) else answer
        if isinstance(answer, Exception):
            raise answer
        status = 404 if answer.get("chart", {}).get("error") else 200
        return _Response(copy.deepcopy(answer), status)

    def history_requests(self, ticker: str) -> list[dict[str, Any]]:
        """Params of the bar requests for `ticker` (not yfinance's 1-day time-zone lookups)."""
        return [p for t, p in self.calls if t == ticker and p.get("range") != "1d"]


@pytest.fixture
def yahoo_http(monkeypatch: pytest.MonkeyPatch, shared_data: Path) -> ChartServer:
    server = ChartServer(shared_data)
    monkeypatch.setattr(YfData, "get", lambda self, url, params=None, timeout=30: server.get(url, params, timeout))
    monkeypatch.setattr(YfData, "cache_get", lambda self, url, params=None, timeout=30: server.get(url, params))
    monkeypatch.setattr(yf_cache, "get_tz_cache", yf_cache._TzCacheDummy)
    monkeypatch.setattr(yf_base, "_tz_info_fetch_ctr", 0)  # yfinance's process-wide cap on quoteSummary fallbacks
    return server


def _row(table: pd.DataFrame, symbol: str, day: str) -> pd.Series:
    rows = table[(table["symbol"] == symbol) & (table["date"] == pd.Timestamp(day, tz="UTC"))]
    assert len(rows) == 1, f"expected one {symbol} row on {day}, got {len(rows)}"
    return rows.iloc[0]


def _bar(row: pd.Series) -> tuple[float, ...]:
    return tuple(float(row[c]) for c in ("open", "high", "low", "close", "volume"))


# Read by hand from the recorded bodies (chart.result[0]: timestamp, indicators.quote[0], adjclose):
# QQQ (America/New_York): timestamp 1577975400 = 2020-01-02T14:30Z, the 09:30 ET open of 2020-01-02;
#   open 214.39999389648438, high 216.16000366210938, low 213.97999572753906, close 216.16000366210938,
#   volume 30969400; adjclose 209.6380615234375 (dividend-adjusted: not the close we keep).
# BTC-USD (UTC): timestamps 1577836800, 1577923200, 1578009600 = 2020-01-01/02/03T00:00Z; volume in USD.
# GC=F (America/New_York): timestamp 1577941200 = 2020-01-02T05:00Z = 00:00 ET; close 1524.5, volume 214.
RECORDED_ROWS = {
    ("QQQ", "2020-01-02"): (214.39999389648438, 216.16000366210938, 213.97999572753906, 216.16000366210938, 30969400),
    ("BTC-USD", "2020-01-01"): (7194.89208984375, 7254.33056640625, 7174.9443359375, 7200.17431640625, 18565664997),
    ("BTC-USD", "2020-01-02"): (7202.55126953125, 7212.1552734375, 6935.27001953125, 6985.47021484375, 20802083465),
    ("BTC-USD", "2020-01-03"): (6984.4287109375, 7413.71533203125, 6914.99609375, 7344.88427734375, 28111481032),
    ("GC=F", "2020-01-02"): (1518.0999755859375, 1528.699951171875, 1518.0, 1524.5, 214),
}


def _serve_three(server: ChartServer) -> ChartServer:
    return server.serve("QQQ", server.body(QQQ)).serve("BTC-USD", server.body(BTC)).serve("GC=F", server.body(GOLD))


def _assert_recorded_rows(table: pd.DataFrame) -> None:
    assert len(table) == len(RECORDED_ROWS)
    for (symbol, day), bar in RECORDED_ROWS.items():
        assert _bar(_row(table, symbol, day)) == bar, (symbol, day)


# ---- the real parsing path: recorded Yahoo bodies through yfinance's own parser ------------------------------


def test_recorded_chart_bodies_become_daily_rows_at_utc_midnight_of_the_trading_date(yahoo_http) -> None:
    _serve_three(yahoo_http)
    table, prov = yahoo.fetch_daily_prices(["QQQ", "BTC-USD", "GC=F"])

    pd.testing.assert_frame_equal(table, tables.validate("daily_prices", table))
    _assert_recorded_rows(table)
    assert list(table["symbol"]) == ["BTC-USD", "BTC-USD", "BTC-USD", "GC=F", "QQQ"]  # by symbol, then date
    assert (table["date"].dt.hour == 0).all() and str(table["date"].dt.tz) == "UTC"
    # yfinance asked Yahoo for two years of unadjusted daily bars, regular session only
    assert yahoo_http.history_requests("QQQ") == [
        {"range": "2y", "interval": "1d", "includePrePost": False, "events": "div,splits,capitalGains"}
    ]
    assert prov.source == f"yfinance {yf.__version__}: Yahoo Finance chart API"
    assert prov.licence == "Yahoo Finance terms (personal use)"
    assert pd.Timestamp(prov.retrieved_at).tzname() == "UTC"
    assert "3 of 3 ticker(s) kept: QQQ: 1 row(s); BTC-USD: 3 row(s); GC=F: 1 row(s)" in prov.notes
    assert "split-adjusted, not dividend-adjusted" in prov.notes


def test_close_is_split_adjusted_but_not_dividend_adjusted(yahoo_http) -> None:
    # NVDA (real capture, 252 daily bars, 4:1 split 2021-07-20 in events): first bar 2021-02-01 (timestamp
    # 1612189800) close 13.237000465393066 = 529.48 / 40, i.e. Yahoo's close restated for the 4:1 (2021) and 10:1
    # (2024) splits; adjclose 13.2034912109375 (dividends too). Last bar 2022-01-28 close 22.84000015258789.
    # MSFT (real capture, dividends 0.56 x3 and 0.62): 2021-02-01 close 239.64999389648438, adjclose 231.1864776611328.
    yahoo_http.serve("NVDA", yahoo_http.body(NVDA)).serve("MSFT", yahoo_http.body(MSFT))
    table, _ = yahoo.fetch_daily_prices(["NVDA", "MSFT"])

    nvda = table[table["symbol"] == "NVDA"]
    assert len(nvda) == 252 and len(table) == 504
    assert _row(table, "NVDA", "2021-02-01")["close"] == 13.237000465393066
    assert abs(13.237000465393066 * 40 - 529.48) < 1e-4
    assert _row(table, "NVDA", "2022-01-28")["close"] == 22.84000015258789
    assert _row(table, "MSFT", "2021-02-01")["close"] == 239.64999389648438  # not 231.19, the adjusted close
    assert nvda["date"].is_monotonic_increasing and nvda["date"].iloc[0] == pd.Timestamp("2021-02-01", tz="UTC")


def test_exchange_local_dates_are_kept_for_a_european_listing(yahoo_http) -> None:
    # WSU.DE (real capture, Europe/Berlin, EUR): bars at local midnight 2023-08-04, 07, 08 (22:00 UTC the day
    # before). The table refuses EUR prices; the normaliser, told nothing of the currency, keeps Berlin's dates.
    yahoo_http.serve("WSU.DE", yahoo_http.body(WSU)).serve("QQQ", yahoo_http.body(QQQ))
    table, prov = yahoo.fetch_daily_prices(["WSU.DE", "QQQ"])
    assert set(table["symbol"]) == {"QQQ"}
    assert "WSU.DE: prices in EUR; the daily_prices table holds USD prices only" in prov.notes

    raw = yahoo.download("WSU.DE", "2y")
    assert str(raw.index.tz) == "Europe/Berlin" and raw.attrs["currency"] == "EUR"
    raw.attrs.clear()
    rows, notes = yahoo.normalise(raw, "WSU.DE")
    assert list(rows["date"]) == [pd.Timestamp(d, tz="UTC") for d in ("2023-08-04", "2023-08-07", "2023-08-08")]
    assert notes == []


def test_vix_is_stored_as_vix_in_index_points_without_volume(monkeypatch, yahoo_http) -> None:
    # No recorded ^VIX chart exists (PROVENANCE.md). HAND-BUILT frame in yfinance's shape; its close 17.7900009155273
    # is the VIX of 2015-01-02 in ../shared/data/macro/vix.csv; Yahoo reports 0 volume for an index.
    idx = pd.DatetimeIndex([pd.Timestamp("2015-01-02", tz="America/Chicago")], name="Date")
    frame = pd.DataFrame({"Open": [17.76], "High": [20.14], "Low": [17.05], "Close": [17.7900009155273]}, index=idx)
    frame["Adj Close"], frame["Volume"] = frame["Close"], 0
    frame.attrs["currency"] = "USD"
    monkeypatch.setattr(yahoo, "download", lambda ticker, period: frame)

    table, prov = yahoo.fetch_daily_prices(["^VIX"])
    row = _row(table, "VIX", "2015-01-02")
    assert row["close"] == 17.7900009155273 and np.isnan(row["volume"])
    assert "^VIX -> VIX: 1 row(s)" in prov.notes
    assert yahoo_http.calls == []


# ---- record and replay at the adapter boundary ---------------------------------------------------------------


@pytest.fixture
def recorded_tape(tmp_path: Path, yahoo_http: ChartServer) -> tuple[Path, pd.DataFrame]:
    """Record QQQ, BTC-USD and GC=F (real captures, through yfinance) into tmp_path/tape/yahoo as Parquet."""
    _serve_three(yahoo_http)
    with tape._frame_tape(tape.FrameTape(tmp_path / "tape" / tape.YAHOO_DIR, "record")):
        table, _ = yahoo.fetch_daily_prices(["QQQ", "BTC-USD", "GC=F"])
    return tmp_path / "tape", table


@pytest.fixture
def replayed_tape(recorded_tape, http, monkeypatch, yahoo_http):
    """The recorded tape replayed by the `http` fixture (its folder is tmp_path/tape); any yfinance call is
    noted in the returned list, which a replay must leave empty."""
    assert http.folder == recorded_tape[0]
    asked: list[str] = []
    monkeypatch.setattr(yahoo, "download", lambda ticker, period: asked.append(ticker) or pd.DataFrame())
    yahoo_http.calls.clear()
    return recorded_tape, asked


def test_recording_writes_each_raw_yfinance_frame_as_parquet(recorded_tape, yahoo_http) -> None:
    folder, table = recorded_tape
    names = sorted(p.name for p in (folder / "yahoo").iterdir())
    assert names == ["history-BTC-USD-2y.parquet", "history-GC=F-2y.parquet", "history-QQQ-2y.parquet"]
    raw = pd.read_parquet(folder / "yahoo" / "history-QQQ-2y.parquet")
    # the raw frame as yfinance built it: exchange-local index, unadjusted columns, the chart's currency
    assert list(raw.columns) == ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
    assert list(raw.index) == [pd.Timestamp("2020-01-02", tz="America/New_York")]
    assert raw.attrs == {"currency": "USD"}
    assert (raw["Close"].iloc[0], raw["Adj Close"].iloc[0]) == (216.16000366210938, 209.6380615234375)
    _assert_recorded_rows(table)


def test_replay_gives_the_identical_table_without_calling_yfinance(replayed_tape, yahoo_http) -> None:
    (_, recorded), asked = replayed_tape
    table, prov = yahoo.fetch_daily_prices(["QQQ", "BTC-USD", "GC=F"])
    pd.testing.assert_frame_equal(table, recorded)
    assert asked == [] and yahoo_http.calls == []
    assert "Left out" not in prov.notes


def test_a_key_not_on_the_replayed_tape_is_a_clear_source_error(http, yahoo_http) -> None:
    with pytest.raises(SourceError, match=r"no ticker gave rows: QQQ: not on the tape: history-QQQ-2y \("):
        yahoo.fetch_daily_prices(["QQQ"])
    assert yahoo_http.calls == []


def test_a_ticker_missing_from_the_tape_is_left_out_and_the_rest_replayed(replayed_tape) -> None:
    (_, recorded), asked = replayed_tape
    table, prov = yahoo.fetch_daily_prices(["QQQ", "MSTR", "BTC-USD", "GC=F"])
    pd.testing.assert_frame_equal(table, recorded)
    assert "MSTR: not on the tape: history-MSTR-2y" in prov.notes and asked == []


# ---- bad input: named in the notes, the other tickers kept ----------------------------------------------------


def test_unknown_or_barless_tickers_give_empty_frames_that_are_left_out(yahoo_http) -> None:
    # UNKNOWN_TICKER_BODY: hand-written 404 body; NO_BARS: real capture with no bars. yfinance logs both and
    # returns an empty frame (its default hides the exception).
    _serve_three(yahoo_http).serve("NOPE", UNKNOWN_TICKER_BODY).serve("AAPL", yahoo_http.body(NO_BARS))
    assert yahoo.download("NOPE", "2y").empty

    table, prov = yahoo.fetch_daily_prices(["NOPE", "QQQ", "AAPL", "BTC-USD", "GC=F"])
    _assert_recorded_rows(table)
    assert "NOPE: no rows (yfinance: $NOPE: No data found, symbol may be delisted)" in prov.notes  # its log
    assert "AAPL: no rows (yfinance: $AAPL: possibly delisted; no price data found  (period=2y))" in prov.notes
    assert "3 of 5 ticker(s) kept" in prov.notes


def test_an_empty_frame_without_a_logged_reason_gets_the_generic_one(monkeypatch, yahoo_http) -> None:
    monkeypatch.setattr(yahoo, "download", lambda ticker, period: pd.DataFrame())  # e.g. a tape recorded before
    with pytest.raises(SourceError) as err:
        yahoo.fetch_daily_prices(["QQQ"])
    assert str(err.value) == f"Yahoo: no ticker gave rows: QQQ: no rows ({EMPTY})"


def test_a_frame_without_a_close_column_is_schema_drift(monkeypatch, yahoo_http) -> None:
    # QQQ's real frame from yfinance with its Close column renamed, as a yfinance upgrade might.
    _serve_three(yahoo_http)
    real = yahoo.download
    drift = real("QQQ", "2y").rename(columns={"Close": "close_price"})
    monkeypatch.setattr(yahoo, "download", lambda t, p: drift if t == "QQQ" else real(t, p))

    table, prov = yahoo.fetch_daily_prices(["QQQ", "BTC-USD"])
    assert set(table["symbol"]) == {"BTC-USD"}
    assert (
        "QQQ: schema drift: no 'Close' column (columns: Open, High, Low, close_price, Adj Close, Volume)" in prov.notes
    )
    with pytest.raises(DataError, match="schema drift"):
        yahoo.normalise(drift, "QQQ")


def test_rows_without_a_close_are_dropped_and_counted(yahoo_http) -> None:
    # BTC-USD real capture, edited in memory: the 2020-01-02 close (6985.47021484375) set to null, as Yahoo
    # sends a missing value; yfinance keeps the row with a NaN Close.
    body = yahoo_http.body(BTC)
    body["chart"]["result"][0]["indicators"]["quote"][0]["close"][1] = None
    yahoo_http.serve("BTC-USD", body)

    table, prov = yahoo.fetch_daily_prices(["BTC-USD"])
    assert list(table["date"].dt.strftime("%Y-%m-%d")) == ["2020-01-01", "2020-01-03"]
    assert list(table["close"]) == [7200.17431640625, 7344.88427734375]
    assert "BTC-USD: 2 row(s); 1 row(s) without a close dropped (2020-01-02)" in prov.notes


def test_repeated_dates_keep_the_last_row(yahoo_http) -> None:
    # BTC-USD real frame plus a HAND-MADE second 2020-01-03 row (a revised running bar at 12:00 UTC).
    yahoo_http.serve("BTC-USD", yahoo_http.body(BTC))
    raw = yahoo.download("BTC-USD", "2y")
    later = raw.iloc[[-1]].copy()
    later.index = later.index + pd.Timedelta(hours=12)
    later["Close"] = 7400.0
    rows, notes = yahoo.normalise(pd.concat([raw, later]), "BTC-USD")
    assert list(rows["close"]) == [7200.17431640625, 6985.47021484375, 7400.0]
    assert notes == ["1 repeated-date row(s) dropped, the last kept (2020-01-03)"]


def test_a_ticker_raising_is_left_out_and_the_others_kept(monkeypatch, yahoo_http) -> None:
    _serve_three(yahoo_http)
    real = yahoo.download

    def download(ticker: str, period: str) -> pd.DataFrame:
        if ticker == "MSTR":
            raise RuntimeError("curl: (6) Could not resolve host: query2.finance.yahoo.com")
        return real(ticker, period)

    monkeypatch.setattr(yahoo, "download", download)
    table, prov = yahoo.fetch_daily_prices(["QQQ", "MSTR", "BTC-USD", "GC=F"])
    _assert_recorded_rows(table)
    assert "MSTR: RuntimeError: curl: (6) Could not resolve host: query2.finance.yahoo.com" in prov.notes


def test_yahoo_unreachable_leaves_the_tickers_not_yet_asked_with_yfinance_own_reason(yahoo_http) -> None:
    # yfinance (hide_exceptions, its default) logs "Failed to get ticker ... reason: ..." for a request that raised
    # and returns an empty frame; that reason is kept, nothing is logged past it, and Yahoo is not asked again
    _serve_three(yahoo_http).serve("MSTR", ConnectionError("curl: (6) Could not resolve host"))
    table, prov = yahoo.fetch_daily_prices(["QQQ", "MSTR", "BTC-USD", "GC=F"])
    assert set(table["symbol"]) == {"QQQ"}
    assert {t for t, _ in yahoo_http.calls} == {"QQQ", "MSTR"}  # BTC-USD and GC=F never asked
    assert (
        "MSTR: unreachable: yfinance history MSTR 2y (yfinance: Failed to get ticker 'MSTR' reason: curl: (6) Could "
        "not resolve host); not asked in this run: BTC-USD, GC=F"
    ) in prov.notes


def test_a_connection_error_escaping_yfinance_is_unreachable(monkeypatch, yahoo_http) -> None:
    from curl_cffi.requests.exceptions import DNSError

    def history(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        raise DNSError(
            "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. See "
            "https://curl.se/libcurl/c/libcurl-errors.html first for more details."
        )

    monkeypatch.setattr(yf.Ticker, "history", history)
    with pytest.raises(SourceError) as err:
        yahoo.fetch_daily_prices(["BTC-USD", "QQQ"])
    assert str(err.value) == (
        "Yahoo: no ticker gave rows: BTC-USD: unreachable: yfinance history BTC-USD 2y (DNSError: Failed to perform, "
        "curl: (6) Could not resolve host: query2.finance.yahoo.com.); not asked in this run: QQQ"
    )


def test_under_a_spent_budget_yahoo_is_not_asked(yahoo_http) -> None:
    _serve_three(yahoo_http)
    with http.budget(0.0), pytest.raises(SourceError, match="out of time: yfinance history QQQ 2y not asked"):
        yahoo.fetch_daily_prices(["QQQ", "BTC-USD"])
    assert yahoo_http.calls == []


def test_an_empty_frame_keeps_yfinance_reason_through_the_tape(tmp_path, yahoo_http) -> None:
    yahoo_http.serve("NOPE", UNKNOWN_TICKER_BODY)
    with tape.recording(tmp_path / "tape"), pytest.raises(SourceError) as live:
        yahoo.fetch_daily_prices(["NOPE"])
    with tape.replaying(tmp_path / "tape"), pytest.raises(SourceError) as replayed:
        yahoo.fetch_daily_prices(["NOPE"])
    assert str(replayed.value) == str(live.value)
    assert (
        str(live.value)
        == "Yahoo: no ticker gave rows: NOPE: no rows (yfinance: $NOPE: No data found, symbol may be delisted)"
    )


def test_the_hand_edited_chart_without_timestamps_is_left_out(yahoo_http) -> None:
    # chart-notimestamp-weird-quote.fake.json (HAND-EDITED real capture: AAPL with the timestamp array removed):
    # yfinance's parser raises KeyError('timestamp'); the ticker is named, the others kept.
    _serve_three(yahoo_http).serve("AAPL", yahoo_http.body(NO_TIMESTAMP))
    table, prov = yahoo.fetch_daily_prices(["AAPL", "QQQ", "BTC-USD", "GC=F"])
    _assert_recorded_rows(table)
    assert "AAPL: KeyError: 'timestamp'" in prov.notes


def test_a_rate_limit_then_success_is_retried_with_backoff(yahoo_http) -> None:
    _serve_three(yahoo_http).serve("QQQ", YFRateLimitError(), yahoo_http.body(QQQ))
    backoff, waits = no_wait()
    table, prov = yahoo.fetch_daily_prices(["QQQ", "BTC-USD", "GC=F"], backoff=backoff)
    assert waits == [1.0]
    assert len(yahoo_http.history_requests("QQQ")) == 1  # the refused try died at yfinance's time-zone lookup
    _assert_recorded_rows(table)
    assert "Left out" not in prov.notes


def test_a_rate_limit_for_good_leaves_that_ticker_and_the_ones_not_yet_asked(yahoo_http) -> None:
    _serve_three(yahoo_http).serve("QQQ", YFRateLimitError())
    backoff, waits = no_wait()
    table, prov = yahoo.fetch_daily_prices(["BTC-USD", "QQQ", "GC=F"], backoff=backoff)
    assert waits == [1.0, 2.0, 4.0]  # bounded: 4 tries
    assert [t for t, _ in yahoo_http.calls].count("QQQ") == 4
    assert "GC=F" not in {t for t, _ in yahoo_http.calls}
    assert set(table["symbol"]) == {"BTC-USD"}
    assert "QQQ: rate limited, refused 4 time(s) (YFRateLimitError: Too Many Requests" in prov.notes
    assert "not asked after the rate limit: GC=F" in prov.notes


def test_every_ticker_failing_is_a_source_error(yahoo_http) -> None:
    yahoo_http.serve("NOPE", UNKNOWN_TICKER_BODY).serve("AAPL", yahoo_http.body(NO_TIMESTAMP))
    with pytest.raises(SourceError) as err:
        yahoo.fetch_daily_prices(["NOPE", "AAPL"])
    assert str(err.value) == (
        "Yahoo: no ticker gave rows: NOPE: no rows (yfinance: $NOPE: No data found, symbol may be delisted); "
        "AAPL: KeyError: 'timestamp'"
    )


def test_no_ticker_or_two_tickers_for_one_symbol_are_refused() -> None:
    with pytest.raises(SourceError, match="no Yahoo ticker"):
        yahoo.fetch_daily_prices([])
    with pytest.raises(SourceError, match="'\\^VIX' and 'VIX' both give symbol 'VIX'"):
        yahoo.fetch_daily_prices(["^VIX", "VIX"])


# ---- tickers and symbols ---------------------------------------------------------------------------------------


def test_default_tickers_cover_the_markets_and_the_treasury_companies() -> None:
    assert yahoo.DEFAULT_SYMBOLS[:8] == ("BTC-USD", "^VIX", "QQQ", "SPY", "GLD", "SLV", "IBIT", "MSTR")
    assert set(yahoo.treasury_tickers()) <= set(yahoo.DEFAULT_SYMBOLS)  # MSTR in the bundled treasuries.toml
    assert set(yahoo.US_TREASURY_PEERS) <= set(yahoo.DEFAULT_SYMBOLS)
    assert len(set(yahoo.DEFAULT_SYMBOLS)) == len(yahoo.DEFAULT_SYMBOLS)
    # the symbols the recorded importer gives: VIX as in macro/vix.csv, BTC-USD, the ETF tickers as they are
    assert [yahoo.table_symbol(t) for t in ("^VIX", "DX-Y.NYB", "BTC-USD", "GLD")] == ["VIX", "DXY", "BTC-USD", "GLD"]


def test_treasury_tickers_are_read_from_the_stack_file(tmp_path: Path) -> None:
    stack = tmp_path / "stack.toml"
    stack.write_text(
        '[[company]]\nticker = "XYZ"\nas_of = "2026-01-31"\nsource = "test"\nbtc_held = 1\n\n'
        '[[coupon]]\nticker = "MSTR"\nexpiration = "2030-03-01"\ncoupon = 0.0\nsource = "test"\n'
    )
    assert yahoo.treasury_tickers(stack) == ("XYZ", "MSTR")


# ---- the normaliser, as a property -----------------------------------------------------------------------------

EXCHANGE_TZS = [
    "UTC",
    "America/New_York",
    "America/Chicago",
    "America/Sao_Paulo",  # DST once began at local midnight
    "Europe/London",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
]


@settings(max_examples=150, deadline=None)
@given(
    days=st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2040, 12, 31)), min_size=1, max_size=20, unique=True),
    tz=st.sampled_from(EXCHANGE_TZS),
    minute_of_day=st.integers(0, 24 * 60 - 1),
    closes=st.lists(st.floats(0.01, 1e7), min_size=20, max_size=20),
)
def test_normalised_dates_are_the_local_trading_dates_at_utc_midnight(days, tz, minute_of_day, closes) -> None:
    local = pd.DatetimeIndex([dt.datetime.combine(d, dt.time()) for d in days]) + pd.Timedelta(minutes=minute_of_day)
    idx = local.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.ones(len(local), dtype=bool))
    raw = pd.DataFrame({"Close": closes[: len(days)], "Volume": 1.0}, index=idx.rename("Date"))

    rows, notes = yahoo.normalise(raw, "X")

    expected = sorted(zip((pd.Timestamp(d, tz="UTC") for d in days), closes, strict=False))
    assert list(zip(rows["date"], rows["close"], strict=True)) == expected
    assert str(rows["date"].dt.tz) == "UTC" and (rows["date"] == rows["date"].dt.normalize()).all()
    assert notes == ["no Open column", "no High column", "no Low column"]


def test_normaliser_edge_frames() -> None:
    assert yahoo.normalise(pd.DataFrame(), "X")[0].empty  # yfinance's empty answer, with or without columns
    with pytest.raises(DataError, match=r"schema drift: index is \w+, not dates"):
        yahoo.normalise(pd.DataFrame({"Close": [1.0]}, index=["2020-01-02"]), "X")
    tokyo = pd.DataFrame({"Close": [1.0]}, index=pd.DatetimeIndex(["2020-01-06"]).tz_localize("Asia/Tokyo"))
    tokyo.attrs["currency"] = "JPY"  # e.g. Metaplanet, 3350.T: the table holds USD only
    with pytest.raises(DataError, match="prices in JPY"):
        yahoo.normalise(tokyo, "3350.T")
