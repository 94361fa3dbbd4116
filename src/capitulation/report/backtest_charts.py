"""The backtest picture: BTC price over a verdict timeline with the count of holding signals, each signal's
status per day as a strip under it, the troughs and peaks of the 20 %+ drawdowns marked; the scorecard as
tables of text. Shared by the backtest page (`backtest_html`), the HTML report and the dashboard's History
page.

Status colours (`style.STYLES`) are the Okabe-Ito colour-blind-safe palette, chosen not to read as good or
bad: "holds" (the signal's condition is met that day) is blue, "does not hold" light grey, "not enough data"
orange.
Every headline is HTML-escaped before it enters hover text (plotly renders a few HTML tags in it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from capitulation.analytics.events import Swing, drawdowns
from capitulation.analytics.scorecard import Scorecard
from capitulation.backtest.score import DRAWDOWN
from capitulation.report.style import BTC_COLOUR, CODES, INK, LAYOUT, STYLES
from capitulation.signals import ALL_SIGNALS, MODULES
from capitulation.store import WALK_FORWARD, HistoryStore

LABELS = {s: f"{i} {MODULES[s].TITLE}" for i, s in enumerate(ALL_SIGNALS, 1)}
"""Each signal's name on the strips and in the tables: its number and title, as on the report's cards."""


TROUGH_COLOUR, PEAK_COLOUR = "#009e73", "#cc79a7"  # Okabe-Ito bluish green and reddish purple
HOVER_WIDTH = 90  # characters per hover line (headlines wrap)


LINE = re.compile(rf".{{1,{HOVER_WIDTH}}}(?:\s+|$)|.{{{HOVER_WIDTH}}}")  # up to a space, or a hard cut


def _wrap(text: str) -> str:
    """`text` escaped for plotly's hover HTML, in lines of at most `HOVER_WIDTH` characters joined by <br>."""
    return "<br>".join(escape(line.strip()) for line in LINE.findall(text))


def swings(close: pd.Series) -> list[Swing]:
    """The 20 %+ drawdowns of BTC daily `close` (`analytics.events.drawdowns`, as the scorecard); none when
    fewer than two closes are known."""
    return drawdowns(close, DRAWDOWN) if close.notna().sum() >= 2 else []


def events(close: pd.Series, start: pd.Timestamp, end: pd.Timestamp) -> tuple[list[Swing], list[Swing]]:
    """The drawdowns of `close` (`swings`) whose trough, and those whose peak, falls within [start, end]."""
    found = swings(close)
    return [s for s in found if start <= s.trough_date <= end], [s for s in found if start <= s.peak_date <= end]


def timeline_figure(rows: pd.DataFrame, close: pd.Series, title: str, split: pd.Timestamp | None = None) -> go.Figure:
    """BTC close (log axis) with the count of holding signals, one status strip per signal under it, the
    drawdowns' troughs and peaks as markers and vertical lines.

    `rows`: timeline rows (`backtest.run.TIMELINE_COLUMNS`: as_of, signal, status, headline, ...), one per date
    and signal (signals other than the eight are left out); `close`: BTC daily closes (USD) indexed by UTC
    date, the history the drawdowns are found in (the report passes the closes known at its as_of; the
    backtest page the whole history, as its scorecard). The price and events are drawn over the strips' span
    (the timeline's dates, half a step either side); `split`, when given and within it, is marked: the date
    thresholds were fitted before."""
    rows = rows.assign(day=rows["as_of"].dt.floor("D"))
    status = rows.pivot(index="day", columns="signal", values="status")
    status = status.reindex(columns=[s for s in ALL_SIGNALS if s in status.columns])
    headline = rows.pivot(index="day", columns="signal", values="headline")[status.columns]
    days = status.index
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.58, 0.42],
        specs=[[{"secondary_y": True}], [{}]],
    )
    half = days.to_series().diff().median() / 2 if len(days) > 1 else pd.Timedelta(hours=12)
    lo, hi = days[0] - half, days[-1] + half  # the x axis: the strips' cells, no padding beyond
    px = close[(close.index >= lo) & (close.index <= hi)].dropna()
    _price(fig, status, px)
    troughs, peaks = events(close, lo, hi)
    _events(fig, "trough", troughs, TROUGH_COLOUR, "triangle-up", "dash")
    _events(fig, "peak", peaks, PEAK_COLOUR, "triangle-down", "dot")
    _strips(fig, status, headline)
    if split is not None and lo <= split <= hi:
        fig.add_shape(type="line", x0=split, x1=split, y0=0, y1=1, xref="x", yref="paper", line=dict(color="#555"))
        fig.add_annotation(x=split, y=1, xref="x", yref="paper", text=f"split {split:%Y-%m-%d}", showarrow=False)
    n = len(status.columns)
    fig.update_layout(
        title=title,
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.08, x=0, groupclick="toggleitem"),
        **{**LAYOUT, "height": 420 + 30 * n, "margin": dict(l=150, r=60, t=60, b=40)},
    )
    ticks = _log_ticks(float(px.min()), float(px.max())) if not px.empty else None
    fig.update_yaxes(type="log", title="BTC (USD, log)", tickvals=ticks, row=1, col=1, secondary_y=False)
    fig.update_xaxes(range=[lo, hi])
    fig.update_yaxes(
        title="signals holding",
        range=[0, 2.5 * n],  # the count fills the panel's lower part, under the price
        tickvals=list(range(0, n + 1, 2)),
        showgrid=False,
        row=1,
        col=1,
        secondary_y=True,
    )
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    return fig


