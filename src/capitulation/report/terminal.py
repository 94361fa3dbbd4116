"""Terminal report with rich: the eight verdicts, the levels ladder around spot, each table's date.

It renders the report's document (`report.model.as_json`, the same object `report --json` prints), so a
document read back from the cache (`cli.documents`) renders without loading pandas or the signals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from capitulation.formats import stamp
from capitulation.report.text import short_source, spot_line

STYLE = {"holds": "bold red", "does not hold": "green", "not enough data": "yellow"}


def render(doc: Mapping[str, Any], console: Console, evidence: bool = True) -> None:
    """Print the report document `doc` (`model.as_json`)."""
    price, where = doc["spot_usd"], doc["spot"]
    spot = "" if where is None else spot_line(price, where["close_date"][:10], where["age_days"], where["source"])
    console.print(f"[bold]capitulation[/bold] as of {stamp(doc['as_of'])} UTC" + (f"  {escape(spot)}" if spot else ""))
    t = Table(show_lines=False, expand=False)
    t.add_column("#", justify="right")
    t.add_column("signal")
    t.add_column("status")
    t.add_column("headline", overflow="fold")
    verdicts = doc["signals"]
    for i, v in enumerate(verdicts, 1):
        t.add_row(str(i), v["title"], f"[{STYLE[v['status']]}]{v['status']}[/]", escape(v["headline"]))
    console.print(t)
    if evidence:
        for i, v in enumerate(verdicts, 1):
            console.print(f"[bold]{i}. {v['title']}[/bold]")
            figures = "; ".join(f"{m['label']} {m['text']}" for m in v["metrics"])
            if figures:
                console.print(f"   [dim]{escape(figures)}[/dim]", highlight=False)
            for line in v["evidence"]:
                console.print(f"   - {escape(line)}", highlight=False)
    if doc["levels"]:
        lad = Table(title="Levels around spot", expand=False)
        lad.add_column("price", justify="right")
        lad.add_column("vs spot", justify="right")
        lad.add_column("level", overflow="fold")
        spot_row_done = False
        for lv in doc["levels"]:
            d = lv["distance"]
            if not spot_row_done and d < 0 and price:
                lad.add_row(f"[bold]${price:,.0f}[/]", "[bold]spot[/]", "")
                spot_row_done = True
            lad.add_row(f"${lv['price_usd']:,.0f}", f"{d * 100:+.1f}%", escape(lv["label"]))
        console.print(lad)
    dates = Table(title="Data: each table's own date", expand=False)
    dates.add_column("table")
    dates.add_column("rows", justify="right")
    dates.add_column("latest row")
    dates.add_column("age", justify="right")
    dates.add_column("source", overflow="fold")
    for name, info in doc["tables"].items():
        tag = " [yellow](synthetic)[/]" if info["synthetic"] else ""
        dates.add_row(
            name,
            f"{info['rows']:,}",
            stamp(info["latest"]),
            f"{info['age_days']:.1f} d",
            escape(short_source(info["source"])) + tag,
        )
    for name in doc["absent_tables"]:
        dates.add_row(name, "0", "absent", "", "no recorded data: signals that need it say 'not enough data'")
    console.print(dates)
