"""The backtest picture, its tables, the backtest page and the report's timeline section: on the real timeline
of 2024-07-01..2024-08-31 (the session's `timeline_2024`), and on synthetic timelines for hostile text and the
store's choice of run (those say so)."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from capitulation.analytics.events import drawdowns
from capitulation.analytics.scorecard import scorecard
from capitulation.backtest.run import Timeline, frame
from capitulation.backtest.score import Backtest
from capitulation.cli import app as cli
from capitulation.report import html, model
from capitulation.report.backtest_charts import (
    HOVER_WIDTH,
    LABELS,
    STYLES,
    _log_ticks,
    _wrap,
    scorecard_tables,
    stored_run,
    timeline_figure,
)
from capitulation.report.backtest_html import render, write_backtest_html
from capitulation.signals import ALL_SIGNALS, evaluate_all
from capitulation.signals.common import BTC, closes
from capitulation.snapshot import Provenance, Snapshot
from capitulation.store import WALK_FORWARD, HistoryStore

EVIL = "<img src=x onerror=alert(1)>"
CODE = {"does not hold": 0, "holds": 1, "not enough data": 2}  # the strips' z values, as the module documents
SPLIT = pd.Timestamp("2024-08-01", tz="UTC")


@pytest.fixture(scope="module")
def close(recorded_full) -> pd.Series:
    return closes(recorded_full, BTC)


@pytest.fixture(scope="module")
def figure(timeline_2024, close):
    return timeline_figure(timeline_2024.rows, close, "test")


def trace(fig, name: str):
    return next(t for t in fig.data if t.name and t.name.startswith(name))


def dates(xs) -> list[str]:
    return [f"{pd.Timestamp(x):%Y-%m-%d}" for x in xs]


def test_the_price_trace_is_the_btc_close_over_the_timelines_dates_on_a_log_axis(figure, close):
    price = trace(figure, "BTC close")
    assert dates(price.x)[0] == "2024-07-01" and dates(price.x)[-1] == "2024-08-31" and len(price.x) == 62
    assert price.y[dates(price.x).index("2024-08-05")] == close[pd.Timestamp("2024-08-05", tz="UTC")]
    assert figure.layout.yaxis.type == "log" and figure.layout.yaxis.tickvals is None  # 54k..68k: plotly's ticks
    count = trace(figure, "signals holding")
    assert count.yaxis == "y2" and max(count.y) <= 8


def test_price_ticks_over_decades_are_1_2_5_times_powers_of_ten():
    assert _log_ticks(4_000.0, 126_000.0) == [5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0]
    assert _log_ticks(54_000.0, 68_000.0) is None  # within a factor 1.3: plotly's own ticks


def test_one_strip_per_signal_coded_with_each_days_status(figure, timeline_2024, recorded_full):
    hm = next(t for t in figure.data if t.type == "heatmap")
    assert list(hm.y) == [LABELS[s] for s in ALL_SIGNALS] and len(hm.x) == 62
    z = np.asarray(hm.z)
    for day in ("2024-07-10", "2024-08-05"):  # the verdicts of `report --as-of DAY`, evaluated here again
        verdicts = evaluate_all(recorded_full.upto(f"{day}T23:59:59Z"))
        assert list(z[:, dates(hm.x).index(day)]) == [CODE[v.status.value] for v in verdicts]
    assert {0, 1} <= set(z[:, dates(hm.x).index("2024-08-05")])  # that day both holds and does not
    wide = timeline_2024.statuses()
    assert (z == wide[list(ALL_SIGNALS)].replace(CODE).to_numpy(dtype=float).T).all()  # every cell


def test_the_legend_names_each_status_in_the_colour_of_its_strip_cells(figure):
    hm = next(t for t in figure.data if t.type == "heatmap")
    scale = [(edge, colour) for edge, colour in hm.colorscale]
    for style in STYLES:
        legend = trace(figure, style.status + ":")
        assert legend.marker.color == style.colour and legend.name.startswith(style.status)
        mid = (style.code - hm.zmin) / (hm.zmax - hm.zmin)  # the code's position on the colour scale
        below = [c for e, c in scale if e <= mid][-1]
        assert below == style.colour
    assert trace(figure, "holds:").name == "holds: the signal's condition is met"  # named, not good or bad


def test_troughs_and_peaks_of_the_20pc_drawdowns_are_marked_where_they_happened(figure, timeline_2024, close):
    # README's event table: 2024-05-20 -> 2024-07-07 and 2024-07-28 -> 2024-09-06 (outside the range)
    assert dates(trace(figure, "trough").x) == ["2024-07-07"]
    assert dates(trace(figure, "peak").x) == ["2024-07-28"]
    lines = sorted(dates(s.x0 for s in figure.layout.shapes if s.type == "line"))
    assert lines == ["2024-07-07", "2024-07-28"]
    # known on 2024-08-31 only: the fall from 2024-07-28 to 2024-08-05, not yet confirmed by a 20 % rally
    cut = timeline_figure(timeline_2024.rows, close[close.index <= "2024-08-31"], "as of 2024-08-31")
    troughs = trace(cut, "trough")
    assert dates(troughs.x) == ["2024-07-07", "2024-08-05"]
    assert "not yet confirmed" in troughs.text[1] and "not yet confirmed" not in troughs.text[0]


def synthetic_rows(days: pd.DatetimeIndex, headline: str) -> pd.DataFrame:
    """Synthetic timeline rows (made-up verdicts): every signal on every day, statuses in turn, one headline."""
    statuses = list(CODE)
    return frame(
        [
            {"as_of": d, "signal": s, "status": statuses[(i + j) % 3], "headline": headline}
            | {"key_metric": None, "key_value": None, "key_unit": None, "metrics_json": "[]"}
            for i, d in enumerate(days)
            for j, s in enumerate(ALL_SIGNALS)
        ]
    )


SYNTHETIC_DAYS = pd.date_range("2026-02-01T23:59:59Z", periods=5, freq="D")


def test_a_hostile_headline_reaches_the_hover_text_and_the_page_only_escaped():
    close = pd.Series([60_000.0, 50_000.0, 40_000.0, 45_000.0, 52_000.0], index=SYNTHETIC_DAYS.floor("D"))
    fig = timeline_figure(synthetic_rows(SYNTHETIC_DAYS, f"synthetic {EVIL}"), close, "synthetic")
    hm = next(t for t in fig.data if t.type == "heatmap")
    cells = [c for row in hm.text for c in row]
    assert all("&lt;img src=x onerror=alert(1)&gt;" in c and EVIL not in c for c in cells)
    page = pio.to_html(fig, include_plotlyjs=False)
    assert EVIL not in page and "onerror=alert(1)&gt;" in page


@given(st.text())
def test_hover_wrapping_escapes_every_character_and_keeps_every_word_in_short_lines(text):
    out = _wrap(text)
    assert "<" not in out.replace("<br>", "") and ">" not in out.replace("<br>", "")
    lines = [unescape(line) for line in out.split("<br>")]
    assert all(len(line) <= HOVER_WIDTH for line in lines)
    assert "".join("".join(line.split()) for line in lines) == "".join(text.split())  # only spacing changes


@pytest.fixture(scope="module")
def backtest_2024(timeline_2024, close) -> Backtest:
    """A Backtest of the real 2024-07..08 timeline split at 2024-08-01, scored by `analytics.scorecard`. The
    fixed-threshold timeline stands in with the walk-forward rows: the page's rendering is under test here,
    not the fit (that is `capitulation backtest`'s)."""
    status = timeline_2024.statuses()
    status.index = status.index.floor("D")
    swings = drawdowns(close, 0.2)
    before, after = status[status.index < SPLIT], status[status.index >= SPLIT]
    return Backtest(
        timeline_2024,
        timeline_2024,
        SPLIT,
        {},
        scorecard(status, close, swings),
        scorecard(before, close, swings),
        scorecard(after, close, swings),
    )


def held_within_7_days(rows: pd.DataFrame, day: str) -> bool:
    """Whether one signal's timeline `rows` hold on some date within 7 days of `day` (a hit, by hand)."""
    near = (rows["as_of"].dt.floor("D") - pd.Timestamp(day, tz="UTC")).abs() <= pd.Timedelta(days=7)
    return bool((rows.loc[near, "status"] == "holds").any())


def test_the_scorecard_tables_show_each_signals_hits_as_the_timeline_has_them(backtest_2024, timeline_2024):
    sig, score, fwd = scorecard_tables({"walk-forward": backtest_2024.walk_forward, "in sample": None})
    assert sig.columns == ("signal", "troughs WF", "peaks WF", "lag WF", "held WF")
    rows = timeline_2024.rows
    for r in sig.rows:
        s = next(k for k, v in LABELS.items() if v == r[0])
        mine = rows[rows["signal"] == s]
        trough_hit, peak_hit = (held_within_7_days(mine, day) for day in ("2024-07-07", "2024-07-28"))
        assert r[1] == ("100% (1/1)" if trough_hit else "0% (0/1)")
        assert r[2] == ("100% (1/1)" if peak_hit else "0% (0/1)")
        assert r[4] == f"{(mine['status'] == 'holds').mean():.0%}"
    on_trough = (rows[rows["as_of"].dt.floor("D") == "2024-07-07"]["status"] == "holds").sum()
    trough_row = next(r for r in score.rows if r[1] == "trough")
    assert trough_row[2] == "1" and trough_row[4 + on_trough] == "1"  # one trough, at score `on_trough`
    assert [r[0] for r in fwd.rows] == [str(n) for n in range(9)]
    assert fwd.columns == ("score", "30 d WF", "90 d WF", "180 d WF")


def test_the_backtest_page_is_one_self_contained_file_with_the_picture_tables_and_guide(
    backtest_2024, recorded_full, tmp_path
):
    path = write_backtest_html(backtest_2024, recorded_full, tmp_path / "bt.html")
    page = path.read_text()
    assert "<script" in page and not re.search(r"<script[^>]*\bsrc=", page)  # plotly.js inlined: works offline
    assert 'id="chart-backtest"' in page and "Plotly.newPlot" in page
    signals = re.search(r'<table id="table-signals">(.*?)</table>', page).group(1)
    assert signals.count("<tr>") == 1 + 8
    assert "troughs OOS" in signals and "peaks IS" in signals
    assert "2024-08-01" in page and "Out of sample (OOS)" in page and "A hit</b>" in page
    assert '"text":"split 2024-08-01"' in page  # the split marked on the picture
    assert not list(tmp_path.glob(".bt.html.*"))  # written under a temporary name, then renamed


def test_the_figure_stays_light_enough_to_inline_over_years_of_dates(figure):
    per_date = len(figure.to_json()) / 62
    assert per_date < 2_500  # bytes: 2,700 dates x 8 signals under 7 MB besides plotly.js (4.8 MB)


def labelled_store(root, rows: pd.DataFrame) -> HistoryStore:
    """A store with `rows` as the walk-forward run and, written after it, an unlabelled run of the same dates
    (as the fitted-at-split run of `capitulation backtest` would be)."""
    store = HistoryStore(root)
    store.write_backtest("fittedrun", rows.assign(status="not enough data"))
    store.write_backtest("walkforward", rows)
    store.label_backtest("walkforward", WALK_FORWARD)
    return store


def test_the_store_gives_the_walk_forward_run_that_reaches_as_of_cut_there(timeline_2024, tmp_path):
    assert "No backtest in the history store" in stored_run(HistoryStore(tmp_path / "empty"), SPLIT)
    store = HistoryStore(tmp_path / "unlabelled")
    store.write_backtest("somerun", timeline_2024.rows)
    assert "none walk-forward" in stored_run(store, SPLIT)
    store = labelled_store(tmp_path / "db", timeline_2024.rows)
    got = stored_run(store, pd.Timestamp("2024-08-15T23:59:59Z"))
    assert got.run == "walkforward" and got.rows["as_of"].max() == pd.Timestamp("2024-08-15T23:59:59Z")
    assert (got.rows["status"] != "not enough data").any()
    late = stored_run(store, pd.Timestamp("2026-02-05T23:59:59Z"))
    assert "reaches 2026-02-05" in late and "2024-07-01..2024-08-31" in late and "capitulation backtest --data" in late


def test_the_html_report_draws_the_timeline_to_its_as_of_below_the_cards(recorded_full, timeline_2024, tmp_path):
    store = labelled_store(tmp_path / "db", timeline_2024.rows)
    snap = recorded_full.upto("2024-08-15T23:59:59Z")
    page = html.render(model.build(snap), snap, store)
    section = page[page.index('<section id="chart-backtest">') :]
    assert page.index("The eight signals") < page.index("chart-backtest") < page.index("<h2>Charts")
    assert "date to 2024-08-15 over BTC (walk-forward run walkforward)" in section
    assert page.count("plotly.js v") == 1  # inlined once, with the first figure: the timeline


def test_a_report_without_a_backtest_says_how_to_make_one(default_snapshot, tmp_path):
    page = html.render(model.build(default_snapshot), default_snapshot, HistoryStore(tmp_path))
    assert "No backtest in the history store" in page and "capitulation backtest --data DIR --db" in page


def hostile_prices() -> Snapshot:
    """BTC closes for five days (made-up numbers, labelled synthetic)."""
    prov = Provenance(source="synthetic", retrieved_at="2026-02-05", synthetic=True)
    prices = pd.DataFrame(
        {"date": SYNTHETIC_DAYS.floor("D"), "symbol": "BTC-USD", "open": None, "high": None, "low": None}
        | {"close": [60_000.0, 50_000.0, 40_000.0, 45_000.0, 52_000.0], "volume": None}
    )
    return Snapshot("2026-02-05T23:59:59Z", {"daily_prices": prices}, {"daily_prices": prov})


def test_a_hostile_stored_headline_reaches_the_report_only_escaped(tmp_path):
    store = labelled_store(tmp_path, synthetic_rows(SYNTHETIC_DAYS, f"synthetic {EVIL}"))
    snap = hostile_prices()
    page = html.render(model.build(snap), snap, store)
    assert "chart-backtest" in page and EVIL not in page


def test_report_html_with_a_store_holding_a_backtest_draws_it(shared_data, timeline_2024, tmp_path):
    store = labelled_store(tmp_path / "db", timeline_2024.rows)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(
        cli,
        ["report", "--data", str(shared_data), "--as-of", "2024-08-20", "--html", str(out), "--db", str(store.root)],
    )
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "date to 2024-08-20 over BTC" in page
    assert not re.search(r"<script[^>]*\bsrc=", page)


def test_a_timeline_over_a_weekly_step_draws_one_cell_per_date(timeline_2024, close):
    rows = timeline_2024.rows
    weekly = rows[rows["as_of"].dt.day_of_week == 0]  # Mondays
    fig = timeline_figure(weekly, close, "weekly")
    hm = next(t for t in fig.data if t.type == "heatmap")
    assert len(hm.x) == weekly["as_of"].nunique() and np.asarray(hm.z).shape == (8, len(hm.x))
    assert Timeline(weekly, "k", 0, 0).statuses().shape[0] == len(hm.x)


def test_an_unreadable_backtest_in_the_store_costs_the_picture_not_the_report(tmp_path):
    bad = tmp_path / "table=_backtest" / "run=broken" / "chunk.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not parquet")
    snap = hostile_prices()
    page = html.render(model.build(snap), snap, HistoryStore(tmp_path))
    assert "cannot read the backtests in the history store" in page and "The eight signals" in page


def test_a_backtest_with_no_dates_before_its_split_leaves_the_in_sample_columns_out(backtest_2024, recorded_full):
    page = render(replace(backtest_2024, in_sample=None), recorded_full)
    signals = re.search(r'<table id="table-signals">(.*?)</table>', page).group(1)
    assert "troughs OOS" in signals and "troughs IS" not in signals
    assert "in sample: no dates on this side of 2024-08-01" in page


def test_backtest_html_writes_the_page_from_the_command(shared_data, tmp_path):
    out = tmp_path / "bt.html"
    args = ["backtest", "--data", str(shared_data), "--db", str(tmp_path / "db"), "--from", "2024-07-01"]
    res = CliRunner().invoke(cli, [*args, "--to", "2024-07-16", "--every", "5d", "--html", str(out), "--json"])
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "The verdicts at each of 4 dates 2024-07-01..2024-07-16" in page
    assert not re.search(r"<script[^>]*\bsrc=", page) and "in sample: no dates on this side of 2024-01-01" in page