def _log_ticks(lo: float, hi: float) -> list[float] | None:
    """Price ticks at 1, 2 and 5 x 10^k USD between `lo` and `hi`; None (plotly's own) when fewer than four
    fall in a narrow range."""
    found = [m * 10.0**e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1) for m in (1, 2, 5)]
    ticks = [t for t in found if lo / 1.1 <= t <= hi * 1.1]
    return ticks if len(ticks) >= 4 else None


def _price(fig: go.Figure, status: pd.DataFrame, px: pd.Series) -> None:
    """The top panel: the count of holding signals per date (right axis) and the BTC close, whose hover
    gives the date, the close and the signals holding."""
    held = status == "holds"
    count = held.sum(axis=1)
    fig.add_trace(
        go.Scatter(
            x=count.index,
            y=count.to_numpy(),
            name=f"signals holding (0-{len(status.columns)}, right axis)",
            mode="lines",
            line=dict(shape="hvh", width=0),  # each date's step centred on it, as its strip cell
            fill="tozeroy",
            fillcolor="rgba(0,114,178,0.22)",
            hoverinfo="skip",
        ),
        row=1,
        col=1,
        secondary_y=True,
    )
    who = held.apply(lambda r: ", ".join(LABELS[s] for s in r.index[r.to_numpy()]), axis=1).reindex(px.index)
    text = [
        f"{d:%Y-%m-%d}<br>BTC ${p:,.0f}<br>"
        + (
            "no verdicts on this date"
            if pd.isna(n)
            else f"{int(n)} of {len(status.columns)} hold" + (f": {w}" if w else "")
        )
        for d, p, n, w in zip(px.index, px.to_numpy(), count.reindex(px.index).to_numpy(), who.to_numpy(), strict=True)
    ]
    fig.add_trace(
        go.Scatter(
            x=px.index,
            y=px.to_numpy(),
            name="BTC close (USD, log scale)",
            line=dict(color=BTC_COLOUR, width=1.4),
            text=text,
            hovertemplate="%{text}<extra></extra>",
        ),
        row=1,
        col=1,
    )


