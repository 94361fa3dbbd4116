"""`capitulation snapshot --live --record TAPE`, then `--replay TAPE` with the source gone: the same tables.

The source is the real mempool.space connector pointed at a loopback server (127.0.0.1) answering with the
SYNTHETIC bodies of tests/bodies.py (schema from the mempool.space API docs; numbers made up): a tape can
only be recorded from a real server, and no test touches the network.
"""

from __future__ import annotations

import functools
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from bodies import TIP_BODY, fees_body, hashrate_body
from capitulation.cli import app
from capitulation.errors import DataError
from capitulation.snapshot import Snapshot
from capitulation.sources import live, mempool, tape
from replay import LoopbackServer

runner = CliRunner()
NOW = pd.Timestamp("2025-06-03T12:00Z")  # the synthetic bodies' "today"


@pytest.fixture
def server(monkeypatch):
    bodies = {
        mempool.HASHRATE_PATH: json.dumps(hashrate_body()),
        mempool.FEES_PATH: json.dumps(fees_body()),
        mempool.TIP_PATH: TIP_BODY,
    }
    srv = LoopbackServer(bodies)
    fetch = functools.partial(mempool.fetch_network, base_url=srv.url, now=NOW)
    monkeypatch.setattr(live, "default_fetchers", lambda: {"btc_network": fetch})
    try:
        yield srv
    finally:
        srv.stop()


def test_record_then_replay_offline_gives_the_same_snapshot(server, tmp_path):
    res = runner.invoke(app, ["snapshot", str(tmp_path / "a"), "--live", "--record", str(tmp_path / "tape"), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["sources"] == [{"name": "btc_network", "state": "ok", "message": "", "rows": 4}]
    cassette = json.loads((tmp_path / "tape" / tape.HTTP_CASSETTE).read_text())
    uris = [i["request"]["uri"] for i in cassette["interactions"]]
    assert uris == [server.url + p for p in (mempool.HASHRATE_PATH, mempool.FEES_PATH, mempool.TIP_PATH)]
    assert all("cookie" not in {h.lower() for h in i["request"]["headers"]} for i in cassette["interactions"])

    server.stop()  # from here on only the tape can answer
    res = runner.invoke(app, ["snapshot", str(tmp_path / "b"), "--replay", str(tmp_path / "tape")])
    assert res.exit_code == 0, res.output
    assert "btc_network" in res.stdout and "snapshot written to" in res.stdout
    a, b = Snapshot.load(tmp_path / "a"), Snapshot.load(tmp_path / "b")
    pd.testing.assert_frame_equal(a.tables["btc_network"], b.tables["btc_network"])
    assert a.provenance == b.provenance and a.sources == b.sources


def test_a_replay_without_the_recorded_request_is_stale_not_a_network_call(server, tmp_path):
    (tmp_path / "tape").mkdir()  # an empty tape: every request unanswered
    server.stop()
    res = runner.invoke(app, ["snapshot", str(tmp_path / "a"), "--replay", str(tmp_path / "tape")])
    assert res.exit_code == 2 and "every source failed: btc_network" in res.output
    assert "btc_network: not on the tape: GET " in res.output and "is missing or empty" in res.output
    assert res.output.count("\n") == 1  # vcrpy's own message is a multi-line how-to
    assert not (tmp_path / "a").exists()  # nothing written


DAMAGES = {
    "truncated": lambda b: b[: len(b) // 2],
    "garbage": lambda b: bytes(range(256)) * 4,
    "interactions of another shape": lambda b: b'{"version": 1, "interactions": [{"request": 5, "response": 5}]}',
    "a response that is not one": lambda b: json.dumps(
        {**json.loads(b), "interactions": [{**i, "response": "200 OK"} for i in json.loads(b)["interactions"]]}
    ).encode(),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_tape_is_a_one_line_error_naming_its_cassette(damage, server, tmp_path):
    rec = runner.invoke(app, ["snapshot", str(tmp_path / "a"), "--live", "--record", str(tmp_path / "tape")])
    assert rec.exit_code == 0, rec.output
    cassette = tmp_path / "tape" / tape.HTTP_CASSETTE
    cassette.write_bytes(DAMAGES[damage](cassette.read_bytes()))
    server.stop()
    res = runner.invoke(app, ["snapshot", str(tmp_path / "b"), "--replay", str(tmp_path / "tape")])
    assert res.exit_code == 2, res.output
    assert res.output.startswith(f"error: {cassette}: ") and res.output.count("\n") == 1
    assert res.exception is None or isinstance(res.exception, SystemExit)  # no traceback
    assert not (tmp_path / "b").exists()


def test_a_damaged_recorded_frame_is_a_data_error_naming_its_file(tmp_path):
    frames = tape.FrameTape(tmp_path, "replay")
    frames.path("BTC-USD").write_bytes(b"PAR1" + bytes(60))
    with pytest.raises(DataError, match=f"^{frames.path('BTC-USD')}: not a readable recorded frame"):
        frames.frame("BTC-USD", lambda: pytest.fail("a replay never fetches"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--record", "T"], "--record needs --live"),
        (["--live", "--record", "T", "--replay", "T"], "exclude each other"),
        (["--live", "--data", "."], "--data and --as-of are for recorded data"),
        (["--replay", "nowhere"], "no tape at nowhere"),
    ],
)
def test_bad_options_are_one_line_errors(args, message, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(live, "default_fetchers", lambda: pytest.fail("no source may be fetched"))
    res = runner.invoke(app, ["snapshot", "out", *args])
    assert res.exit_code == 2 and message in res.output
    assert res.output.count("\n") == 1


def test_recording_over_an_existing_tape_is_refused(server, tmp_path):
    args = ["snapshot", str(tmp_path / "a"), "--live", "--record", str(tmp_path / "tape")]
    assert runner.invoke(app, args).exit_code == 0
    again = runner.invoke(app, ["snapshot", str(tmp_path / "b"), *args[2:]])
    assert again.exit_code == 2 and "already holds a tape" in again.output


def test_the_cookies_a_server_sets_are_not_kept_on_the_tape():
    response = {"status": {"code": 200}, "headers": {"Set-Cookie": ["__cf_bm=abc"], "Content-Type": ["json"]}}
    assert tape.drop_set_cookie(response)["headers"] == {"Content-Type": ["json"]}


def test_snapshot_live_with_v_says_each_source_as_it_finishes(server, tmp_path):
    res = runner.invoke(app, ["-v", "snapshot", str(tmp_path / "a"), "--live", "--json"])
    assert res.exit_code == 0, res.output
    told = [line for line in res.stderr.splitlines() if line.startswith("  ")]
    assert len(told) == 1 and re.fullmatch(r"  btc_network ok 4 rows \d+\.\d s", told[0]), res.stderr
    assert json.loads(res.stdout)["sources"][0]["rows"] == 4
    quiet = runner.invoke(app, ["snapshot", str(tmp_path / "b"), "--live", "--json"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
