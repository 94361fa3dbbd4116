"""Live DVOL from Deribit's public/get_volatility_index_data -> vol_index, replayed at the HTTP layer.

No real HTTP capture of this endpoint exists in ../shared/data/api_fixtures (deribit/ws_volatility_index.json is
a websocket doc example, one tick, not candles), so the replayed bodies are BUILT HERE from real recorded DVOL
rows (../shared/data/volatility_index/deribit_btc_dvol_daily_2021-03-24_2026-04-06.csv, which its source says
came from this endpoint) put in the documented response shape {"result": {"data": [[ts_ms, open, high, low,
close], ...], "continuation": ms|null}}. The bodies are not captures; the numbers in them are real. Bodies of
the bad-input tests are hand-made and say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bodies import dvol_body
from capitulation import tables
from capitulation.errors import DataError, SourceError
from capitulation.sources import dvol, live
from capitulation.sources.vol_index import read_dvol_csv
from replay import HttpReplay, no_wait

PATH = "/api/v2" + dvol.ENDPOINT
NOW = pd.Timestamp("2026-04-06T12:00Z")
CSV = "deribit_btc_dvol_daily_2021-03-24_2026-04-06.csv"


@pytest.fixture(scope="module")
def recorded(shared_data: Path) -> pd.DataFrame:
    """The recorded importer's vol_index rows of the real CSV (the reference the live parser must match)."""
    return read_dvol_csv(shared_data / "volatility_index" / CSV)[0]


def fetch(days: int = 30) -> tuple[pd.DataFrame, object]:
    return dvol.fetch_dvol(days=days, backoff=no_wait()[0], now=NOW)


def test_live_bars_equal_the_recorded_importers_rows(http: HttpReplay, recorded: pd.DataFrame) -> None:
    last30 = recorded[recorded["date"] > NOW - pd.Timedelta(days=30)]
    http.script({PATH: [(200, dvol_body(last30))]})
    got, prov = fetch()
    pd.testing.assert_frame_equal(got, last30.reset_index(drop=True))
    assert got["close"].iloc[-1] == pytest.approx(0.4776)  # 2026-04-06 close 47.76 vol points
    (query,) = http.queries(PATH)
    end_ms = int(NOW.value // 1_000_000)
    assert query == {
        "currency": ["BTC"],
        "start_timestamp": [str(end_ms - 30 * 86_400_000)],
        "end_timestamp": [str(end_ms)],
        "resolution": ["1D"],
    }
    assert "30 daily bar(s) 2026-03-08..2026-04-06 in 1 page(s)" in prov.notes
    assert prov.source == "Deribit API v2 /public/get_volatility_index_data?currency=BTC&resolution=1D"


def test_a_continuation_is_asked_as_the_next_end_and_pages_join_oldest_first(
    http: HttpReplay, recorded: pd.DataFrame
) -> None:
    last60 = recorded[recorded["date"] > NOW - pd.Timedelta(days=60)].sort_values("date")
    older, newer = last60.iloc[:25], last60.iloc[25:]
    cont = int(newer["date"].iloc[0].value // 1_000_000) - 1
    http.script({PATH: [(200, dvol_body(newer, cont)), (200, dvol_body(older))]})
    got, prov = fetch(days=60)
    pd.testing.assert_frame_equal(got, last60.reset_index(drop=True))
    assert [q["end_timestamp"] for q in http.queries(PATH)][1] == [str(cont)]
    assert "in 2 page(s)" in prov.notes


def test_the_2021_crash_day_reads_as_a_fraction_of_its_vol_points(http: HttpReplay, recorded: pd.DataFrame) -> None:
    day = recorded[recorded["date"] == pd.Timestamp("2021-05-19", tz="UTC")]
    http.script({PATH: [(200, dvol_body(day))]})
    got, _ = dvol.fetch_dvol(days=2, backoff=no_wait()[0], now="2021-05-20T01:00Z")
    assert got["close"].tolist() == pytest.approx([1.2483]) and got["high"].tolist() == pytest.approx(
        [1.4463]
    )  # 124.83 and 144.63 vol points


# ---- bad input (hand-made bodies) ---------------------------------------------------------------------------


def test_a_429_is_retried_and_one_outlasting_the_backoff_makes_the_source_stale(http: HttpReplay) -> None:
    http.script({PATH: [(429, '{"error": {"code": 10028, "message": "too_many_requests"}}')]})
    backoff, waits = no_wait()
    with pytest.raises(SourceError, match=r"rate limited: deribit /public/get_volatility_index_data answered HTTP 429"):
        dvol.fetch_dvol(days=5, backoff=backoff, now=NOW)
    assert waits == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ("not json", "is not JSON"),
        ('{"result": {"continuation": null}}', "missing field 'result.data'"),
        ('{"error": {"code": 1}}', "no 'result' object"),
        ('{"result": {"data": {"a": 1}}}', "'result.data' is not a list"),
        ('{"result": {"data": [[1775433600000, 47.5, 47.8, 47.4]]}}', r"result.data\[0\] is not \[ts, open"),
        ('{"result": {"data": [[1775433600000, "47.5", 47.8, 47.4, 47.7]]}}', "holds a non-number"),
        ('{"result": {"data": [[1775433600000, 0.475, 0.478, 0.474, 0.477]]}}', "open 0.475 vol points is outside"),
        ('{"result": {"data": [[1775433600000, 47.5, 47.0, 47.4, 47.7]]}}', "high 47 < low 47.4"),
        (
            '{"result": {"data": [[1775433600000, 47.5, 47.8, 47.4, 47.7], [1775433600000, 47.5, 47.8, 47.4, 47.6]]}}',
            "2026-04-06 sent twice with different bars",
        ),
        ('{"result": {"data": [], "continuation": "soon"}}', "'result.continuation' is not a time"),
    ],
)
def test_malformed_answers_are_data_errors_naming_the_field(http: HttpReplay, answer: str, field: str) -> None:
    http.script({PATH: [(200, answer)]})
    with pytest.raises(DataError, match=field):
        fetch()


