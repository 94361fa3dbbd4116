"""Miner economics: hashprice and the BTC price at which a rig's revenue equals its power cost.

    blocks/day              = 86,400 s / 600 s = 144 (target spacing)
    revenue (BTC/TH/day)    = (subsidy + fees per block) x 144 / network hashrate (TH/s)
    hashprice (USD/TH/day)  = revenue x BTC price            (per TH/s of hashrate, per day)
    power cost (USD/TH/day) = efficiency (J/TH = W per TH/s) x 24 h / 1000 x USD/kWh
    shutdown price (USD/BTC) = power cost / revenue

The shutdown price does not depend on the rig's size: hashrate cancels. It counts power only (no hosting
fees, pool fees, capex). Hashrate from difficulty: H = D x 2^32 / 600 s (hashes per second).

Rigs of the day: each rig of `CATALOGUE` carries its release month, so a date is priced with the rigs in the
field then: the efficient frontier (best J/TH available) and the fleet average (the rigs released within
`FLEET_YEARS`), never with today's rigs in 2022.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
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
    """A mining rig at stock settings: hashrate in TH/s, efficiency in J/TH (= W per TH/s), and the month it
    reached miners ('YYYY-MM': first shipments, or the launch where the shipping month is not known)."""

    name: str
    maker: str
    hashrate_ths: float
    efficiency_jth: float
    released: str

    @property
    def power_w(self) -> float:
        """Wall power in W: TH/s x J/TH."""
        return self.hashrate_ths * self.efficiency_jth

    @property
    def available_from(self) -> pd.Timestamp:
        """When the rig counts as in the field: the first day after its release month (UTC), so that no date
        sees a rig before the end of the month it shipped in."""
        return pd.Timestamp(f"{self.released}-01", tz="UTC") + pd.offsets.MonthBegin(1)


# One model per generation and maker, stock settings, from the manufacturers' published spec sheets; the
# figures and months were checked against public reports (cited per rig). Wall power = TH/s x J/TH.
CATALOGUE: tuple[Rig, ...] = (
    # 4.73 TH/s at 0.25 W/GH ("the newest offering from Antminer, the S7 ... 0.25 Watts per Gh/s",
    # bitcoinasichosting.com, 2015); first batches shipped in autumn 2015 (month not confirmed: taken as 2015-09)
    Rig("Antminer S7", "Bitmain", 4.73, 250.0, "2015-09"),
    # 13.5 TH/s at 0.098 J/GH (1,323 W); "released publicly by Bitmain in June 2016" (Hashrate Index review)
    Rig("Antminer S9", "Bitmain", 13.5, 98.0, "2016-06"),
    # 28 TH/s, 1,596 W, 57 J/TH (high-performance mode); launched 2018-11-08/28 (Bitmain's 2018 review, CryptoGlobe)
    Rig("Antminer S15", "Bitmain", 28.0, 57.0, "2018-11"),
    # 53 TH/s, 39.5 J/TH (Bitmain spec sheet); S17 and S17 Pro launched in April 2019, "Bitmain's current
    # flagship" in August 2019 (cloudmining.com); the spec figures were not found in the searched sources
    Rig("Antminer S17 Pro", "Bitmain", 53.0, 39.5, "2019-04"),
    # 95 TH/s, 3,250 W, 34.5 J/TH; launched late Feb 2020, shipped from May 2020 (Mining Store S19 guide:
    # "first released in May 2020"; Cointelegraph: "not shipped until May 11 at the earliest")
    Rig("Antminer S19", "Bitmain", 95.0, 34.5, "2020-05"),
    # 110 TH/s, 3,250 W, 29.5 J/TH; same launch and first deliveries as the S19 (buybtc123 field test)
    Rig("Antminer S19 Pro", "Bitmain", 110.0, 29.5, "2020-05"),
    # 112 TH/s (Cointelegraph 2020-04-27: "would be ready to ship in June"), 31 J/TH (MicroBT spec, 3,472 W)
    Rig("WhatsMiner M30S++", "MicroBT", 112.0, 31.0, "2020-06"),
    # 104 TH/s at 29.5 J/TH (Mining Store: 96/100/104 TH/s, 29.5 W/TH); "the top sellers of 2021" (month
    # not confirmed: taken as 2021-06)
    Rig("Antminer S19j Pro", "Bitmain", 104.0, 29.5, "2021-06"),
    # 140 TH/s, 3,010 W, 21.5 J/TH; announced November 2021 (WDMS Dubai), first shipments early Q3 2022 (Mining Store)
    Rig("Antminer S19 XP", "Bitmain", 140.0, 21.5, "2022-07"),
    # 126 TH/s at 26 J/TH (Luxor RFQ June 2023: M50S 26.0 J/TH); in the market by July 2022 (CoinDesk 2023-07-26:
    # S19 XP and M50S prices down 66 % "since July 2022")
    Rig("WhatsMiner M50S", "MicroBT", 126.0, 26.0, "2022-07"),
    # 186 TH/s, 18.5 J/TH (MicroBT spec sheet, 3,441 W; the launch press quoted 17.5 J/TH); unveiled in Dubai in
    # October 2023 with the M60 series
    Rig("WhatsMiner M60S", "MicroBT", 186.0, 18.5, "2023-10"),
    # 298 TH/s, 18.5 J/TH (immersion, 5,513 W); M66 immersion family of the M60 generation, October 2023
    Rig("WhatsMiner M66S", "MicroBT", 298.0, 18.5, "2023-10"),
    # 200 TH/s, 17.5 J/TH; launched 2023-09-22 at WDMS Hong Kong (ViaBTC), shipments from January 2024
    # (CleanSpark's order, TheMinerMag 2023-10-11)
    Rig("Antminer S21", "Bitmain", 200.0, 17.5, "2024-01"),
    # 234 TH/s, 15 J/TH (3,510 W); shipping by mid-2024: "Bitmain's latest model" (Blockspace, 2024-09-04);
    # month not confirmed: taken as 2024-07
    Rig("Antminer S21 Pro", "Bitmain", 234.0, 15.0, "2024-07"),
    # 270 TH/s, 13.5 J/TH on the wall at 25 C (3,645 W); shipping month not confirmed: taken as 2025-01
    Rig("Antminer S21 XP", "Bitmain", 270.0, 13.5, "2025-01"),
)

FLEET_YEARS = 4.0
"""The fleet average counts the rigs released within this many years before the date, equally weighted: the
CBECI's best guess likewise averages a basket of hardware rather than one model (its lower bound is the most
efficient rig: our frontier). Four years is one halving cycle and the service life the record shows: the S9
(June 2016) was jettisoned "by the pallet-load" after the May 2020 halving (Blockspace, 2024-09-04), and
Bitdeer disposed of ~5,000 Antminer 17-series (2019) in May 2023 as "no longer profitable" (SEC 6-K, 2023-06).
Equal weights are a stated simplification: unit sales per model are not public."""


def rigs_at(
    when: pd.Timestamp, rigs: tuple[Rig, ...] = CATALOGUE, years: float | None = FLEET_YEARS
) -> tuple[Rig, ...]:
    """The rigs of the day: in the field at `when` and, with `years`, released within that many years before
    it (the fleet window). A missing date (NaT) means the newest date of `rigs` (its latest release)."""
    if pd.isna(when):
        when = max(r.available_from for r in rigs)
    start = when - pd.Timedelta(days=365.25 * years) if years is not None else None
    return tuple(r for r in rigs if r.available_from <= when and (start is None or r.available_from > start))


def efficiency_at(
    dates: pd.DatetimeIndex, rigs: tuple[Rig, ...] = CATALOGUE, years: float = FLEET_YEARS
) -> pd.DataFrame:
    """Per date: frontier_jth (the best J/TH in the field), fleet_jth (the equal-weight mean J/TH of the rigs
    released within `years`) and fleet_rigs (how many); NaN where no rig qualifies."""
    idx = pd.DatetimeIndex(dates)
    d = idx.as_unit("ns").asi8[:, None]  # ns since the epoch (UTC)
    start = np.array([r.available_from.as_unit("ns").value for r in rigs])[None, :]
    eff = np.array([r.efficiency_jth for r in rigs])[None, :]
    live = start <= d
    window = live & (start > d - int(365.25 * years * 86400 * 1e9))
    count = window.sum(axis=1)
    with np.errstate(invalid="ignore"):
        frontier = np.where(live, eff, np.inf).min(axis=1)
        fleet = np.where(window, eff, 0.0).sum(axis=1) / count
    return pd.DataFrame(
        {"frontier_jth": np.where(np.isfinite(frontier), frontier, np.nan), "fleet_jth": fleet, "fleet_rigs": count},
        index=idx,
    )


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
    """Per rig: rig, maker, released ('YYYY-MM'), hashrate_ths, power_w, efficiency_jth, shutdown_price_usd
    (USD/BTC), revenue_btc_day and power_cost_usd_day (whole rig, per day), and with `btc_price` (USD/BTC) also
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
            "released": rig.released,
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
    state: NetworkState, power_usd_kwh: float, rigs: tuple[Rig, ...] | None = None, btc_price: float | None = None
) -> pd.DataFrame:
    """`rig_economics` at a network state of `rigs`, by default the rigs of the state's date (`rigs_at`)."""
    return rig_economics(
        rigs_at(state.date) if rigs is None else rigs,
        hashrate_ehs=state.hashrate_ehs,
        fees_btc_per_block=state.fees_btc_per_block,
        subsidy_btc=state.subsidy_btc,
        power_usd_kwh=power_usd_kwh,
        btc_price=btc_price,
    )


