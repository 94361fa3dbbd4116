"""Commands over a snapshot: `report`, `snapshot` (save one) and `history` (the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    DbOpt,
    JsonOpt,
    SnapshotOpt,
    app,
    clean,
    console,
    fail,
    handled,
    load_snapshot,
    print_json,
)


@app.command()
def report(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML report")] = None,
    db: DbOpt = None,
    store: Annotated[bool, typer.Option(help="store the snapshot and verdicts in the history store")] = True,
) -> None:
    """The eight verdicts, then the levels ladder around spot and each table's own date."""
    from capitulation.report import model, terminal
    from capitulation.store import HistoryStore

    with handled():
        snap = load_snapshot(data, snapshot, as_of)
        rep = model.build(snap)
        if html is not None:
            from capitulation.report.html import write_html

            write_html(rep, snap, html)
        stored = None
        if store:
            hs = HistoryStore(db)
            written = hs.write(snap)
            hs.write_verdicts(rep.verdicts)
            stored = f"history store {hs.root}: {written} new table(s) for {snap.as_of:%Y-%m-%d %H:%M} UTC"
    if as_json:
        print_json(clean(model.as_json(rep)))
    else:
        terminal.render(rep, console)
        if html is not None:
            console.print(f"HTML report written to {html}")
        if stored:
            console.print(stored)


@app.command("snapshot")
def save_snapshot(
    out: Annotated[Path, typer.Argument(help="new folder to write the snapshot to")],
    data: DataOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Build a snapshot from recorded data and save it (for `report --snapshot`)."""
    with handled():
        path = load_snapshot(data, None, as_of).save(out)
    typer.echo(f"snapshot written to {path}")


@app.command()
def history(
    db: DbOpt = None,
    as_json: JsonOpt = False,
    signal: Annotated[str | None, typer.Option(help="one signal's verdicts over time, e.g. leverage_flush")] = None,
    since: Annotated[str | None, typer.Option(help="only snapshots at or after this date (UTC)")] = None,
) -> None:
    """List the snapshots in the history store, or one signal's verdicts over time (--signal)."""
    from rich.table import Table

    from capitulation.signals import ALL_SIGNALS
    from capitulation.snapshot import utc
    from capitulation.store import HistoryStore

    with handled():
        if signal is not None and signal not in ALL_SIGNALS:
            fail(f"unknown signal {signal!r}; one of: {', '.join(ALL_SIGNALS)}")
        hs = HistoryStore(db)
        h = hs.history() if signal is None else hs.verdict_history(signal)
        if since is not None and not h.empty:
            h = h[pd.to_datetime(h["as_of"], utc=True) >= utc(since)]
    if signal is not None:
        rows = (
            []
            if h.empty
            else [{"as_of": str(r.as_of), "status": r.status, "headline": r.headline} for r in h.itertuples()]
        )
        if as_json:
            print_json(rows)
            return
        t = Table(title=f"{signal} in {hs.root}")
        for c in ("as_of", "status", "headline"):
            t.add_column(c)
        for r in rows:
            t.add_row(r["as_of"], r["status"], r["headline"])
        console.print(t if rows else f"no verdicts of {signal} stored in {hs.root}")
        return
    if as_json:
        print_json(
            [
                {"as_of": str(r.as_of), "tables": int(r.tables), "rows": int(r.rows), "table_names": r.table_names}
                for r in h.itertuples()
            ]
        )
        return
    if h.empty:
        console.print(f"no snapshots stored in {hs.root}")
        return
    t = Table(title=f"History store {hs.root}")
    for c in ("as_of", "tables", "rows", "table names"):
        t.add_column(c)
    for r in h.itertuples():
        t.add_row(f"{r.as_of}", str(r.tables), f"{int(r.rows):,}", r.table_names)
    console.print(t)
