"""The seed commentary's Strategy (MSTR) mNAV, computed right: inputs as printed, and the reconciliation."""

import pytest

from capitulation.analytics.treasury import mnav
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
