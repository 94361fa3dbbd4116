"""`dashboard`: serve the web dashboard (the eight verdicts, levels, options, leverage, cost floors, markets
and history) on this machine; another interface only with --allow-remote."""

from __future__ import annotations

import ipaddress
import logging
import socket
from functools import partial
from typing import Annotated

import typer

from capitulation.choices import DURATION_HELP
from capitulation.cli.common import (
    AsOfOpt,
    DataOpt,
    DbOpt,
    NoCacheOpt,
    SnapshotOpt,
    app,
    data_dir,
    examples,
    fail,
    handled,
    load_snapshot,
)


def is_loopback(host: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_port(host: str, port: int) -> None:
    """Exit 2 with a one-line message when `host`:`port` cannot be bound (in use, not an address here)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, port))
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


@app.command(epilog=examples("dashboard", "dashboard --snapshot snap/ --port 8060 --refresh 1h"))
def dashboard(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="interface to serve on (loopback unless --allow-remote)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8050,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="allow a non-loopback --host (the dashboard has no login)")
    ] = False,
    refresh: Annotated[str, typer.Option(help=f"time between data refreshes: {DURATION_HELP}")] = "5m",
    no_cache: NoCacheOpt = False,
) -> None:
    """Serve the dashboard on http://HOST:PORT/. The data is loaded once at start and re-read every
    --refresh; a failed refresh keeps the last good data and says why on the page."""
    from capitulation.dashboard import create_app
    from capitulation.store import HistoryStore
    from capitulation.timeutil import parse_duration

    if not is_loopback(host):
        if not allow_remote:
            fail(
                f"--host {host} is not a loopback address: anyone who can reach it would see the dashboard "
                "(there is no login); pass --allow-remote to serve it anyway"
            )
        typer.echo(f"warning: serving on {host}:{port}, reachable from other machines, without a login", err=True)
    with handled():
        refresh_s = parse_duration(refresh, "--refresh").total_seconds()
    if snapshot is None:
        data = data_dir(data)
    _check_port(host, port)  # before the data loads: a busy port fails at once
    with handled():
        web = create_app(partial(load_snapshot, data, snapshot, as_of, no_cache), HistoryStore(db), refresh_s=refresh_s)
    if not logging.getLogger("capitulation").isEnabledFor(logging.INFO):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request: only with -v
    typer.echo(f"capitulation dashboard on http://{host}:{port}/ (Ctrl+C stops it)")
    web.run(host=host, port=port, debug=False)
