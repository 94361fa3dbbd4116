"""Self-contained HTML report: verdict cards, plotly charts (JavaScript inlined), levels and data tables.

Every string that came from data or a network is escaped before it reaches the page.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path

import plotly.io as pio

from capitulation.errors import CapitulationError, StoreError
from capitulation.report.backtest_charts import how_to_make, stored_run, timeline_figure
from capitulation.report.charts import all_figures
from capitulation.report.model import Report, spot_text
from capitulation.report.style import COLOURS
from capitulation.report.text import short_source
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot
from capitulation.store import HistoryStore

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:12px}
.card{border:1px solid #ddd;border-left:6px solid var(--c);border-radius:6px;padding:10px 12px}
.card h3{margin:0 0 4px 0;font-size:1em}.status{color:var(--c);font-weight:600}
.card ul{padding-left:1.1em;margin:6px 0 0 0;font-size:.85em;color:#444}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left}
.small{font-size:.85em;color:#555}
"""


def backtest_section(snap: Snapshot, store: HistoryStore | None) -> tuple[str, bool]:
    """The verdict timeline to the snapshot's as_of from the latest walk-forward backtest in `store`
    (`backtest_charts.stored_run`), with plotly.js inlined; else one line on how to make one. Returns the
    HTML and whether it carries plotly.js."""
    if store is None:
        return "<p class=small>No history store given to look for a backtest in.</p>", False
    try:
        got = stored_run(store, snap.as_of)
    except StoreError as exc:  # an unreadable store costs the picture, not the report
        got = str(exc)
    if isinstance(got, str):
        return f"<p class=small>{escape(got)}</p>", False
    fig = timeline_figure(got.rows, closes(snap, BTC), got.title())
    note = f"<p class=small>{escape(got.caption())} Redo: {escape(how_to_make(store))}.</p>"
    return pio.to_html(fig, include_plotlyjs=True, full_html=False) + note, True


def render(rep: Report, snap: Snapshot, store: HistoryStore | None = None) -> str:
    """The whole page as one string (plotly.js inlined once, so the file works offline); the backtest's
    verdict timeline from `store` below the cards when it holds one that reaches the report's as_of."""
    spot = f" &middot; {escape(spot_text(rep))}" if rep.spot else ""
    cards = []
    for i, v in enumerate(rep.verdicts, 1):
        ev = "".join(f"<li>{escape(e)}</li>" for e in v.evidence)
        cards.append(
            f'<div class="card" style="--c:{COLOURS[v.status.value]}"><h3>{i}. {escape(v.title)}</h3>'
            f'<div class="status">{escape(v.status.value)}</div><div>{escape(v.headline)}</div><ul>{ev}</ul></div>'
        )
    timeline, has_js = backtest_section(snap, store)
    charts, first = [], not has_js
    for key, fig in all_figures(rep, snap).items():
        charts.append(
            f'<section id="chart-{key}">' + pio.to_html(fig, include_plotlyjs=first, full_html=False) + "</section>"
        )
        first = False
    ladder = "".join(
        f"<tr><td>${lv.price:,.0f}</td><td>{d * 100:+.1f}%</td><td>{escape(lv.label)}</td>"
        f"<td>{escape(lv.signal)}</td></tr>"
        for lv, d in rep.ladder
    )
    data = "".join(
        f"<tr><td>{escape(t.name)}</td><td>{t.rows:,}</td><td>{t.latest:%Y-%m-%d %H:%M}</td>"
        f"<td>{t.age_days:.1f} d</td>"
        f"<td title='{escape(t.source)}'>{escape(short_source(t.source))}</td><td>{escape(t.licence)}</td>"
        f"<td>{'synthetic' if t.synthetic else 'real'}</td>"
        f"<td class=small><details><summary>notes</summary>{escape(t.notes)}</details></td></tr>"
        for t in rep.tables
    ) + "".join(
        f"<tr><td>{escape(n)}</td><td>0</td><td>absent</td><td></td><td></td><td></td><td></td>"
        f"<td class=small>no recorded data</td></tr>"
        for n in rep.absent
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>capitulation report {rep.as_of:%Y-%m-%d}</title><style>{CSS}</style></head><body>
<h1>capitulation</h1><p>As of {rep.as_of:%Y-%m-%d %H:%M} UTC{spot}. Has the market reached the true liquidation
moment, and where is the bottom range forming?</p>
<h2>The eight signals</h2><div class="cards">{"".join(cards)}</div>
<h2>The verdicts over time</h2><section id="chart-backtest">{timeline}</section>
<h2>Charts</h2>{"".join(charts)}
<h2>Levels around spot</h2><table><tr><th>price</th><th>vs spot</th><th>level</th><th>signal</th></tr>{ladder}</table>
<h2>Data</h2><table><tr><th>table</th><th>rows</th><th>latest row</th><th>age</th><th>source</th><th>licence</th>
<th>kind</th><th>notes</th></tr>{data}</table>
</body></html>"""


def write_html(rep: Report, snap: Snapshot, path: str | Path, store: HistoryStore | None = None) -> Path:
    """Write the page atomically (temporary file, then rename); `store`: where to look for a backtest."""
    return write_page(render(rep, snap, store), path, "HTML report")


def write_page(text: str, path: str | Path, what: str) -> Path:
    """Write `text` to `path` atomically (temporary file, then rename); `CapitulationError` naming `what`."""
    dest = Path(path)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except OSError as exc:
        raise CapitulationError(f"cannot write {what} {dest}: {exc}") from None
    return dest
