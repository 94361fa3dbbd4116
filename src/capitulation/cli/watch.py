"""`watch`: a live snapshot and its verdicts into the history store every interval, one line per cycle.

The only state is the store, whose writes are idempotent: after a kill, running `watch` again continues.
`sources` and `sleep` are module-level so tests can replay recorded sources without waiting; the clock is
`capitulation.sources.http.utc_now`.

A cycle never waits out a provider: each source gets `SOURCE_BUDGET_S` seconds with one try per request
(`live.live_snapshot`'s budget), so with the network down the first cycle line, naming each source's reason,
comes within about half a minute. A failed source is asked again after `every`, then 2x, 4x ... `every` (at
most `MAX_RETRY_DELAY`, or `every` when longer); until then its line says why and when (`live.SourceRetry`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from capitulation.choices import DEFAULT_COUNT_AT, DURATION_HELP
from capitulation.cli.common import DbOpt, JsonOpt, app, envelope, examples, fail, handled, source_progress
from capitulation.errors import SourceError

if TYPE_CHECKING:
    from capitulation.sources.live import Fetcher


def default_sources() -> Mapping[str, Fetcher]:
    """The live sources of a cycle: `live.default_fetchers()` (the sources load when `watch` runs)."""
    from capitulation.sources import live

    return live.default_fetchers()


sources: Callable[[], Mapping[str, Fetcher]] = default_sources
sleep: Callable[[float], None] = time.sleep

SOURCE_BUDGET_S = 20.0
"""Seconds each source may take in one cycle (plus `live.GRACE_S` for one that overruns its timeouts)."""
MAX_RETRY_DELAY = timedelta(hours=1)


@app.command(
    epilog=examples(
        "watch --every 5m",
        "watch --every 1h --cycles 24 --json",
        "watch --every 5m --notify https://hooks.slack.com/services/... --notify-count 4",
    )
)
def watch(
    every: Annotated[str, typer.Option("--every", help=f"interval between cycles: {DURATION_HELP}")] = "5m",
    cycles: Annotated[int | None, typer.Option("--cycles", help="stop after N cycles (default: until Ctrl-C)")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            "--notify",
            help="post alerts to this webhook (repeatable). Format by prefix slack+https:// discord+https:// "
            "generic+https://, else by host (hooks.slack.com: Slack; discord.com/api/webhooks: Discord), else "
            "generic JSON. Undelivered alerts are retried each cycle and expire after 24 h",
        ),
    ] = None,
    notify_cmd: Annotated[
        list[str] | None,
        typer.Option("--notify-cmd", help="run this command (no shell) with each alert's JSON on stdin (repeatable)"),
    ] = None,
    notify_count: Annotated[
        int, typer.Option("--notify-count", help="alert when the number of holding signals crosses N (up or down)")
    ] = DEFAULT_COUNT_AT,
) -> None:
    """Fetch the live sources every --every, store each snapshot and its eight verdicts, print one line per
    cycle. A failing source is marked stale and the rest stored, and asked again after a growing delay; a cycle
    where all fail stores nothing. With --notify / --notify-cmd: an alert when a verdict changes status, the
    holding count crosses --notify-count, or spot crosses a level of the ladder (`capitulation alerts` lists
    them)."""
    import pandas as pd

    from capitulation.notify import Notifier
    from capitulation.signals import ALL_SIGNALS, evaluate_all
    from capitulation.sources import http, live
    from capitulation.store import HistoryStore
    from capitulation.timeutil import parse_duration

    with handled():
        period = parse_duration(every, "--every")
    if cycles is not None and cycles < 1:
        fail(f"--cycles must be 1 or more, got {cycles}")
    with handled():
        store = HistoryStore(db)
        notifier = Notifier.configure(notify or [], notify_cmd or [], notify_count, len(ALL_SIGNALS))
    retry = live.SourceRetry(first_delay=period, max_delay=pd.Timedelta(max(period, MAX_RETRY_DELAY)))
    done = 0
    try:
        while cycles is None or done < cycles:
            start = http.utc_now()
            try:
                snap = live.live_snapshot(
                    sources(), budget_s=SOURCE_BUDGET_S, retry=retry, started=start, on_source=source_progress()
                )
            except SourceError as exc:
                _emit({"as_of": start, "error": str(exc), "tables_stored": 0}, as_json)
            else:
                with handled():
                    written = store.write(snap)
                    verdicts = evaluate_all(snap)
                    alerted = notifier.cycle(store, snap, verdicts) if notifier else None
                    store.write_verdicts(verdicts)
                line = {
                    "as_of": snap.as_of,
                    "tables": sorted(snap.tables),
                    "tables_stored": written,
                    "sources": [
                        {"name": s.name, "state": s.state, "rows": s.rows, "message": s.message} for s in snap.sources
                    ],
                }
                if alerted is not None:
                    line["alerts"] = alerted.as_dict()
                _emit(line, as_json)
            done += 1
            if cycles is None or done < cycles:
                sleep(max((start + period - http.utc_now()).total_seconds(), 0.0))
    except KeyboardInterrupt:
        if not as_json:
            typer.echo(f"stopped after {done} cycle(s)")


def _emit(line: dict[str, Any], as_json: bool) -> None:
    """One cycle: a JSON object on one line (`common.envelope`: with schema_version), or a plain line."""
    if as_json:
        typer.echo(json.dumps(envelope(line, line["as_of"]), default=str, allow_nan=False))
        return
    as_of = f"{line['as_of']:%Y-%m-%d %H:%M:%S} UTC"
    if "error" in line:
        typer.echo(f"{as_of}  nothing stored: {line['error']}")
        return
    srcs = ", ".join(
        f"{s['name']} ok ({s['rows']} rows)" if s["state"] == "ok" else f"{s['name']} STALE ({s['message']})"
        for s in line["sources"]
    )
    stored = f"stored {line['tables_stored']} of {len(line['tables'])} table(s)"
    alerted = f"  {line['alerts']['summary']}" if "alerts" in line else ""
    typer.echo(f"{as_of}  {stored}  {srcs}{alerted}")
