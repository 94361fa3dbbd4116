"""`backfill`: skew and dealer-gamma metrics per snapshot of historical option chains, on Dask or not."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from capitulation.cli.common import (
    DbOpt,
    JsonOpt,
    app,
    compile_notice,
    console,
    examples,
    fail,
    handled,
    print_json,
    records,
)

if TYPE_CHECKING:
    from capitulation.backfill.run import Progress

SHOWN = 5  # latest snapshots printed as a table


@app.command(
    epilog=examples(
        "backfill ../shared/data/deribit_options --workers 0", "backfill chains/ --every 15m --workers 4 --json"
    )
)
def backfill(
    path: Annotated[Path, typer.Argument(help="a chain file or a folder of daily files (tardis CSV/Parquet)")],
    out: Annotated[Path, typer.Option("--out", help="folder for the metrics Parquet file")] = Path("backfill"),
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", help="local Dask worker processes (not with --scheduler); 0 runs in this process"),
    ] = 2,
    every: Annotated[str, typer.Option("--every", help="snapshot interval, dividing a day: 15m, 1h, 1d")] = "1h",
    db: DbOpt = None,
    store: Annotated[bool, typer.Option(help="also store the metrics in the history store (--db)")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Per snapshot: ATM vol and 15/25-delta risk reversals at 1 and 7 days, total dealer GEX (classic
    model), gamma flip and call/put walls; written as Parquet under --out and into the history store. One Dask
    task per file, on a local cluster of --workers processes or the --scheduler given; --workers 0 runs
    without Dask. A recorded chain without a time column is dated by its greeks (said in the output)."""
    from capitulation.backfill import run
    from capitulation.backfill.chains import INFERRED_FROM
    from capitulation.cluster import dask_client
    from capitulation.store import HistoryStore

    if workers < 0:
        fail(f"--workers must be 0 or more, got {workers}")
    compile_notice()
    with handled():
        run.parse_every(every)
        run.chain_files(path)  # bad input fails before a cluster starts
        hs = HistoryStore(db) if store else None
        t0 = time.perf_counter()
        if scheduler is None and workers == 0:
            with _bar(not as_json and sys.stderr.isatty()) as progress:
                res = run.backfill(path, every, progress=progress)
            mode = "single process"
        else:
            import distributed  # its import sets its loggers to INFO: make them as quiet as -v says

            logging.getLogger(distributed.__name__).setLevel(logging.getLogger().level)
            with dask_client(scheduler, workers) as client, _bar(not as_json and sys.stderr.isatty()) as progress:
                res = run.backfill(path, every, client, progress=progress)
            mode = f"dask {scheduler}" if scheduler else f"dask local, {workers} workers"
        secs = time.perf_counter() - t0
        written = run.write_parquet(res.metrics, out)
        days = hs.write_backfill(res.metrics, str(path.resolve())) if hs is not None else 0
    summary = {
        "input": str(path),
        "output": str(written),
        "store": None if hs is None else {"root": str(hs.root), "days_written": days},
        "mode": mode,
        "files": res.files,
        "quote_rows": res.quote_rows,
        "snapshots": len(res.metrics),
        "capture_times_inferred": [
            {"file": Path(f).name, "time": t, "from": INFERRED_FROM} for f, t in res.inferred.items()
        ],
        "seconds": secs,
        "units": "vols and risk reversals are fractions (0.01 = 1 vol point); GEX USD per 1% move; USD levels",
        "snapshots_latest": records(res.metrics.tail(SHOWN)),
    }
    if as_json:
        print_json(summary, res.metrics["timestamp"].max() if len(res.metrics) else None)
    else:
        _render(summary)


def _render(s: dict[str, Any]) -> None:
    console.print(
        f"{s['snapshots']} snapshot(s) from {s['quote_rows']:,} quotes in {s['files']} file(s), "
        f"{s['mode']}, {s['seconds']:.1f} s -> {s['output']}"
    )
    t = Table(box=box.SIMPLE, pad_edge=False, padding=(0, 0, 0, 1), title=f"Latest {SHOWN} snapshots")
    for col in ("MM-DD UTC", "ATM 7d", "RR25 1d", "RR25 7d", "GEX $/1%", "flip", "call wall", "put wall"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in s["snapshots_latest"]:
        t.add_row(
            r["timestamp"][5:16].replace("T", " "),
            _num(r["atm_iv_7d"], 100, ".1f"),
            _num(r["rr25_1d"], 100, "+.1f"),
            _num(r["rr25_7d"], 100, "+.1f"),
            _num(r["gex_usd_per_1pct"], 1e-6, "+,.1f", "M"),
            _num(r["gamma_flip"], 1, ",.0f"),
            _num(r["call_wall"], 1, ",.0f"),
            _num(r["put_wall"], 1, ",.0f"),
        )
    console.print(t)
    for c in s["capture_times_inferred"]:
        console.print(
            f"{c['file']}: no time column; quote time {c['time']:%Y-%m-%d %H:%M:%S} UTC inferred from {c['from']}"
        )
    console.print("vols in vol points; GEX in USD millions per 1 % move (dealers long calls, short puts)")
    if s["store"] is not None:
        console.print(f"history store {s['store']['root']}: {s['store']['days_written']} new day(s) of metrics")


@contextmanager
def _bar(show: bool) -> Iterator[Callable[[Progress], None] | None]:
    """A progress bar on stderr fed by `run.backfill`'s `Progress` (files, and snapshots inside them), cleared
    when done; None (no bar) unless `show`."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    columns = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Bar(*columns, console=Console(stderr=True), transient=True) as bar:
        files, snaps = bar.add_task("files", total=None), bar.add_task("snapshots", total=None)

        def update(p: Progress) -> None:
            bar.update(files, completed=p.files_done, total=p.files)
            bar.update(snaps, completed=p.snapshots_done, total=p.snapshots or None)

        yield update


def _num(x: float | None, scale: float, fmt: str, suffix: str = "") -> str:
    return "-" if x is None else f"{x * scale:{fmt}}{suffix}"
