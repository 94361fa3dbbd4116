"""The backfill on the recorded real chain: Dask equals one process, the metrics equal the `options` analytics,
the tardis reader equals the recorded-chain reader, and bad input exits 2 with one line.

No tardis.dev sample is recorded, so the real Deribit chain (full_data_sample.csv: 37 hourly snapshots,
2026-01-23 01:00 to 2026-01-24 13:00 UTC) is converted into the tardis `options_chain` layout with
`backfill.to_tardis` (times in microseconds, IVs in percent, BTC premiums) and written to a temporary
folder, one file per UTC day, as tardis names them. Nothing converted is committed.
"""

import json
import os
import socket
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import capitulation
from capitulation import tables
from capitulation.analytics import black76
from capitulation.backfill import backfill, chains, from_tardis, read_chain, snapshot_metrics, to_tardis, write_parquet
from capitulation.backfill.chains import INFERRED_FROM, arrays_of, read_arrays
from capitulation.backfill.run import CHUNK, Progress
from capitulation.cli import app
from capitulation.cluster import dask_client
from capitulation.errors import DataError, SourceError
from capitulation.signals.options_stress import summarize
from capitulation.sources.deribit import read_chain_csv
from capitulation.sources.recorded import CHAIN_TIMESTAMPS
from capitulation.store import HistoryStore

RTOL = 1e-12
runner = CliRunner()


@pytest.fixture(scope="module")
def sample(shared_data):
    return shared_data / "deribit_options" / "full_data_sample.csv"


@pytest.fixture(scope="module")
def quotes(sample):
    return read_chain_csv(sample)[0]


