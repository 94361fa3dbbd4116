"""`capitulation watch`: live sources replayed offline, a fake clock, three cycles -> three stored snapshots.

Sources, both read from ../shared/data (nothing invented, no network):

* `perp_metrics`: the real ccxt binanceusdm client whose `requests` session answers from the recorded Binance
  bodies in api_fixtures/binance (Binance API-documentation examples: DOC EXAMPLE, not market data of a real
  day); its BTC perpetual is given to ccxt with Binance's published contract size (1 BTC), not market data;
* `btc_network`: the recorded hashrate/difficulty table of the bundled snapshot, served as if fetched.

The clock is a synthetic test clock that only moves when `watch` sleeps.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bodies import (
    GAMING,
    LAYER2,
    PREDICTION,
    RWA,
    SOCIALFI,
    TIP_BODY,
    deribit_option_instruments,
    dvol_body,
    fees_body,
    hashrate_body,
)
from capitulation.cli import app
from capitulation.cli import watch as watch_cmd
from capitulation.errors import SourceError
from capitulation.snapshot import Provenance, SourceStatus
from capitulation.sources import dvol, http, live, mempool, perps
from capitulation.sources.http import Backoff
from capitulation.sources.vol_index import read_dvol_csv
from capitulation.store import HistoryStore
from replay import linear_perpetual, replayed

runner = CliRunner()
START = pd.Timestamp("2026-10-01T00:00:00Z")  # synthetic test clock, after every recorded row
SRC = str(Path(watch_cmd.__file__).parents[2])  # the tree under test, for a `capitulation` subprocess

DERIBIT_SUMMARY = "/api/v2/public/get_book_summary_by_currency"
DERIBIT_INSTRUMENTS = "/api/v2/public/get_instruments"
COINGECKO_MARKETS = "/api/v3/coins/markets"
BINANCE = {  # URL path -> recorded DOC EXAMPLE body
    "/fapi/v1/openInterest": "binance/http_futures_market_open_interest.json",
    "/futures/data/openInterestHist": "binance/http_futures_market_open_interest_historical.json",
    "/fapi/v1/fundingRate": "binance/http_futures_market_funding_rate.json",
    "/fapi/v1/premiumIndex": "binance/http_futures_market_premium_index.json",
}


def binance_source(shared_data: Path, tapes: Path, status: int = 200) -> live.Fetcher:
    """`perp_metrics` through ccxt's binanceusdm, every endpoint answered from the recording (or `status`) by a
    new vcrpy tape under `tapes` for each call."""
    bodies = {path: [(status, (shared_data / "api_fixtures" / rel).read_text())] for path, rel in BINANCE.items()}

    def fetch() -> tuple[pd.DataFrame, Provenance]:
        ex = perps.exchange("binanceusdm")
        ex.set_markets([linear_perpetual("BTCUSDT", 1.0)])  # Binance's published contract size
        no_wait = Backoff(attempts=1, sleep=lambda s: None)
        with replayed(tapes / uuid.uuid4().hex, bodies):
            fetched = perps.fetch_perps(["binanceusdm"], exchanges={"binanceusdm": ex}, backoff=no_wait)
        return fetched.to_snapshot_part()

    return fetch


def network_source(recorded_full) -> live.Fetcher:
    return lambda: (recorded_full.tables["btc_network"], recorded_full.provenance["btc_network"])


def raising(msg: str) -> live.Fetcher:
    def fetch() -> tuple[pd.DataFrame, Provenance]:
        raise SourceError(msg)

    return fetch


class Clock:
    """Synthetic test clock: `sleep` records the wait and moves the time on by it."""

    def __init__(self) -> None:
        self.now = START
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += pd.Timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(http, "utc_now", lambda: c.now)
    monkeypatch.setattr(watch_cmd, "sleep", c.sleep)
    return c


def run_watch(monkeypatch, cycles: list[dict[str, live.Fetcher]], *args: str):
    """`watch` whose n-th cycle fetches `cycles[n]`."""
    plan = iter(cycles)
    monkeypatch.setattr(watch_cmd, "sources", lambda: next(plan))
    return runner.invoke(app, ["watch", "--cycles", str(len(cycles)), *args])


def test_three_cycles_store_three_snapshots_five_minutes_apart(
    monkeypatch, clock, shared_data, recorded_full, tmp_path
):
    both = {
        "perp_metrics": binance_source(shared_data, tmp_path / "tapes"),
        "btc_network": network_source(recorded_full),
    }
    db = tmp_path / "db"  # beside the tapes: a store folder holds nothing else
    res = run_watch(monkeypatch, [both] * 3, "--every", "5m", "--db", str(db))
    assert res.exit_code == 0, res.output
    hist = HistoryStore(db).history()
    assert list(pd.to_datetime(hist["as_of"], utc=True)) == [START + pd.Timedelta(minutes=m) for m in (0, 5, 10)]
    assert list(hist["table_names"]) == ["btc_network, perp_metrics"] * 3
    assert clock.waits == [300.0, 300.0]  # no sleep after the last cycle
    assert len(HistoryStore(db).verdict_history()) == 3 * 8
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    assert "stored 2 of 2 table(s)" in lines[0] and "perp_metrics ok (5 rows)" in lines[0]  # 5 DOC EXAMPLE rows
    stored = HistoryStore(db).load(START)
    assert stored.tables["perp_metrics"]["mark_price"].max() == pytest.approx(11793.63104562)  # premiumIndex


def test_every_default_source_replayed_from_one_tape_for_three_cycles(monkeypatch, clock, http, shared_data, tmp_path):
    """`watch` with its default sources, each through its real client, all answered by one vcrpy tape (the
    `http` fixture) for three cycles. Bodies: Binance DOC EXAMPLES and the Deribit SYNTHETIC book summary with
    instruments HAND-EDITED from a recorded row (../shared/data/api_fixtures), SYNTHETIC mempool.space and
    CoinGecko bodies (tests/bodies.py). Yahoo has nothing on the tape, so daily_prices is stale every cycle.
    Perpetuals: Binance only, its market given to ccxt from the published contract spec (1 BTC)."""
    fixtures = shared_data / "api_fixtures"
    instruments = json.loads((fixtures / "deribit/http_get_instruments.json").read_text())
    dvol_rows = read_dvol_csv(shared_data / "volatility_index" / "dvol_BTC_1y.csv")[0].tail(30)  # real DVOL bars
    http.script(
        {
            **{path: [(200, (fixtures / rel).read_text())] for path, rel in BINANCE.items()},
            DERIBIT_SUMMARY: [(200, (fixtures / "deribit/http_get_book_summary_by_currency.json").read_text())],
            DERIBIT_INSTRUMENTS: [(200, json.dumps(deribit_option_instruments(instruments)))],
            mempool.HASHRATE_PATH: [(200, json.dumps(hashrate_body()))],
            mempool.FEES_PATH: [(200, json.dumps(fees_body()))],
            mempool.TIP_PATH: [(200, TIP_BODY)],
            COINGECKO_MARKETS: [(200, b) for b in (LAYER2, GAMING, RWA, SOCIALFI, PREDICTION)] * 3,
            "/api/v2" + dvol.ENDPOINT: [(200, dvol_body(dvol_rows))],
        }
    )
    make = perps.exchange

    def exchange(venue: str):
        ex = make(venue)
        if venue == "binanceusdm":
            ex.set_markets([linear_perpetual("BTCUSDT", 1.0)])  # Binance's published contract size
        return ex

    monkeypatch.setattr(perps, "exchange", exchange)
    monkeypatch.setattr(perps, "DEFAULT_VENUES", ("binanceusdm",))

    db = tmp_path / "db"  # beside the tape: a store folder holds nothing else
    res = runner.invoke(app, ["watch", "--cycles", "3", "--every", "5m", "--db", str(db), "--json"])

    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 3
    for line in lines:
        states = {s["name"]: (s["state"], s["rows"]) for s in line["sources"]}
        assert states == {
            "option_quotes": ("ok", 2),  # BTC-28MAR25-90000-C and -P
            "perp_metrics": ("ok", 5),  # the 5 Binance DOC EXAMPLE rows
            "daily_prices": ("stale", 0),
            "btc_network": ("ok", 4),  # 3 past days and today
            "sector_returns": ("ok", 8),  # 3 + 2 + 1 + 1 + 1 coins
            "vol_index": ("ok", 30),  # the last 30 bars of dvol_BTC_1y.csv
            "treasury_companies": ("stale", 0),  # no EDGAR answer on the tape
            "onchain": ("stale", 0),  # recorded-only
            "etf_flows": ("stale", 0),  # recorded-only
        }
        messages = {s["name"]: s["message"] for s in line["sources"]}
        assert "not on the tape" in messages["daily_prices"] and "not on the tape" in messages["treasury_companies"]
        assert messages["onchain"].startswith("recorded-only: ") and messages["etf_flows"].startswith("recorded-only: ")
        assert line["tables_stored"] == 5
    hist = HistoryStore(db).history()
    assert list(pd.to_datetime(hist["as_of"], utc=True)) == [START + pd.Timedelta(minutes=m) for m in (0, 5, 10)]
    assert list(hist["stale"]) == ["daily_prices, etf_flows, onchain, treasury_companies"] * 3
    assert list(hist["table_names"]) == ["btc_network, option_quotes, perp_metrics, sector_returns, vol_index"] * 3
    assert len(HistoryStore(db).verdict_history()) == 3 * 8
    stored = HistoryStore(db).load(START + pd.Timedelta(minutes=10))
    assert stored.stale() == ["daily_prices", "treasury_companies", "onchain", "etf_flows"]  # in the order asked
    assert stored.tables["option_quotes"]["mark_usd"].tolist() == pytest.approx([0.042 * 95000.5, 0.038 * 95000.5])


def test_a_failing_source_is_stale_and_the_others_are_stored(monkeypatch, clock, shared_data, recorded_full, tmp_path):
    sick = {"perp_metrics": raising("binanceusdm: HTTP 503"), "btc_network": network_source(recorded_full)}
    res = run_watch(monkeypatch, [sick], "--db", str(tmp_path), "--json")
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout)
    assert line["tables"] == ["btc_network"] and line["tables_stored"] == 1
    assert line["sources"] == [
        {"name": "perp_metrics", "state": "stale", "rows": 0, "message": "binanceusdm: HTTP 503"},
        {"name": "btc_network", "state": "ok", "rows": len(recorded_full.tables["btc_network"]), "message": ""},
    ]
    hist = HistoryStore(tmp_path).history()
    assert (list(hist["table_names"]), list(hist["stale"])) == (["btc_network"], ["perp_metrics"])
    stored = HistoryStore(tmp_path).load(START)  # the statuses are stored with the snapshot
    assert stored.stale() == ["perp_metrics"]
    assert stored.sources[0] == SourceStatus("perp_metrics", "stale", "binanceusdm: HTTP 503", 0)
    assert stored.sources[1].state == "ok" and stored.sources[1].rows == len(recorded_full.tables["btc_network"])


def test_a_cycle_where_every_source_fails_stores_nothing_and_the_loop_goes_on(
    monkeypatch, clock, shared_data, recorded_full, tmp_path
):
    down = {
        "perp_metrics": binance_source(shared_data, tmp_path / "tapes", status=500),
        "btc_network": raising("mempool.space: timeout"),
    }
    up = {"perp_metrics": binance_source(shared_data, tmp_path / "tapes"), "btc_network": network_source(recorded_full)}
    res = run_watch(monkeypatch, [down, up], "--every", "1m", "--db", str(tmp_path / "db"))
    assert res.exit_code == 0, res.output
    first, second = res.stdout.splitlines()
    assert "nothing stored: every source failed: perp_metrics: no rows; btc_network: mempool.space: timeout" in first
    assert "stored 2 of 2 table(s)" in second
    assert list(pd.to_datetime(HistoryStore(tmp_path / "db").history()["as_of"], utc=True)) == [
        START + pd.Timedelta(minutes=1)
    ]


def test_offline_the_first_cycle_names_each_reason_and_retries_back_off_across_cycles(
    monkeypatch, clock, http, tmp_path
):
    """mempool.space through its real connector, answered HTTP 503 by the tape on every request, and a second
    source that cannot connect: no sleep inside a cycle, one request per cycle asked, and asked again only after
    5, then 10 minutes; each line says why."""
    http.script({mempool.HASHRATE_PATH: [(503, "Service Unavailable")]})
    in_cycle_waits: list[float] = []
    mempool_503 = functools.partial(mempool.fetch_network, backoff=Backoff(sleep=in_cycle_waits.append))
    down = raising("unreachable: deribit (NetworkError: offline)")
    res = run_watch(
        monkeypatch, [{"btc_network": mempool_503, "option_quotes": down}] * 4, "--db", str(tmp_path / "db")
    )

    assert res.exit_code == 0, res.output
    assert in_cycle_waits == [] and clock.waits == [300.0] * 3  # the only sleeps are between cycles
    assert len(http.queries(mempool.HASHRATE_PATH)) == 3  # asked at 00:00, 00:05 and 00:15, not at 00:10
    why = f"server error: mempool.space {mempool.HASHRATE_PATH} answered HTTP 503"
    assert res.stdout.splitlines() == [
        f"2026-10-01 00:00:00 UTC  nothing stored: every source failed: btc_network: {why}; "
        "option_quotes: unreachable: deribit (NetworkError: offline)",
        f"2026-10-01 00:05:00 UTC  nothing stored: every source failed: btc_network: {why}; "
        "option_quotes: unreachable: deribit (NetworkError: offline)",
        "2026-10-01 00:10:00 UTC  nothing stored: every source failed: btc_network: not asked until 2026-10-01 "
        f"00:15:00 UTC after 2 failure(s) in a row: {why}; option_quotes: not asked until 2026-10-01 00:15:00 UTC "
        "after 2 failure(s) in a row: unreachable: deribit (NetworkError: offline)",
        f"2026-10-01 00:15:00 UTC  nothing stored: every source failed: btc_network: {why}; "
        "option_quotes: unreachable: deribit (NetworkError: offline)",
    ]
    assert res.stderr == ""
    assert HistoryStore(tmp_path / "db").history().empty


def test_a_failed_source_is_due_at_the_next_cycle_however_long_the_first_cycle_took(monkeypatch, clock, tmp_path):
    asked: list[pd.Timestamp] = []

    def down() -> tuple[pd.DataFrame, Provenance]:
        asked.append(clock.now)
        raise SourceError("unreachable: SYNTHETIC host")

    first = [True]

    def sources() -> dict[str, live.Fetcher]:
        if first.pop() if first else False:
            clock.now += pd.Timedelta(seconds=3)  # the first cycle imports the connectors: 3 s after its start
        return {"btc_network": down}

    monkeypatch.setattr(watch_cmd, "sources", sources)
    res = runner.invoke(app, ["watch", "--cycles", "3", "--every", "1m", "--db", str(tmp_path)])
    assert res.exit_code == 0, res.output
    # failed at 00:00:03 in the cycle of 00:00: due again at the cycle of 00:01, then held until 00:03
    assert asked == [START + pd.Timedelta(seconds=3), START + pd.Timedelta(minutes=1)]
    assert "not asked until 2026-10-01 00:03:00 UTC after 2 failure(s)" in res.stdout.splitlines()[2]


def test_a_source_back_after_failing_is_stored_and_forgotten(monkeypatch, clock, recorded_full, tmp_path):
    net = network_source(recorded_full)
    sick = {"btc_network": raising("mempool.space: timeout")}
    res = run_watch(monkeypatch, [sick, {"btc_network": net}, {"btc_network": net}], "--db", str(tmp_path))
    assert res.exit_code == 0, res.output
    first, second, third = res.stdout.splitlines()
    assert "nothing stored: every source failed: btc_network: mempool.space: timeout" in first
    assert "stored 1 of 1 table(s)" in second and "stored 1 of 1 table(s)" in third


def test_third_party_logs_stay_out_of_the_terminal_unless_verbose(tmp_path):
    """A real `capitulation watch` process whose one source logs as yfinance and urllib3 do when offline, then
    fails: without -v stderr holds only capitulation's own error; with -v the libraries' lines too."""
    script = tmp_path / "offline_watch.py"
    script.write_text(
        textwrap.dedent(
            """
            import logging, sys
            from capitulation.cli import app
            from capitulation.cli import watch
            from capitulation.errors import SourceError

            def offline():
                logging.getLogger("yfinance").error("$QQQ: possibly delisted; no price data found  (period=2y)")
                logging.getLogger("urllib3.connectionpool").warning("Retrying after connection broken")
                logging.getLogger("capitulation.sources.live").error("own error")
                raise SourceError("unreachable: SYNTHETIC host")

            watch.sources = lambda: {"daily_prices": offline}
            app(sys.argv[1:], prog_name="capitulation")
            """
        )
    )

    def run(*flags: str) -> subprocess.CompletedProcess[str]:
        args = [sys.executable, str(script), *flags, "watch", "--cycles", "1", "--db", str(tmp_path / "db")]
        return subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": SRC}, check=False)

    quiet, verbose = run(), run("-v")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    for done in (quiet, verbose):
        assert "nothing stored: every source failed: daily_prices: unreachable: SYNTHETIC host" in done.stdout
    assert quiet.stderr.splitlines() == ["ERROR own error"]
    assert "ERROR $QQQ: possibly delisted" in verbose.stderr and "WARNING Retrying after" in verbose.stderr
    assert "ERROR own error" in verbose.stderr


def test_a_restart_at_a_stored_time_stores_nothing_twice(monkeypatch, clock, recorded_full, tmp_path):
    net = {"btc_network": network_source(recorded_full)}
    for _ in range(2):  # killed after one cycle, then started again at the same (synthetic) time
        assert run_watch(monkeypatch, [net], "--db", str(tmp_path)).exit_code == 0
    assert len(HistoryStore(tmp_path).history()) == 1


def test_ctrl_c_stops_cleanly(monkeypatch, clock, recorded_full, tmp_path):
    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(watch_cmd, "sleep", interrupt)
    monkeypatch.setattr(watch_cmd, "sources", lambda: {"btc_network": network_source(recorded_full)})
    res = runner.invoke(app, ["watch", "--db", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "stopped after 1 cycle(s)" in res.stdout
    assert len(HistoryStore(tmp_path).history()) == 1


@pytest.mark.parametrize("every", ["5x", "0m", "m", "-5m", "1.5h"])
def test_bad_every_is_a_one_line_error(every, monkeypatch, tmp_path):
    monkeypatch.setattr(watch_cmd, "sources", lambda: pytest.fail("no source may be fetched"))
    res = runner.invoke(app, ["watch", "--every", every, "--cycles", "1", "--db", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "--every" in res.output


def test_default_fetchers_are_the_seven_live_sources_and_the_two_recorded_only_tables() -> None:
    assert list(live.default_fetchers()) == [
        "option_quotes",
        "perp_metrics",
        "daily_prices",
        "btc_network",
        "sector_returns",
        "vol_index",
        "treasury_companies",
        "onchain",
        "etf_flows",
    ]


def test_with_v_each_source_is_one_stderr_line_per_cycle_and_without_none(
    monkeypatch, clock, shared_data, recorded_full, tmp_path
):
    """`-v` (or a terminal): one stderr line per source as it finishes, cycle after cycle; the per-cycle line
    on stdout is as without it. Not on a terminal and without -v, stderr stays empty."""
    both = {
        "perp_metrics": binance_source(shared_data, tmp_path / "tapes"),
        "btc_network": network_source(recorded_full),
    }
    sick = {**both, "perp_metrics": raising("binanceusdm: HTTP 503")}
    plan = iter([both, sick])
    monkeypatch.setattr(watch_cmd, "sources", lambda: next(plan))
    res = runner.invoke(app, ["-v", "watch", "--cycles", "2", "--db", str(tmp_path / "db")])
    assert res.exit_code == 0, res.output
    told = [re.sub(r" \d+\.\d s", " _ s", line) for line in res.stderr.splitlines() if line.startswith("  ")]
    network = f"  btc_network ok {len(recorded_full.tables['btc_network']):,} rows _ s"
    assert len(told) == 4  # in the order each finished (concurrent): a set per cycle
    assert set(told[:2]) == {network, "  perp_metrics ok 5 rows _ s"}  # 5 DOC EXAMPLE rows
    assert set(told[2:]) == {network, "  perp_metrics stale _ s: binanceusdm: HTTP 503"}
    first, second = res.stdout.splitlines()
    assert "stored 2 of 2 table(s)" in first and "perp_metrics STALE (binanceusdm: HTTP 503)" in second

    monkeypatch.setattr(watch_cmd, "sources", lambda: both)
    quiet = runner.invoke(app, ["watch", "--cycles", "1", "--db", str(tmp_path / "db")])
    assert quiet.exit_code == 0 and quiet.stderr == "" and len(quiet.stdout.splitlines()) == 1
