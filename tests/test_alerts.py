"""`watch --notify` and `capitulation alerts`: alerts detected between stored cycles, posted to a local HTTP
server (127.0.0.1, a free port) in the generic, Slack and Discord formats, retried, stored and listed.

The replayed cycles serve recorded tables (../shared/data) as if fetched: `btc_network` and `onchain` every
cycle, then `daily_prices` cut at 2026-02-04 (BTC close $73,019.70) and at 2026-02-05 ($62,702.10). When prices
arrive, cross_asset and hedging go from "not enough data" to "does not hold" and bottom_range from "does not hold"
to "holds" (3 status alerts); on the drop from $73,019.70 to $62,702.10 hedging goes to "holds" (the holding
count goes 1 -> 2) and spot crosses the STH realized price ($67,626) and the STH capitulation line ($65,917) of
the ladder (2 level alerts). The clock is synthetic and moves one day per cycle.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from capitulation import alerts, notify
from capitulation.alerts import Cycle, detect
from capitulation.analytics.levels import Level
from capitulation.cli import app
from capitulation.cli import watch as watch_cmd
from capitulation.errors import DataError
from capitulation.sources import http
from capitulation.store import HistoryStore
from test_watch import Clock

runner = CliRunner()
START = pd.Timestamp("2026-02-05T12:00:00Z")  # synthetic test clock; the day after the 2026-02-04 close
DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2026-02-05T12:00:00Z")


# -- a local webhook receiver -------------------------------------------------------------------------------------


class Hook:
    """An HTTP server on 127.0.0.1 recording each POST (path, JSON body) and answering it from `script[path]`
    (a list of (status, delay seconds, headers), one per request, the last repeated; default 200 at once)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.script: dict[str, list[tuple[int, float, dict[str, str]]]] = {}
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with hook.lock:
                    plan = hook.script.get(self.path, [(200, 0.0, {})])
                    status, delay, headers = plan.pop(0) if len(plan) > 1 else plan[0]
                    hook.posts.append((self.path, body))
                time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the client gave up (timed out) before the answer
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, path: str) -> list[dict]:
        with self.lock:
            return [b for p, b in self.posts if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """`test_watch.Clock` (moved on by `watch`'s sleeps) from `START`; the waits between delivery tries are
    recorded in `delivery_waits`, not slept."""
    c = Clock()
    c.now, c.delivery_waits = START, []
    monkeypatch.setattr(http, "utc_now", lambda: c.now)
    monkeypatch.setattr(watch_cmd, "sleep", c.sleep)
    monkeypatch.setattr(notify, "sleep", c.delivery_waits.append)
    return c


def served(recorded_full, *names: str, prices_to: str | None = None) -> dict:
    """Fetchers answering with recorded tables; `daily_prices` cut at the end of day `prices_to`."""

    def table(name: str):
        df = recorded_full.tables[name]
        if name == "daily_prices":
            df = df[df["date"] <= pd.Timestamp(prices_to, tz="UTC")]
        return lambda: (df, recorded_full.provenance[name])

    picked = [*names, "daily_prices"] if prices_to else list(names)
    return {name: table(name) for name in picked}


@pytest.fixture
def flip(recorded_full) -> list[dict]:
    """Three cycles: no prices; prices to 2026-02-04; prices to 2026-02-05 (see the module notes)."""
    base = ("btc_network", "onchain")
    return [
        served(recorded_full, *base),
        served(recorded_full, *base, prices_to="2026-02-04"),
        served(recorded_full, *base, prices_to="2026-02-05"),
    ]


def run_watch(monkeypatch, cycles: list[dict], *args: str):
    plan = iter(cycles)
    monkeypatch.setattr(watch_cmd, "sources", lambda: next(plan))
    return runner.invoke(app, ["watch", "--cycles", str(len(cycles)), "--every", "1d", *args])


# -- watch --notify ---------------------------------------------------------------------------------------------


def test_a_flip_posts_one_alert_per_change_in_the_generic_slack_and_discord_formats(
    monkeypatch, clock, hook, flip, tmp_path
):
    db = str(tmp_path / "db")
    res = run_watch(
        monkeypatch,
        flip,
        "--db", db, "--notify-count", "2",
        "--notify", f"{hook.url}/generic",
        "--notify", f"slack+{hook.url}/services/T000/B000/SECRET",
        "--notify", f"discord+{hook.url}/api/webhooks/1/SECRET",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    generic = hook.bodies("/generic")
    assert [(b["kind"], b["signal"], b["old_status"], b["new_status"]) for b in generic[:4]] == [
        ("status", "cross_asset", "not enough data", "does not hold"),  # cycle 2: prices arrive
        ("status", "hedging", "not enough data", "does not hold"),
        ("status", "bottom_range", "does not hold", "holds"),
        ("status", "hedging", "does not hold", "holds"),  # cycle 3: the drop to $62,702
    ]
    count = generic[4]
    assert (count["kind"], count["holding"], count["previous_holding"], count["direction"]) == ("count", 2, 1, "up")
    levels = generic[5:]
    assert [(b["kind"], b["direction"], round(b["level_usd"])) for b in levels] == [
        ("level", "down", 67626),  # STH realized price
        ("level", "down", 65917),  # STH capitulation line
    ]
    assert [b["previous_spot_usd"] for b in levels] == pytest.approx([73019.703125] * 2)
    assert [b["spot_usd"] for b in levels] == pytest.approx([62702.09765625] * 2)
    assert len(generic) == 7 and len({b["id"] for b in generic}) == 7  # exactly one per change
    for b in generic:
        assert b["schema_version"] == 1 and "T" in b["as_of"] and pd.Timestamp(b["as_of"]).tzinfo is not None
    assert [b["as_of"] for b in generic] == [(START + DAY).isoformat()] * 3 + [(START + 2 * DAY).isoformat()] * 4
    slack = hook.bodies("/services/T000/B000/SECRET")
    assert [list(b) for b in slack] == [["text"]] * 7
    assert slack[0]["text"] == "capitulation 2026-02-06 12:00 UTC: cross_asset: not enough data -> does not hold"
    assert "crossed down through $67,626" in slack[5]["text"]
    discord = hook.bodies("/api/webhooks/1/SECRET")
    assert [b["content"] for b in discord] == [b["text"] for b in slack]
    assert {json.dumps(b["allowed_mentions"]) for b in discord} == {'{"parse": []}'}
    lines = res.stdout.splitlines()
    assert "alerts: 0 new" in lines[0]
    assert "alerts: 3 new, 9 delivered" in lines[1] and "alerts: 4 new, 12 delivered" in lines[2]
    assert "SECRET" not in res.output


def test_rerunning_watch_after_a_kill_sends_nothing_twice(monkeypatch, clock, hook, flip, tmp_path):
    db = str(tmp_path / "db")
    assert run_watch(monkeypatch, flip[:2], "--db", db, "--notify", f"{hook.url}/a").exit_code == 0
    assert len(hook.bodies("/a")) == 3  # 3 status changes; 1 holding: below the default 5
    clock.now = START + DAY  # started again at the second cycle's (synthetic) time: the same changes, same keys
    res = run_watch(monkeypatch, flip[1:2], "--db", db, "--notify", f"{hook.url}/a")
    assert res.exit_code == 0, res.output
    assert len(hook.bodies("/a")) == 3 and "alerts: 0 new" in res.stdout
    assert len(HistoryStore(db).alerts()) == 3


def test_a_kill_after_alerting_and_before_storing_the_verdicts_sends_nothing_twice(
    monkeypatch, clock, hook, flip, tmp_path
):
    """Killed (Ctrl-C) between the alerts and the verdicts of cycle 2; started again a day later on the same
    prices: compared with cycle 1 again, the same changes under the same keys, so nothing is posted twice."""
    db = str(tmp_path / "db")
    write = HistoryStore.write_verdicts
    calls = iter([False, True])

    def killed_on_the_second(self, verdicts):
        if next(calls):
            raise KeyboardInterrupt
        write(self, verdicts)

    monkeypatch.setattr(HistoryStore, "write_verdicts", killed_on_the_second)
    res = run_watch(monkeypatch, flip[:2], "--db", db, "--notify", f"{hook.url}/a")
    assert res.exit_code == 0 and "stopped after 1 cycle(s)" in res.stdout
    assert len(hook.bodies("/a")) == 3
    monkeypatch.setattr(HistoryStore, "write_verdicts", write)
    res = run_watch(monkeypatch, [flip[1]], "--db", db, "--notify", f"{hook.url}/a")
    assert res.exit_code == 0, res.output
    assert "alerts: 0 new" in res.stdout and len(hook.bodies("/a")) == 3


def test_the_store_keeps_one_alert_per_key_and_finds_the_last_run_before_a_time(tmp_path, default_snapshot):
    from capitulation.signals import evaluate_all

    hs = HistoryStore(tmp_path)
    verdicts = evaluate_all(default_snapshot)
    for shift in (0, 1, 3):  # runs on three days
        hs.write_verdicts([dataclasses.replace(v, as_of=v.as_of + shift * DAY) for v in verdicts])
    assert hs.last_verdicts(default_snapshot.as_of).empty
    last = hs.last_verdicts(default_snapshot.as_of + 3 * DAY)
    assert set(last["as_of"]) == {default_snapshot.as_of + DAY} and len(last) == 8
    assert dict(zip(last["signal"], last["status"], strict=True)) == {v.signal: v.status.value for v in verdicts}
    a = detect(_cycle(T0, a="holds"), _cycle(T0 + DAY, a="does not hold"))[0]
    row = pd.DataFrame([{**dataclasses.asdict(a), "seq": 0}])
    assert hs.write_alerts(row) == [a.key] and hs.write_alerts(row) == []
    assert list(hs.alerts()["key"]) == [a.key]


def test_a_500_is_retried_with_backoff_then_delivered(monkeypatch, clock, hook, flip, tmp_path):
    hook.script["/h"] = [(500, 0.0, {}), (503, 0.0, {}), (200, 0.0, {})]
    res = run_watch(monkeypatch, flip[:2], "--db", str(tmp_path), "--notify", f"{hook.url}/h")
    assert res.exit_code == 0, res.output
    assert clock.delivery_waits == [0.5, 1.0]  # 3 tries for the first alert, none for the other two
    bodies = hook.bodies("/h")
    assert len(bodies) == 5 and [b["signal"] for b in bodies] == ["cross_asset"] * 3 + ["hedging", "bottom_range"]
    stored = HistoryStore(tmp_path).alerts()
    assert list(stored["state"]) == ["delivered"] * 3
    assert sorted(stored["tries"]) == [1, 1, 3]


def test_a_timeout_leaves_the_alert_queued_and_the_next_cycle_delivers_it(monkeypatch, clock, hook, flip, tmp_path):
    monkeypatch.setattr(notify, "TIMEOUT_S", 0.2)
    hook.script["/slow"] = [(200, 2.0, {})] * 3 + [(200, 0.0, {})]
    res = run_watch(monkeypatch, [*flip[:2], flip[1]], "--db", str(tmp_path), "--notify", f"{hook.url}/slow")
    assert res.exit_code == 0, res.output
    second, third = res.stdout.splitlines()[1:]
    assert "stored" in second and "alerts: 3 new, 3 queued" in second and "timed out after 0.2 s (3 tries)" in second
    assert "alerts: 0 new, 3 delivered" in third
    stored = HistoryStore(tmp_path).alerts()
    assert list(stored["state"]) == ["delivered"] * 3


def test_a_redirect_is_not_followed_and_the_alert_stays_queued(monkeypatch, clock, hook, flip, tmp_path):
    hook.script["/moved"] = [(302, 0.0, {"Location": f"{hook.url}/elsewhere"})]
    res = run_watch(monkeypatch, flip[:2], "--db", str(tmp_path), "--notify", f"{hook.url}/moved", "--json")
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout.splitlines()[1])["alerts"]
    assert (line["new"], line["queued"], line["delivered"]) == (3, 3, 0)
    assert "redirected (HTTP 302 to 127.0.0.1; not followed" in line["problems"][0]
    assert len(hook.bodies("/moved")) == 3 and hook.bodies("/elsewhere") == []  # 3 tries, then the others wait
    stored = HistoryStore(tmp_path).alerts()
    assert list(stored["state"]) == ["queued"] * 3


def test_a_rejected_payload_is_failed_not_retried(monkeypatch, clock, hook, flip, tmp_path):
    hook.script["/services/x/y/z"] = [(400, 0.0, {})]
    res = run_watch(monkeypatch, flip[:2], "--db", str(tmp_path), "--notify", f"slack+{hook.url}/services/x/y/z")
    assert res.exit_code == 0, res.output
    assert len(hook.bodies("/services/x/y/z")) == 3  # one try each
    assert list(HistoryStore(tmp_path).alerts()["state"]) == ["failed"] * 3


def test_an_undelivered_alert_expires_after_24_hours(monkeypatch, clock, hook, flip, tmp_path):
    hook.script["/down"] = [(500, 0.0, {})]
    res = run_watch(
        monkeypatch, [*flip[:2], flip[1]], "--db", str(tmp_path), "--notify", f"{hook.url}/down", "--every", "25h"
    )
    assert res.exit_code == 0, res.output
    assert "3 expired" in res.stdout.splitlines()[2]
    stored = HistoryStore(tmp_path).alerts()
    assert list(stored["state"]) == ["expired"] * 3 and set(stored["tries"]) == {3, 0}


def test_an_unreachable_endpoint_never_shows_the_secret(monkeypatch, clock, flip, tmp_path):
    dead = "https://127.0.0.1:9/services/T000/B000/SECRET?token=SECRET2"  # port 9: nothing listens
    res = run_watch(monkeypatch, flip[:2], "--db", str(tmp_path / "db"), "--notify", f"slack+{dead}")
    assert res.exit_code == 0, res.output
    assert "unreachable" in res.stdout and "slack:https://127.0.0.1:9/...#" in res.stdout
    listed = runner.invoke(app, ["alerts", "--db", str(tmp_path / "db"), "--json"])
    stored = (tmp_path / "db").rglob("*.parquet")
    for text in (res.output, listed.output, *(p.read_bytes().decode("latin-1") for p in stored)):
        assert "SECRET" not in text


def test_notify_cmd_receives_each_alert_as_json_on_stdin(monkeypatch, clock, flip, tmp_path):
    out = tmp_path / "got.jsonl"
    script = "import sys; open(sys.argv[1], 'a').write(sys.stdin.read() + chr(10))"
    cmd = f"{sys.executable} -c {json.dumps(script)} {out}"
    res = run_watch(monkeypatch, flip[:2], "--db", str(tmp_path / "db"), "--notify-cmd", cmd)
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(g["kind"], g["signal"], g["new_status"]) for g in got] == [
        ("status", "cross_asset", "does not hold"),
        ("status", "hedging", "does not hold"),
        ("status", "bottom_range", "holds"),
    ]
    assert got[0]["schema_version"] == 1 and got[0]["previous_as_of"] == START.isoformat()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "hooks.slack.com/services/T0/B0/SECRET",
        "https:///services/T0/B0/SECRET",
        "slack+ftp://hooks.slack.com/services/T0/B0/SECRET",
        "https://hooks.slack.com:99999/services/T0/B0/SECRET",
    ],
)
def test_a_malformed_notify_url_is_a_one_line_error_before_the_loop(url, monkeypatch, tmp_path):
    monkeypatch.setattr(watch_cmd, "sources", lambda: pytest.fail("no source may be fetched"))
    res = runner.invoke(app, ["watch", "--cycles", "1", "--db", str(tmp_path), "--notify", url])
    assert res.exit_code == 2
    assert res.output.startswith("error: --notify") and res.output.strip().count("\n") == 0
    assert "SECRET" not in res.output


