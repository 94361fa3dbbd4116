"""CoinGecko categories -> `sector_returns`: one row per coin, the latest 24 h change as a log return.

No CoinGecko /coins/markets recording exists (../shared/data/sectors/PROVENANCE.md), so every body here is
SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up): the fields of GET /coins/markets with
price_change_percentage=24h, round made-up prices, caps and changes. They are replayed through vcrpy at the
HTTP layer (the `http` fixture), so the module's own request and parsing code runs; nothing reaches the
network. All requests share one path, so each test scripts its answers in call order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bodies import GAMING, LAYER2, PREDICTION, RWA, SOCIALFI, body, coin
from capitulation import tables
from capitulation.errors import SourceError
from capitulation.signals.sector_rotation import NAMED_SECTORS, PANEL_BTC
from capitulation.snapshot import Provenance
from capitulation.sources import coingecko
from capitulation.sources import http as http_source
from replay import HttpReplay, no_wait, offline_session

MARKETS = "/api/v3/coins/markets"
WHAT = "CoinGecko /coins/markets category=layer-2"
NOW = pd.Timestamp("2026-03-01T12:34:56Z")  # the fetch's clock (http.utc_now), fixed
DAY = pd.Timestamp("2026-03-01T00:00Z")  # every row's date: UTC midnight of the retrieval day


EXPECTED = {
    # (sector, symbol): log_return = ln(1 + pct / 100), by hand
    ("eth_scaling", "ARB"): -0.10536051565782628,  # -10 %: ln 0.9
    ("eth_scaling", "MNT"): 0.0,  # 0 %: ln 1
    ("eth_scaling", "OP"): 0.22314355131420976,  # +25 %: ln 1.25
    ("metaverse_gaming", "AXS"): 0.6931471805599453,  # +100 %: ln 2
    ("metaverse_gaming", "IMX"): -0.6931471805599453,  # -50 %: ln 0.5
    ("prediction-markets", "POLY"): 0.04879016416943205,  # +5 %: ln 1.05
    ("real-world-assets-rwa", "ONDO"): 0.09531017980432493,  # +10 %: ln 1.1
    ("socialfi", "CYBER"): -0.2231435513142097,  # -20 %: ln 0.8
}


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_source, "utc_now", lambda: NOW)


TWO = {"layer-2": "eth_scaling", "gaming": "metaverse_gaming"}


def _fetch_two(http: HttpReplay, first: list[tuple[int, str]]) -> tuple[pd.DataFrame, Provenance, list[float]]:
    """layer-2 answered by `first` (in order), then gaming by its healthy GAMING body."""
    http.script({MARKETS: [*first, (200, GAMING)]})
    backoff, waits = no_wait()
    df, prov = coingecko.fetch_sector_returns(TWO, backoff=backoff)
    return df, prov, waits


def _gaming_only(df: pd.DataFrame) -> None:
    assert list(df["symbol"]) == ["AXS", "IMX"]
    assert (df["sector"] == "metaverse_gaming").all()


# ---- the real parsing path -------------------------------------------------------------------------------


def test_default_categories_become_sector_rows_with_hand_computed_log_returns(http: HttpReplay) -> None:
    http.script({MARKETS: [(200, b) for b in (LAYER2, GAMING, RWA, SOCIALFI, PREDICTION)]})
    df, prov = coingecko.fetch_sector_returns()

    pd.testing.assert_frame_equal(df, tables.validate("sector_returns", df))
    assert (df["date"] == DAY).all()
    got = {(r.sector, r.symbol): r.log_return for r in df.itertuples()}
    assert list(got) == list(EXPECTED)  # sorted by sector, then symbol
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value, rel=1e-15, abs=1e-300), key

    assert prov.source == (
        "CoinGecko API v3: /coins/markets (categories layer-2, gaming, real-world-assets-rwa, socialfi, "
        "prediction-markets)"
    )
    assert pd.Timestamp(prov.retrieved_at) == NOW
    assert prov.licence == "CoinGecko API terms (attribution required)"
    assert "layer-2 -> eth_scaling: 3 coin(s) kept." in prov.notes
    assert "5 of 5 categories answered." in prov.notes
    assert "rolling 24 h USD change" in prov.notes and "top 50 coins by market cap per category" in prov.notes


def test_the_query_asks_usd_top_coins_of_each_category_with_the_24h_change(http: HttpReplay) -> None:
    http.script({MARKETS: [(200, LAYER2), (200, GAMING)]})
    coingecko.fetch_sector_returns(TWO, per_category=20)
    base = {
        "vs_currency": ["usd"],
        "order": ["market_cap_desc"],
        "per_page": ["20"],
        "page": ["1"],
        "price_change_percentage": ["24h"],
    }
    assert http.queries(MARKETS) == [{**base, "category": ["layer-2"]}, {**base, "category": ["gaming"]}]


def test_labels_are_the_ones_the_sector_rotation_signal_reads() -> None:
    # every thesis sector has exactly one live category, carrying the label the signal reads
    assert sorted(coingecko.DEFAULT_CATEGORIES.values()) == sorted(label for label, _ in NAMED_SECTORS.values())
    assert coingecko.BENCHMARK == PANEL_BTC
    assert coingecko.DEFAULT_CATEGORIES["layer-2"] == NAMED_SECTORS["L2"][0] == "eth_scaling"
    assert coingecko.DEFAULT_CATEGORIES["gaming"] == NAMED_SECTORS["GameFi"][0] == "metaverse_gaming"


def test_a_symbol_listed_twice_in_a_sector_keeps_the_larger_market_cap(http: HttpReplay) -> None:
    # SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up): two "ARB" listings in layer-2
    # (caps 1e8 and 9e8) and one more in a second category mapped to the same label (cap 5e8)
    first = body(coin("arb-bridged", "arb", -10.0, 1e8), coin("arbitrum", "ARB", 10.0, 9e8))
    second = body(coin("arb-wrapped", "arb", 50.0, 5e8), coin("optimism", "op", 25.0, 8e8))
    http.script({MARKETS: [(200, first), (200, second)]})
    df, prov = coingecko.fetch_sector_returns({"layer-2": "eth_scaling", "optimistic-rollups": "eth_scaling"})

    assert list(df["symbol"]) == ["ARB", "OP"]
    assert df["log_return"].iloc[0] == pytest.approx(0.09531017980432493, rel=1e-15)  # the 9e8 listing: ln 1.1
    assert "2 duplicate listing(s) dropped, the larger market cap kept: eth_scaling ARB" in prov.notes
    assert "layer-2 -> eth_scaling: 1 coin(s) kept" in prov.notes
    assert "optimistic-rollups -> eth_scaling: 1 coin(s) kept" in prov.notes


# ---- bad input: the category is named, the others counted --------------------------------------------------


def test_a_429_then_success_is_retried_with_backoff(http: HttpReplay) -> None:
    df, prov, waits = _fetch_two(http, [(429, '{"status": {"error_code": 429}}'), (200, LAYER2)])
    assert waits == [1.0]
    assert [q["category"] for q in http.queries(MARKETS)] == [["layer-2"], ["layer-2"], ["gaming"]]
    assert len(df) == 5 and "2 of 2 categories answered." in prov.notes


def test_a_category_rate_limited_for_good_is_named_and_the_others_counted(http: HttpReplay) -> None:
    df, prov, waits = _fetch_two(http, [(429, '{"status": {"error_code": 429}}')] * 4)
    assert waits == [1.0, 2.0, 4.0]  # bounded: 4 tries, then the category is left out
    assert len(http.queries(MARKETS)) == 5
    _gaming_only(df)
    assert "layer-2 -> eth_scaling: failed (rate limited: CoinGecko /coins/markets category=layer-2 answered " in (
        prov.notes
    )
    assert "HTTP 429 (4 tries))" in prov.notes
    assert "1 of 2 categories answered; failed: layer-2." in prov.notes
    assert prov.source == "CoinGecko API v3: /coins/markets (categories gaming)"


def test_coingecko_unreachable_is_asked_once_and_the_other_categories_are_not_asked() -> None:
    session, offline = offline_session()
    backoff, waits = no_wait()
    with pytest.raises(SourceError) as err:
        coingecko.fetch_sector_returns(TWO | {"socialfi": "socialfi"}, session=session, backoff=backoff)
    assert len(offline.urls) == 4 and waits == [1.0, 2.0, 4.0]  # layer-2's four tries; the rest never asked
    assert str(err.value) == (
        f"CoinGecko: every category failed: layer-2: unreachable: {WHAT} (ConnectionError: Failed to resolve "
        "'api.coingecko.com' (offline)) (4 tries); gaming: not asked: CoinGecko unreachable; "
        "socialfi: not asked: CoinGecko unreachable"
    )


def test_under_a_budget_an_unreachable_coingecko_costs_one_request_and_no_wait() -> None:
    session, offline = offline_session()
    backoff, waits = no_wait()
    with http_source.budget(20.0), pytest.raises(SourceError, match=r"layer-2: unreachable: .*offline\)\); gaming"):
        coingecko.fetch_sector_returns(TWO, session=session, backoff=backoff)
    assert len(offline.urls) == 1 and waits == []


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ([(500, "Internal Server Error")] * 4, f"server error: {WHAT} answered HTTP 500"),
        ([(404, '{"error": "category not found"}')], f"{WHAT} answered HTTP 404"),
        ([(200, '[{"id": "arbitrum", "symbol": "arb", ')], f"malformed response: {WHAT} is not JSON"),
        ([(200, '[{"symbol": "arb", "price_change_percentage_24h": NaN}]')], f"malformed response: {WHAT} is not JSON"),
        ([(200, '{"status": {"error_message": "busy"}}')], "malformed response: expected a list of coins, got dict"),
        ([(200, "[]")], "empty list: no coin in the category"),
    ],
    ids=["500 for good", "404", "malformed JSON", "NaN literal", "not a list", "empty list"],
)
def test_a_failing_category_is_named_and_the_others_counted(http: HttpReplay, answers, why: str) -> None:
    df, prov, _ = _fetch_two(http, answers)
    _gaming_only(df)
    assert f"layer-2 -> eth_scaling: failed ({why}" in prov.notes
    assert "1 of 2 categories answered; failed: layer-2." in prov.notes


def test_schema_drift_without_the_24h_change_field_fails_the_category(http: HttpReplay) -> None:
    # SYNTHETIC (schema from the CoinGecko API v3 docs, then drifted; numbers made up): the field renamed
    drifted = coin("arbitrum", "arb", -10.0, 1e9)
    drifted["price_change_pct_24h"] = drifted.pop("price_change_percentage_24h")
    df, prov, _ = _fetch_two(http, [(200, body(drifted, coin("optimism", "op", 25.0, 8e8)))])
    _gaming_only(df)
    assert "layer-2 -> eth_scaling: failed (schema drift: coin(s) without field(s) price_change_percentage_24h)" in (
        prov.notes
    )


def test_null_nan_or_non_numeric_changes_drop_the_coin_and_are_counted(http: HttpReplay) -> None:
    # SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up): a null change, "NaN" and "n/a" as
    # text, and one good coin. (A bare NaN literal is not JSON: requests' simplejson refuses the whole body.)
    l2 = body(
        coin("a", "aaa", None, 1e8),
        coin("b", "bbb", "NaN", 1e8),
        coin("c", "ccc", "n/a", 1e8),
        coin("arbitrum", "arb", -10.0, 1e9),
    )
    df, prov, _ = _fetch_two(http, [(200, l2)])

    rows = df[df["sector"] == "eth_scaling"]
    assert list(rows["symbol"]) == ["ARB"]
    assert rows["log_return"].iloc[0] == pytest.approx(-0.10536051565782628, rel=1e-15)  # -10 %: ln 0.9
    assert "layer-2 -> eth_scaling: 1 coin(s) kept; dropped 3 (no 24h change: 3)" in prov.notes
    assert not df["log_return"].isna().any()


def test_a_change_of_minus_100_percent_or_worse_drops_the_coin(http: HttpReplay) -> None:
    # SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up): -100 % has no log return (ln 0)
    l2 = body(coin("dead", "dead", -100.0, 1e6), coin("worse", "wrs", -150.0, 1e6), coin("op", "op", 25.0, 8e8))
    df, prov, _ = _fetch_two(http, [(200, l2)])
    assert list(df.loc[df["sector"] == "eth_scaling", "symbol"]) == ["OP"]
    assert "layer-2 -> eth_scaling: 1 coin(s) kept; dropped 2 (24h change <= -100%: 2)" in prov.notes
    assert np.isfinite(df["log_return"]).all()


def test_a_coin_without_a_symbol_or_with_the_benchmark_symbol_is_dropped(http: HttpReplay) -> None:
    # SYNTHETIC (schema from the CoinGecko API v3 docs; numbers made up): the signal reads symbol BTC as BTC
    l2 = body(coin("nameless", "", 1.0, 1e6), coin("bitcoin-l2", "btc", 1.0, 1e6), coin("op", "op", 25.0, 8e8))
    df, prov, _ = _fetch_two(http, [(200, l2)])
    assert "BTC" not in set(df["symbol"])
    assert "dropped 2 (no symbol: 1, symbol BTC (the signal's benchmark): 1)" in prov.notes


def test_a_category_whose_every_coin_is_dropped_fails(http: HttpReplay) -> None:
    df, prov, _ = _fetch_two(http, [(200, body(coin("dead", "dead", -100.0, 1e6)))])
    _gaming_only(df)
    assert "layer-2 -> eth_scaling: failed (no usable coin (24h change <= -100%: 1))" in prov.notes


def test_every_category_failing_is_a_source_error_naming_each(http: HttpReplay) -> None:
    http.script({MARKETS: [(200, "[]"), (500, "Internal Server Error")]})
    backoff, _ = no_wait()
    with pytest.raises(SourceError, match=r"every category failed: layer-2: empty list.*; gaming: server error"):
        coingecko.fetch_sector_returns(TWO, backoff=backoff)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"categories": {}}, "no category"), ({"per_category": 0}, "1..250"), ({"per_category": 251}, "1..250")],
)
def test_bad_arguments_are_refused_before_any_request(http: HttpReplay, kwargs: dict, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        coingecko.fetch_sector_returns(**kwargs)
    assert http.seen == []


# ---- the row normaliser ----------------------------------------------------------------------------------


@given(pct=st.just(0.0) | st.floats(1e-200, 1e6) | st.floats(-100.0, -1e-200, exclude_min=True))
def test_log_return_gives_back_the_percent_change(pct: float) -> None:
    (lr,) = coingecko.log_returns([pct])
    # exp(log_return) - 1, computed as expm1 so that tiny changes keep their digits
    assert math.expm1(lr) == pytest.approx(pct / 100, rel=1e-12, abs=0.0)


@given(pct=st.floats(max_value=-100.0) | st.sampled_from([None, math.nan, math.inf, -math.inf, "x"]))
def test_no_log_return_at_or_below_minus_100_percent_or_without_a_number(pct: object) -> None:
    assert np.isnan(coingecko.log_returns([pct])).all()
