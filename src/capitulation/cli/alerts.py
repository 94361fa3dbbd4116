"""`alerts`: the alerts `watch --notify` stored, with each destination's delivery state."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capitulation.cli.common import DbOpt, JsonOpt, app, console, examples, handled, print_json, records

DELIVERY = ["destination", "state", "reason", "tries", "state_at"]


@app.command("alerts", epilog=examples("alerts", "alerts --since 2026-02-01 --json"))
def list_alerts(
    since: Annotated[str | None, typer.Option(help="only alerts seen at or after this date/time (UTC)")] = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the stored alerts, oldest first, each with its delivery state per destination (queued, delivered,
    failed with the reason, or expired after 24 h undelivered). Destinations are shown masked. --json: each alert
    is the generic webhook message (`capitulation.alerts`, without its schema_version) plus its deliveries."""
    import pandas as pd

    from capitulation.alerts import generic_message
    from capitulation.notify import stored_alert
    from capitulation.store import HistoryStore
    from capitulation.timeutil import utc

    with handled():
        hs = HistoryStore(db)
        rows = hs.alerts(None if since is None else utc(since))
    if as_json:
        out = []
        for _, group in [] if rows.empty else rows.groupby("key", sort=False):
            alert = generic_message(stored_alert(group.iloc[0].to_dict()))
            deliveries = [d for d in records(group[DELIVERY]) if d["destination"] is not None]
            out.append({k: v for k, v in alert.items() if k != "schema_version"} | {"deliveries": deliveries})
        print_json({"alerts": out}, None)
        return
    if rows.empty:
        console.print(f"no alerts stored in {hs.root}")
        return
    t = Table("as_of (UTC)", "kind", "alert", "destination", "state", title=f"Alerts in {hs.root}")
    for r in rows.itertuples():
        state = r.state if pd.isna(r.reason) or not r.reason else f"{r.state}: {r.reason}"
        t.add_row(f"{r.as_of:%Y-%m-%d %H:%M}", r.kind, escape(r.text), escape(str(r.destination)), escape(str(state)))
    console.print(t)
