"""Commands over a snapshot: `report`, `snapshot` (save one) and `history` (the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    DbOpt,
    JsonOpt,
    app,
    clean,
    console,
    handled,
    load_snapshot,
    print_json,
)


@app.command()
def report(
    data: DataOpt = None,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", help="a snapshot folder to report on")] = None,
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
def history(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the snapshots in the history store."""
    from rich.table import Table

    from capitulation.store import HistoryStore

    with handled():
        hs = HistoryStore(db)
        h = hs.history()
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
