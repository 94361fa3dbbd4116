"""Signal 3 on the real Deribit chain: stale as of 2026-02-05, live as of 2026-01-24."""

import pytest

from capitulation.analytics.smile import constant_maturity, risk_reversals
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
    assert {lv.label.split(" (")[0] for lv in v.levels} == {"gamma flip", "call wall", "put wall"}
