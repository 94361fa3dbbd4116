"""One preparation of a chain: shared by smile, GEX, walls, max pain and flip; results render their own dicts."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capitulation.analytics import chain, gex, smile
from capitulation.report import options_charts
from capitulation.signals import options_stress

CHAIN_DAY = "2026-01-24T23:59:59Z"  # the recorded chain of 2026-01-24 13:00 UTC is fresh that day


@pytest.fixture(scope="module")
def quotes(recorded_full) -> pd.DataFrame:
    return recorded_full.upto(CHAIN_DAY).tables["option_quotes"]


@pytest.fixture
def preparations(monkeypatch) -> list[int]:
    """Counts the chain preparations (year fractions and call deltas over a chain) made from now on."""
    calls: list[int] = []
    real = chain.with_call_delta

    def counted(q: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(q))
        return real(q)

    monkeypatch.setattr(chain, "with_call_delta", counted)
    return calls


def test_prepare_keeps_the_latest_rows_with_year_fractions_and_call_deltas(quotes) -> None:
    c = chain.prepare(quotes)
    ts = quotes["timestamp"].max()
    assert c.timestamp == ts and len(c.rows) == (quotes["timestamp"] == ts).sum() == 654
    row = c.rows.iloc[0]
    t = (row["expiry"] - ts).total_seconds() / (365 * 86_400)
    d1 = (np.log(row["underlying_price"] / row["strike"]) + 0.5 * row["mark_iv"] ** 2 * t) / (row["mark_iv"] * t**0.5)
    assert row["t_years"] == pytest.approx(t, rel=1e-15)
    assert row["call_delta"] == pytest.approx(_norm_cdf(d1), rel=1e-12)
    assert chain.prepare(c) is c  # a prepared chain is used as it is
    assert c.spot == gex.reference_spot(quotes) == pytest.approx(89_407.17, abs=0.01)


def _norm_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def test_summarize_prepares_the_chain_once(quotes, preparations) -> None:
    options_stress.summarize(quotes, sticky="delta")
    assert preparations == [654]  # smile, GEX, profile, flip, walls and max pain share it
    options_stress.summarize(quotes, expiry="2026-01-30")
    assert preparations == [654, 654]  # one expiry is selected from the prepared chain, not re-prepared


def test_a_selected_expiry_gives_what_preparing_its_rows_alone_gives(quotes) -> None:
    c = chain.prepare(quotes)
    exp = pd.Timestamp("2026-01-30T08:00Z")
    alone = chain.prepare(c.rows[c.rows["expiry"] == exp][quotes.columns])
    part = c.select(exp)
    pd.testing.assert_frame_equal(part.rows, alone.rows)
    s0 = c.spot
    a, b = gex.gex_by_strike(part, s0=s0), gex.gex_by_strike(alone, s0=s0)
    assert a.total_usd == b.total_usd
    pd.testing.assert_frame_equal(a.by_strike, b.by_strike)
    for sticky in ("strike", "delta"):
        assert gex.gamma_profile(part, sticky=sticky, s0=s0).flip == gex.gamma_profile(alone, sticky=sticky, s0=s0).flip
    pd.testing.assert_frame_equal(gex.max_pain(part), gex.max_pain(alone))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=40))
def test_by_expiry_groups_rows_as_pandas_groupby(days: list[int]) -> None:
    rows = pd.DataFrame({"expiry": [pd.Timestamp("2026-01-01T08:00Z") + pd.Timedelta(days=d) for d in days]})
    got = chain.by_expiry(rows)
    want = [(e, idx) for e, idx in rows.groupby("expiry", sort=True).indices.items()]
    assert [e for e, _ in got] == [pd.Timestamp(e) for e, _ in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        assert a.tolist() == b.tolist()  # row order kept within an expiry


def test_verdict_charts_and_dashboard_share_one_summary_per_snapshot(recorded_full, preparations) -> None:
    snap = recorded_full.upto(CHAIN_DAY)
    options_stress.evaluate(snap)  # verdict 3 on a fresh chain summarizes it
    assert preparations == [654]
    s = options_stress.chain_summary(snap)
    assert s is options_stress.chain_summary(snap)
    for draw in (options_charts.smile, options_charts.risk_reversal_term, options_charts.gex_strikes):
        assert draw(snap) is not None
    assert preparations == [654]  # the charts drew the verdict's summary
    options_charts.gex_profile_chart(snap)  # adds the sticky-delta profile, on the same prepared chain
    assert preparations == [654]
    assert options_stress.chain_summary(recorded_full.upto(CHAIN_DAY)) is not s  # another snapshot, its own


def test_results_render_their_own_json(quotes) -> None:
    s = options_stress.summarize(quotes)
    g = s.gex.as_dict()
    assert g["total_usd_per_1pct"] == s.gex.total_usd == -g["hedge_flow_usd_per_1pct_rise"]
    assert sum(r["gex_usd"] for r in g["by_strike"]) == pytest.approx(s.gex.total_usd, rel=1e-12)
    assert g["by_strike"][0]["expiry"] == "2026-01-25T08:00:00+00:00" and g["spot_usd"] == s.spot
    assert s.walls.as_dict() == {"call_wall_usd": 90_000.0, "put_wall_usd": 90_000.0}
    prof = gex.gamma_profile(quotes).as_dict()
    assert prof["gamma_flip_usd"] == pytest.approx(88_827.48, abs=0.01) and len(prof["profile"]) == 201
    assert prof["profile"][100]["spot_usd"] == pytest.approx(s.spot, rel=1e-15)
    d = s.as_dict()
    json.dumps(d)  # plain values only
    assert d["gex"]["gamma_flip_usd"] == s.flip and d["dealer_model"] == "classic"
    per_expiry = sum(e["gex_usd_per_1pct"] for e in d["expiries"])
    assert per_expiry == pytest.approx(d["gex"]["total_usd_per_1pct"], rel=1e-12)
    rr = smile.risk_reversals(quotes).set_index("expiry")
    assert d["expiries"][0]["rr25"] == rr["rr25"].iloc[0]
