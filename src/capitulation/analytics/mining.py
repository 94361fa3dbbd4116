"""Miner economics: hashprice and the BTC price at which a rig's revenue equals its power cost.

    blocks/day           = 86,400 s / 600 s = 144 (target spacing)
    revenue (BTC/TH/day) = (subsidy + fees per block) x 144 / network hashrate (TH/s)
    power cost (USD/TH/day) = efficiency (J/TH = W per TH/s) x 24 h / 1000 x USD/kWh
    shutdown price (USD/BTC) = power cost / revenue

The shutdown price does not depend on the rig's size: hashrate cancels. Hashrate from difficulty:
H = D x 2^32 / 600 s (hashes per second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from capitulation.errors import DataError

BLOCKS_PER_DAY = 144.0
TH_PER_EH = 1e6
HALVING_INTERVAL = 210_000


def hashrate_from_difficulty(difficulty: float) -> float:
    """Network hashrate in EH/s implied by `difficulty`: D x 2^32 / 600 s / 1e18."""
    return difficulty * 2.0**32 / 600.0 / 1e18


def subsidy_at_height(height: int) -> float:
    """Block subsidy in BTC: 50 BTC halved every 210,000 blocks (integer satoshi arithmetic)."""
    if height < 0:
        raise DataError(f"block height must be non-negative, got {height}")
    halvings = height // HALVING_INTERVAL
    return 0.0 if halvings >= 64 else (50 * 100_000_000 >> halvings) / 100_000_000


@dataclass(frozen=True)
class Rig:
    name: str
    hashrate_ths: float
    efficiency_jth: float


# Reference fleet for the cost-floor band (manufacturer efficiency ratings, J/TH at stock settings).
REFERENCE_RIGS: tuple[Rig, ...] = (
    Rig("Antminer S21 XP", 270.0, 13.5),
    Rig("Antminer S21", 200.0, 17.5),
    Rig("Antminer S19 XP", 140.0, 21.5),
    Rig("Antminer S19j Pro", 104.0, 29.5),
)


@dataclass(frozen=True)
class MinerEconomics:
    hashrate_ehs: float
    revenue_btc_per_th_day: float
    power_cost_usd_per_th_day: float
    shutdown_price_usd: float
    rig_power_w: float | None

    def hashprice_usd_per_th_day(self, btc_price: float) -> float:
        """Hashprice in USD per TH/s per day at `btc_price`."""
        return self.revenue_btc_per_th_day * btc_price


def shutdown_price(
    *,
    hashrate_ehs: float,
    efficiency_jth: float,
    power_usd_kwh: float,
    fees_btc_per_block: float,
    subsidy_btc: float = 3.125,
    rig_hashrate_ths: float | None = None,
) -> MinerEconomics:
    """Breakeven economics of a rig (see the module formula); `DataError` on non-positive inputs."""
    for k, v in {"hashrate_ehs": hashrate_ehs, "efficiency_jth": efficiency_jth}.items():
        if not (math.isfinite(v) and v > 0):
            raise DataError(f"mining: {k} must be a positive number, got {v!r}")
    for k, v in {"power_usd_kwh": power_usd_kwh, "fees_btc_per_block": fees_btc_per_block}.items():
        if not (math.isfinite(v) and v >= 0):
            raise DataError(f"mining: {k} must be a non-negative number, got {v!r}")
    revenue = (subsidy_btc + fees_btc_per_block) * BLOCKS_PER_DAY / (hashrate_ehs * TH_PER_EH)
    cost = efficiency_jth * 24.0 / 1000.0 * power_usd_kwh
    power_w = None if rig_hashrate_ths is None else rig_hashrate_ths * efficiency_jth
    return MinerEconomics(hashrate_ehs, revenue, cost, cost / revenue, power_w)


def fleet_shutdown_prices(
    network: pd.DataFrame,
    power_usd_kwh: float,
    rigs: tuple[Rig, ...] = REFERENCE_RIGS,
    window_days: int = 7,
) -> pd.DataFrame:
    """Shutdown price per reference rig from the last `window_days` of the `btc_network` table.

    Hashrate and fees are averaged over the window (daily hashrate estimates are noisy); the subsidy is
    the latest. Columns: rig, efficiency_jth, shutdown_price_usd, hashrate_ehs, fees_btc_per_block.
    """
    recent = network.dropna(subset=["hashrate_ehs"]).tail(window_days)
    if recent.empty:
        raise DataError("btc_network: no hashrate rows to price miners")
    hashrate = float(recent["hashrate_ehs"].mean())
    fees = float(recent["fees_btc_per_block"].mean()) if recent["fees_btc_per_block"].notna().any() else 0.0
    subsidy_rows = network["subsidy_btc"].dropna()
    if subsidy_rows.empty:
        raise DataError("btc_network: no subsidy known")
    subsidy = float(subsidy_rows.iloc[-1])
    rows = []
    for rig in rigs:
        econ = shutdown_price(
            hashrate_ehs=hashrate,
            efficiency_jth=rig.efficiency_jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=fees,
            subsidy_btc=subsidy,
        )
        rows.append((rig.name, rig.efficiency_jth, econ.shutdown_price_usd, hashrate, fees))
    cols = ["rig", "efficiency_jth", "shutdown_price_usd", "hashrate_ehs", "fees_btc_per_block"]
    return pd.DataFrame(rows, columns=cols)
