"""Terminal report with rich: the eight verdicts, the levels ladder around spot, each table's date."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from capitulation.report.model import Report, short_source, spot_text
from capitulation.signals import labels
from capitulation.verdict import Status

STYLE = {Status.HOLDS: "bold red", Status.DOES_NOT_HOLD: "green", Status.NOT_ENOUGH_DATA: "yellow"}


def render(rep: Report, console: Console, evidence: bool = True) -> None:
    spot = f"  {escape(spot_text(rep))}" if rep.spot else ""
    console.print(f"[bold]capitulation[/bold] as of {rep.as_of:%Y-%m-%d %H:%M} UTC{spot}")
    t = Table(show_lines=False, expand=False)
    t.add_column("#", justify="right")
    t.add_column("signal")
    t.add_column("status")
    t.add_column("headline", overflow="fold")
    for i, v in enumerate(rep.verdicts, 1):
        t.add_row(str(i), v.title, f"[{STYLE[v.status]}]{v.status.value}[/]", escape(v.headline))
    console.print(t)
    if evidence:
        for i, v in enumerate(rep.verdicts, 1):
            console.print(f"[bold]{i}. {v.title}[/bold]")
            figures = "; ".join(" ".join(labels.describe(m.name, m.value)) for m in v.metrics)
            if figures:
                console.print(f"   [dim]{escape(figures)}[/dim]", highlight=False)
            for line in v.evidence:
                console.print(f"   - {escape(line)}", highlight=False)
    if rep.ladder:
        lad = Table(title="Levels around spot", expand=False)
        lad.add_column("price", justify="right")
        lad.add_column("vs spot", justify="right")
        lad.add_column("level", overflow="fold")
        spot_row_done = False
        for lv, d in rep.ladder:
            if not spot_row_done and d < 0 and rep.spot:
                lad.add_row(f"[bold]${rep.spot:,.0f}[/]", "[bold]spot[/]", "")
                spot_row_done = True
            lad.add_row(f"${lv.price:,.0f}", f"{d * 100:+.1f}%", escape(lv.label))
        console.print(lad)
    dates = Table(title="Data: each table's own date", expand=False)
    dates.add_column("table")
    dates.add_column("rows", justify="right")
    dates.add_column("latest row")
    dates.add_column("age", justify="right")
    dates.add_column("source", overflow="fold")
    for info in rep.tables:
        tag = " [yellow](synthetic)[/]" if info.synthetic else ""
        dates.add_row(
            info.name,
            f"{info.rows:,}",
            f"{info.latest:%Y-%m-%d %H:%M}",
            f"{info.age_days:.1f} d",
            escape(short_source(info.source)) + tag,
        )
    for name in rep.absent:
        dates.add_row(name, "0", "absent", "", "no recorded data: signals that need it say 'not enough data'")
    console.print(dates)
