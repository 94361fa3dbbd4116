"""The dashboard's pages and callbacks as plain functions, on the recorded real data (and one hostile snapshot)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import dash
import pandas as pd
import pytest
from dash import dcc, html
from dash.development.base_component import Component
from typer.testing import CliRunner

from capitulation.analytics.mining import catalogue_at
from capitulation.cli import app as cli
from capitulation.cli.dashboard import is_loopback
from capitulation.dashboard import create_app
from capitulation.dashboard.app import on_tick
from capitulation.dashboard.components import guarded, status_line
from capitulation.dashboard.pages import PAGES, cost_floors, markets, options, render_page
from capitulation.dashboard.state import LiveState, View
from capitulation.errors import CapitulationError, SourceError
from capitulation.report import charts
from capitulation.signals import evaluate_all
from capitulation.snapshot import Provenance, Snapshot
from capitulation.store import WALK_FORWARD, HistoryStore

EVIL = "<img src=x onerror=alert(1)>"


def nodes(c: object) -> Iterator[Component]:
    """Every component in a tree (lists of components included)."""
    if isinstance(c, list | tuple):
        for k in c:
            yield from nodes(k)
    elif isinstance(c, Component):
        yield c
        yield from nodes(getattr(c, "children", None))


def texts(c: object) -> list[str]:
    """Every string child in a tree."""
    out = []
    for n in nodes(c):
        kids = getattr(n, "children", None)
        out += [k for k in (kids if isinstance(kids, list | tuple) else [kids]) if isinstance(k, str)]
    return out


def errors(c: object) -> list[str]:
    return [n.children for n in nodes(c) if "message error" in (getattr(n, "className", None) or "")]


def find(c: object, cid: str) -> Component:
    return next(n for n in nodes(c) if getattr(n, "id", None) == cid)


@pytest.fixture(scope="module")
def state(default_snapshot, tmp_path_factory) -> LiveState:
    s = LiveState(lambda: default_snapshot, HistoryStore(tmp_path_factory.mktemp("db")))
    assert s.reload() and s.error is None
    return s


def test_every_page_renders_with_its_id_and_no_error(state):
    for page in PAGES:
        out = render_page(state, page.path)
        assert out.id == f"page-{page.key}"
        assert errors(out) == [], page.key


def test_an_unknown_path_says_which_pages_exist(state):
    out = render_page(state, "/nowhere")
    assert "no page at /nowhere" in errors(out)[0] and "/cost-floors" in errors(out)[0]


def test_overview_shows_the_eight_verdict_cards_with_their_status(state):
    out = render_page(state, "/")
    cards = [n for n in nodes(out) if str(getattr(n, "id", "")).startswith("card-")]
    verdicts = state.view.report.verdicts
    assert [c.id for c in cards] == [f"card-{v.signal}" for v in verdicts]
    assert [getattr(c, "data-status") for c in cards] == [v.status.value for v in verdicts]
    # on 2026-02-05: MSTR at mNAV (EV) 0.99 holds; the option chain is 12 days old, so DVOL decides
    assert getattr(find(out, "card-treasury"), "data-status") == "holds"
    assert getattr(find(out, "card-options_stress"), "data-status") == "holds"
    card = texts(find(out, "card-options_stress"))
    assert any("from DVOL (latest option chain is 12 days old)" in t for t in card)
    assert not any("oldest input option_quotes" in t for t in card)  # the stale chain is not an input
    assert find(out, "fig-levels").figure.data


def test_dealer_selector_changes_the_gex_profile(state):
    classic = options.gex_panel(state, "classic", "strike")
    short = options.gex_panel(state, "short_all", "strike")
    y_classic = find(classic, "fig-gex_dealer_profile").figure.data[0].y
    y_short = find(short, "fig-gex_dealer_profile").figure.data[0].y
    assert len(y_classic) == len(y_short) == 201
    assert max(y_short) < 0 < max(y_classic)  # short all open interest: dealers short gamma everywhere
    assert "gamma flip $88,827" in classic[1].children  # the chain of 2026-01-24, spot about $89k
    assert "gamma flip -" in short[1].children
    assert "short_all: dealers short all open interest" in short[1].children


def test_an_unknown_dealer_model_is_a_message_not_a_crash(state):
    assert "unknown dealer model 'tape'" in errors(options.gex_panel(state, "tape", "strike"))[0]


def test_the_trade_tape_models_say_the_snapshot_has_no_tape(state):
    out = options.gex_panel(state, "trades_net", "strike")
    assert errors(out) == [] and "holds no trade tape" in " ".join(texts(out))


def test_the_expiry_selector_restricts_the_gex_profile_to_one_expiry(state):
    first = options.expiries(state)[0]
    one = find(options.gex_panel(state, "classic", "strike", first.isoformat()), "fig-gex_dealer_profile").figure
    every = find(options.gex_panel(state, "classic", "strike"), "fig-gex_dealer_profile").figure
    assert state.view.options(expiry=first).expiry == first
    assert max(abs(v) for v in one.data[0].y) < max(abs(v) for v in every.data[0].y)  # one expiry's gamma only


def test_cards_show_human_labels_the_headlines_figures_and_a_status_legend(state):
    out = render_page(state, "/")
    card = " ".join(texts(find(out, "card-leverage_flush")))
    headline = next(v for v in state.view.report.verdicts if v.signal == "leverage_flush").headline
    assert "36%" in headline and "88% of peak in BTC" in headline and "49% in USD" in headline
    shown = texts(find(out, "card-leverage_flush").children[4])  # the key numbers under the headline
    pairs = [("OI build-up removed (in BTC): ", "36.3%"), ("OI vs its peak (in BTC): ", "87.8%")]
    pairs += [("OI vs its peak (in USD): ", "49.4%"), ("Open interest: ", "93,492 BTC")]
    assert shown == [t for p in pairs for t in p]
    assert "oi_btc" not in card and "flush_ratio_usd" not in card
    assert "OI build-up removed in USD (price-driven, not judged): 186.0%" in card  # in the evidence, labelled
    assert "holds: the stress condition is met" in " ".join(texts(find(out, "status-legend")))


def test_cards_mark_a_change_since_the_previous_stored_run(recorded_full, default_snapshot, tmp_path):
    store = HistoryStore(tmp_path)
    before = evaluate_all(recorded_full.upto("2026-01-20"))
    store.write_verdicts(before)
    s = LiveState(lambda: default_snapshot, store)
    assert s.reload()
    out = render_page(s, "/")
    now = {v.signal: v.status.value for v in s.view.report.verdicts}
    was = {v.signal: v.status.value for v in before}
    marks = {sig: getattr(find(out, f"card-{sig}").children[2], "data-changed") for sig in now}
    assert marks == {sig: "yes" if now[sig] != was[sig] else "no" for sig in now}
    assert "yes" in marks.values()  # 2026-01-20 to 2026-02-05: the fall flipped some verdicts


def test_electricity_slider_reprices_every_rig_from_analytics_mining(state):
    low, high = (cost_floors.miner_panel(state, p) for p in (0.03, 0.06))
    y_low, y_high = (find(p, "fig-miners").figure.data[0].x for p in (low, high))  # horizontal bars
    expected = catalogue_at(state.view.network, 0.06)["shutdown_price_usd"]
    assert list(y_high) == pytest.approx(list(expected))
    assert [h / lo for h, lo in zip(y_high, y_low, strict=True)] == pytest.approx([2.0] * len(expected))  # linear
    rows = texts(find(high, "miner-table"))
    assert "Antminer S21" in rows and "$50,652" in rows  # the S21 breakeven at $0.06/kWh on 2026-02-05
    assert "Antminer S9" not in rows and "2024-01" in rows  # the rigs of the day, with their release month
    floors = find(high, "miner-floors").children
    assert "Antminer S21 XP (13.5 J/TH) $39,074" in floors and "7 rigs released within 4 years" in floors


def test_electricity_outside_the_slider_range_is_refused(state):
    assert "within $0.03-$0.1/kWh" in errors(cost_floors.miner_panel(state, 0.5))[0]


def test_cost_floors_lists_treasury_companies_most_stressed_first(state):
    out = render_page(state, "/cost-floors")
    first_row = find(out, "mnav").children[1].children[0]
    assert [td.children for td in first_row.children][:3] == ["MSTR", "Strategy", "complete"]
    rows = find(out, "mnav").children[1].children
    assert all(any(td.children not in ("-", "") for td in r.children[5:11]) for r in rows)  # no all-"-" rows
    held = find(out, "holdings-only").children[1].children
    assert len(rows) + len(held) == len(state.view.companies)  # the rest listed with their holdings only


def test_cost_floors_show_verdict_6s_numbers_from_a_saved_snapshot(state, tmp_path):
    # the capital stack travels in the snapshot: a saved and reloaded one (dashboard --snapshot) gives the
    # same mNAV table as verdict 6, coupons and charges included
    back = LiveState(lambda: Snapshot.load(state.view.snap.save(tmp_path / "snap")), HistoryStore(tmp_path / "db"))
    assert back.reload()
    pd.testing.assert_frame_equal(back.view.companies, state.view.companies)
    mstr = back.view.companies.set_index("ticker").loc["MSTR"]
    verdict = next(v for v in back.view.report.verdicts if v.signal == "treasury")
    assert verdict.metric("mnav_ev").value == mstr["mnav_ev"] and mstr["annual_interest_usd"] > 0
    assert mstr["dividends_to_nav"] == pytest.approx(1.44e9 * 12 / 21 / mstr["btc_nav_usd"], rel=1e-6)
    first_row = find(render_page(back, "/cost-floors"), "mnav").children[1].children[0]
    assert [td.children for td in first_row.children][6] == f"{mstr['mnav_ev']:.3f}"


def test_leverage_page_shows_the_event_study_newest_first(state):
    out = render_page(state, "/leverage")
    body = find(out, "event-study").children[1].children
    assert len(body) == len(state.view.study.table)
    assert body[0].children[1].children == "2026-02-05 (open)"  # the drawdown still running on the as_of day


def test_leverage_page_shows_the_observed_long_liquidations_into_each_trough(state):
    body = find(render_page(state, "/leverage"), "event-study").children[1].children
    cells = {row.children[1].children: row.children[-1].children for row in body}
    assert cells["2026-02-05 (open)"] == "-"  # CoinGlass's series ends 2025-09-08
    assert cells["2021-06-08"].endswith("(largest $2.75B 04-18)")


def test_markets_page_shows_the_reports_market_figures_and_each_verdict(state):
    out = render_page(state, "/markets")
    keys = ["correlations", "drawdowns", "sectors", "hedging_diversifiers", "hedge_desk"]
    assert set(state.view.figures(keys)) == set(keys)  # the recorded data has every market table
    for k in keys:
        assert find(out, f"fig-{k}").figure.data
    for signal in ("cross_asset", "sector_rotation", "hedging"):
        assert find(out, f"section-{signal}")


def test_without_market_figures_the_verdicts_metrics_are_tables(state, tmp_path, monkeypatch):
    monkeypatch.setattr(markets, "FIGURES", ("levels",))  # a report without them
    bare = LiveState(state.loader, HistoryStore(tmp_path))
    assert bare.reload()
    out = render_page(bare, "/markets")
    rows = find(out, "metrics-cross_asset").children[1].children
    cross = next(v for v in state.view.report.verdicts if v.signal == "cross_asset")
    assert len(rows) == len(cross.metrics)
    assert rows[0].children[0].children == "BTC drawdown from its all-time high"  # cross.metrics[0], labelled
    assert cross.metrics[0].name == "BTC-USD_drawdown_ath"


def test_a_page_builds_its_figures_when_first_opened_and_once_per_snapshot(default_snapshot, tmp_path):
    s = LiveState(lambda: default_snapshot, HistoryStore(tmp_path))
    assert s.reload()
    assert s.view.computed() == []  # loading computes nothing: the server answers at once
    assert "BTC $62,702" in " ".join(texts(status_line(s)))
    assert s.view.computed() == ["spot"]  # the page frame needs no signal evaluated
    render_page(s, "/leverage")
    leverage = [("figure", "oi_vs_price"), ("figure", "funding"), ("figure", "liquidation_density")]
    assert set(s.view.computed()) == {"spot", "study", "report", *leverage}  # no other page's figures
    shown = s.view.figure("funding")
    render_page(s, "/leverage")
    assert s.view.figure("funding") is shown  # a second visit reuses them


def test_requests_from_many_threads_compute_each_item_once(default_snapshot, tmp_path, monkeypatch):
    built, real = [], charts.figure
    monkeypatch.setattr(charts, "figure", lambda *args: built.append(args[0]) or real(*args))  # read at call time
    view = View(default_snapshot)
    with ThreadPoolExecutor(8) as pool:
        figs = list(pool.map(lambda _: view.figure("levels"), range(8)))
    assert built == ["levels"] and all(f is figs[0] for f in figs)


def test_the_as_of_picker_replays_a_past_day_from_the_loaded_data(state, recorded_full):
    out = render_page(state, "/", "2026-01-20")
    assert "Replaying 2026-01-20 23:59 UTC" in find(out, "replay-note").children
    expected = [v.status.value for v in evaluate_all(recorded_full.upto("2026-01-20"))]
    cards = [n for n in nodes(out) if str(getattr(n, "id", "")).startswith("card-")]
    assert [getattr(c, "data-status") for c in cards] == expected  # as `report --as-of 2026-01-20`
    assert state.at("2026-01-20") is state.at("2026-01-20")  # computed once while kept
    assert state.at(None) is state and state.at("2026-02-05") is state  # the loaded day: the live view
    assert errors(render_page(state, "/options", "2026-01-20")) == []
    latest = render_page(state, "/")
    assert not [n for n in nodes(latest) if getattr(n, "id", None) == "replay-note"]


def test_refresh_keeps_the_last_good_data_when_loading_fails(default_snapshot, tmp_path):
    calls = []

    def loader() -> Snapshot:
        calls.append(1)
        if len(calls) > 1:
            raise SourceError("deribit: HTTP 503")
        return default_snapshot

    s = LiveState(loader, HistoryStore(tmp_path), refresh_s=300)
    assert s.reload()
    shown = s.view
    assert s.refresh() is False and len(calls) == 1  # within half the interval: no reload
    assert s.reload() is False
    assert s.view is shown and s.error == "deribit: HTTP 503"
    line = " ".join(texts(status_line(s)))
    assert "data as of 2026-02-05 23:59 UTC" in line
    assert "deribit: HTTP 503; showing the last good data" in line
    assert errors(render_page(s, "/options")) == []


def test_a_new_view_is_built_only_for_a_new_as_of(recorded_full, default_snapshot, tmp_path):
    snaps = [default_snapshot, default_snapshot, recorded_full.upto("2026-02-04")]
    s = LiveState(lambda: snaps.pop(0), HistoryStore(tmp_path))
    assert s.reload()
    first = s.view
    _, version = on_tick(s)  # refreshed within half the interval: skipped
    assert version is dash.no_update
    assert s.reload() is False and s.view is first  # same as_of: the report is not recomputed
    assert s.reload() is True and s.version() == "2026-02-04T23:59:59+00:00"


def test_unexpected_errors_become_a_message_without_a_traceback():
    def boom() -> None:
        raise ValueError("bad value")

    def data() -> None:
        raise SourceError("mempool.space: timed out")

    assert guarded(boom)().children == "unexpected ValueError: bad value (details in the server log)"
    assert guarded(data)().children == "mempool.space: timed out"


def test_before_any_good_load_pages_say_why_and_history_still_works(tmp_path):
    def loader() -> Snapshot:
        raise SourceError("no network")

    s = LiveState(loader, HistoryStore(tmp_path))
    assert s.reload() is False
    assert errors(render_page(s, "/")) == ["no data loaded yet: no network"]
    assert errors(render_page(s, "/history")) == []


def test_history_explains_how_to_fill_an_empty_store(state):
    msg = " ".join(texts(render_page(state, "/history")))
    assert "holds no verdicts yet" in msg and "capitulation report --data ../shared/data --db" in msg


def test_history_plots_each_stored_run(recorded_full, default_snapshot, tmp_path):
    store = HistoryStore(tmp_path)
    for snap in (recorded_full.upto("2026-01-31"), default_snapshot):
        store.write_verdicts(evaluate_all(snap))
    s = LiveState(lambda: default_snapshot, store)
    out = render_page(s, "/history")
    fig = find(out, "fig-history").figure
    assert sum(len(t.x) for t in fig.data) == 16  # eight signals x two runs
    assert "2 stored run(s)" in " ".join(texts(out))


def test_history_says_how_to_make_a_backtest_when_none_is_stored(state):
    out = render_page(state, "/history")
    assert errors(out) == []
    msg = " ".join(texts(out))
    assert "No backtest in the history store" in msg and "capitulation backtest --data DIR --db" in msg


def test_history_draws_the_latest_walk_forward_backtest_with_its_scorecard(recorded_full, timeline_2024, tmp_path):
    store = HistoryStore(tmp_path)
    store.write_backtest("walkforward", timeline_2024.rows)
    store.label_backtest("walkforward", WALK_FORWARD)
    store.write_backtest("fitted", timeline_2024.rows.assign(status="not enough data"))  # newer, not walk-forward
    s = LiveState(lambda: recorded_full.upto("2024-08-20T23:59:59Z"), store)
    assert s.reload()
    out = render_page(s, "/history")
    assert errors(out) == []
    fig = find(out, "fig-backtest").figure
    strips = next(t for t in fig.data if t.type == "heatmap")
    assert len(strips.y) == 8 and len(strips.x) == 51  # 2024-07-01..2024-08-20: the timeline to the view's as_of
    assert 1 in set(strips.z[0]) | set(strips.z[4])  # walk-forward statuses, not the fitted run's
    signals = find(out, "backtest-signals")
    assert len(signals.children[1].children) == 8
    assert [th.children for th in signals.children[0].children.children][:3] == ["signal", "troughs WF", "peaks WF"]
    text = " ".join(texts(out))
    assert "walk-forward only" in text and "holds no verdicts yet" in text  # the per-run part below it


def hostile_snapshot() -> Snapshot:
    """Text fields carrying markup, as a hostile data file or endpoint could; made-up numbers, labelled synthetic."""
    prov = Provenance(source=f"synthetic {EVIL}", retrieved_at="2026-02-05", notes=EVIL, synthetic=True)
    days = pd.date_range(end="2026-02-05", periods=5, freq="D", tz="UTC")
    prices = pd.DataFrame(
        {"date": list(days) * 2, "symbol": ["BTC-USD"] * 5 + ["MSTR"] * 5, "open": None, "high": None, "low": None}
        | {"close": [60_000.0] * 5 + [100.0] * 5, "volume": None}
    )
    tr = pd.DataFrame(
        {"as_of": ["2026-02-02"], "published": ["2026-02-02"], "name": [EVIL], "ticker": ["MSTR"], "btc_held": [1e3]}
        | {"avg_cost_usd": [None], "shares_basic": [1e6], "shares_diluted": [None], "share_price_usd": [None]}
        | {"debt_usd": [0.0], "preferred_usd": [0.0], "cash_usd": [0.0], "source": [EVIL]}
    )
    return Snapshot(
        "2026-02-05T23:59:59Z",
        {"daily_prices": prices, "treasury_companies": tr},
        {"daily_prices": prov, "treasury_companies": prov},
    )


def test_strings_from_the_data_reach_the_page_only_as_text(tmp_path):
    s = LiveState(hostile_snapshot, HistoryStore(tmp_path))
    assert s.reload()
    for page in PAGES:
        out = render_page(s, page.path)
        for n in nodes(out):
            assert not isinstance(n, dcc.Markdown | html.Iframe | html.Script)
            assert not getattr(n, "dangerously_allow_html", False)
    cost = texts(render_page(s, "/cost-floors"))
    assert EVIL in cost  # the company name, shown as text (React escapes it)


def test_pages_without_their_tables_say_what_is_missing(tmp_path):
    s = LiveState(hostile_snapshot, HistoryStore(tmp_path))
    assert s.reload()
    assert "no option chain in this snapshot" in " ".join(texts(render_page(s, "/options")))
    lev = " ".join(texts(render_page(s, "/leverage")))
    assert "no perp_metrics in this snapshot" in lev and "no event study" in lev


def test_create_app_serves_its_javascript_locally_and_wires_the_callbacks(default_snapshot, tmp_path):
    web = create_app(lambda: default_snapshot, HistoryStore(tmp_path), refresh_s=60)
    assert web.config.serve_locally is True
    assert {"page.children", "gex-profile.children", "miners.children", "download.data"} <= set(web.callback_map)
    shell = web.layout()
    assert [find(shell, f"nav-{p.key}").href for p in PAGES] == [p.path for p in PAGES]
    assert find(shell, "tick").interval == 60_000
    assert "data as of 2026-02-05 23:59 UTC, BTC $62,702" in " ".join(texts(shell))


def test_create_app_fails_with_a_clear_message_when_nothing_loads(tmp_path):
    def loader() -> Snapshot:
        raise SourceError("no recorded data under /nowhere")

    with pytest.raises(CapitulationError, match="cannot load the snapshot: no recorded data under /nowhere"):
        create_app(loader, HistoryStore(tmp_path))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_only_loopback_hosts_count_as_local(host, loopback):
    assert is_loopback(host) is loopback


def test_dashboard_command_refuses_a_remote_host_without_allow_remote(shared_data):
    res = CliRunner().invoke(cli, ["dashboard", "--data", str(shared_data), "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "--allow-remote" in res.output and "Traceback" not in res.output


def test_dashboard_command_warns_when_serving_beyond_this_machine(shared_data, tmp_path, monkeypatch):
    served = []
    monkeypatch.setattr(dash.Dash, "run", lambda self, **kw: served.append(kw))
    with socket.socket() as s:  # a free port: 8050 may be in use on a shared machine
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
    args = ["dashboard", "--data", str(shared_data), "--db", str(tmp_path), "--host", "0.0.0.0", "--allow-remote"]
    res = CliRunner().invoke(cli, [*args, "--port", str(port)])
    assert res.exit_code == 0, res.output
    assert f"warning: serving on 0.0.0.0:{port}" in res.output
    assert served == [{"host": "0.0.0.0", "port": port, "debug": False}]


def test_dashboard_command_fails_at_once_on_a_busy_port(shared_data):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = CliRunner().invoke(cli, ["dashboard", "--data", str(shared_data), "--port", str(port)])
    assert res.exit_code == 2 and f"cannot serve on 127.0.0.1:{port}" in res.output


def test_dashboard_command_needs_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/data here: nothing to default to
    monkeypatch.delenv("CAPITULATION_DATA", raising=False)
    res = CliRunner().invoke(cli, ["dashboard"])
    assert res.exit_code == 2 and "--data DIR" in res.output
