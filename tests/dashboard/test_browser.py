"""The dashboard in a real browser: headless Debian Chromium driven by Playwright against
`capitulation dashboard --data ../shared/data`, started as its own process on a free loopback port.

Every page loads with charts that have data and no console errors; the eight verdict cards show their
statuses; the dealer-model selector and the electricity slider redraw their charts. A screenshot of each
page goes to test-artifacts/, the measured load times to test-artifacts/timings.json (and stdout).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from capitulation.backtest import run
from capitulation.dashboard.pages import PAGES
from capitulation.signals import evaluate_all
from capitulation.store import WALK_FORWARD, HistoryStore

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
START_TIMEOUT_S = 120.0  # a server that does not listen by then is broken, not slow

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (CI installs Debian's chromium with apt-get)"
)

CHARTS_DRAWN = """key => {
    const graphs = [...document.querySelectorAll(`#page-${key} .js-plotly-plot`)];
    return graphs.every(g => g.data && g.data.length && g.querySelector('.main-svg'));
}"""
CHART_POINTS = """key => [...document.querySelectorAll(`#page-${key} .js-plotly-plot`)].map(g => [
    g.closest('[id^=fig-]').id,
    g._fullData.reduce((n, t) => n + (t._length ?? (t.cells ? t.cells.values.length : (t.z || []).length)), 0)])"""
"""Per chart: its id and the number of data points plotly drew (table cells and heatmap rows included)."""


@dataclass
class Session:
    page: Page
    url: str
    timings: dict[str, object]
    console_errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dashboard exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    pytest.fail(f"dashboard not listening after {START_TIMEOUT_S:.0f} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def session(shared_data, recorded_full, default_snapshot, tmp_path_factory) -> Iterator[Session]:
    """Browser up first, then the server; the first page is timed from the moment the server listens."""
    sync_api = pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("dashboard")
    store = HistoryStore(tmp / "db")
    for snap in (recorded_full.upto("2026-01-31"), default_snapshot):  # two real runs for the History page
        store.write_verdicts(evaluate_all(snap))
    backtest = run.timeline(recorded_full, run.dates(recorded_full, "2026-01-27", "2026-02-05"), store=store)
    store.label_backtest(backtest.key, WALK_FORWARD)  # ten real days for the History page's backtest
    ARTIFACTS.mkdir(exist_ok=True)
    port, log = free_port(), tmp / "server.log"
    cmd = [sys.executable, "-m", "capitulation", "dashboard", "--data", str(shared_data), "--db", str(store.root)]
    with sync_api.sync_playwright() as pw, open(log, "w") as out:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        launched = time.perf_counter()
        proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_listening(proc, port, log)
            listening = time.perf_counter()
            s = Session(page, f"http://127.0.0.1:{port}", {"browser": f"Chromium {browser.version}"})
            page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: s.console_errors.append(str(e)))
            page.goto(s.url + "/")
            page.locator("#page-overview .card").nth(7).wait_for(state="visible")
            visible = time.perf_counter()
            page.wait_for_function(CHARTS_DRAWN, arg="overview")
            s.timings |= {
                "server_start_to_listening_s": round(listening - launched, 3),
                "first_page_visible_s": round(visible - listening, 3),
                "first_page_charts_drawn_s": round(time.perf_counter() - listening, 3),
            }
            yield s
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            browser.close()


def test_the_eight_verdict_cards_show_their_statuses(session, default_snapshot):
    cards = session.page.locator("#page-overview .card")
    expected = [(f"card-{v.signal}", v.status.value) for v in evaluate_all(default_snapshot)]
    shown = [(cards.nth(i).get_attribute("id"), cards.nth(i).locator(".status").inner_text()) for i in range(8)]
    assert shown == expected
    assert cards.count() == 8


def test_every_page_loads_with_charts_that_have_data_and_no_console_errors(session):
    page, switches = session.page, {}
    for p in [*PAGES[1:], PAGES[0]]:  # from the overview through every page and back
        start = time.perf_counter()
        page.click(f"#nav-{p.key}")
        page.wait_for_selector(f"#page-{p.key}")
        page.wait_for_function(CHARTS_DRAWN, arg=p.key)
        switches[p.key] = round(time.perf_counter() - start, 3)
        assert not page.locator(".message.error").count(), page.locator(".message.error").all_inner_texts()
        points = page.evaluate(CHART_POINTS, p.key)
        assert points, f"{p.key}: no chart"
        assert all(n > 0 for _, n in points), f"{p.key}: a chart without data: {points}"
        assert "Traceback" not in page.content()
        page.screenshot(path=ARTIFACTS / f"dashboard-{p.key}.png", full_page=True)
    session.timings["page_switch_s"] = switches
    (ARTIFACTS / "timings.json").write_text(json.dumps(session.timings, indent=2) + "\n")
    print(f"\nfirst page {session.timings['first_page_visible_s']:.2f} s; page switches (s): {switches}")
    assert session.console_errors == []  # timings are recorded in test-artifacts/timings.json, not asserted


def test_the_dealer_model_selector_changes_the_gex_profile(session):
    page = session.page
    page.click("#nav-options")
    profile = """() => {
        const g = document.querySelector('#fig-gex_dealer_profile .js-plotly-plot');
        return g && g._fullData && g._fullData.length ? Array.from(g._fullData[0].y) : null;
    }"""
    page.wait_for_function(profile)
    classic = page.evaluate(profile)
    page.get_by_text("short_all: dealers short all open interest").click()
    page.wait_for_function("() => document.getElementById('gex-facts').innerText.startsWith('short_all')")
    page.wait_for_function(profile)
    short = page.evaluate(profile)
    assert len(short) == len(classic) == 201
    assert max(short) < 0 < max(classic)  # short all open interest: dealers short gamma at every spot
    assert "gamma flip -" in page.locator("#gex-facts").inner_text()
    assert session.console_errors == []


def test_the_electricity_slider_reprices_the_rigs(session):
    page = session.page
    page.click("#nav-cost-floors")
    page.locator("#power [role=slider]").press("End")  # the slider's maximum, $0.10/kWh
    page.wait_for_function("() => document.querySelector('#miners .chart-title').textContent.includes('$0.100/kWh')")
    assert "$103,715" in page.locator("#miner-table").inner_text()  # S19 XP: $62,229 at $0.06 x 0.10 / 0.06
    assert session.console_errors == []


SIDE_SCROLL = "() => document.scrollingElement.scrollWidth - window.innerWidth"
OVERLAPS = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(g => {
    const boxes = [...g.querySelectorAll('.annotation-text, .legendtext, .rangeselector text, .xtick text')]
        .filter(t => !(t.getAttribute('transform') || '').includes('rotate'))  // a slanted label's box is no guide
        .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && r.height > 0);
    const out = [];
    boxes.forEach(([a, r], i) => boxes.slice(i + 1).forEach(([b, q]) => {
        if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1) {
            out.push(`${g.closest('[id^=fig-]').id}: "${a}" over "${b}"`);
        }
    }));
    return out;
})"""
"""Per chart, each pair of annotation, legend, range-button or (level) x tick labels whose boxes overlap (1 px
tolerance); plotly slants tick labels that would collide, and a slanted label's bounding box overlaps its
neighbour's without the text doing so."""


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_no_page_scrolls_sideways_or_overlaps_chart_labels(session, width, height):
    page = session.page
    page.set_viewport_size({"width": width, "height": height})
    try:
        for p in PAGES:
            page.click(f"#nav-{p.key}")
            page.wait_for_selector(f"#page-{p.key}")
            page.wait_for_function(CHARTS_DRAWN, arg=p.key)
            page.wait_for_timeout(300)  # responsive graphs resize after the first draw
            assert page.evaluate(SIDE_SCROLL) <= 0, f"{p.key} at {width} px scrolls sideways"
            assert page.evaluate(OVERLAPS) == [], f"{p.key} at {width} px"
            page.screenshot(path=ARTIFACTS / f"dashboard-{p.key}-{width}x{height}.png", full_page=True)
    finally:
        page.set_viewport_size({"width": 1300, "height": 900})
    assert session.console_errors == []


