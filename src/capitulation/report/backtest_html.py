"""The backtest page (`capitulation backtest --html PATH`): one self-contained HTML file, plotly.js inlined so
it works offline, with the verdict timeline over BTC, the scorecard walk-forward / in sample / out of sample
side by side, and a short guide to reading them. Every string from the data is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import plotly.io as pio

from capitulation.analytics.scorecard import Scorecard
from capitulation.backtest.score import DRAWDOWN, Backtest
from capitulation.report.backtest_charts import TextTable, scorecard_tables, timeline_figure
from capitulation.report.html import CSS, write_page
from capitulation.report.style import STYLES
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Snapshot


def scorecards(bt: Backtest) -> dict[str, Scorecard | None]:
    """The backtest's scorecards by the names the page shows them under."""
    return {"walk-forward": bt.walk_forward, "in sample": bt.in_sample, "out of sample": bt.out_of_sample}


def table_html(t: TextTable) -> str:
    """A `TextTable` as an HTML table with its title, every cell escaped."""
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    return f'<h3>{escape(t.title)}</h3><table id="table-{t.key}"><tr>{head}</tr>{body}</table>'


def guide(bt: Backtest) -> str:
    """The reading guide: what the picture shows, what a hit is, what the three parts mean, the split date."""
    wf = bt.walk_forward
    n, split = wf.window_days, f"{bt.split:%Y-%m-%d}"
    colours = "; ".join(f'<span style="color:{s.colour}">&#9632;</span> {escape(s.legend)}' for s in STYLES)
    spans = "".join(
        f"<li>{name}: {sc.start:%Y-%m-%d}..{sc.end:%Y-%m-%d}, {sc.signals['days'].iloc[0]:,} dates, "
        f"{len(sc.troughs)} trough(s), {len(sc.peaks)} peak(s)</li>"
        if sc is not None
        else f"<li>{name}: no dates on this side of {split}</li>"
        for name, sc in scorecards(bt).items()
    )
    return f"""<h2>How to read it</h2>
<p><b>The picture.</b> The black line is BTC's daily close (log scale); the blue band under it counts the signals
that hold that day (right axis). Under it, one strip per signal, one cell per day: {colours}. "Holds" says the
signal's condition is met that day: a description of the market, not a judgement of good or bad. Green dashed
lines (&#9650;) mark the trough of every {DRAWDOWN:.0%}+ drawdown of BTC, purple dotted lines (&#9660;) the peak
it fell from. Hover a strip for that day's verdict headline, the price line for the date, close and which
signals hold. The strips are the walk-forward timeline: each day's verdicts exactly as
<code>capitulation report --as-of</code> gives them.</p>
<p><b>A hit</b> at a trough (or a peak): the signal holds on at least one date within {n} days of it, either side.
A useful signal hits troughs and not peaks; one that holds every day hits everything and says nothing, so read
the hit rates beside the share of days held. <b>Lag</b>: days from the trough to the nearest date the signal
held (negative: it held before the trough), the median over the troughs it hit.</p>
<p><b>Walk-forward (WF)</b>: each date's thresholds learned only from data before that date, as the report does.
<b>In sample (IS)</b>: every threshold learned from history fitted once on the data before the split
{split} and scored on the dates before it, the data it was fitted on (flattering). <b>Out of sample (OOS)</b>:
the same fixed thresholds scored on the dates from {split} on, which they never saw: the honest test.</p>
<ul>{spans}</ul>
<p><b>Score</b>: the number of signals holding that day (0-{len(wf.signals)}). At troughs and peaks it is the
score on the event's date; "neither" is every date more than {n} days from any trough or peak. The forward
return after a date is close(date + h days) / close(date) - 1; its median over the dates with each score
(dates whose later close is not in the data are left out).</p>"""


def render(bt: Backtest, full: Snapshot) -> str:
    """The whole page as one string."""
    rows = bt.live.rows
    start, end = rows["as_of"].min(), rows["as_of"].max()
    fig = timeline_figure(
        rows,
        closes(full, BTC),
        f"The verdicts at each of {rows['as_of'].nunique():,} dates {start:%Y-%m-%d}..{end:%Y-%m-%d} over BTC "
        "(walk-forward: as report --as-of gives them)",
        bt.split,
    )
    chart = pio.to_html(fig, include_plotlyjs=True, full_html=False, config={"displaylogo": False})
    tables = "".join(table_html(t) for t in scorecard_tables(scorecards(bt)))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>capitulation backtest {start:%Y-%m-%d}..{end:%Y-%m-%d}</title><style>{CSS}td{{white-space:nowrap}}</style>
</head><body>
<h1>capitulation backtest</h1><p>{rows["as_of"].nunique():,} dates {start:%Y-%m-%d}..{end:%Y-%m-%d}, the eight
verdicts each day scored against BTC's {DRAWDOWN:.0%}+ drawdowns; thresholds fitted before {bt.split:%Y-%m-%d} for
the in-sample and out-of-sample columns. Runs in the history store: walk-forward {escape(bt.live.key)}, fitted at
the split {escape(bt.fixed.key)}.</p>
<section id="chart-backtest">{chart}</section>
<h2>Scorecard</h2>{tables}
{guide(bt)}
</body></html>"""


def write_backtest_html(bt: Backtest, full: Snapshot, path: str | Path) -> Path:
    """Write the backtest page to `path` atomically; `CapitulationError` when it cannot."""
    return write_page(render(bt, full), path, "backtest HTML page")
