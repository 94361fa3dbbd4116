"""Dealer gamma exposure (GEX): USD change of dealers' delta per 1 % move of spot, by strike and in total.

For one instrument with open interest OI (contracts of `contract_size` underlying units):

    GEX = sign * gamma(F(S)) * F(S)^2 * 0.01 * OI * contract_size        [USD per 1 % move]

* gamma is undiscounted Black-76 d2V/dF2 per 1 underlying unit at the instrument's mark IV;
* F(S) = F_i S / S0: the expiry's forward F_i (`underlying_price`) moved with spot S in proportion to
  the reference spot S0 (`reference_spot`), so a 1 % spot move is a 1 % move of every forward. The USD
  change of delta is then gamma F^2 0.01, the usual gamma S^2 0.01 with the forward in place of spot
  (they differ by the basis F/S, < 0.1 % for weeklies, a few % for a one-year expiry);
* sign ("dealer" positioning): "classic" (SqueezeMetrics) - dealers long the calls (+) and short the puts
  (-); "short_all" - dealers short every option (-).

Deribit BTC options are inverse (pay in BTC); we use the gamma of the USD option (which is also what the
venue publishes as `gamma`), so GEX is in USD per 1 % move. Only the latest timestamp is used; rows
without a forward, mark IV or open interest contribute nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from capitulation.analytics import black76
from capitulation.analytics.smile import latest, with_call_delta
from capitulation.errors import DataError

Dealer = Literal["classic", "short_all"]
MOVE = 0.01  # a 1 % move


@dataclass(frozen=True)
class GexResult:
    """GEX at one spot: per (expiry, strike) rows and the total, USD per 1 % move."""

    timestamp: pd.Timestamp
    spot: float
    total_usd: float
    by_strike: pd.DataFrame


@dataclass(frozen=True)
class Walls:
    """Call wall: strike with the largest |call GEX| summed over expiries; put wall: largest |put GEX|."""

    call_wall: float
    put_wall: float


def reference_spot(quotes: pd.DataFrame) -> float:
    """S0 at the latest timestamp: the median `index_price` if recorded, else the nearest expiry's forward.

    The nearest forward stands in for spot when the chain records no index (basis over < 1 day is a few
    USD on BTC).
    """
    q = latest(quotes, "reference_spot")
    idx = q["index_price"].dropna()
    if len(idx):
        return float(idx.median())
    live = q[q["underlying_price"].notna() & (q["expiry"] > q["timestamp"])]
    if live.empty:
        raise DataError("reference_spot: no index price and no forward (underlying_price) in the chain")
    return float(live.loc[live["expiry"] == live["expiry"].min(), "underlying_price"].median())


def _signs(option_type: pd.Series, dealer: Dealer) -> np.ndarray:
    if dealer == "classic":
        return np.where(option_type == "C", 1.0, -1.0)
    if dealer == "short_all":
        return np.full(len(option_type), -1.0)
    raise ValueError(f"dealer must be 'classic' or 'short_all', got {dealer!r}")


def _priced(quotes: pd.DataFrame, who: str) -> pd.DataFrame:
    q = with_call_delta(latest(quotes, who))
    keep = (q["open_interest"] > 0) & q["call_delta"].notna()
    return q[keep]


def _gex(q: pd.DataFrame, spot: float | np.ndarray, s0: float, dealer: Dealer) -> np.ndarray:
    """GEX per instrument (last axis); a column of spots (m, 1) gives one row per spot."""
    F = q["underlying_price"].to_numpy(dtype=float) * spot / s0
    g = black76.gamma(F, q["strike"].to_numpy(dtype=float), q["t_years"].to_numpy(), q["mark_iv"].to_numpy(dtype=float))
    size = q["open_interest"].to_numpy(dtype=float) * q["contract_size"].to_numpy(dtype=float)
    return _signs(q["option_type"], dealer) * g * F * F * MOVE * size


def gex_by_strike(quotes: pd.DataFrame, spot: float | None = None, dealer: Dealer = "classic") -> GexResult:
    """GEX at spot S (USD; default: `reference_spot`) per (expiry, strike) and in total.

    by_strike columns: expiry, strike, forward (F_i S / S0, USD), call_oi, put_oi (contracts),
    call_gex_usd, put_gex_usd, gex_usd (= call + put). `DataError` for an empty chain.
    """
    s0 = reference_spot(quotes)
    S = s0 if spot is None else float(spot)
    q = _priced(quotes, "gex_by_strike")
    gex = _gex(q, S, s0, dealer)
    is_call = (q["option_type"] == "C").to_numpy()
    rows = pd.DataFrame(
        {
            "expiry": q["expiry"].to_numpy(),
            "strike": q["strike"].to_numpy(dtype=float),
            "forward": q["underlying_price"].to_numpy(dtype=float) * S / s0,
            "call_oi": np.where(is_call, q["open_interest"], 0.0),
            "put_oi": np.where(is_call, 0.0, q["open_interest"]),
            "call_gex_usd": np.where(is_call, gex, 0.0),
            "put_gex_usd": np.where(is_call, 0.0, gex),
        }
    )
    agg = {"forward": "first", "call_oi": "sum", "put_oi": "sum", "call_gex_usd": "sum", "put_gex_usd": "sum"}
    by = rows.groupby(["expiry", "strike"], sort=True).agg(agg).reset_index()
    by["gex_usd"] = by["call_gex_usd"] + by["put_gex_usd"]
    ts = quotes["timestamp"].max()
    return GexResult(timestamp=ts, spot=S, total_usd=float(by["gex_usd"].sum()), by_strike=by)


def gex_profile(quotes: pd.DataFrame, spots: Sequence[float] | np.ndarray, dealer: Dealer = "classic") -> pd.DataFrame:
    """Total GEX (USD per 1 % move) re-priced at each spot, sticky strike (each instrument keeps its IV).

    Columns: spot, gex_usd. `DataError` for an empty chain.
    """
    s0 = reference_spot(quotes)
    q = _priced(quotes, "gex_profile")
    S = np.asarray(spots, dtype=float)
    total = _gex(q, S[:, None], s0, dealer).sum(axis=1)
    return pd.DataFrame({"spot": S, "gex_usd": total})


def gamma_flip(profile: pd.DataFrame, near: float | None = None) -> float:
    """The spot where total GEX crosses zero, by linear interpolation between profile points (USD).

    With several crossings, the one nearest `near` (default: the middle of the spot grid, normally the
    current spot). NaN when the profile never changes sign.
    """
    p = profile.sort_values("spot")
    s, g = p["spot"].to_numpy(dtype=float), p["gex_usd"].to_numpy(dtype=float)
    flips = [float(s[i]) for i in np.flatnonzero(g == 0.0)]
    for i in np.flatnonzero(g[:-1] * g[1:] < 0):
        flips.append(float(s[i] - g[i] * (s[i + 1] - s[i]) / (g[i + 1] - g[i])))
    if not flips:
        return float("nan")
    ref = 0.5 * (s[0] + s[-1]) if near is None else near
    return min(flips, key=lambda x: abs(x - ref))


def walls(by_strike: pd.DataFrame) -> Walls:
    """Call and put walls (USD strikes) from `GexResult.by_strike`; NaN when that side has no GEX."""
    per = by_strike.groupby("strike")[["call_gex_usd", "put_gex_usd"]].sum().abs()

    def top(col: str) -> float:
        return float(per[col].idxmax()) if len(per) and per[col].max() > 0 else float("nan")

    return Walls(call_wall=top("call_gex_usd"), put_wall=top("put_gex_usd"))