def test_the_controls_change_what_they_should(session):
    page = session.page
    page.click("#nav-options")
    facts = page.locator("#gex-facts")
    facts.wait_for()
    every = facts.inner_text()
    page.click("#expiry")
    page.get_by_role("option", name="2026-01-25", exact=True).click()  # the chain's nearest expiry
    page.wait_for_function("t => document.getElementById('gex-facts').innerText !== t", arg=every)
    assert "expiry 2026-01-25" in page.locator("#gex-profile .chart-title").inner_text()
    page.get_by_text("trades_net: dealer").click()
    page.wait_for_function("() => document.getElementById('gex-profile').innerText.includes('no trade tape')")
    with page.expect_download() as got:
        page.click("#nav-overview")
        page.locator("#page-overview").wait_for()
        page.locator('button.csv[title="download ladder as CSV"]').click()
    csv = Path(got.value.path()).read_text().splitlines()
    assert csv[0] == "price,vs spot,level,signal" and len(csv) > 2
    page.click("#nav-leverage")
    page.wait_for_selector("#page-leverage .rangeselector")
    page.wait_for_function(CHARTS_DRAWN, arg="leverage")
    span = """() => { const g = document.querySelector('#page-leverage .rangeselector').closest('.js-plotly-plot');
        const r = g._fullLayout.xaxis.range; return (new Date(r[1]) - new Date(r[0])) / 86400000; }"""
    full = page.evaluate(span)  # the first time series on the page: perp OI against price
    page.locator("#page-leverage .rangeselector").first.locator(".button").filter(has_text="1M").click()
    page.wait_for_function(f"() => ({span})() < 40")
    assert full > 40
    page.click("#nav-overview")
    page.locator("#page-overview .card").nth(7).wait_for()
    page.fill("#as-of", "2026-01-20")
    page.keyboard.press("Enter")
    page.locator("#replay-note").wait_for()
    assert "Replaying 2026-01-20" in page.locator("#replay-note").inner_text()
    page.locator("#page-overview .card").nth(7).wait_for()
    page.fill("#as-of", "")
    page.keyboard.press("Enter")
    page.locator("#replay-note").wait_for(state="detached")
    assert session.console_errors == []


BACKGROUND = "(sel) => getComputedStyle(document.querySelector(sel)).backgroundColor"


def test_dark_mode_darkens_the_dash_controls_too(session):
    """Dash's own controls (the as-of date picker, the expiry dropdown) take the page's dark panel, not
    Dash's white (#fff: 'a white box' on the dark page)."""
    page = session.page
    page.emulate_media(color_scheme="dark")
    try:
        page.click("#nav-options")
        page.locator("#gex-facts").wait_for()
        for sel in (".dash-datepicker", "button#expiry"):
            page.locator(sel).first.wait_for()
            assert page.evaluate(BACKGROUND, sel) == "rgb(24, 32, 42)", sel  # --panel in dark mode, #18202a
    finally:
        page.emulate_media(color_scheme="light")
    page.click("#nav-overview")
    assert session.console_errors == []


def test_an_unknown_page_is_a_message_not_a_stack_trace(session):
    page = session.page
    page.goto(session.url + "/nowhere")
    assert "no page at /nowhere" in page.locator("#page-unknown").inner_text()
    assert "Traceback" not in page.content()
