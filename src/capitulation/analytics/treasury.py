"""Treasury-company valuation: BTC NAV, enterprise value and mNAV (all USD unless a name says BTC).

btc_nav   = btc_held x btc_price
mcap      = share_price x shares
ev        = mcap + debt + preferred - cash
mNAV (EV) = ev / btc_nav            mNAV (mcap) = mcap / btc_nav
BTC price where mNAV(EV) = 1        = ev / btc_held
BTC price where NAV = debt + pref   = (debt + preferred) / btc_held   (the stress line)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from capitulation.errors import DataError


@dataclass(frozen=True)
class Mnav:
    btc_held: float
    btc_price: float
    btc_nav_usd: float
    market_cap_usd: float
    enterprise_value_usd: float
    mnav_ev: float
    mnav_mcap: float
    btc_per_share: float
    mnav1_btc_price: float
    stress_btc_price: float
    leverage: float
    unrealised_pnl_usd: float | None


def mnav(
    *,
    btc_held: float,
    btc_price: float,
    share_price: float,
    shares: float,
    debt: float = 0.0,
    preferred: float = 0.0,
    cash: float = 0.0,
    avg_cost: float | None = None,
) -> Mnav:
    """mNAV of one company. Inputs in BTC, USD per BTC, USD per share, shares and USD.

    `leverage` = (debt + preferred) / btc_nav, a fraction. `unrealised_pnl_usd` = btc_held x
    (btc_price - avg_cost), None without a cost basis. Non-positive holdings, prices or shares, or
    negative debt/preferred/cash raise `DataError`.
    """
    named = {"btc_held": btc_held, "btc_price": btc_price, "share_price": share_price, "shares": shares}
    for k, v in named.items():
        if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
            raise DataError(f"mnav: {k} must be a positive number, got {v!r}")
    for k, v in {"debt": debt, "preferred": preferred, "cash": cash}.items():
        if not (math.isfinite(v) and v >= 0):
            raise DataError(f"mnav: {k} must be a non-negative number, got {v!r}")
    nav = btc_held * btc_price
    cap = share_price * shares
    ev = cap + debt + preferred - cash
    pnl = None if avg_cost is None else btc_held * (btc_price - avg_cost)
    return Mnav(
        btc_held=btc_held,
        btc_price=btc_price,
        btc_nav_usd=nav,
        market_cap_usd=cap,
        enterprise_value_usd=ev,
        mnav_ev=ev / nav,
        mnav_mcap=cap / nav,
        btc_per_share=btc_held / shares,
        mnav1_btc_price=ev / btc_held,
        stress_btc_price=(debt + preferred) / btc_held,
        leverage=(debt + preferred) / nav,
        unrealised_pnl_usd=pnl,
    )
