"""Miner economics: hashprice and the BTC price at which a rig's revenue equals its power cost.

    blocks/day              = 86,400 s / 600 s = 144 (target spacing)
    revenue (BTC/TH/day)    = (subsidy + fees per block) x 144 / network hashrate (TH/s)
    hashprice (USD/TH/day)  = revenue x BTC price            (per TH/s of hashrate, per day)
    power cost (USD/TH/day) = efficiency (J/TH = W per TH/s) x 24 h / 1000 x USD/kWh
    shutdown price (USD/BTC) = power cost / revenue

The shutdown price does not depend on the rig's size: hashrate cancels. It counts power only (no hosting
fees, pool fees, capex). Hashrate from difficulty: H = D x 2^32 / 600 s (hashes per second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from capitulation.errors import DataError

BLOCKS_PER_DAY = 144.0
TH_PER_EH = 1e6
HALVING_INTERVAL = 210_000
SWEEP_USD_KWH = (0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10)
"""Electricity prices of the sweep, USD per kWh: from stranded/hydro power to retail-ish hosting."""


def hashrate_from_difficulty(difficulty: float) -> float:
    """Network hashrate in EH/s implied by `difficulty`: D x 2^32 / 600 s / 1e18."""
    return difficulty * 2.0**32 / 600.0 / 1e18


def subsidy_at_height(height: int) -> float:
    """Block subsidy in BTC: 50 BTC halved every 210,000 blocks (integer satoshi arithmetic)."""
    if height < 0:
        raise DataError(f"block height must be non-negative, got {height}")
    halvings = height // HALVING_INTERVAL
    return 0.0 if halvings >= 64 else (50 * 100_000_000 >> halvings) / 100_000_000


def revenue_btc_per_th_day(hashrate_ehs: float, fees_btc_per_block: float, subsidy_btc: float) -> float:
    """BTC earned per TH/s per day: (subsidy + fees) x 144 / (EH/s x 1e6). Works elementwise on arrays."""
    return (subsidy_btc + fees_btc_per_block) * BLOCKS_PER_DAY / (hashrate_ehs * TH_PER_EH)


@dataclass(frozen=True)
class Rig:
    """A mining rig at stock settings: hashrate in TH/s, efficiency in J/TH (= W per TH/s)."""

    name: str
    maker: str
    hashrate_ths: float
    efficiency_jth: float

    @property
    def power_w(self) -> float:
        """Wall power in W: TH/s x J/TH."""
        return self.hashrate_ths * self.efficiency_jth


# Current air- and immersion-cooled rigs at stock settings, from the manufacturers' published spec sheets
# (Bitmain Antminer S19 XP / S21 / S21 Pro / S21 XP; MicroBT WhatsMiner M60S / M66S): hashrate, J/TH and
# the wall power they imply (S19 XP 3,010 W, S21 3,500 W, S21 Pro 3,510 W, S21 XP 3,645 W, M60S 3,441 W,
# M66S 5,513 W).
CATALOGUE: tuple[Rig, ...] = (
    Rig("Antminer S21 XP", "Bitmain", 270.0, 13.5),
    Rig("Antminer S21 Pro", "Bitmain", 234.0, 15.0),
    Rig("Antminer S21", "Bitmain", 200.0, 17.5),
    Rig("WhatsMiner M60S", "MicroBT", 186.0, 18.5),
    Rig("WhatsMiner M66S", "MicroBT", 298.0, 18.5),
    Rig("Antminer S19 XP", "Bitmain", 140.0, 21.5),
)

RIG_CLASSES: tuple[tuple[float, str], ...] = (
    (16.0, "S21 Pro/XP class (<= 16 J/TH)"),
    (20.0, "S21/M60 class (16-20 J/TH)"),
    (math.inf, "S19 XP class (> 20 J/TH)"),
)
"""(upper efficiency bound in J/TH, name): the generations the market talks about when it quotes
"the S21 breakeven"."""


def rig_class(efficiency_jth: float) -> str:
    """The class name of a rig of `efficiency_jth` (see `RIG_CLASSES`)."""
    return next(name for bound, name in RIG_CLASSES if efficiency_jth <= bound)


@dataclass(frozen=True)
class MinerEconomics:
    hashrate_ehs: float
    revenue_btc_per_th_day: float
    power_cost_usd_per_th_day: float
    shutdown_price_usd: float
    rig_power_w: float | None

    def hashprice_usd_per_th_day(self, btc_price: float) -> float:
        """Hashprice in USD per TH/s per day at `btc_price` (USD/BTC)."""
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
    if not (math.isfinite(subsidy_btc) and subsidy_btc >= 0) or subsidy_btc + fees_btc_per_block <= 0:
        raise DataError(f"mining: subsidy + fees must be positive, got {subsidy_btc!r} + {fees_btc_per_block!r}")
    revenue = revenue_btc_per_th_day(hashrate_ehs, fees_btc_per_block, subsidy_btc)
    cost = efficiency_jth * 24.0 / 1000.0 * power_usd_kwh
    power_w = None if rig_hashrate_ths is None else rig_hashrate_ths * efficiency_jth
    return MinerEconomics(hashrate_ehs, revenue, cost, cost / revenue, power_w)


@dataclass(frozen=True)
class NetworkState:
    """What miners earn from: hashrate (EH/s, mean of the window's daily estimates), the hashrate implied
    by the latest difficulty (EH/s), fees (BTC per block, window mean) and the subsidy (BTC per block)."""

    date: pd.Timestamp
    hashrate_ehs: float
    difficulty_hashrate_ehs: float | None
    fees_btc_per_block: float
    subsidy_btc: float
    window_days: int

    def hashprice_usd_per_th_day(self, btc_price: float) -> float:
        """Hashprice in USD per TH/s per day at `btc_price` (USD/BTC)."""
        return revenue_btc_per_th_day(self.hashrate_ehs, self.fees_btc_per_block, self.subsidy_btc) * btc_price


def network_state(network: pd.DataFrame, window_days: int = 7) -> NetworkState:
    """The network state at the last `btc_network` row with a hashrate, averaged over `window_days` rows
    (daily hashrate estimates are noisy: blocks found per day vary ~ +/-8 % by chance alone)."""
    recent = network.dropna(subset=["hashrate_ehs"]).tail(window_days)
    if recent.empty:
        raise DataError("btc_network: no hashrate rows to price miners")
    subsidy = network["subsidy_btc"].dropna()
    if subsidy.empty:
        raise DataError("btc_network: no subsidy known")
    diff = network["difficulty"].dropna()
    fees = recent["fees_btc_per_block"].dropna()
    return NetworkState(
        date=recent["date"].iloc[-1],
        hashrate_ehs=float(recent["hashrate_ehs"].mean()),
        difficulty_hashrate_ehs=hashrate_from_difficulty(float(diff.iloc[-1])) if not diff.empty else None,
        fees_btc_per_block=float(fees.mean()) if not fees.empty else 0.0,
        subsidy_btc=float(subsidy.iloc[-1]),
        window_days=len(recent),
    )


def rig_economics(
    rigs: tuple[Rig, ...],
    *,
    hashrate_ehs: float,
    fees_btc_per_block: float,
    subsidy_btc: float,
    power_usd_kwh: float,
    btc_price: float | None = None,
) -> pd.DataFrame:
    """Per rig: rig, maker, rig_class, hashrate_ths, power_w, efficiency_jth, shutdown_price_usd (USD/BTC),
    revenue_btc_day and power_cost_usd_day (whole rig, per day), and with `btc_price` (USD/BTC) also
    revenue_usd_day and margin_usd_day (revenue - power cost, USD per day)."""
    rows = []
    for rig in rigs:
        e = shutdown_price(
            hashrate_ehs=hashrate_ehs,
            efficiency_jth=rig.efficiency_jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=fees_btc_per_block,
            subsidy_btc=subsidy_btc,
        )
        row = {
            "rig": rig.name,
            "maker": rig.maker,
            "rig_class": rig_class(rig.efficiency_jth),
            "hashrate_ths": rig.hashrate_ths,
            "power_w": rig.power_w,
            "efficiency_jth": rig.efficiency_jth,
            "shutdown_price_usd": e.shutdown_price_usd,
            "revenue_btc_day": e.revenue_btc_per_th_day * rig.hashrate_ths,
            "power_cost_usd_day": e.power_cost_usd_per_th_day * rig.hashrate_ths,
        }
        if btc_price is not None:
            row["revenue_usd_day"] = row["revenue_btc_day"] * btc_price
            row["margin_usd_day"] = row["revenue_usd_day"] - row["power_cost_usd_day"]
        rows.append(row)
    return pd.DataFrame(rows)


def catalogue_at(
    state: NetworkState, power_usd_kwh: float, rigs: tuple[Rig, ...] = CATALOGUE, btc_price: float | None = None
) -> pd.DataFrame:
    """`rig_economics` of `rigs` at a network state."""
    return rig_economics(
        rigs,
        hashrate_ehs=state.hashrate_ehs,
        fees_btc_per_block=state.fees_btc_per_block,
        subsidy_btc=state.subsidy_btc,
        power_usd_kwh=power_usd_kwh,
        btc_price=btc_price,
    )


def class_bands(econ: pd.DataFrame) -> pd.DataFrame:
    """Shutdown band per rig class from `rig_economics` rows: rig_class, low_usd, high_usd (USD/BTC, the
    most and least efficient rig of the class), rigs (names), in `RIG_CLASSES` order."""
    order = {name: i for i, (_, name) in enumerate(RIG_CLASSES)}
    g = econ.groupby("rig_class")
    out = pd.DataFrame(
        {
            "low_usd": g["shutdown_price_usd"].min(),
            "high_usd": g["shutdown_price_usd"].max(),
            "rigs": g["rig"].agg(", ".join),
        }
    ).reset_index()
    return out.sort_values("rig_class", key=lambda s: s.map(order), ignore_index=True)


def electricity_sweep(
    rigs: tuple[Rig, ...],
    *,
    hashrate_ehs: float,
    fees_btc_per_block: float,
    subsidy_btc: float,
    prices_usd_kwh: tuple[float, ...] = SWEEP_USD_KWH,
) -> pd.DataFrame:
    """Shutdown price (USD/BTC) per rig (rows) and electricity price (columns, USD/kWh). Linear in both
    J/TH and USD/kWh."""
    cols = {
        p: rig_economics(
            rigs,
            hashrate_ehs=hashrate_ehs,
            fees_btc_per_block=fees_btc_per_block,
            subsidy_btc=subsidy_btc,
            power_usd_kwh=p,
        ).set_index("rig")["shutdown_price_usd"]
        for p in prices_usd_kwh
    }
    return pd.DataFrame(cols)


def breakeven_history(
    network: pd.DataFrame,
    btc_close: pd.Series,
    power_usd_kwh: float,
    rigs: tuple[Rig, ...] = CATALOGUE,
    window_days: int = 7,
) -> pd.DataFrame:
    """Today's rigs priced on each past day's network: per day (rows of `network` with a hashrate and a
    subsidy), hashrate_ehs and fees_btc_per_block as `window_days` rolling means, subsidy_btc, btc_close
    (USD, NaN where absent), hashprice_usd_per_th_day, and one shutdown-price column per rig (USD/BTC)."""
    net = network.dropna(subset=["hashrate_ehs", "subsidy_btc"]).set_index("date").sort_index()
    h = net["hashrate_ehs"].rolling(window_days, min_periods=1).mean()
    fees = net["fees_btc_per_block"].fillna(0.0).rolling(window_days, min_periods=1).mean()
    revenue = revenue_btc_per_th_day(h, fees, net["subsidy_btc"])
    close = btc_close.reindex(net.index)
    out = pd.DataFrame(
        {
            "hashrate_ehs": h,
            "fees_btc_per_block": fees,
            "subsidy_btc": net["subsidy_btc"],
            "btc_close": close,
            "hashprice_usd_per_th_day": revenue * close,
        }
    )
    for rig in rigs:
        out[rig.name] = rig.efficiency_jth * 24.0 / 1000.0 * power_usd_kwh / revenue
    return out


def next_halving(state: NetworkState, power_usd_kwh: float, rigs: tuple[Rig, ...] = CATALOGUE) -> pd.DataFrame:
    """Scenario: the next halving (subsidy / 2) with hashrate and fees as today. Per rig: rig,
    shutdown_price_usd now and after (USD/BTC). The ratio is (subsidy + fees) / (subsidy / 2 + fees)."""
    now = catalogue_at(state, power_usd_kwh, rigs)
    after = rig_economics(
        rigs,
        hashrate_ehs=state.hashrate_ehs,
        fees_btc_per_block=state.fees_btc_per_block,
        subsidy_btc=state.subsidy_btc / 2.0,
        power_usd_kwh=power_usd_kwh,
    )
    return pd.DataFrame(
        {"rig": now["rig"], "now_usd": now["shutdown_price_usd"], "after_halving_usd": after["shutdown_price_usd"]}
    )