@pytest.fixture(scope="module")
def tardis_days(quotes, tmp_path_factory):
    """The real chain in the tardis layout, one CSV per UTC day (2 files)."""
    folder = tmp_path_factory.mktemp("tardis")
    for day, part in to_tardis(quotes).groupby(quotes["timestamp"].dt.strftime("%Y-%m-%d")):
        part.to_csv(folder / f"deribit_options_chain_{day}_OPTIONS.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def single(sample):
    return backfill(sample).metrics


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as c:
        yield c


def test_dask_two_workers_equal_one_process_on_the_real_chain(sample, single, client):
    res = backfill(sample, client=client)
    assert len(client.scheduler_info()["workers"]) == 2
    assert (res.files, res.quote_rows, len(res.metrics)) == (1, 24_562, 37)
    pd.testing.assert_frame_equal(res.metrics, single, check_exact=False, rtol=RTOL, atol=0)


def test_dask_one_task_per_day_file_equals_one_process_and_the_recorded_reader(tardis_days, single, client):
    on_dask = backfill(tardis_days, client=client)
    alone = backfill(tardis_days)
    assert on_dask.files == 2 and on_dask.quote_rows == 24_562
    pd.testing.assert_frame_equal(on_dask.metrics, alone.metrics, check_exact=False, rtol=RTOL, atol=0)
    # the tardis round trip (IV x 100 / 100, BTC x forward) moves the numbers by rounding only
    pd.testing.assert_frame_equal(alone.metrics, single, check_exact=False, rtol=1e-9, atol=1e-12)


def test_last_snapshot_equals_the_options_summary_of_that_chain(quotes, single):
    s = summarize(quotes)
    cm = s.term.set_index("days")
    last = single.iloc[-1]
    assert last["timestamp"] == pd.Timestamp("2026-01-24T13:00Z") == s.timestamp
    assert last["n_quotes"] == (quotes["timestamp"] == s.timestamp).sum() == 654
    assert last["spot"] == s.spot
    assert last["atm_iv_7d"] == cm.loc[7, "atm_iv"]
    for n in (1, 7):
        for d in (15, 25):
            assert last[f"rr{d}_{n}d"] == cm.loc[n, f"rr{d}"]
    assert last["gex_usd_per_1pct"] == s.gex.total_usd
    assert (last["gamma_flip"], last["call_wall"], last["put_wall"]) == (s.flip, s.walls.call_wall, s.walls.put_wall)
    # the numbers themselves: puts over calls at one week, dealers long gamma, flip below spot
    assert last["rr25_7d"] == pytest.approx(-0.0427, abs=1e-4)
    assert last["gex_usd_per_1pct"] > 0 and last["gamma_flip"] < last["spot"]


def summary_row(chain):
    """The backfill's columns from the `options` command's analytics of one chain (`summarize`)."""
    s = summarize(chain)
    cm = s.term.set_index("days")
    return {
        "timestamp": s.timestamp,
        "n_quotes": len(chain),
        "spot": s.spot,
        "atm_iv_7d": cm.loc[7, "atm_iv"],
        **{f"rr{d}_{n}d": cm.loc[n, f"rr{d}"] for n in (1, 7) for d in (15, 25)},
        "gex_usd_per_1pct": s.gex.total_usd,
        "gamma_flip": s.flip,
        "call_wall": s.walls.call_wall,
        "put_wall": s.walls.put_wall,
    }


def assert_same_row(got, want):
    assert list(got) == list(want)
    for k, v in want.items():
        assert got[k] == v or (pd.isna(got[k]) and pd.isna(v)), (k, got[k], v)


def test_every_snapshot_equals_the_summary_of_its_own_chain(quotes, single):
    first = quotes[quotes["timestamp"] == quotes["timestamp"].min()]
    assert single.iloc[0]["timestamp"] == pd.Timestamp("2026-01-23T01:00Z") and len(first) == 682
    for (_, chain), (_, row) in zip(quotes.groupby("timestamp"), single.iterrows(), strict=True):
        assert_same_row(row.to_dict(), summary_row(chain))  # bit for bit, all 37 hours


def test_snapshot_metrics_equal_the_options_analytics_of_the_recorded_chains(shared_data, quotes):
    last = quotes[quotes["timestamp"] == quotes["timestamp"].max()]
    got = snapshot_metrics(last)
    assert_same_row(got, summary_row(last))
    assert got["gamma_flip"] == pytest.approx(88_827.48, abs=0.01)  # what `options` and `report` print
    chain = read_chain_csv(shared_data / "deribit_options" / "sample.csv", timestamp="2026-03-05T19:52:00Z")[0]
    assert_same_row(snapshot_metrics(chain), summary_row(chain))


@pytest.mark.parametrize("order", ["expiry and strike", "one expiry"])
def test_a_chain_in_key_order_is_summed_as_pandas_sums_it(quotes, order):
    """pandas sums groups by numpy's reduceat when the rows are already in group order (chain sorted by
    expiry and strike; one expiry for the walls' per-strike sums), by Kahan's method otherwise."""
    last = quotes[quotes["timestamp"] == quotes["timestamp"].max()].sort_values(["expiry", "strike"])
    chain = last if order == "expiry and strike" else last[last["expiry"] == last["expiry"].unique()[3]]
    assert_same_row(snapshot_metrics(chain), summary_row(chain))


def test_a_tie_in_call_delta_that_decides_a_vol_is_resolved_as_smile_resolves_it():
    """Two far out-of-the-money puts both at call delta exactly 1.0, the next quote below the 85-delta put:
    the 15-delta put vol reads the first of the two after pandas' (unstable) sort, so the backfill takes that
    chain's smile from `smile` itself."""
    when = pd.Timestamp("2026-01-24T08:00Z")
    legs = [("P", 70_000, 0.50), ("P", 75_000, 0.60), ("P", 98_000, 0.50), ("C", 100_000, 0.50), ("C", 101_000, 0.5)]
    legs += [("C", 103_000, 0.55), ("C", 104_000, 0.5), ("P", 99_000, 0.5)]
    rows = [
        {
            "timestamp": when,
            "venue": "deribit",
            "instrument": f"BTC-25JAN26-{k}-{kind}",
            "underlying": "BTC",
            "expiry": when + pd.Timedelta(days=1),
            "strike": float(k),
            "option_type": kind,
            "quote_currency": "BTC",
            "mark_iv": vol,
            "bid_iv": vol - 0.01,
            "open_interest": 10.0,
            "contract_size": 1.0,
            "underlying_price": 100_000.0,
        }
        for kind, k, vol in legs
    ]
    chain = tables.validate("option_quotes", pd.DataFrame(rows).reindex(columns=tables.spec("option_quotes").names))
    deltas = black76.delta(100_000.0, chain["strike"], 1 / 365, chain["mark_iv"], True)
    assert deltas[0] == deltas[1] == 1.0 and 0.5 < deltas[2] < 0.85
    got = snapshot_metrics(chain)
    assert_same_row(got, summary_row(chain))
    assert not np.isnan(got["rr15_1d"])


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_tardis_reader_gives_the_recorded_option_quotes(quotes, tmp_path, fmt):
    path = tmp_path / f"chain.{fmt}"
    raw = to_tardis(quotes)
    raw.to_parquet(path) if fmt == "parquet" else raw.to_csv(path, index=False)
    got = read_chain(path)
    assert got["volume"].isna().all()  # not in the tardis layout
    pd.testing.assert_frame_equal(
        got.drop(columns="volume"), quotes.drop(columns="volume"), check_exact=False, rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_a_clean_tardis_file_is_parsed_once_by_pyarrow_into_the_tables_arrays(quotes, tmp_path, fmt, monkeypatch):
    path = tmp_path / f"chain.{fmt}"
    raw = to_tardis(quotes)
    raw.to_parquet(path) if fmt == "parquet" else raw.to_csv(path, index=False)
    want = arrays_of(read_chain(path))
    monkeypatch.setattr(chains, "read_chain", None)  # the fast path alone: no pandas reader
    got = read_arrays(path)
    for f in fields(want):
        np.testing.assert_array_equal(getattr(got, f.name), getattr(want, f.name), strict=True, err_msg=f.name)


def _cell(column, value, row=5):
    def edit(raw):
        raw = raw.astype({column: object})
        raw.loc[row, column] = value
        return raw

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        _cell("mark_iv", "nan"),  # a text NaN: malformed for `read_chain`
        _cell("strike_price", " 90000"),  # padded: read_chain strips it
        _cell("gamma", -1e-5),  # out of the table's range
        _cell("mark_iv", ""),  # a missing mark IV
        _cell("bid_price", "inf"),
        _cell("symbol", "ETH-24JAN26-3000-C"),  # another currency's row is left out
        _cell("expiration", 1_769_130_000_000_000),  # expired at its quote time: dropped
        _cell("timestamp", ""),
        lambda raw: pd.concat([raw, raw.iloc[[3]]]),  # a row said twice: dropped once
        lambda raw: pd.concat([raw, raw.iloc[[3]].assign(mark_iv=50.0)]),  # two values at one key
        lambda raw: raw.assign(instrument_name=raw["symbol"]),  # read as a recorded Deribit chain
    ],
)
def test_a_tardis_file_with_any_fault_reads_as_read_chain_reads_it(quotes, tmp_path, edit):
    raw = edit(to_tardis(quotes.iloc[:40]).reset_index(drop=True))
    path = tmp_path / "day.csv"
    raw.to_csv(path, index=False)
    try:
        want = arrays_of(read_chain(path))
    except (DataError, SourceError) as exc:
        with pytest.raises(type(exc)) as got:
            read_arrays(path)
        assert str(got.value) == str(exc)
        return
    got = read_arrays(path)
    for f in fields(want):
        np.testing.assert_array_equal(getattr(got, f.name), getattr(want, f.name), strict=True, err_msg=f.name)