def _events(fig: go.Figure, kind: str, found: list[Swing], colour: str, symbol: str, dash: str) -> None:
    """The troughs (or peaks) of `found` drawdowns: a marker on the price and a vertical line through both
    panels at each one's date."""
    when = [s.trough_date if kind == "trough" else s.peak_date for s in found]
    level = [s.trough if kind == "trough" else s.peak for s in found]
    fig.add_trace(
        go.Scatter(
            x=when,
            y=level,
            mode="markers",
            name=f"{kind} of a {DRAWDOWN:.0%}+ drawdown",
            marker=dict(color=colour, symbol=symbol, size=11, line=dict(color=INK, width=0.5)),
            text=[
                f"{kind} {d:%Y-%m-%d}: ${v:,.0f}<br>drawdown {s.peak_date:%Y-%m-%d} -> {s.trough_date:%Y-%m-%d} "
                f"{s.depth:.1%}" + ("" if s.confirmed else " (not yet confirmed by a rally)")
                for d, v, s in zip(when, level, found, strict=True)
            ],
            hovertemplate="%{text}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for d in when:
        fig.add_shape(
            type="line", x0=d, x1=d, y0=0, y1=1, xref="x", yref="paper", line=dict(color=colour, width=1, dash=dash)
        )


def _strips(fig: go.Figure, status: pd.DataFrame, headline: pd.DataFrame) -> None:
    """The bottom panel: one heatmap row per signal, a cell per date coloured by status (`STYLES`), the
    status and escaped headline on hover; and the legend of the colours."""
    n = len(STYLES)
    cells = zip(status.to_numpy().T, headline.to_numpy().T, strict=True)
    fig.add_trace(
        go.Heatmap(
            x=status.index,
            y=[LABELS[s] for s in status.columns],
            z=status.apply(lambda c: c.map(CODES)).to_numpy(dtype=float).T,
            zmin=-0.5,
            zmax=n - 0.5,
            colorscale=[[edge, st.colour] for st in STYLES for edge in (st.code / n, (st.code + 1) / n)],
            showscale=False,
            ygap=2,
            text=[
                [
                    f"<b>{escape(s)}</b>: {_wrap(h)}" if isinstance(s, str) else "no verdict"
                    for s, h in zip(*c, strict=True)
                ]
                for c in cells
            ],
            hovertemplate="%{x|%Y-%m-%d} · %{y}<br>%{text}<extra></extra>",
            name="status",
        ),
        row=2,
        col=1,
    )
    for st in STYLES:  # the strips' legend: one square per status, no data
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=st.legend,
                marker=dict(symbol="square", size=12, color=st.colour, line=dict(color="#777", width=0.5)),
                legendgroup="status",
                legendgrouptitle_text="strips: status that day",
            ),
            row=2,
            col=1,
        )


@dataclass(frozen=True)
class TextTable:
    """A table as text cells, rendered by the HTML page (escaped) and by the dashboard (Dash text)."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


TAGS = {"walk-forward": "WF", "in sample": "IS", "out of sample": "OOS"}


def _num(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.2f}"


def _pct(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.0%}"


def _hits(rate: float, hits: float, events_: float) -> str:
    return "-" if not events_ else f"{rate:.0%} ({int(hits)}/{int(events_)})"


SIGNAL_CELLS = (
    ("troughs", lambda r: _hits(r.trough_hit_rate, r.trough_hits, r.troughs)),
    ("peaks", lambda r: _hits(r.peak_hit_rate, r.peak_hits, r.peaks)),
    ("lag", lambda r: "-" if np.isnan(r.trough_lag_days) else f"{r.trough_lag_days + 0.0:+g} d"),  # + 0.0: no "-0"
    ("held", lambda r: _pct(r.held_share)),
)
"""The per-signal table's columns: a name and the cell of one `Scorecard.signals` row."""