@pytest.mark.parametrize("args", [["--notify-count", "0"], ["--notify-count", "9"], ["--notify-cmd", "  "]])
def test_bad_notify_options_are_one_line_errors(args, monkeypatch, tmp_path):
    monkeypatch.setattr(watch_cmd, "sources", lambda: pytest.fail("no source may be fetched"))
    res = runner.invoke(app, ["watch", "--cycles", "1", "--db", str(tmp_path), "--notify", "https://x.test/", *args])
    assert res.exit_code == 2 and res.output.strip().count("\n") == 0


# -- capitulation alerts ----------------------------------------------------------------------------------------


def test_alerts_lists_stored_alerts_with_their_delivery_state(monkeypatch, clock, hook, flip, tmp_path):
    db = str(tmp_path / "db")
    hook.script["/down"] = [(500, 0.0, {})]
    args = ["--db", db, "--notify-count", "2", "--notify", f"{hook.url}/up", "--notify", f"{hook.url}/down"]
    assert run_watch(monkeypatch, flip, *args).exit_code == 0
    res = runner.invoke(app, ["alerts", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["schema_version"] == 1 and "T" in out["as_of"]
    assert [a["kind"] for a in out["alerts"]] == ["status"] * 4 + ["count"] + ["level"] * 2
    first, count = out["alerts"][0], out["alerts"][4]
    assert first["signal"] == "cross_asset" and first["as_of"] == (START + DAY).isoformat()
    assert [count[k] for k in ("holding", "previous_holding", "threshold", "direction")] == [2, 1, 2, "up"]
    assert isinstance(count["holding"], int) and first["holding"] is None
    assert first["id"] == hook.bodies("/up")[0]["id"]
    states = {d["destination"]: d["state"] for d in first["deliveries"]}
    up, down = (f"generic:{alerts.mask(f'{hook.url}/{p}')}" for p in ("up", "down"))
    assert states == {up: "delivered", down: "queued"}
    since = runner.invoke(app, ["alerts", "--db", db, "--json", "--since", "2026-02-07"])
    assert [a["kind"] for a in json.loads(since.stdout)["alerts"]] == ["status", "count", "level", "level"]
    table = runner.invoke(app, ["alerts", "--db", db, "--since", "2026-02-07"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and table.stdout.count("crossed down through") == 4  # 2 alerts x 2 destinations
    everything = runner.invoke(app, ["alerts", "--db", db], env={"COLUMNS": "250"})
    assert "queued: HTTP 500 (3 tries)" in everything.stdout  # the first alert at /down; the rest wait their turn


def test_alerts_on_an_empty_store_says_so(tmp_path):
    res = runner.invoke(app, ["alerts", "--db", str(tmp_path)])
    assert res.exit_code == 0 and "no alerts stored" in res.stdout
    out = json.loads(runner.invoke(app, ["alerts", "--db", str(tmp_path), "--json"]).stdout)
    assert out["alerts"] == []


def test_alerts_with_a_bad_since_is_a_one_line_error(tmp_path):
    res = runner.invoke(app, ["alerts", "--db", str(tmp_path), "--since", "not a date"])
    assert res.exit_code == 2 and res.output.startswith("error:")


# -- the pure parts ---------------------------------------------------------------------------------------------


def _cycle(t: pd.Timestamp, spot: float | None = None, levels: tuple[Level, ...] = (), **statuses: str) -> Cycle:
    return Cycle(t, statuses, spot, levels)


def test_no_previous_cycle_no_alert():
    assert detect(None, _cycle(T0, a="holds")) == []


def test_the_count_alerts_when_it_crosses_and_not_while_it_stays():
    h, n = "holds", "does not hold"
    prev, t1 = _cycle(T0, a=h, b=n, c=n), T0 + DAY
    up = detect(prev, _cycle(t1, a=h, b=h, c=n), count_at=2)
    assert [(a.kind, a.direction, a.holding) for a in up if a.kind == "count"] == [("count", "up", 2)]
    assert [
        a for a in detect(_cycle(T0, a=h, b=h, c=n), _cycle(t1, a=h, b=h, c=h), count_at=2) if a.kind == "count"
    ] == []
    down = detect(_cycle(T0, a=h, b=h, c=n), _cycle(t1, a=h, b=n, c=n), count_at=2)
    assert [(a.kind, a.direction, a.holding, a.previous_holding) for a in down if a.kind == "count"] == [
        ("count", "down", 1, 2)
    ]


def test_a_signal_absent_from_either_cycle_is_no_change():
    assert detect(_cycle(T0, a="holds"), _cycle(T0 + DAY, b="does not hold")) == []


def test_the_same_change_from_the_same_cycle_has_the_same_key_whenever_seen():
    prev = _cycle(T0, a="holds")
    first = detect(prev, _cycle(T0 + DAY, a="not enough data"))
    again = detect(prev, _cycle(T0 + 2 * DAY, a="not enough data"))
    other = detect(prev, _cycle(T0 + DAY, a="does not hold"))
    assert first[0].key == again[0].key != other[0].key


@given(
    prev=st.floats(1e3, 2e5),
    now=st.floats(1e3, 2e5),
    prices=st.lists(st.floats(1e3, 2e5), max_size=8, unique=True),
)
def test_level_alerts_are_exactly_the_levels_spot_moved_through(prev, now, prices):
    levels = tuple(Level(p, f"L{i}", "bottom_range", ("onchain",)) for i, p in enumerate(prices))
    got = detect(_cycle(T0, prev), _cycle(T0 + DAY, now, levels))
    crossed = {p for p in prices if prev < p <= now or now <= p < prev}
    assert {a.level_usd for a in got} == crossed
    assert all(a.direction == ("up" if now > prev else "down") for a in got)


@pytest.mark.parametrize(
    ("url", "fmt"),
    [
        ("https://hooks.slack.com/services/T0/B0/X", "slack"),
        ("https://discord.com/api/webhooks/1/tok", "discord"),
        ("https://discordapp.com/api/webhooks/1/tok", "discord"),
        ("https://example.com/api/webhooks/1/tok", "generic"),
        ("slack+https://relay.example.com/s", "slack"),
        ("discord+http://127.0.0.1:8080/d", "discord"),
        ("generic+https://hooks.slack.com/services/T0/B0/X", "generic"),
    ],
)
def test_the_format_comes_from_the_prefix_else_the_host(url, fmt):
    dest = alerts.parse_destination(url)
    assert dest.fmt == fmt and dest.target == url.split("+", 1)[-1] and dest.name.startswith(f"{fmt}:")


def test_payloads_follow_each_services_documented_shape():
    a = detect(_cycle(T0, a="holds"), _cycle(T0 + DAY, a="does not hold"))[0]
    assert alerts.payload(a, "slack") == {"text": "capitulation 2026-02-06 12:00 UTC: a: holds -> does not hold"}
    discord = alerts.payload(a, "discord")
    assert discord == {"content": "capitulation 2026-02-06 12:00 UTC: a: holds -> does not hold",
                       "allowed_mentions": {"parse": []}}  # fmt: skip
    generic = alerts.payload(a, "generic")
    assert generic["id"] == a.key and generic["as_of"] == "2026-02-06T12:00:00+00:00"
    assert set(generic) == {"schema_version", "id", *(f for f in alerts.Alert.__dataclass_fields__ if f != "key")}


@given(secret=st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=12, max_size=40))
def test_a_masked_url_never_holds_the_token(secret):
    for url in (f"https://hooks.slack.com/services/T0/B0/{secret}", f"https://discord.com/api/webhooks/1/{secret}",
                f"https://example.com/{secret}/x", f"https://user:{secret}@example.com/h?k={secret}"):  # fmt: skip
        assert secret not in alerts.mask(url)


def test_an_empty_notify_cmd_is_a_data_error():
    with pytest.raises(DataError, match="empty command"):
        alerts.parse_command("   ")
