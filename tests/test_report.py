"""Report rendering: everything from data is escaped; the JSON is standard; the terminal shows all eight."""

import json

import pandas as pd
from rich.console import Console

from capitulation.report import html, model, terminal
from capitulation.snapshot import Provenance, Snapshot

EVIL = "<img src=x onerror=alert(1)>"


def hostile_snapshot() -> Snapshot:
    """Synthetic snapshot whose text fields carry markup, as a hostile data file or endpoint could."""
    prov = Provenance(source=f"synthetic {EVIL}", retrieved_at="2026-02-05", notes=EVIL, synthetic=True)
    days = pd.date_range(end="2026-02-05", periods=5, freq="D", tz="UTC")
    prices = pd.DataFrame(
        {
            "date": list(days) * 2,
            "symbol": ["BTC-USD"] * 5 + ["MSTR"] * 5,
            "open": None,
            "high": None,
            "low": None,
            "close": [60_000.0] * 5 + [100.0] * 5,
            "volume": None,
        }
    )
    tr = pd.DataFrame(
        {
            "as_of": ["2026-02-02"],
            "published": ["2026-02-02"],
            "name": [EVIL],
            "ticker": ["MSTR"],
            "btc_held": [1000.0],
            "avg_cost_usd": [None],
            "shares_basic": [1e6],
            "shares_diluted": [None],
            "share_price_usd": [None],
            "debt_usd": [0.0],
            "preferred_usd": [0.0],
            "cash_usd": [0.0],
            "source": [EVIL],
        }
    )
    return Snapshot(
        "2026-02-05T23:59:59Z",
        {"daily_prices": prices, "treasury_companies": tr},
        {"daily_prices": prov, "treasury_companies": prov},
    )


def test_html_escapes_every_string_from_the_data():
    snap = hostile_snapshot()
    page = html.render(model.build(snap), snap)
    assert EVIL not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_json_is_standard_and_names_absent_tables():
    rep = model.build(hostile_snapshot())
    text = json.dumps(model.as_json(rep), default=str, allow_nan=True)
    doc = json.loads(text)
    assert len(doc["signals"]) == 8
    assert "option_quotes" in doc["absent_tables"]
    assert doc["tables"]["daily_prices"]["synthetic"] is True


def test_terminal_lists_eight_verdicts_and_marks_synthetic_data():
    console = Console(record=True, width=200)
    terminal.render(model.as_json(model.build(hostile_snapshot())), console)
    out = console.export_text()
    for title in (
        "Leverage flush",
        "Cross-asset flight",
        "Options stress",
        "Liquidity levels",
        "Sector rotation",
        "Treasury companies",
        "Hedging",
        "Bottom range",
    ):
        assert title in out
    assert "(synthetic)" in out and "absent" in out


def test_a_substituted_old_btc_series_is_named_in_the_header_and_json(tmp_path):
    from capitulation.report.model import as_json, build, spot_text
    from capitulation.snapshot import Snapshot
    from capitulation.sources.prices import read_prices_folder

    # no btc_price_volume.csv (an empty one is an error): the Glassnode file stands in
    (tmp_path / "btc_ohlc.csv").write_text("t,open,high,low,close\n2022-09-01,20050,20191,19656,20114.4\n")
    df, prov = read_prices_folder(tmp_path)
    rep = build(Snapshot("2026-02-05T23:59:59Z", {"daily_prices": df}, {"daily_prices": prov}))
    assert spot_text(rep) == "BTC $20,114 (close of 2022-09-01, 1253.0 days before as_of; from btc_ohlc.csv)"
    doc = as_json(rep)["spot"]
    assert doc == {
        "usd": 20114.4,
        "close_date": "2022-09-01T00:00:00+00:00",
        "age_days": 1253.0,
        "source": "btc_ohlc.csv",
    }


def test_todays_close_keeps_the_header_short(default_snapshot):
    from capitulation.report.model import build, spot_text

    rep = build(default_snapshot)
    assert spot_text(rep) == "BTC $62,702" and rep.spot_info.source == "btc_price_volume.csv"
    assert rep.spot_info.age_days == 0.0