def scorecard_tables(parts: Mapping[str, Scorecard | None]) -> list[TextTable]:
    """The scorecards in `parts` (by name: 'walk-forward', 'in sample', 'out of sample'; None: no dates on
    that side) as three tables: per signal hits at troughs and peaks, median lag and share of days held;
    the score (signals holding) at troughs, peaks and other dates; the median forward BTC return by score.
    Values are the scorecards' own (`analytics.scorecard`), formatted, never recomputed."""
    cards = {TAGS.get(name, name): sc for name, sc in parts.items() if sc is not None}
    first = next(iter(cards.values()))
    signal_rows = [
        (LABELS.get(sig, sig), *(cell(sc.signals.loc[sig]) for _, cell in SIGNAL_CELLS for sc in cards.values()))
        for sig in first.signals.index
    ]
    levels = [c.removeprefix("score_") for c in first.score.columns if c.startswith("score_")]
    score_rows = [
        (tag, kind, str(int(r.dates)), _num(r.mean_score), *(str(int(r[f"score_{n}"])) for n in levels))
        for tag, sc in cards.items()
        for kind, r in sc.score.iterrows()
    ]
    horizons = sorted({h for _, h in first.forward.index})
    fwd_rows = [
        (str(n), *(_forward(sc.forward.loc[(n, h)]) for h in horizons for sc in cards.values()))
        for n in sorted({s for s, _ in first.forward.index})
    ]
    parts_ = ", ".join(f"{tag} = {name}" for name, tag in TAGS.items() if tag in cards)
    return [
        TextTable(
            "signals",
            f"Per signal ({parts_}): troughs / peaks = share of the {DRAWDOWN:.0%}+ drawdowns' troughs / peaks it held "
            f"within {first.window_days} days of (hits/events); lag = median days from a trough to the nearest date "
            "it held; held = share of dates it held",
            ("signal", *(f"{m} {tag}" for m, _ in SIGNAL_CELLS for tag in cards)),
            tuple(signal_rows),
        ),
        TextTable(
            "score",
            "Score = signals holding that day: its distribution at troughs, at peaks and on other dates",
            ("part", "dates at", "dates", "mean score", *(f"score {n}" for n in levels)),
            tuple(score_rows),
        ),
        TextTable(
            "forward",
            "Median forward BTC return by score (number of dates)",
            ("score", *(f"{h} d {tag}" for h in horizons for tag in cards)),
            tuple(fwd_rows),
        ),
    ]


def _forward(r: pd.Series) -> str:
    return "-" if not r.dates else f"{r.median_return:+.0%} ({int(r.dates)})"


@dataclass(frozen=True)
class StoredRun:
    """A walk-forward backtest run from the history store: its key, when it was written, its whole range,
    and its timeline rows up to the as_of asked for."""

    run: str
    written_at: pd.Timestamp
    start: pd.Timestamp
    end: pd.Timestamp
    rows: pd.DataFrame

    def title(self) -> str:
        """The figure's title (plotly renders a few HTML tags in it: the run key is escaped)."""
        drawn = self.rows["as_of"].max()
        return f"The verdicts at each backtest date to {drawn:%Y-%m-%d} over BTC (walk-forward run {escape(self.run)})"

    def caption(self) -> str:
        """What the picture shows and how to read its colours, in one paragraph of plain text."""
        drawn = self.rows["as_of"].max()
        return (
            f"Walk-forward backtest {self.run} ({self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}, written "
            f"{self.written_at:%Y-%m-%d %H:%M} UTC), drawn to {drawn:%Y-%m-%d}: each date's verdicts as "
            "report --as-of gives them. Blue: the signal holds (its condition is met), grey: it does not, orange: "
            "not enough data. Hover a strip for that day's headline, the price for the signals holding."
        )


def how_to_make(store: HistoryStore, options: str = "") -> str:
    """The command that stores a backtest in `store` (with `options` added)."""
    return f"`capitulation backtest --data DIR --db {store.root}{options}` (DIR: recorded data, e.g. ../shared/data)"


def stored_run(store: HistoryStore, as_of: pd.Timestamp) -> StoredRun | str:
    """The latest-written walk-forward backtest run in `store` whose dates reach `as_of` (first date <= as_of
    <= last date), its rows cut at `as_of`; else one line saying why there is none and how to make one."""
    runs = store.backtest_runs()
    make = f"run {how_to_make(store)} to draw the verdict timeline here"
    if runs.empty:
        return f"No backtest in the history store at {store.root}: {make}."
    wf = runs[runs["kind"] == WALK_FORWARD]
    if wf.empty:
        return f"The history store at {store.root} holds {len(runs)} backtest run(s), none {WALK_FORWARD}: {make}."
    fit = wf[(wf["start"] <= as_of) & (wf["end"] >= as_of)]
    if fit.empty:
        spans = ", ".join(f"{r.start:%Y-%m-%d}..{r.end:%Y-%m-%d}" for r in wf.itertuples())
        return f"No {WALK_FORWARD} backtest in {store.root} reaches {as_of:%Y-%m-%d} (stored: {spans}): {make}."
    r = fit.iloc[0]
    rows = store.backtest_timeline(r["run"])
    return StoredRun(r["run"], r["written_at"], r["start"], r["end"], rows[rows["as_of"] <= as_of])