def test_no_candle_is_a_source_error(http: HttpReplay) -> None:
    http.script({PATH: [(200, '{"result": {"data": [], "continuation": null}}')]})
    with pytest.raises(SourceError, match="returned no candle"):
        fetch()


def test_in_a_live_snapshot_a_refused_dvol_is_stale_with_the_reason(http: HttpReplay) -> None:
    http.script({PATH: [(429, "{}")]})
    with pytest.raises(SourceError) as err:  # the only source: its status is the snapshot's error
        live.live_snapshot({"vol_index": lambda: dvol.fetch_dvol(backoff=no_wait()[0], now=NOW)}, NOW)
    assert str(err.value) == (
        "every source failed: vol_index: rate limited: deribit /public/get_volatility_index_data answered "
        "HTTP 429 (4 tries)"
    )


# ---- properties ---------------------------------------------------------------------------------------------

levels = st.floats(min_value=1.0, max_value=500.0, allow_nan=False)


@given(st.lists(st.tuples(st.integers(0, 3000), levels, levels, levels, levels), min_size=1, max_size=40))
def test_candles_become_one_row_per_day_in_fractions(raw: list[tuple[int, float, float, float, float]]) -> None:
    day0 = pd.Timestamp("2021-03-24", tz="UTC")
    by_day = {d: (o, max(a, b, o, c), min(a, b, o, c), c) for d, o, a, b, c in raw}
    candles = [[(day0 + pd.Timedelta(days=d)).value // 1_000_000, *bar] for d, bar in by_day.items()]
    got = dvol.candles_table(candles)
    assert len(got) == len(by_day) and got["date"].is_monotonic_increasing
    want = np.array([by_day[int((t - day0).days)] for t in got["date"]]) / 100
    np.testing.assert_allclose(got[list(dvol.OHLC)].to_numpy(), want, rtol=1e-15)
    assert (got["index"] == "DVOL-BTC").all()
    tables.validate("vol_index", got)
