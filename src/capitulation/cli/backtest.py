"""`backtest`: the eight verdicts at every date of history, scored against the drawdowns' troughs and peaks."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from capitulation.cli.common import (
    DataOpt,
    DbOpt,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    ThresholdsOpt,
    app,
    console,
    data_dir,
    examples,
    fail,
    handled,
    print_json,
)

SIGNAL_NAMES = {
    "leverage_flush": "1 Leverage flush",
    "cross_asset": "2 Cross-asset flight",
    "options_stress": "3 Options stress",
    "liquidity_levels": "4 Liquidity levels",
    "sector_rotation": "5 Sector rotation",
    "treasury": "6 Treasury companies",
    "hedging": "7 Hedging",
    "bottom_range": "8 Bottom range",
}


@app.command(
    epilog=examples(
        "backtest --from 2024-01-01 --every 7d",
        "backtest --window 14d --html backtest.html --json",
        "backtest --snapshot snap/ --from 2026-01-01",
    )
)
def backtest(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    start: Annotated[
        str | None, typer.Option("--from", help="first date (UTC; default: the data's first BTC close)")
    ] = None,
    end: Annotated[str | None, typer.Option("--to", help="last date (UTC; default: the data's last BTC close)")] = None,
    every: Annotated[str, typer.Option("--every", help="date step in whole days: 1d, 7d, 1w")] = "1d",
    split: Annotated[
        str, typer.Option("--split", help="thresholds fitted before this date, scored in and out of sample")
    ] = "2024-01-01",
    window: Annotated[
        str, typer.Option("--window", help="whole days around a trough or peak that count as a hit: 7d, 1w, 0d")
    ] = "7d",
    thresholds: ThresholdsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the timeline to this Parquet file")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="also write a self-contained HTML page")] = None,
    db: DbOpt = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786")
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", help="local Dask worker processes (not with --scheduler); 0 runs in this process"),
    ] = 0,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """Replay every date of the recorded data in one process (or on Dask): the eight verdicts each day, as
    `report --as-of` gives them, stored in the history store (an interrupted run resumes) and scored: hits
    within --window days of each 20 %+ drawdown's trough and peak, the count of holding signals as a score
    with the forward 30/90/180-day BTC returns after it; walk-forward, and in / out of sample around --split.
    --snapshot replays a saved snapshot's history (every row up to its as_of) instead of the recorded data."""
    from capitulation.backtest import run
    from capitulation.backtest.score import backtest as run_backtest
    from capitulation.signals import config
    from capitulation.snapshot import Snapshot, utc
    from capitulation.sources.cache import TableCache
    from capitulation.sources.recorded import build_snapshot
    from capitulation.store import HistoryStore
    from capitulation.timeutil import parse_duration

    if workers < 0:
        fail(f"--workers must be 0 or more, got {workers}")
    if snapshot is None:
        data = data_dir(data)
    with handled():
        window_days = parse_duration(window, "--window", zero=True, whole_days=True).days
        run.parse_every(every)  # bad input fails before the data loads
        th = None if thresholds is None else config.load(thresholds)
        cut = utc(split).floor("D")
        if snapshot is not None:
            full = Snapshot.load(snapshot)
        else:
            full = build_snapshot(data, "2100-01-01", cache=None if no_cache else TableCache())
        days = run.dates(full, start, end, every)
        hs = HistoryStore(db)
        t0 = time.perf_counter()
        if scheduler is None and workers == 0:
            bt = run_backtest(full, days, cut, th, window_days=window_days, store=hs, progress=not as_json)
            mode = "single process"
        else:
            import distributed

            from capitulation.cluster import dask_client

            logging.getLogger(distributed.__name__).setLevel(logging.getLogger().level)
            with dask_client(scheduler, workers) as client:
                bt = run_backtest(
                    full, days, cut, th, window_days=window_days, client=client, store=hs, progress=not as_json
                )
            mode = f"dask {scheduler}" if scheduler else f"dask local, {workers} workers"
        secs = time.perf_counter() - t0
        written = run.write_parquet(bt.live.rows, out) if out is not None else None
        if html is not None:
            from capitulation.report.backtest_html import write_backtest_html

            write_backtest_html(bt, full, html)
    doc = {
        "from": f"{days[0]:%Y-%m-%d}",
        "to": f"{days[-1]:%Y-%m-%d}",
        "mode": mode,
        "seconds": secs,
        "store": str(hs.root),
        "timeline_parquet": None if written is None else str(written),
        "html": None if html is None else str(html),
        **bt.as_dict(),
    }
    if as_json:
        print_json(doc, days[-1])
    else:
        _render(doc, bt.comparison())


def _pct(x: Any) -> str:
    return "-" if x is None or x != x else f"{x:.0%}"


def _render(doc: dict[str, Any], cmp: Any) -> None:
    d = doc["dates"]
    console.print(
        f"backtest {doc['from']}..{doc['to']}: {d['dates']} dates, {doc['mode']}, {doc['seconds']:.1f} s "
        f"({d['computed']} verdict-dates computed, {d['from_store']} from the store; two timelines: walk-forward "
        f"and thresholds fitted before {doc['split']})"
    )
    wf, ins, oos = doc["walk_forward"], doc["in_sample"], doc["out_of_sample"]
    t = Table(
        box=box.SIMPLE,
        title=f"hits within {wf['window_days']} days of a 20%+ drawdown's trough / peak; thresholds fitted before "
        f"{doc['split']}",
    )
    for c in ("signal", "troughs WF", "peaks WF", "troughs IS", "peaks IS", "troughs OOS", "peaks OOS", "days held WF"):
        t.add_column(c, justify="left" if c == "signal" else "right")
    for sig, r in cmp.iterrows():
        t.add_row(
            SIGNAL_NAMES.get(sig, sig),
            _pct(r.trough_hit_rate_wf),
            _pct(r.peak_hit_rate_wf),
            _pct(r.trough_hit_rate_is),
            _pct(r.peak_hit_rate_is),
            _pct(r.trough_hit_rate_oos),
            _pct(r.peak_hit_rate_oos),
            _pct(r.held_share_wf),
        )
    console.print(t)
    parts = (("walk-forward", wf), ("in sample", ins), ("out of sample", oos))
    for name, sc in parts:
        if sc is not None:
            console.print(f"{name} {sc['start']}..{sc['end']}: {len(sc['troughs'])} troughs, {len(sc['peaks'])} peaks")
    s = Table(box=box.SIMPLE, title="score = signals holding that day (walk-forward)")
    s.add_column("dates")
    s.add_column("n", justify="right")
    s.add_column("mean score", justify="right")
    for r in wf["score"]:
        s.add_row(r["kind"], str(r["dates"]), "-" if r["mean_score"] is None else f"{r['mean_score']:.2f}")
    console.print(s)
    f = Table(box=box.SIMPLE, title="median forward BTC return by score (walk-forward; dates)")
    horizons = sorted({r["horizon_days"] for r in wf["forward"]})
    f.add_column("score", justify="right")
    for h in horizons:
        f.add_column(f"{h}d", justify="right")
    for n in sorted({r["score"] for r in wf["forward"]}):
        cells = []
        for h in horizons:
            r = next(x for x in wf["forward"] if x["score"] == n and x["horizon_days"] == h)
            cells.append("-" if not r["dates"] else f"{r['median_return']:+.0%} ({r['dates']})")
        f.add_row(str(n), *cells)
    console.print(f)
    console.print(
        f"history store {doc['store']}" + (f"; timeline {doc['timeline_parquet']}" if doc["timeline_parquet"] else "")
    )
