"""Signal 3 on the real Deribit chain: stale as of 2026-02-05, live as of 2026-01-24."""

import pandas as pd
import pytest

from capitulation.analytics.smile import constant_maturity, risk_reversals
from capitulation.errors import DataError
from capitulation.signals import options_stress
from capitulation.signals.base import Status


def test_a_twelve_day_old_chain_is_not_enough_data_but_shows_its_figures(default_snapshot):
    v = options_stress.evaluate(default_snapshot)
    assert v.status is Status.NOT_ENOUGH_DATA
    assert "12 days old" in v.headline
    assert v.levels == ()  # stale walls do not enter the levels map


def test_as_of_the_chain_day_the_verdict_uses_constant_maturity_rr(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    v = options_stress.evaluate(snap)
    assert v.status in (Status.HOLDS, Status.DOES_NOT_HOLD)
    cm = constant_maturity(risk_reversals(snap.tables["option_quotes"]), (7,))
    assert v.metric("rr25_7d").value == pytest.approx(float(cm["rr25"].iloc[0]), abs=1e-12)
    holds = min(v.metric("rr25_1d").value, v.metric("rr25_7d").value) <= -0.05
    assert (v.status is Status.HOLDS) == holds
    flip, spot = v.metric("gamma_flip").value, v.metric("chain_spot").value
    assert abs(flip / spot - 1) < 0.2
    assert {lv.label.split(" (")[0].split(",")[0] for lv in v.levels} == {
        "gamma flip",
        "call wall",
        "put wall",
        "max pain",
    }
    pain = next(lv for lv in v.levels if lv.label.startswith("max pain"))
    assert pain.price == 90_000.0  # the 25 Jan expiry's max-pain strike on the recorded chain


def test_the_verdict_names_its_dealer_model_and_reports_rr15_and_hedge_flow(recorded_full):
    snap = recorded_full.upto("2026-01-24T23:59:59Z")
    v = options_stress.evaluate(snap)
    assert any(line.startswith("dealer gamma (classic: dealers long calls, short puts") for line in v.evidence)
    assert "15d RR 1d -3.9 / 7d -7.9" in v.headline and "classic" in v.headline
    assert v.metric("rr15_1d").value == pytest.approx(-0.039489, abs=1e-6)
    assert v.metric("hedge_flow_usd_per_1pct_rise").value == -v.metric("gex_total_usd_per_1pct").value
    short = options_stress.evaluate(snap, options_stress.Thresholds(dealer="short_all"))
    assert short.metric("gex_total_usd_per_1pct").value < 0 < v.metric("gex_total_usd_per_1pct").value


def test_summary_of_one_expiry_and_an_unknown_expiry(recorded_full):
    quotes = recorded_full.upto("2026-01-24T23:59:59Z").tables["option_quotes"]
    whole = options_stress.summarize(quotes)
    one = options_stress.summarize(quotes, expiry="2026-01-30")
    assert one.expiry == pd.Timestamp("2026-01-30T08:00Z") and list(one.smile["expiry"]) == [one.expiry]
    assert set(one.gex.by_strike["expiry"]) == {one.expiry} and list(one.max_pain["expiry"]) == [one.expiry]
    assert one.spot == whole.spot  # the whole chain's reference spot
    pd.testing.assert_frame_equal(one.term, whole.term)  # the term structure always uses every expiry
    assert whole.gex.total_usd == pytest.approx(
        sum(options_stress.summarize(quotes, expiry=e).gex.total_usd for e in whole.smile["expiry"]), rel=1e-12
    )
    with pytest.raises(DataError, match=r"expiry 2026-01-31 is not in the chain .* available: 2026-01-25, 2026-01-26"):
        options_stress.summarize(quotes, expiry="2026-01-31")