def test_option_quotes_parquet_is_read_as_is(quotes, tmp_path):
    quotes.to_parquet(tmp_path / "quotes.parquet")
    pd.testing.assert_frame_equal(read_chain(tmp_path / "quotes.parquet"), quotes)


def test_tardis_conventions_percent_iv_no_quote_zero_and_btc_premiums(quotes):
    row = to_tardis(quotes.iloc[[1]])  # BTC-13FEB26-100000-P at 2026-01-23 01:00, bid_iv 31.78 %
    assert row["timestamp"].iloc[0] == 1_769_130_000_000_000  # microseconds
    assert row["expiration"].iloc[0] == 1_770_969_600_000_000  # 2026-02-13 08:00 UTC
    got = from_tardis(row.assign(bid_iv=0.0))
    assert np.isnan(got["bid_iv"].iloc[0])  # Deribit: 0 = no bid
    assert got["mark_iv"].iloc[0] == pytest.approx(0.3624, abs=1e-12)
    assert got["mark_usd"].iloc[0] == pytest.approx(row["mark_price"].iloc[0] * row["underlying_price"].iloc[0])


def test_a_daily_bucket_is_each_instruments_latest_quote_at_the_days_last_time(sample, single):
    day = backfill(sample, every="1D").metrics
    assert list(day["timestamp"]) == [pd.Timestamp("2026-01-23T23:00Z"), pd.Timestamp("2026-01-24T13:00Z")]
    hourly = single.set_index("timestamp").loc[day["timestamp"]].reset_index()
    # every instrument still listed at the day's last hour was quoted then, so the chains coincide
    pd.testing.assert_frame_equal(day, hourly)


