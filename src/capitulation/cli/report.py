"""Commands over a snapshot: `report`, `snapshot` (save one) and `history` (the store)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape
from rich.table import Table

from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    DbOpt,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    ThresholdsOpt,
    app,
    console,
    examples,
    fail,
    handled,
    load_snapshot,
    print_json,
    report_document,
    source_progress,
)
from capitulation.signals import ALL_SIGNALS

if TYPE_CHECKING:
    from capitulation.snapshot import Snapshot

SignalName = Literal[ALL_SIGNALS]  # type: ignore[valid-type]  # the eight names, listed in --help


@app.command(
    epilog=examples(
        "report", "report --as-of 2025-04-07 --html report.html", "report --snapshot snap/ --json | python -m json.tool"
    )
)
def report(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML report")] = None,
    db: DbOpt = None,
    store: Annotated[bool, typer.Option(help="store the snapshot and verdicts in the history store")] = True,
    thresholds: ThresholdsOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """The eight verdicts, then the levels ladder around spot and each table's own date.

    A run on unchanged recorded data, code, --as-of and --thresholds reads the report an earlier run computed
    from the cache (`cli.documents`; --no-cache computes it again)."""
    from capitulation.report import terminal
    from capitulation.store_files import default_root

    store_root = (db or default_root()) if store else None
    with handled():
        doc, written = report_document(data, snapshot, as_of, thresholds, no_cache, store=store_root, html=html)
    if as_json:
        print_json(doc, doc["as_of"])
        return
    terminal.render(doc, console)
    if html is not None:
        console.print(f"HTML report written to {html}")
    if store_root is not None:
        when = f"{datetime.fromisoformat(doc['as_of']):%Y-%m-%d %H:%M}"
        console.print(f"history store {store_root}: {written} new table(s) for {when} UTC")


@app.command(
    "snapshot",
    epilog=examples(
        "snapshot snap/ --as-of 2026-02-05", "snapshot live/ --live --record tape/", "snapshot again/ --replay tape/"
    ),
)
def save_snapshot(
    out: Annotated[Path, typer.Argument(help="new folder to write the snapshot to")],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
    live_: Annotated[bool, typer.Option("--live", help="fetch the live public sources instead of --data")] = False,
    record: Annotated[
        Path | None, typer.Option("--record", help="with --live: also save every raw response to this new folder")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="fetch the live sources from a folder written by --record")
    ] = None,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Save a snapshot (for `report --snapshot`): from recorded data, or from the live public sources.

    --live fetches every source concurrently (no API key); a source that fails is marked stale and the rest
    saved. --record DIR saves the raw HTTP responses (a vcrpy cassette) and Yahoo's DataFrames (Parquet) to DIR;
    --replay DIR builds the same snapshot again from them, offline."""
    from capitulation.sources import live, tape

    if record is not None and replay is not None:
        fail("--record and --replay exclude each other: record a live run, or replay a recorded one")
    if record is not None and not live_:
        fail("--record needs --live: only live sources are recorded")
    if replay is not None and not replay.is_dir():
        fail(f"no tape at {replay}: pass a folder written by --record")
    fetched = live_ or replay is not None
    if fetched and (data is not None or as_of is not None):
        fail("--data and --as-of are for recorded data; --live and --replay fetch the sources as of now")
    with handled():
        if not fetched:
            snap = load_snapshot(data, None, as_of, no_cache)
        else:
            fetchers = live.default_fetchers()
            deck = tape.recording(record) if record else tape.replaying(replay) if replay else nullcontext()
            with deck, console.status(f"fetching {len(fetchers)} live source(s): {', '.join(fetchers)}"):
                snap = live.live_snapshot(fetchers, on_source=source_progress())
        path = snap.save(out)
    if as_json:
        doc = {"path": str(path), "sources": [asdict(s) for s in snap.sources]}
        print_json(doc | ({"tape": str(record)} if record else {}), snap.as_of)
        return
    if snap.sources:
        _print_sources(snap)
    typer.echo(f"snapshot written to {path}" + (f"; raw responses recorded in {record}" if record else ""))


