"""Treasury valuation: the seed commentary's MSTR mNAV computed right, partial inputs, convertibles in and out
of the money, matured notes, and the stress ordering. Numbers other than the seed's are synthetic."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capitulation.analytics.treasury import (
    SEED_PUBLISHED,
    converted_shares,
    dilute,
    in_the_money,
    live_instruments,
    mnav,
    mnav_history,
    seed_as_printed,
    seed_reconciled,
    stress_order,
)
from capitulation.errors import DataError

SEED = dict(btc_held=713_502, btc_price=66_044, share_price=106.99, shares=289.34e6)


def test_seed_as_printed_gives_nav_47_12bn_and_mnav_0_674():
    # 713,502 x 66,044 = 47,122,526,088 ; 106.99 x 289.34M = 30,956,486,600
    # EV = 30,956,486,600 + 822,000,000 - 5,400,000 = 31,773,086,600 ; mNAV = 31.773 / 47.123 = 0.6743
    m = mnav(**SEED, debt=822e6, cash=5.4e6)
    assert m.btc_nav_usd == pytest.approx(47_122_526_088, rel=1e-12)
    assert m.market_cap_usd == pytest.approx(30_956_486_600, rel=1e-12)
    assert m.enterprise_value_usd == pytest.approx(31_773_086_600, rel=1e-12)
    assert m.mnav_ev == pytest.approx(0.674, abs=0.001)
    assert m.mnav_mcap == pytest.approx(30.956486600 / 47.122526088, rel=1e-9)


def test_seed_reconciled_debt_8_22bn_cash_54m_gives_ev_39_12bn_and_mnav_0_830():
    # The commentary printed EV $3.9126B and mNAV 0.832: both follow from debt $8.22B and cash $54M
    # (EV = 30.956 + 8.22 - 0.054 = 39.122 bn); its NAV ($4.71B) and EV were each 10x too small.
    m = mnav(**SEED, debt=8.22e9, cash=54e6)
    assert m.enterprise_value_usd == pytest.approx(39.12e9, abs=0.01e9)
    assert m.mnav_ev == pytest.approx(0.830, abs=0.001)
    assert m.btc_nav_usd / 10 == pytest.approx(4.71e9, abs=0.01e9)


def test_breakeven_and_stress_prices_are_per_btc_of_ev_and_of_senior_claims():
    m = mnav(btc_held=100.0, btc_price=50_000, share_price=10.0, shares=1e5, debt=2e6, preferred=1e6, cash=5e5)
    # EV = 1e6 + 2e6 + 1e6 - 0.5e6 = 3.5e6 -> mNAV = 1 at 35,000 USD/BTC; NAV = debt + pref at 30,000
    assert m.mnav1_btc_price == pytest.approx(35_000)
    assert m.stress_btc_price == pytest.approx(30_000)
    assert m.leverage == pytest.approx(3e6 / 5e6)
    assert m.btc_per_share == pytest.approx(1e-3)
    assert m.unrealised_pnl_usd is None
    assert mnav(**SEED, avg_cost=70_000).unrealised_pnl_usd == pytest.approx(713_502 * (66_044 - 70_000))


@pytest.mark.parametrize("field,value", [("btc_held", 0), ("share_price", -1.0), ("shares", float("nan"))])
def test_non_positive_inputs_are_rejected(field, value):
    with pytest.raises(DataError, match=field):
        mnav(**{**SEED, field: value})


def test_negative_debt_is_rejected():
    with pytest.raises(DataError, match="debt"):
        mnav(**SEED, debt=-1.0)


def test_seed_functions_give_the_printed_and_the_reconciled_figures():
    printed, reconciled = seed_as_printed(), seed_reconciled()
    assert printed.btc_nav_usd == pytest.approx(47.12e9, abs=0.005e9)
    assert printed.enterprise_value_usd == pytest.approx(31.77e9, abs=0.005e9)
    assert printed.mnav_ev == pytest.approx(0.674, abs=0.0005)
    assert reconciled.enterprise_value_usd == pytest.approx(39.12e9, abs=0.005e9)
    assert reconciled.mnav_ev == pytest.approx(0.830, abs=0.0005)
    # the published figures are the reconciled ones with a decimal slipped: 47.12 / 10 = 4.71, 39.12 / 10 = 3.91
    assert reconciled.btc_nav_usd / 10 == pytest.approx(SEED_PUBLISHED["btc_nav_usd"], abs=0.005e9)
    assert reconciled.enterprise_value_usd / 10 == pytest.approx(SEED_PUBLISHED["enterprise_value_usd"], abs=0.001e9)


def test_cost_basis_and_annual_charges_are_reported_against_nav():
    # synthetic: 100 BTC at 50,000 = 5.0M NAV; bought at 40,000 -> 4.0M at cost, +1.0M unrealised
    m = mnav(btc_held=100, btc_price=50_000, avg_cost=40_000, annual_interest=50_000, annual_dividends=100_000)
    assert m.btc_nav_at_cost_usd == pytest.approx(4e6)
    assert m.unrealised_pnl_usd == pytest.approx(1e6)
    assert m.interest_to_nav == pytest.approx(0.01)  # 50k / 5M
    assert m.dividends_to_nav == pytest.approx(0.02)


def test_unknown_share_price_or_stack_leaves_only_those_outputs_empty():
    no_price = mnav(btc_held=100, btc_price=50_000, shares=1e5, debt=1e6, preferred=0.0, cash=0.0)
    assert no_price.market_cap_usd is None and no_price.mnav_ev is None and no_price.mnav_mcap is None
    assert no_price.stress_btc_price == pytest.approx(10_000)  # 1M of debt over 100 BTC
    assert no_price.btc_per_share == pytest.approx(1e-3)
    no_stack = mnav(btc_held=100, btc_price=50_000, share_price=10, shares=1e5, debt=None, preferred=None, cash=None)
    assert no_stack.mnav_mcap == pytest.approx(0.2)  # 1M / 5M
    assert no_stack.enterprise_value_usd is None and no_stack.stress_btc_price is None and no_stack.leverage is None


def _instruments(rows: list[tuple]) -> pd.DataFrame:
    """Synthetic instruments: (kind, face USD, strike USD/share, potential shares, issued, expiration, coupon)."""
    df = pd.DataFrame(
        rows, columns=["kind", "face_value_usd", "strike_usd", "potential_shares", "issued", "expiration", "coupon"]
    )
    for c in ("issued", "expiration"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df.assign(ticker="SYN")


def test_convertible_is_debt_out_of_the_money_and_shares_in_the_money():
    # synthetic: 1M shares, debt 30M = two notes of 10M (strike 20) and 20M (strike 50), warrant 100k at 15,
    # RSUs 10k; cash 5M
    inst = _instruments(
        [
            ("convertible", 10e6, 20.0, 500_000, "2024-01-01", "2030-01-01", 0.01),
            ("convertible", 20e6, 50.0, 400_000, "2024-01-01", "2030-01-01", 0.02),
            ("warrant", None, 15.0, 100_000, None, None, None),
            ("rsu", None, 0.0, 10_000, None, None, None),
        ]
    )
    at_30 = dilute(shares=1e6, debt=30e6, preferred=0.0, cash=5e6, share_price=30.0, instruments=inst)
    # the 20-strike note converts: +500k shares, debt 30M - 10M; warrant exercised: +100k shares, +1.5M cash
    assert at_30.shares == pytest.approx(1e6 + 500_000 + 100_000 + 10_000)
    assert at_30.debt == pytest.approx(20e6)
    assert at_30.cash == pytest.approx(5e6 + 15.0 * 100_000)
    assert at_30.convertible_face_usd == pytest.approx(20e6)
    assert at_30.annual_coupon_usd == pytest.approx(20e6 * 0.02)  # only the note still in debt pays
    at_10 = dilute(shares=1e6, debt=30e6, preferred=0.0, cash=5e6, share_price=10.0, instruments=inst)
    assert at_10.shares == pytest.approx(1e6 + 10_000) and at_10.debt == pytest.approx(30e6)
    assert at_10.annual_coupon_usd == pytest.approx(10e6 * 0.01 + 20e6 * 0.02)
    assert at_10.converted == ()


def test_matured_and_not_yet_issued_instruments_drop_out():
    inst = _instruments(
        [
            ("convertible", 650e6, 39.8, 16_331_658, "2020-12-11", "2025-12-15", None),  # matured before as_of
            ("convertible", 800e6, 149.77, 5_341_600, "2024-03-08", "2030-03-15", None),
            ("convertible", 100e6, 10.0, 1_000_000, "2026-03-01", "2031-03-01", None),  # issued after as_of
        ]
    )
    live = live_instruments(inst, pd.Timestamp("2026-02-05T23:59:59Z"))
    assert list(live["strike_usd"]) == [149.77]
    d = dilute(shares=1e6, debt=800e6, preferred=0.0, cash=0.0, share_price=106.99, instruments=live)
    assert d.debt == pytest.approx(800e6) and d.annual_coupon_usd is None  # coupon unknown


def test_stress_order_puts_the_most_levered_first_and_unknowns_last():
    t = pd.DataFrame(
        {
            "ticker": ["A", "B", "C", "D"],
            "leverage": [0.1, 0.5, None, 0.1],
            "mnav_ev": [1.2, 0.9, None, 0.8],
            "mnav_mcap": [1.0, 0.5, 0.7, 0.6],
        }
    )
    assert list(stress_order(t)["ticker"]) == ["B", "D", "A", "C"]


def test_stress_order_sorts_a_table_where_no_company_has_a_capital_stack():
    # synthetic: 2021-2024 in the recorded data, market caps but no EV, leverage NaN for every company
    t = pd.DataFrame({"ticker": ["A", "B"], "leverage": [float("nan")] * 2, "mnav_ev": [float("nan")] * 2})
    t["mnav_mcap"] = [1.5, 0.8]
    assert list(stress_order(t)["ticker"]) == ["B", "A"]  # lowest mNAV first when leverage is unknown


def test_in_the_money_follows_each_kinds_rule_for_numbers_and_arrays():
    prices = np.array([9.0, 10.0, 11.0])
    assert list(in_the_money("convertible", prices, 10.0)) == [False, True, True]  # at the conversion price
    assert list(in_the_money("warrant", prices, 10.0)) == [False, False, True]  # only above the exercise price
    assert list(in_the_money("rsu", prices, 10.0)) == [True, True, True]
    assert list(in_the_money("bond", prices, 10.0)) == [False, False, False]  # an unknown kind never converts
    assert in_the_money("preferred", 10.0, 10.0) is True and in_the_money("option", 10.0, float("nan")) is False


KINDS = st.sampled_from(["convertible", "preferred", "warrant", "option", "rsu", "free_shares"])


@given(
    rows=st.lists(
        st.tuples(KINDS, st.floats(1.0, 100.0), st.integers(1, 10**6), st.integers(0, 40), st.integers(0, 40)),
        max_size=6,
    ),
    closes=st.lists(st.floats(0.5, 120.0), min_size=1, max_size=20),
)
def test_converted_shares_adds_what_dilute_converts_on_each_day(rows, closes):
    # synthetic instruments issued and expiring on random days of January 2025, known from their issue
    start = pd.Timestamp("2025-01-01", tz="UTC")
    inst = pd.DataFrame(
        [
            (start + pd.Timedelta(days=a), k, 1e6, s, n, start + pd.Timedelta(days=a), start + pd.Timedelta(days=a + b))
            for k, s, n, a, b in rows
        ],
        columns=["known", "kind", "face_value_usd", "strike_usd", "potential_shares", "issued", "expiration"],
    ).assign(coupon=0.0)
    close = pd.Series(closes, index=pd.date_range(start, periods=len(closes), freq="2D"))
    added = converted_shares(inst, close)
    for day, px in close.items():
        live = live_instruments(inst, day)
        d = dilute(shares=1e6, debt=None, preferred=None, cash=None, share_price=px, instruments=live)
        assert added[day] == pytest.approx(d.shares - 1e6)


def test_mnav_history_uses_only_the_holdings_known_each_day():
    # synthetic: 100 BTC and 1,000 shares known from day 2, 200 BTC and 1,500 shares from day 4
    days = pd.date_range("2025-01-01", periods=5, freq="D", tz="UTC")
    share = pd.Series([10.0, 10.0, 12.0, 12.0, 20.0], index=days)
    btc = pd.Series([1_000.0, 1_000.0, 1_000.0, 1_200.0, 1_000.0], index=days)
    holdings = pd.DataFrame({"btc_held": [100.0, 200.0], "shares_basic": [1_000.0, 1_500.0]}, index=days[[1, 3]])
    m = mnav_history(holdings, share, btc)
    # day 1 has no holdings yet; day 2: 10 x 1,000 / (100 x 1,000) = 0.1; day 4: 12 x 1,500 / (200 x 1,200)
    assert list(m.index) == list(days[1:])
    assert m.tolist() == pytest.approx([0.1, 0.12, 18_000 / 240_000, 30_000 / 200_000], rel=1e-12)
    note = pd.DataFrame(
        {"known": [days[2]], "kind": ["convertible"], "strike_usd": [15.0], "potential_shares": [500.0]}
    ).assign(issued=days[2], expiration=pd.NaT)
    diluted = mnav_history(holdings, share, btc, note)
    assert diluted[days[4]] == pytest.approx(20 * 2_000 / (200 * 1_000))  # in the money only on day 5
    assert diluted[days[1:4]].tolist() == pytest.approx(m[days[1:4]].tolist())
