"""`levels`: one ranked ladder around spot of every level the signals produce (cost floors, options
levels, liquidation clusters), each with its source, distance from spot and why it matters."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from capitulation.cli.common import (
    WIDE_COLUMNS,
    AsOfOpt,
    DataOpt,
    JsonOpt,
    NoCacheOpt,
    SnapshotOpt,
    app,
    console,
    examples,
    fail,
    handled,
    print_json,
    report_document,
)


@app.command(
    epilog=examples("levels --within 0.3", "--wide levels --as-of 2025-04-07", "levels --json | python -m json.tool")
)
def levels(
    data: DataOpt = None,
    snapshot: SnapshotOpt = None,
    as_of: AsOfOpt = None,
    within: Annotated[float, typer.Option(help="keep levels within this fraction of spot (0.5 = +/-50 %)")] = 0.5,
    as_json: JsonOpt = False,
    no_cache: NoCacheOpt = False,
) -> None:
    """The levels map: cost floors, options levels and liquidation clusters around spot, highest first.

    The levels are the report's (`report`), read from its cache when the inputs are unchanged."""
    from datetime import datetime

    from capitulation.analytics.levels import Level, group, ladder, why

    with handled():
        doc, _ = report_document(data, snapshot, as_of, no_cache=no_cache)
    s = doc["spot_usd"]
    if not s:
        fail("no BTC price in the snapshot: no spot to place the levels around")
    found = [
        Level(lv["price"], lv["label"], lv["signal"], tuple(lv["tables"]), lv["why"])
        for v in doc["signals"]
        for lv in v["levels"]
    ]
    rows = [
        {
            "price_usd": lv.price,
            "distance_pct": d * 100.0,
            "label": lv.label,
            "group": group(lv),
            "source": lv.signal,
            "tables": list(lv.tables),
            "why": why(lv),
        }
        for lv, d in ladder(found, s, within)
    ]
    if as_json:
        print_json({"spot_usd": s, "within": within, "levels": rows}, doc["as_of"])
        return
    title = f"Levels around spot ${s:,.0f} ({datetime.fromisoformat(doc['as_of']):%Y-%m-%d %H:%M} UTC), highest first"
    if console.width < WIDE_COLUMNS:
        _render_compact(title, rows, s)
        return
    t = Table(title=title, box=box.SIMPLE)
    for c in ("price", "vs spot", "level", "group", "source", "why it matters"):
        t.add_column(c, justify="right" if c in ("price", "vs spot") else "left")
    above = [r for r in rows if r["price_usd"] >= s]
    below = [r for r in rows if r["price_usd"] < s]
    for r in above:
        t.add_row(
            f"${r['price_usd']:,.0f}", f"{r['distance_pct']:+.1f}%", r["label"], r["group"], r["source"], r["why"]
        )
    t.add_row(f"${s:,.0f}", "spot", "", "", "", "", style="bold")
    for r in below:
        t.add_row(
            f"${r['price_usd']:,.0f}", f"{r['distance_pct']:+.1f}%", r["label"], r["group"], r["source"], r["why"]
        )
    console.print(t)


def _render_compact(title: str, rows: list[dict[str, Any]], spot: float) -> None:
    """The ladder for a narrow terminal or a pipe (under `WIDE_COLUMNS`): price and distance, then the label
    with its group, source and why under it, wrapped in one column as wide as the terminal allows."""
    g = Table.grid(padding=(0, 1, 0, 0))
    g.add_column(justify="right", no_wrap=True)
    g.add_column(justify="right", no_wrap=True)
    g.add_column()
    above = [r for r in rows if r["price_usd"] >= spot]
    below = [r for r in rows if r["price_usd"] < spot]
    for r in above:
        g.add_row(*_compact_row(r))
    g.add_row(f"${spot:,.0f}", "spot", "", style="bold")
    for r in below:
        g.add_row(*_compact_row(r))
    console.print(title, style="bold", highlight=False)
    console.print(g, highlight=False)


def _compact_row(r: dict[str, Any]) -> tuple[str, str, Text]:
    text = Text(r["label"])
    text.append(f"\n{r['group']}, {r['source']}: {r['why']}", style="dim")
    return f"${r['price_usd']:,.0f}", f"{r['distance_pct']:+.1f}%", text