def test_metrics_are_written_atomically_as_parquet(single, tmp_path):
    path = write_parquet(single, tmp_path / "out")
    assert path.name == "backfill_20260123T0100_20260124T1300.parquet"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left
    pd.testing.assert_frame_equal(pd.read_parquet(path), single)


def test_cli_single_process_json_parquet_and_store(sample, single, tmp_path):
    db = tmp_path / "db"
    args = ["backfill", str(sample), "--out", str(tmp_path), "--workers", "0", "--db", str(db), "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert (out["mode"], out["snapshots"], out["quote_rows"]) == ("single process", 37, 24_562)
    assert out["snapshots_latest"][-1]["timestamp"] == "2026-01-24T13:00:00+00:00"
    pd.testing.assert_frame_equal(pd.read_parquet(out["output"]), single)
    days = single["timestamp"].dt.floor("D").nunique()
    assert out["store"] == {"root": str(db), "days_written": days}
    stored = HistoryStore(db).backfill_metrics()
    pd.testing.assert_frame_equal(stored.drop(columns="source"), single)
    assert set(stored["source"]) == {str(sample.resolve())}
    again = json.loads(runner.invoke(app, args).stdout)  # the same input again is stored once
    assert again["store"]["days_written"] == 0 and len(HistoryStore(db).backfill_metrics()) == len(single)


def test_cli_on_a_scheduler_address_equals_one_process(tardis_days, single, client, tmp_path):
    address = client.scheduler.address
    args = ["backfill", str(tardis_days), "--out", str(tmp_path), "--scheduler", address, "--no-store", "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["mode"] == f"dask {address}"
    got = pd.read_parquet(next(tmp_path.glob("*.parquet")))
    pd.testing.assert_frame_equal(got, single, check_exact=False, rtol=1e-9, atol=1e-12)


def test_a_task_error_on_a_worker_reaches_the_caller_as_raised(tmp_path, client):
    (tmp_path / "day.csv").write_text("exchange,symbol,timestamp\nderibit,BTC-X,1\n")
    with pytest.raises(DataError, match="missing tardis options_chain column"):
        backfill(tmp_path, client=client)


def _malformed(tmp_path, quotes):
    bad = to_tardis(quotes.iloc[:3]).astype({"strike_price": object})
    bad.loc[2, "strike_price"] = "1e5x"
    bad.to_csv(tmp_path / "day.csv", index=False)
    return tmp_path


def _ragged(tmp_path, quotes):
    """A tardis file whose 4th data line has more fields than the header (a truncated download spliced)."""
    text = to_tardis(quotes.iloc[:3]).to_csv(index=False) + "deribit," * 30 + "\n"
    (tmp_path / "day.csv").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("make", "every", "message"),
    [
        (lambda p, q: p / "missing", "1h", "backfill input not found"),
        (lambda p, q: p, "1h", "no option chain files"),
        (_ragged, "1h", "cannot read option chain file"),
        (_malformed, "1h", "column 'strike_price', row 2: malformed number '1e5x'"),
        (lambda p, q: (to_tardis(q.iloc[:3]).assign(exchange="okex").to_csv(p / "d.csv")) or p, "1h", "only exchange"),
        (lambda p, q: (p / "x.csv").write_text("a,b\n1,2\n") and p, "1h", "not an option chain"),
        (lambda p, q: p, "7min", "--every must be positive and divide one day"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, quotes, make, every, message):
    path = make(tmp_path, quotes)
    args = ["backfill", str(path), "--every", every, "--workers", "0", "--out", str(tmp_path / "o")]
    res = runner.invoke(app, [*args, "--db", str(tmp_path / "db")])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and message in res.output, res.output


def test_the_recorded_folder_dates_sample_csv_by_its_greeks(shared_data, single):
    """sample.csv has no time column: its quote time is the one its greeks imply, the time the recorded
    snapshot uses (`recorded.CHAIN_TIMESTAMPS`), and the run says so."""
    folder = shared_data / "deribit_options"
    res = backfill(folder)
    when = pd.Timestamp(CHAIN_TIMESTAMPS["sample.csv"])
    assert res.inferred == {str(folder / "sample.csv"): when}
    assert (res.files, res.quote_rows, len(res.metrics)) == (2, 24_562 + 1_016, 38)
    pd.testing.assert_frame_equal(res.metrics.iloc[:37], single)  # the dated file: as on its own
    chain = read_chain_csv(folder / "sample.csv", timestamp=when)[0]
    assert_same_row(res.metrics.iloc[-1].to_dict(), summary_row(chain))


def test_cli_says_which_quote_time_was_inferred_and_from_what(shared_data, tmp_path):
    common = ["backfill", str(shared_data / "deribit_options"), "--out", str(tmp_path), "--no-store", "--workers", "0"]
    out = json.loads(runner.invoke(app, [*common, "--json"]).stdout)
    assert out["capture_times_inferred"] == [
        {"file": "sample.csv", "time": "2026-03-05T19:52:00+00:00", "from": INFERRED_FROM}
    ]
    assert out["snapshots"] == 38 and out["as_of"] == "2026-03-05T19:52:00+00:00"
    text = runner.invoke(app, common, env={"COLUMNS": "400"})
    assert text.exit_code == 0, text.output
    assert f"sample.csv: no time column; quote time 2026-03-05 19:52:00 UTC inferred from {INFERRED_FROM}\n" in (
        text.output
    )


def _dateless(tmp_path, shared_data, edit):
    """The first 40 rows of sample.csv (no time column), edited."""
    raw = pd.read_csv(shared_data / "deribit_options" / "sample.csv", dtype=str, keep_default_na=False).head(40)
    edit(raw).to_csv(tmp_path / "chain.csv", index=False)
    return tmp_path / "chain.csv"


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (lambda raw: raw.drop(columns=["theta", "vega"]), "no theta, vega column(s)"),
        (lambda raw: raw.assign(theta="0.0"), "no instrument with usable greeks to date the snapshot"),
        (lambda raw: raw.assign(theta="-1e-12"), "no instrument with usable greeks to date the snapshot"),
        (lambda raw: raw.assign(vega=""), "column 'vega', row 0: malformed number ''"),
    ],
)
def test_a_chain_without_times_or_usable_greeks_is_one_line_naming_the_file(tmp_path, shared_data, edit, why):
    path = _dateless(tmp_path, shared_data, edit)
    res = runner.invoke(app, ["backfill", str(path), "--workers", "0", "--out", str(tmp_path / "o"), "--no-store"])
    want = f"error: chain.csv: no 'date' column, and its quote time cannot be inferred from the greeks: {why}\n"
    assert (res.exit_code, res.output) == (2, want)


def test_a_chain_with_usable_greeks_left_is_dated_by_them(tmp_path, shared_data):
    path = _dateless(tmp_path, shared_data, lambda raw: raw)
    when = chains.capture_time(path)
    assert abs(when - pd.Timestamp(CHAIN_TIMESTAMPS["sample.csv"])) < pd.Timedelta(hours=1)  # 40 rows of 1,016
    assert backfill(path).inferred == {str(path): when}
    assert chains.capture_time(shared_data / "deribit_options" / "full_data_sample.csv") is None  # has `date`


def test_progress_counts_every_snapshot_chunk_by_chunk_in_this_process(tardis_days, single):
    calls: list[Progress] = []
    res = backfill(tardis_days, progress=calls.append)
    per_day = [23, 14]  # 2026-01-23 01:00..23:00 and 2026-01-24 00:00..13:00
    assert res.metrics["timestamp"].dt.day.value_counts().sort_index().tolist() == per_day
    want = [Progress(0, 2, 0, 0)]
    before = 0
    for i, n in enumerate(per_day):
        want += [Progress(i, 2, before + min(k, n), before + n) for k in range(CHUNK, n + CHUNK, CHUNK)]
        before += n
        want.append(Progress(i + 1, 2, before, before))
    assert calls == want
    assert calls[-1] == Progress(2, 2, len(single), len(single))


def test_progress_on_dask_counts_each_files_snapshots_as_its_task_ends(tardis_days, single, client):
    calls: list[Progress] = []
    backfill(tardis_days, client=client, progress=calls.append)
    assert calls[0] == Progress(0, 2, 0, 0) and calls[-1] == Progress(2, 2, len(single), len(single))
    assert len(calls) == 3 and calls[1].snapshots_done in (23, 14)


def test_a_worker_error_is_the_same_one_line_as_in_one_process_with_no_dashboard_warning(shared_data, tmp_path):
    """A file that cannot be dated, on a local Dask cluster (a real subprocess, whose workers write to its
    stderr) while another program holds Dask's dashboard port 8787: the task's error is printed once, as the
    single-process run prints it: no worker traceback, no "Port 8787 is already in use" warning, no worker
    log lines."""
    path = _dateless(tmp_path, shared_data, lambda raw: raw.drop(columns=["theta", "vega"]))
    common = ["backfill", str(path), "--out", str(tmp_path / "o"), "--no-store"]
    alone = runner.invoke(app, [*common, "--workers", "0"])
    assert alone.exit_code == 2 and alone.output.startswith("error: chain.csv: no 'date' column")
    env = {**os.environ, "PYTHONPATH": str(Path(capitulation.__file__).parents[1])}
    cmd = [sys.executable, "-m", "capitulation", *common, "--workers", "1"]
    with socket.socket() as held:
        try:
            held.bind(("0.0.0.0", 8787))
            held.listen()
        except OSError:  # another program holds it already: the case itself
            pass
        run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (2, "", alone.output)


def test_a_local_cluster_beside_a_held_dashboard_port_warns_nothing(recwarn, capfd):
    with socket.socket() as held:
        try:
            held.bind(("0.0.0.0", 8787))
            held.listen()
        except OSError:
            pass
        with dask_client(workers=1) as first, dask_client(workers=1) as second:
            assert first.submit(sum, [1, 2]).result() == second.submit(sum, [3, 4]).result() - 4
    assert not [w for w in recwarn if "already in use" in str(w.message)]
    assert "already in use" not in capfd.readouterr().err


def test_a_missing_input_is_a_source_error():
    with pytest.raises(SourceError):
        backfill("/nonexistent/chains")