def _print_sources(snap: Snapshot) -> None:
    table = Table("source", "state", "rows", "note", title=f"live sources at {snap.as_of:%Y-%m-%d %H:%M:%S} UTC")
    for s in snap.sources:
        state = "[green]ok[/]" if s.state == "ok" else "[red]STALE[/]"
        table.add_row(escape(s.name), state, f"{s.rows:,}", escape(s.message or snap.provenance[s.name].source))
    console.print(table)


@app.command(
    epilog=examples(
        "history --since 2026-01-01", "history --signal options_stress", "history --json | python -m json.tool"
    )
)
def history(
    db: DbOpt = None,
    as_json: JsonOpt = False,
    signal: Annotated[SignalName | None, typer.Option(help="one signal's verdicts over time")] = None,
    since: Annotated[str | None, typer.Option(help="only snapshots at or after this date (UTC)")] = None,
) -> None:
    """List the snapshots in the history store, or one signal's verdicts over time (--signal)."""
    import pandas as pd

    from capitulation.snapshot import utc
    from capitulation.store import HistoryStore

    with handled():
        hs = HistoryStore(db)
        cut = None if since is None else utc(since)
        h = hs.history(cut) if signal is None else hs.verdict_history(signal, cut)
        damage = hs.damage()
    if signal is not None:
        rows = (
            []
            if h.empty
            else [
                {
                    "as_of": r.as_of.isoformat(),
                    "status": r.status,
                    "key_metric": r.key_metric,
                    "key_value": None if pd.isna(r.key_value) else float(r.key_value),
                    "key_unit": r.key_unit,
                    "headline": r.headline,
                }
                for r in h.itertuples()
            ]
        )
        if as_json:
            print_json({"db": str(hs.root), "signal": signal, "verdicts": rows}, None)
            return
        t = Table(title=f"{signal} in {hs.root}")
        for c in ("as_of", "status", "key metric", "headline"):
            t.add_column(c)
        for r in rows:
            key = "" if r["key_value"] is None else f"{r['key_metric']} = {r['key_value']:,.4g} {r['key_unit'] or ''}"
            t.add_row(f"{pd.Timestamp(r['as_of']):%Y-%m-%d %H:%M:%S}", r["status"], escape(key), escape(r["headline"]))
        console.print(t if rows else f"no verdicts of {signal} stored in {hs.root}")
        return
    named = "; ".join(h["damaged"])
    others = [  # quarantined files no listed snapshot names: damaged commit records, killed writers' tables
        f"quarantined {r.file}: {r.reason} (moved to {r.moved_to})" for r in damage.itertuples() if r.file not in named
    ]
    if as_json:
        snapshots = [
            {
                "as_of": r.as_of.isoformat(),
                "tables": r.table_names.split(", ") if r.table_names else [],
                "rows": int(r.rows),
                "stale_sources": r.stale.split(", ") if r.stale else [],
                "damaged": r.damaged or None,
            }
            for r in h.itertuples()
        ]
        print_json({"db": str(hs.root), "snapshots": snapshots}, None)
        for line in others:
            typer.echo(f"warning: {line}", err=True)
        return
    if h.empty:
        console.print(f"no snapshots stored in {hs.root}")
    else:
        t = Table(title=f"History store {hs.root}")
        damaged = bool(named)  # the column only when a snapshot is damaged
        for c in ("as_of", "tables", "rows", "table names", "stale sources", "damaged")[: 6 if damaged else 5]:
            t.add_column(c)
        for r in h.itertuples():
            cells = (f"{r.as_of}", str(r.tables), f"{int(r.rows):,}", r.table_names, r.stale, escape(r.damaged))
            t.add_row(*cells[: 6 if damaged else 5])
        console.print(t)
    for line in others:
        console.print(escape(line), style="red")
