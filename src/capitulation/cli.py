"""The `capitulation` command line: parse, call the API, render. No math here.

Conventions every command follows: `--data DIR` (recorded data), `--db PATH` (history store), `--json`
(same content, machine-readable, stable keys); exit 0 on success, 2 on bad input, one line, no traceback.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from capitulation.errors import CapitulationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bitcoin market-stress monitor: has the market reached the true liquidation moment, "
    "and where is the bottom range forming?",
)
console = Console()
log = logging.getLogger("capitulation")

DataOpt = Annotated[Path | None, typer.Option("--data", help="folder of recorded data, e.g. ../shared/data")]
DbOpt = Annotated[Path | None, typer.Option("--db", help="history store folder (default: user data dir)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print machine-readable JSON instead of tables")]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="run as of this date/time (UTC); a bare date means its end")
]


def _fail(msg: str) -> NoReturn:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


def _print_json(obj: object) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str, allow_nan=False))


def _clean(obj: object) -> object:
    """Replace NaN/inf by None so the JSON is standard."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def _load(data: Path | None, snapshot: Path | None, as_of: str | None):
    from capitulation.snapshot import Snapshot, parse_as_of
    from capitulation.sources.recorded import build_snapshot

    cut = parse_as_of(as_of) if as_of else None
    if snapshot is not None:
        snap = Snapshot.load(snapshot)
        return snap.upto(cut) if cut is not None else snap
    if data is None:
        _fail(
            "no data to report on: pass --data DIR (a folder of recorded data such as ../shared/data) "
            "or --snapshot PATH"
        )
    return build_snapshot(data, cut)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress to stderr")] = False) -> None:
    # Data-quality notes also live in each table's provenance (shown in the report); -v shows them as logged.
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(message)s")


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

    try:
        snap = _load(data, snapshot, as_of)
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
    except CapitulationError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(_clean(model.as_json(rep)))
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
    try:
        path = _load(data, None, as_of).save(out)
    except CapitulationError as exc:
        _fail(str(exc))
    typer.echo(f"snapshot written to {path}")


@app.command()
def history(db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the snapshots in the history store."""
    from rich.table import Table

    from capitulation.store import HistoryStore

    try:
        hs = HistoryStore(db)
        h = hs.history()
    except CapitulationError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(
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


@app.command()
def mnav(
    btc: Annotated[float, typer.Option(help="BTC held")],
    btc_price: Annotated[float, typer.Option(help="BTC price, USD")],
    share_price: Annotated[float, typer.Option(help="share price, USD")],
    shares: Annotated[float, typer.Option(help="shares outstanding")],
    debt: Annotated[float, typer.Option(help="debt, USD notional")] = 0.0,
    cash: Annotated[float, typer.Option(help="cash, USD")] = 0.0,
    preferred: Annotated[float, typer.Option(help="preferred stock, USD notional")] = 0.0,
    avg_cost: Annotated[float | None, typer.Option(help="average BTC cost, USD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """mNAV of a treasury company: BTC NAV, EV = cap + debt + preferred - cash, mNAV = EV / NAV."""
    from capitulation.analytics.treasury import mnav as compute

    try:
        m = compute(
            btc_held=btc,
            btc_price=btc_price,
            share_price=share_price,
            shares=shares,
            debt=debt,
            preferred=preferred,
            cash=cash,
            avg_cost=avg_cost,
        )
    except CapitulationError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(_clean(asdict(m)))
        return
    console.print(
        f"BTC NAV ${m.btc_nav_usd / 1e9:,.2f}B  market cap ${m.market_cap_usd / 1e9:,.2f}B  "
        f"EV ${m.enterprise_value_usd / 1e9:,.2f}B\n"
        f"mNAV (EV) {m.mnav_ev:.3f}   mNAV (market cap) {m.mnav_mcap:.3f}   BTC/share {m.btc_per_share:.6f}\n"
        f"mNAV = 1 at BTC ${m.mnav1_btc_price:,.0f}; BTC NAV = debt + preferred at ${m.stress_btc_price:,.0f}"
    )


@app.command()
def mining(
    hashrate_ehs: Annotated[float, typer.Option(help="network hashrate, EH/s")],
    efficiency_jth: Annotated[float, typer.Option(help="rig efficiency, J/TH")],
    power_usd_kwh: Annotated[float, typer.Option(help="electricity, USD per kWh")],
    fees_btc_per_block: Annotated[float, typer.Option(help="fees per block, BTC")] = 0.0,
    subsidy_btc: Annotated[float, typer.Option(help="block subsidy, BTC")] = 3.125,
    rig_ths: Annotated[float | None, typer.Option(help="rig hashrate, TH/s (for its power draw)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Miner shutdown price: the BTC price where a rig's revenue equals its power cost."""
    from capitulation.analytics.mining import shutdown_price

    try:
        e = shutdown_price(
            hashrate_ehs=hashrate_ehs,
            efficiency_jth=efficiency_jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=fees_btc_per_block,
            subsidy_btc=subsidy_btc,
            rig_hashrate_ths=rig_ths,
        )
    except CapitulationError as exc:
        _fail(str(exc))
    if as_json:
        _print_json(_clean(asdict(e)))
        return
    console.print(
        f"shutdown price ${e.shutdown_price_usd:,.0f} per BTC  (revenue {e.revenue_btc_per_th_day:.3e} BTC/TH/day, "
        f"power cost ${e.power_cost_usd_per_th_day:.4f}/TH/day)"
    )
