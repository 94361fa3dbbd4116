"""Estimated liquidation levels from an OI and price history (a model, not observed liquidations).

Model (parameters exposed):
1. Each rise in OI (BTC) between two observations is new positions opened at that observation's price,
   split `long_share` / (1 - long_share) between longs and shorts and across leverage `tiers`.
2. A fall in OI closes every open cohort pro rata.
3. Liquidation price of an isolated position opened at `entry` with leverage L (initial margin = notional
   / L), liquidated when equity falls to the maintenance margin mm x notional at the current price:
       linear (USDT-margined)   long  entry (1 - 1/L) / (1 - mm)     short  entry (1 + 1/L) / (1 + mm)
       inverse (coin-margined)  long  entry (1 + mm) / (1 + 1/L)     short  entry (1 - mm) / (1 - 1/L)
   `mm` is the venue's lowest maintenance-margin tier (fraction; Binance BTCUSDT: 0.4 % up to 50k USDT
   notional): the model's cohorts are many small positions, so the larger tiers are not applied.
4. A cohort whose liquidation price the price path has crossed is removed (swept).
What remains is bucketed by liquidation price: USD notional = size (BTC) x liquidation price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capitulation.errors import DataError

# Default leverage mix of new positions (weights sum to 1): a documented assumption, configurable.
DEFAULT_TIERS: dict[float, float] = {5.0: 0.2, 10.0: 0.35, 25.0: 0.25, 50.0: 0.15, 100.0: 0.05}


@dataclass(frozen=True)
class LiquidationModel:
    tiers: tuple[tuple[float, float], ...] = tuple(DEFAULT_TIERS.items())
    long_share: float = 0.5
    maintenance_margin: float = 0.004
    bucket_fraction: float = 0.01
    inverse: bool = False


def liquidation_price(
    entry: np.ndarray | float,
    leverage: np.ndarray | float,
    is_long: np.ndarray | bool,
    mm: float,
    inverse: bool = False,
) -> np.ndarray:
    """Liquidation price (USD) of isolated positions: the formulas in the module docstring, vectorised."""
    entry, inv_l = np.asarray(entry, float), 1.0 / np.asarray(leverage, float)
    if inverse:
        return np.where(is_long, entry * (1 + mm) / (1 + inv_l), entry * (1 - mm) / (1 - inv_l))
    return np.where(is_long, entry * (1 - inv_l) / (1 - mm), entry * (1 + inv_l) / (1 + mm))


def liquidation_levels(
    oi_btc: np.ndarray, price: np.ndarray, model: LiquidationModel = LiquidationModel()
) -> pd.DataFrame:
    """Open cohorts after replaying the path.

    Columns: side ('long'/'short'), leverage, entry (USD), liq_price (USD), btc (size in BTC).
    """
    oi_btc, price = np.asarray(oi_btc, float), np.asarray(price, float)
    if len(oi_btc) != len(price) or len(oi_btc) < 2:
        raise DataError("liquidation map: need matching OI and price paths of at least 2 points")
    if not (np.isfinite(oi_btc).all() and np.isfinite(price).all() and (price > 0).all()):
        raise DataError("liquidation map: OI and price must be finite and price positive")
    lev = np.array([t[0] for t in model.tiers])
    w = np.array([t[1] for t in model.tiers])
    # One row per observation, one column per (side, tier) cohort: longs first, then shorts.
    is_long = np.repeat([True, False], len(lev))
    lev_c = np.tile(lev, 2)
    share = np.concatenate([model.long_share * w, (1.0 - model.long_share) * w])
    liq = liquidation_price(price[:, None], lev_c[None, :], is_long[None, :], model.maintenance_margin, model.inverse)
    size = np.zeros_like(liq)
    for i in range(1, len(price)):
        d, p = oi_btc[i] - oi_btc[i - 1], price[i]
        open_btc = size[:i].sum()
        if d < 0 and open_btc > 0:
            size[:i] *= max(0.0, 1.0 + d / open_btc)
        swept = np.where(is_long[None, :], p <= liq[:i], p >= liq[:i])
        size[:i][swept] = 0.0
        if d > 0:
            size[i] = d * share
    keep = size > 0
    rows = np.broadcast_to(price[:, None], size.shape)
    return pd.DataFrame(
        {
            "side": np.where(np.broadcast_to(is_long, size.shape)[keep], "long", "short"),
            "leverage": np.broadcast_to(lev_c, size.shape)[keep],
            "entry": rows[keep],
            "liq_price": liq[keep],
            "btc": size[keep],
        }
    )


def clusters(levels: pd.DataFrame, spot: float, bucket_fraction: float = 0.01) -> pd.DataFrame:
    """Sum remaining liquidation notional (USD = BTC x liq price) into buckets `bucket_fraction` x spot wide.

    Columns: side, price (bucket centre, USD), notional_usd, distance (fraction of spot, signed).
    Sorted by notional, largest first.
    """
    if levels.empty:
        return pd.DataFrame(columns=["side", "price", "notional_usd", "distance"])
    width = spot * bucket_fraction
    centre = (np.floor(levels["liq_price"] / width) + 0.5) * width
    df = levels.assign(price=centre, notional_usd=levels["btc"] * levels["liq_price"])
    out = df.groupby(["side", "price"], as_index=False)["notional_usd"].sum()
    out["distance"] = out["price"] / spot - 1.0
    return out.sort_values("notional_usd", ascending=False, ignore_index=True)
