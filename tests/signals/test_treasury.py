"""Signal 6: MSTR's mNAV from the recorded capital stack, and the decision at mNAV = 1."""

import pandas as pd
import pytest

from capitulation.analytics.treasury import mnav
from capitulation.signals import treasury
from capitulation.signals.base import Status
from synthetic import daily, snapshot


def _stack(btc: float, shares: float, debt: float, pref: float, cash: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "as_of": ["2026-02-02"],
            "published": ["2026-02-02"],
            "name": ["Synthetic Co"],
            "ticker": ["MSTR"],
            "btc_held": [btc],
            "avg_cost_usd": [None],
            "shares_basic": [shares],
            "shares_diluted": [None],
            "share_price_usd": [None],
            "debt_usd": [debt],
            "preferred_usd": [pref],
            "cash_usd": [cash],
            "source": ["synthetic"],
        }
    )


def test_below_one_holds_and_the_levels_are_the_breakevens():
    # synthetic: 1,000 BTC at $60k = $60M NAV; 1M shares at $40 = $40M; EV = 40 + 10 + 5 - 2 = $53M -> 0.883
    px = pd.concat([daily("BTC-USD", [60_000.0] * 3), daily("MSTR", [40.0] * 3)], ignore_index=True)
    snap = snapshot("2026-02-05T23:59:59Z", daily_prices=px, treasury_companies=_stack(1_000, 1e6, 10e6, 5e6, 2e6))
    v = treasury.evaluate(snap)
    assert v.status is Status.HOLDS
    assert v.metric("mnav_ev").value == pytest.approx(53 / 60)
    assert {round(lv.price) for lv in v.levels} == {53_000, 15_000}


def test_recorded_mstr_mnav_on_2026_02_05_matches_the_formula(default_snapshot):
    v = treasury.evaluate(default_snapshot)
    tr = default_snapshot.tables["treasury_companies"]
    row = tr[tr["ticker"] == "MSTR"].sort_values("as_of").iloc[-1]
    shares = row["shares_basic"]  # basic: the convertibles are already in debt
    ref = mnav(
        btc_held=row["btc_held"],
        btc_price=62_702.09765625,
        share_price=106.98999786376953,
        shares=shares,
        debt=row["debt_usd"],
        preferred=row["preferred_usd"],
        cash=row["cash_usd"],
    )
    assert v.metric("mnav_ev").value == pytest.approx(ref.mnav_ev, rel=1e-12)
    assert row["btc_held"] == 713_502  # the 8-K of 2026-02-02
    assert 0.5 < v.metric("mnav_ev").value < 1.5


def test_missing_share_price_is_not_enough_data():
    snap = snapshot(
        "2026-02-05T23:59:59Z",
        daily_prices=daily("BTC-USD", [60_000.0]),
        treasury_companies=_stack(1_000, 1e6, 0, 0, 0),
    )
    assert treasury.evaluate(snap).status is Status.NOT_ENOUGH_DATA