@dataclass(frozen=True)
class CostFloors:
    """The miners' cost floor on one network state, power only (USD/BTC): the shutdown price of the efficient
    frontier (the best J/TH in the field that day) and of the fleet average (equal-weight mean J/TH of the rigs
    released within `fleet_years`, see `FLEET_YEARS`)."""

    date: pd.Timestamp
    power_usd_kwh: float
    frontier_rig: str
    frontier_jth: float
    frontier_usd: float
    fleet_jth: float
    fleet_usd: float
    fleet_rigs: tuple[str, ...]
    fleet_years: float

    def as_dict(self) -> dict[str, object]:
        return {
            "date": None if pd.isna(self.date) else self.date.isoformat(),
            "power_usd_kwh": self.power_usd_kwh,
            "frontier_rig": self.frontier_rig,
            "frontier_jth": self.frontier_jth,
            "frontier_usd": self.frontier_usd,
            "fleet_jth": self.fleet_jth,
            "fleet_usd": self.fleet_usd,
            "fleet_rigs": list(self.fleet_rigs),
            "fleet_years": self.fleet_years,
        }


def cost_floors(
    state: NetworkState, power_usd_kwh: float, rigs: tuple[Rig, ...] = CATALOGUE, years: float = FLEET_YEARS
) -> CostFloors:
    """Frontier and fleet-average shutdown prices with the rigs of the state's date; `DataError` when no rig of
    `rigs` was in the field then (before the first one shipped)."""
    fleet = rigs_at(state.date, rigs, years)
    live = rigs_at(state.date, rigs, None)
    if not fleet or not live:
        raise DataError(f"mining: no rig of the catalogue in the field on {state.date:%Y-%m-%d}")
    best = min(live, key=lambda r: r.efficiency_jth)
    fleet_jth = float(np.mean([r.efficiency_jth for r in fleet]))

    def price(jth: float) -> float:
        return shutdown_price(
            hashrate_ehs=state.hashrate_ehs,
            efficiency_jth=jth,
            power_usd_kwh=power_usd_kwh,
            fees_btc_per_block=state.fees_btc_per_block,
            subsidy_btc=state.subsidy_btc,
        ).shutdown_price_usd

    return CostFloors(
        state.date,
        power_usd_kwh,
        best.name,
        best.efficiency_jth,
        price(best.efficiency_jth),
        fleet_jth,
        price(fleet_jth),
        tuple(r.name for r in fleet),
        years,
    )


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
    years: float = FLEET_YEARS,
) -> pd.DataFrame:
    """Each day's rigs priced on that day's network: per day (rows of `network` with a hashrate and a subsidy),
    hashrate_ehs and fees_btc_per_block as `window_days` rolling means, subsidy_btc, btc_close (USD, NaN where
    absent), hashprice_usd_per_th_day, frontier_jth and fleet_jth (`efficiency_at`), and their shutdown prices
    frontier_usd and fleet_usd (USD/BTC; NaN before the first rig of `rigs`)."""
    net = network.dropna(subset=["hashrate_ehs", "subsidy_btc"]).set_index("date").sort_index()
    h = net["hashrate_ehs"].rolling(window_days, min_periods=1).mean()
    fees = net["fees_btc_per_block"].fillna(0.0).rolling(window_days, min_periods=1).mean()
    revenue = revenue_btc_per_th_day(h, fees, net["subsidy_btc"])
    close = btc_close.reindex(net.index)
    eff = efficiency_at(net.index, rigs, years)
    usd_per_jth = 24.0 / 1000.0 * power_usd_kwh / revenue
    return pd.DataFrame(
        {
            "hashrate_ehs": h,
            "fees_btc_per_block": fees,
            "subsidy_btc": net["subsidy_btc"],
            "btc_close": close,
            "hashprice_usd_per_th_day": revenue * close,
            "frontier_jth": eff["frontier_jth"],
            "fleet_jth": eff["fleet_jth"],
            "frontier_usd": eff["frontier_jth"] * usd_per_jth,
            "fleet_usd": eff["fleet_jth"] * usd_per_jth,
        }
    )


def next_halving(state: NetworkState, power_usd_kwh: float, rigs: tuple[Rig, ...] | None = None) -> pd.DataFrame:
    """Scenario: the next halving (subsidy / 2) with hashrate and fees as today. Per rig (default: the rigs of
    the state's date): rig, shutdown_price_usd now and after (USD/BTC). The ratio is (subsidy + fees) /
    (subsidy / 2 + fees)."""
    chosen = rigs_at(state.date) if rigs is None else rigs
    now = catalogue_at(state, power_usd_kwh, chosen)
    after = rig_economics(
        chosen,
        hashrate_ehs=state.hashrate_ehs,
        fees_btc_per_block=state.fees_btc_per_block,
        subsidy_btc=state.subsidy_btc / 2.0,
        power_usd_kwh=power_usd_kwh,
    )
    return pd.DataFrame(
        {"rig": now["rig"], "now_usd": now["shutdown_price_usd"], "after_halving_usd": after["shutdown_price_usd"]}
    )
